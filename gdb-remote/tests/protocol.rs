//! The server end to end over loopback TCP against a mock target:
//! negotiation, registers, memory, threads, breakpoints, resuming,
//! interrupts, and how sessions end.

mod common;

use std::time::Duration;

use common::*;
use gdb_remote::{BreakpointKind, ResumeAction, ServeEnd, StopReason, WatchKind};

fn le_u64(hex_text: &[u8]) -> u64 {
    let bytes = unhex(hex_text);
    u64::from_le_bytes(bytes.try_into().unwrap())
}

#[test]
fn qsupported_advertises_what_the_target_has() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    let supported = client.handshake();
    for feature in [
        "PacketSize=4000",
        "QStartNoAckMode+",
        "multiprocess+",
        "qXfer:features:read+",
        "qXfer:auxv:read+",
        "qXfer:exec-file:read+",
        "qXfer:threads:read+",
        "vContSupported+",
        "swbreak+",
        "hwbreak+",
        "ReverseStep+",
        "ReverseContinue+",
        "QPassSignals+",
    ] {
        assert!(
            supported.split(';').any(|f| f == feature),
            "{feature} missing from {supported}"
        );
    }
    client.send(b"k");
    assert_eq!(server.finish().1, ServeEnd::Killed);

    let server = start(MockTarget::bare());
    let mut client = server.connect();
    let supported = client.handshake();
    assert!(!supported.contains("Reverse"), "{supported}");
    assert!(!supported.contains("swbreak"), "{supported}");
    assert!(!supported.contains("QPassSignals"), "{supported}");
    assert_eq!(client.ask("bc"), "");
    assert_eq!(client.ask("bs"), "");
    assert_eq!(client.ask("Z0,401000,1"), "");
    client.send(b"k");
    server.finish();
}

#[test]
fn simple_queries_and_no_ack_mode() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.handshake();
    client.start_no_ack();
    assert_eq!(client.ask("vMustReplyEmpty"), "");
    assert_eq!(client.ask("qAttached"), "1");
    assert_eq!(client.ask("qAttached:64"), "1");
    assert_eq!(client.ask("qSymbol::"), "OK");
    assert_eq!(client.ask("qTStatus"), "");
    assert_eq!(client.ask("qOffsets"), "");
    assert_eq!(client.ask("qTfV"), "");
    assert_eq!(client.ask("vAttach;64"), "");
    assert_eq!(client.ask("vCont?"), "vCont;c;C;s;S");
    assert_eq!(client.ask("qC"), "QCp64.64");
    client.send(b"k");
    assert_eq!(server.finish().1, ServeEnd::Killed);
}

#[test]
fn plain_thread_ids_without_multiprocess() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    assert!(client.ask("qSupported:swbreak+").contains("PacketSize"));
    assert_eq!(client.ask("?"), "T05thread:64;");
    assert_eq!(client.ask("qfThreadInfo"), "m64,65");
    assert_eq!(client.ask("Hg65"), "OK");
    assert_eq!(client.ask("vCont;s:65;c"), "T05thread:65;");
    client.send(b"k");
    server.finish();
}

#[test]
fn registers_read_and_write() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.handshake();
    let g = client.request(b"g");
    assert_eq!(g.len(), 816 * 2);
    assert_eq!(le_u64(&g[..16]), 0x100, "rax");
    assert_eq!(le_u64(&g[16 * 16..17 * 16]), MAIN_RIP, "rip");
    assert_eq!(le_u64(&client.request(b"p10")), MAIN_RIP);
    assert_eq!(client.ask("p3a"), hex(&0x7fff_f7d8_a740u64.to_le_bytes()));
    assert_eq!(client.ask("p4c"), "E01", "no register 0x4c");
    assert_eq!(client.ask("pzz"), "E01");

    // P: one register changes, the rest stay.
    let new_rip = hex(&0x40_1234u64.to_le_bytes());
    assert_eq!(client.ask(&format!("P10={new_rip}")), "OK");
    assert_eq!(client.ask("P10=1234"), "E01", "wrong size");
    assert_eq!(le_u64(&client.request(b"p10")), 0x40_1234);
    assert_eq!(le_u64(&client.request(b"p0")), 0x100);

    // G: what g gave, with rbx changed, goes back in whole.
    let mut g = client.request(b"g");
    g[16..32].copy_from_slice(hex(&0xabcdu64.to_le_bytes()).as_bytes());
    let mut packet = b"G".to_vec();
    packet.extend_from_slice(&g);
    assert_eq!(client.request(&packet), b"OK");
    assert_eq!(client.request(b"g"), g);
    assert_eq!(client.ask("G123"), "E01");

    // Hg picks the thread whose registers these are.
    assert_eq!(client.ask("Hgp64.65"), "OK");
    assert_eq!(le_u64(&client.request(b"p10")), WORKER_RIP);
    assert_eq!(client.ask("Hgp64.99"), "E01");
    assert_eq!(client.ask("Hg0"), "OK");
    assert_eq!(le_u64(&client.request(b"p10")), 0x40_1234);
    client.send(b"k");
    let (target, _) = server.finish();
    assert_eq!(target.regs[&MAIN].general[1], 0xabcd);
    assert_eq!(target.regs[&MAIN].general[16], 0x40_1234);
}

