//! The server against the machine's real gdb in batch mode: validates the
//! target description, the `g` layout, thread ids, stop replies and signal
//! numbers against what gdb itself makes of them. Skipped, with a printed
//! reason, where gdb is not installed.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use gdb_remote::{ResumeAction, ServeEnd, StopReason, WatchKind};

fn gdb_available() -> bool {
    Command::new("gdb")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `gdb -batch` with `commands` against the server on `port`; returns
/// stdout and stderr together. With `interrupt_after`, gdb gets a SIGINT
/// (what Ctrl-C at its terminal sends) that long after it started. Kills
/// gdb if it takes over a minute.
fn run_gdb(port: u16, commands: &[&str], interrupt_after: Option<Duration>) -> String {
    let mut cmd = Command::new("gdb");
    cmd.args([
        "-batch",
        "-nx",
        "-ex",
        "set confirm off",
        "-ex",
        "set pagination off",
    ]);
    cmd.args(["-ex", "set remotetimeout 20"]);
    cmd.args(["-ex", "set architecture i386:x86-64"]);
    cmd.args(["-ex", &format!("target remote 127.0.0.1:{port}")]);
    for c in commands {
        cmd.args(["-ex", c]);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn gdb");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let deadline = started + Duration::from_secs(60);
    let mut interrupt_at = interrupt_after.map(|after| started + after);
    loop {
        if interrupt_at.is_some_and(|at| Instant::now() >= at) {
            interrupt_at = None;
            let status = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .expect("run kill");
            assert!(status.success());
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "gdb hung; output so far:\n{}\n{}",
                out_reader.join().unwrap(),
                err_reader.join().unwrap()
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
    format!(
        "{}\n{}",
        out_reader.join().unwrap(),
        err_reader.join().unwrap()
    )
}

fn assert_has(output: &str, needle: &str) {
    assert!(
        output.contains(needle),
        "gdb output lacks {needle:?}:\n{output}"
    );
}

#[test]
fn real_gdb_session() {
    if !gdb_available() {
        eprintln!("skipped: gdb is not installed");
        return;
    }
    let mut target = MockTarget::new();
    // gdb's own signal names confirm the number translation.
    target.script.extend([
        StopReason::Breakpoint {
            thread: MAIN,
            hardware: false,
        },
        StopReason::Watchpoint {
            thread: MAIN,
            kind: WatchKind::Read,
            addr: 0x1008,
        },
        StopReason::Signal {
            thread: MAIN,
            signo: 10,
        },
        StopReason::Signal {
            thread: WORKER,
            signo: 7,
        },
        StopReason::Exited { pid: PID, code: 3 },
    ]);
    // gdb would look for the program's file on this machine.
    target.exec_file = None;
    let server = start(target);
    let output = run_gdb(
        server.port,
        &[
            "info registers rip",
            "x/4xb 0x1000",
            "info threads",
            "p $xmm0",
            "p $ymm0",
            "p $eflags",
            "p/x $fs_base",
            "p $orig_rax",
            "p $mxcsr",
            "p/x $fctrl",
            "p $ftag",
            "stepi",
            "p/x $pc",
            "thread 2",
            "p/x $pc",
            "p $rax",
            "thread 1",
            "set var $rbx = 0x1234",
            "p/x $rbx",
            "monitor when",
            "break *0x401100",
            "continue",
            "p/x $pc",
            "delete",
            "rwatch *(int *)0x1008",
            "continue",
            "delete",
            "continue",
            "continue",
            "reverse-stepi",
            "continue",
        ],
        None,
    );
    eprintln!("{output}");
    assert_has(&output, "rip            0x401000");
    assert_has(&output, "0x1000:\t0x00\t0x01\t0x02\t0x03");
    assert_has(&output, "Thread 100.100 \"main\"");
    assert_has(&output, "Thread 100.101 \"work<&>\"");
    assert_has(&output, "v4_int32 = {1, 2, 3, 4}");
    assert_has(&output, "v8_int32 = {1, 2, 3, 4, 5, 6, 7, 8}");
    assert_has(&output, "[ PF ZF IF ]");
    assert_has(&output, "0x7ffff7d8a740");
    assert_has(&output, "$5 = -1");
    assert_has(&output, "[ IM DM ZM OM UM PM ]");
    assert_has(&output, "0x37f");
    assert_has(&output, "$8 = 65535");
    assert_has(&output, "0x401001");
    assert_has(&output, "[Switching to thread 2 (Thread 100.101)]");
    assert_has(&output, "0x402000");
    assert_has(&output, "$11 = 512");
    assert_has(&output, "0x1234");
    assert_has(&output, "Current event: 42");
    assert_has(&output, "hit Breakpoint 1, 0x0000000000401100");
    assert_has(&output, "Hardware read watchpoint 2: *(int *)0x1008");
    assert_has(&output, "received signal SIGUSR1");
    assert_has(&output, "received signal SIGBUS");
    assert_has(&output, "No more reverse-execution history.");
    assert_has(&output, "exited with code 03");
    let (target, end) = server.finish();
    assert_eq!(end, ServeEnd::Exited);
    assert_eq!(target.regs[&MAIN].general[1], 0x1234);
    // The reverse step was of the thread gdb had selected.
    assert_eq!(
        target.reverse.unwrap().resumes,
        [ResumeAction::Step(WORKER)]
    );
}

/// gdb reads the program through vFile, and Ctrl-C stops a continue.
#[test]
fn real_gdb_reads_files_and_interrupts() {
    if !gdb_available() {
        eprintln!("skipped: gdb is not installed");
        return;
    }
    let Ok(program) = std::fs::read("/bin/true") else {
        eprintln!("skipped: no /bin/true to serve as the program");
        return;
    };
    let dir = std::env::temp_dir().join(format!("gdb-remote-real-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("prog"), &program).unwrap();
    let mut target = MockTarget::new();
    target.files = Some(MockFiles { root: dir.clone() });
    // Only AT_NULL: nothing for gdb to relocate by.
    target.auxv = vec![0; 16];
    let server = start(target);
    let output = run_gdb(
        server.port,
        &["info inferiors", "continue", "info threads", "p/x $pc"],
        Some(Duration::from_secs(3)),
    );
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("{output}");
    assert_has(&output, "Reading /prog from remote target");
    assert_has(&output, "target:/prog");
    assert_has(&output, "received signal SIGINT");
    assert_has(&output, "0x402000");
    // gdb detached when the batch ended; end the server.
    let mut client = server.connect();
    client.send(b"k");
    let (target, end) = server.finish();
    assert_eq!(end, ServeEnd::Killed);
    assert_eq!(target.resumes, [ResumeAction::Continue]);
}