#[test]
fn memory_read_and_write() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.handshake();
    assert_eq!(client.ask("m1000,4"), "00010203");
    // The readable prefix of a read that runs off the end.
    assert_eq!(client.ask("m10fe,10"), "feff");
    assert_eq!(client.ask("m2000,4"), "E0e");
    // A huge length is cut to what one reply holds.
    assert_eq!(client.request(b"m1000,ffffffffffffffff").len(), 0x200);
    assert_eq!(client.ask("mffffffffffffffff,10"), "E0e");
    assert_eq!(client.ask("m1000"), "E01");

    assert_eq!(client.ask("M1010,2:abcd"), "OK");
    assert_eq!(client.ask("m1010,2"), "abcd");
    assert_eq!(client.ask("M1010,2:abc"), "E01");
    assert_eq!(client.ask("M1010,3:abcd"), "E01");
    assert_eq!(client.ask("M3000,1:00"), "E0e");

    // X: binary with the four special bytes escaped.
    assert_eq!(client.ask("X1000,0:"), "OK");
    let mut packet = b"X1020,5:".to_vec();
    packet.extend_from_slice(b"}\x04}\x03}]}\x0a\x00");
    assert_eq!(client.request(&packet), b"OK");
    assert_eq!(client.ask("m1020,5"), "24237d2a00");

    // x: binary read, `b` first.
    let reply = client.request(b"x1020,6");
    assert_eq!(reply[0], b'b');
    assert_eq!(unescape(&reply[1..]), b"$#}*\x00\x25");
    assert_eq!(client.ask("x5000,4"), "E0e");
    client.send(b"k");
    let (target, _) = server.finish();
    assert_eq!(target.memory[0x10..0x12], [0xab, 0xcd]);
}

#[test]
fn thread_queries() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.handshake();
    assert_eq!(client.ask("qfThreadInfo"), "mp64.64,p64.65");
    assert_eq!(client.ask("qsThreadInfo"), "l");
    assert_eq!(client.ask("qsThreadInfo"), "l");
    assert_eq!(client.ask("Tp64.65"), "OK");
    assert_eq!(client.ask("T65"), "OK");
    assert_eq!(client.ask("Tp64.66"), "E01");
    assert_eq!(client.ask("Tp65.65"), "E01");
    assert_eq!(client.ask("Hc-1"), "OK");
    assert_eq!(client.ask("Hcp64.-1"), "OK");
    assert_eq!(client.ask("Hcp64.65"), "OK");
    // `s` steps the Hc thread.
    assert_eq!(client.ask("s"), "T05thread:p64.65;");
    client.send(b"k");
    let (target, _) = server.finish();
    assert_eq!(target.resumes, [ResumeAction::Step(WORKER)]);
}

#[test]
fn breakpoints_insert_and_remove() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.handshake();
    assert_eq!(client.ask("Z0,401000,1"), "OK");
    assert_eq!(client.ask("Z1,401010,1"), "OK");
    assert_eq!(client.ask("Z2,1008,8"), "OK");
    assert_eq!(client.ask("Z3,1010,4"), "OK");
    assert_eq!(client.ask("Z4,1010,4"), "", "unsupported kind: empty");
    assert_eq!(client.ask("Z0,0,1"), "E0e");
    assert_eq!(client.ask("Z9,1000,1"), "");
    assert_eq!(client.ask("Z0,1000"), "E01");
    assert_eq!(client.ask("z1,401010,1"), "OK");
    assert_eq!(client.ask("z1,401010,1"), "E02");
    client.send(b"k");
    let (target, _) = server.finish();
    assert_eq!(
        target.breakpoints.unwrap().inserted,
        [
            (BreakpointKind::Software, 0x40_1000, 1),
            (BreakpointKind::Watch(WatchKind::Write), 0x1008, 8),
            (BreakpointKind::Watch(WatchKind::Read), 0x1010, 4),
        ]
    );
}

#[test]
fn resume_and_stop_replies() {
    let mut target = MockTarget::new();
    target.script.extend([
        StopReason::Breakpoint {
            thread: WORKER,
            hardware: false,
        },
        StopReason::Breakpoint {
            thread: MAIN,
            hardware: true,
        },
        StopReason::Watchpoint {
            thread: MAIN,
            kind: WatchKind::Write,
            addr: 0x1008,
        },
        StopReason::Signal {
            thread: MAIN,
            signo: 11,
        },
        StopReason::HistoryEnd {
            thread: MAIN,
            at_start: false,
        },
        StopReason::Exited { pid: PID, code: 3 },
    ]);
    let server = start(target);
    let mut client = server.connect();
    client.handshake();
    assert_eq!(client.ask("vCont;s:p64.65;c"), "T05thread:p64.65;");
    assert_eq!(client.ask("vCont;s:p64.64"), "T05thread:p64.64;");
    assert_eq!(client.ask("vCont;s:p64.99;c"), "E01");
    assert_eq!(client.ask("vCont;t:p64.64"), "E01");
    assert_eq!(client.ask("vCont;c"), "T05thread:p64.65;swbreak:;");
    // After a stop, registers are the stopped thread's.
    assert_eq!(le_u64(&client.request(b"p10")), WORKER_RIP + 1);
    assert_eq!(client.ask("c"), "T05thread:p64.64;hwbreak:;");
    assert_eq!(client.ask("C1e"), "T05thread:p64.64;watch:1008;");
    assert_eq!(client.ask("vCont;C0e:p64.64;c"), "T0bthread:p64.64;");
    assert_eq!(client.ask("vCont;c"), "T05thread:p64.64;replaylog:end;");
    assert_eq!(client.ask("S05"), "T05thread:p64.64;");
    assert_eq!(client.ask("vCont;c"), "W03;process:64");
    client.send(b"k");
    let (target, _) = server.finish();
    assert_eq!(
        target.resumes,
        [
            ResumeAction::Step(WORKER),
            ResumeAction::Step(MAIN),
            ResumeAction::Continue,
            ResumeAction::Continue,
            ResumeAction::Continue,
            ResumeAction::Continue,
            ResumeAction::Continue,
            ResumeAction::Step(MAIN),
            ResumeAction::Continue,
        ]
    );
}

#[test]
fn reverse_execution() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.handshake();
    assert_eq!(client.ask("Hcp64.65"), "OK");
    assert_eq!(client.ask("bs"), "T05thread:p64.65;replaylog:begin;");
    assert_eq!(client.ask("bc"), "T05thread:p64.64;replaylog:begin;");
    client.send(b"k");
    let (target, _) = server.finish();
    assert_eq!(
        target.reverse.unwrap().resumes,
        [ResumeAction::Step(WORKER), ResumeAction::Continue]
    );
    assert!(target.resumes.is_empty());
}

#[test]
fn interrupt_stops_a_running_target() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.handshake();
    client.send(b"vCont;c");
    std::thread::sleep(Duration::from_millis(100));
    client.send_raw(b"\x03");
    assert_eq!(client.recv(), b"T02thread:p64.65;");
    // The stop made the interrupted thread current.
    assert_eq!(client.ask("qC"), "QCp64.65");

    // A packet right behind the Ctrl-C, in the same write, is not lost.
    client.send(b"c");
    std::thread::sleep(Duration::from_millis(50));
    let mut both = b"\x03".to_vec();
    both.extend_from_slice(&frame(b"qC"));
    client.send_raw(&both);
    assert_eq!(client.recv(), b"T02thread:p64.65;");
    client.expect_ack();
    assert_eq!(client.recv(), b"QCp64.65");

    // In no-ack mode too.
    client.start_no_ack();
    client.send(b"vCont;c");
    client.send_raw(b"\x03");
    assert_eq!(client.recv(), b"T02thread:p64.65;");
    client.send(b"k");
    assert_eq!(server.finish().1, ServeEnd::Killed);
}

#[test]
fn disconnect_and_reconnect_keep_the_target() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.handshake();
    assert_eq!(client.ask("vCont;s:p64.65;c"), "T05thread:p64.65;");
    assert_eq!(client.ask("M1000,1:ee"), "OK");
    client.shutdown();
    assert!(server.still_serving());

    let mut client = server.connect();
    client.handshake();
    // The stop and memory are where the last client left them.
    assert_eq!(client.ask("?"), "T05thread:p64.65;");
    assert_eq!(le_u64(&client.request(b"p10")), WORKER_RIP + 1);
    assert_eq!(client.ask("m1000,1"), "ee");
    // Detach, then come back once more.
    assert_eq!(client.ask("D;64"), "OK");
    assert!(client.closed());
    assert!(server.still_serving());

    let mut client = server.connect();
    client.handshake();
    assert_eq!(client.ask("m1000,1"), "ee");
    // A client that drops mid-run stops the target; the next finds it.
    client.send(b"vCont;c");
    client.shutdown();
    assert!(server.still_serving());
    let mut client = server.connect();
    client.handshake();
    assert_eq!(client.ask("?"), "T02thread:p64.65;");
    client.send(b"k");
    let (target, end) = server.finish();
    assert_eq!(end, ServeEnd::Killed);
    assert_eq!(target.resumes.len(), 2);
}

#[test]
fn disconnect_after_exit_ends_serving_but_detach_does_not() {
    let mut target = MockTarget::new();
    target
        .script
        .push_back(StopReason::Exited { pid: PID, code: 0 });
    let server = start(target);
    let mut client = server.connect();
    client.handshake();
    assert_eq!(client.ask("vCont;c"), "W00;process:64");
    assert_eq!(client.ask("D"), "OK");
    assert!(server.still_serving());
    let mut client = server.connect();
    assert_eq!(client.ask("?"), "W00");
    client.shutdown();
    assert_eq!(server.finish().1, ServeEnd::Exited);
}

#[test]
fn kill_ends_serving() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.handshake();
    client.send(b"k");
    assert_eq!(server.finish().1, ServeEnd::Killed);
    assert!(client.closed());
}

#[test]
fn extended_mode_kills_and_runs_again() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.handshake();
    assert_eq!(client.ask("!"), "OK");
    // The process goes; the session stays for a `run`.
    assert_eq!(client.ask("vKill;64"), "OK");
    assert_eq!(client.ask("vRun;"), "T05thread:p64.64;");
    assert!(client.ask("vRun;2f70726f67;3132").starts_with('E'));
    client.send(b"k");
    let (target, end) = server.finish();
    assert_eq!(end, ServeEnd::Killed);
    let restart = target.restart.expect("restart log");
    assert_eq!(restart.kills, 1);
    assert_eq!(
        restart.runs,
        vec![Vec::<String>::new(), vec!["12".to_string()]]
    );

    // Without it, there is no extended mode and vKill ends the session.
    let server = start(MockTarget::bare());
    let mut client = server.connect();
    client.handshake();
    assert_eq!(client.ask("!"), "");
    assert_eq!(client.ask("vRun;"), "");
    assert_eq!(client.ask("vKill;64"), "OK");
    assert_eq!(server.finish().1, ServeEnd::Killed);
}

#[test]
fn serve_connection_over_a_socket_pair() {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    let (server_end, mut client_end) = UnixStream::pair().unwrap();
    client_end
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let handle = std::thread::spawn(move || {
        let mut target = MockTarget::new();
        gdb_remote::serve_connection(server_end, &mut target)
    });
    client_end.write_all(&frame(b"qC")).unwrap();
    let mut expected = b"+".to_vec();
    expected.extend_from_slice(&frame(b"QC64"));
    let mut reply = vec![0u8; expected.len()];
    client_end.read_exact(&mut reply).unwrap();
    assert_eq!(reply, expected);
    client_end.write_all(b"+").unwrap();
    client_end.write_all(&frame(b"D")).unwrap();
    let mut reply = [0u8; 7];
    client_end.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"+$OK#9a");
    client_end.write_all(b"+").unwrap();
    let end = handle.join().unwrap().unwrap();
    assert_eq!(end, gdb_remote::SessionEnd::Detached);
}

#[test]
fn pass_signals_and_resume_signals_reach_the_target() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.handshake();
    assert_eq!(client.ask("QPassSignals:e;14"), "OK");
    assert_eq!(client.ask("QPassSignals:"), "OK");
    assert_eq!(client.ask("QPassSignals:xyz"), "E01");
    assert_eq!(client.ask("S0b"), "T05thread:p64.64;");
    assert_eq!(client.ask("vCont;S0e:p64.65;c"), "T05thread:p64.65;");
    client.send(b"k");
    let (target, _) = server.finish();
    let passed = target.passed.expect("the mock takes signal lists");
    // gdb's 0x14 is SIGCHLD, Linux's 17.
    assert_eq!(passed.lists, [vec![14, 17], vec![]]);
    assert_eq!(target.resume_signals, [Some(11), Some(14)]);
}

#[test]
fn pass_signals_is_unknown_to_a_target_without_them() {
    let server = start(MockTarget::bare());
    let mut client = server.connect();
    client.handshake();
    assert_eq!(client.ask("QPassSignals:e"), "");
    client.send(b"k");
    server.finish();
}
