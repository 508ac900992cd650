//! Stop replies (`T`, `W`, `X`): how the server tells the client why the
//! target stopped.

use crate::hex;
use crate::packets::{push_thread_id, ClientFeatures};
use crate::target::{StopReason, ThreadId, WatchKind};

/// gdb's own number for a signal it has no name for.
const GDB_SIGNAL_UNKNOWN: u8 = 143;
const GDB_SIGNAL_INT: u8 = 2;
const GDB_SIGNAL_TRAP: u8 = 5;

/// The remote protocol numbers signals gdb's way, not Linux's: the two
/// agree on the classic ones and differ from SIGBUS on.
pub(crate) fn gdb_signal(linux: i32) -> u8 {
    match linux {
        0 => 0,
        1..=6 | 8 | 9 | 11 | 13..=15 | 21 | 22 | 24..=28 => linux as u8,
        7 => 10,  // SIGBUS
        10 => 30, // SIGUSR1
        12 => 31, // SIGUSR2
        17 => 20, // SIGCHLD
        18 => 19, // SIGCONT
        19 => 17, // SIGSTOP
        20 => 18, // SIGTSTP
        23 => 16, // SIGURG
        29 => 23, // SIGIO
        30 => 32, // SIGPWR
        31 => 12, // SIGSYS
        32 => 77,
        // gdb numbers SIG33..SIG63 from 45 and puts SIG32 and SIG64 apart.
        33..=63 => (linux - 33 + 45) as u8,
        64 => 78,
        // SIGSTKFLT and anything out of range.
        _ => GDB_SIGNAL_UNKNOWN,
    }
}

/// The Linux signal gdb's number `gdb` stands for (in resumes and
/// `QPassSignals`); None for one Linux has not.
pub(crate) fn linux_signal(gdb: u64) -> Option<i32> {
    if gdb == u64::from(GDB_SIGNAL_UNKNOWN) {
        return None;
    }
    (1..=64).find(|&linux| u64::from(gdb_signal(linux)) == gdb)
}

/// Whether the process is gone after this stop.
pub(crate) fn is_exit(stop: &StopReason) -> bool {
    matches!(stop, StopReason::Exited { .. } | StopReason::Killed { .. })
}

pub(crate) fn format(stop: &StopReason, features: ClientFeatures) -> Vec<u8> {
    let mut out = Vec::with_capacity(48);
    let mut t_packet = |signal: u8, thread: ThreadId, extra: &[u8]| {
        out.push(b'T');
        hex::push_bytes(&mut out, &[signal]);
        out.extend_from_slice(b"thread:");
        push_thread_id(&mut out, thread, features.multiprocess);
        out.push(b';');
        out.extend_from_slice(extra);
    };
    match *stop {
        StopReason::Exec { thread, ref path } => {
            // A client that did not ask for exec events sees a plain trap.
            let mut extra = Vec::new();
            if features.exec_events {
                extra.extend_from_slice(b"exec:");
                hex::push_bytes(&mut extra, path.as_bytes());
                extra.push(b';');
            }
            t_packet(GDB_SIGNAL_TRAP, thread, &extra);
        }
        StopReason::Signal { thread, signo } => t_packet(gdb_signal(signo), thread, b""),
        StopReason::Breakpoint { thread, hardware } => {
            // Without the client's consent these fields would confuse an
            // older gdb; a plain SIGTRAP stop is what it expects then.
            let extra: &[u8] = match hardware {
                true if features.hwbreak => b"hwbreak:;",
                false if features.swbreak => b"swbreak:;",
                _ => b"",
            };
            t_packet(GDB_SIGNAL_TRAP, thread, extra);
        }
        StopReason::Watchpoint { thread, kind, addr } => {
            let mut extra = match kind {
                WatchKind::Write => b"watch:".to_vec(),
                WatchKind::Read => b"rwatch:".to_vec(),
                WatchKind::Access => b"awatch:".to_vec(),
            };
            hex::push_number(&mut extra, addr);
            extra.push(b';');
            t_packet(GDB_SIGNAL_TRAP, thread, &extra);
        }
        StopReason::HistoryEnd { thread, at_start } => {
            let extra: &[u8] = if at_start {
                b"replaylog:begin;"
            } else {
                b"replaylog:end;"
            };
            t_packet(GDB_SIGNAL_TRAP, thread, extra);
        }
        StopReason::Interrupted { thread } => t_packet(GDB_SIGNAL_INT, thread, b""),
        StopReason::Exited { pid, code } => {
            out.push(b'W');
            // An exit status is the low 8 bits, whatever the target says.
            hex::push_bytes(&mut out, &[code as u8]);
            push_process(&mut out, pid, features);
        }
        StopReason::Killed { pid, signo } => {
            out.push(b'X');
            hex::push_bytes(&mut out, &[gdb_signal(signo)]);
            push_process(&mut out, pid, features);
        }
    }
    out
}

fn push_process(out: &mut Vec<u8>, pid: i32, features: ClientFeatures) {
    if features.multiprocess {
        out.extend_from_slice(b";process:");
        hex::push_number(out, u64::from(pid.unsigned_abs()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MULTI: ClientFeatures = ClientFeatures {
        multiprocess: true,
        swbreak: true,
        hwbreak: true,
        exec_events: true,
    };
    const PLAIN: ClientFeatures = ClientFeatures {
        multiprocess: false,
        swbreak: false,
        hwbreak: false,
        exec_events: false,
    };
    const T: ThreadId = ThreadId {
        pid: 0x100,
        tid: 0x101,
    };

    fn text(stop: StopReason, features: ClientFeatures) -> String {
        String::from_utf8(format(&stop, features)).unwrap()
    }

    #[test]
    fn thread_stops() {
        let step = StopReason::Signal {
            thread: T,
            signo: 5,
        };
        assert_eq!(text(step.clone(), MULTI), "T05thread:p100.101;");
        assert_eq!(text(step, PLAIN), "T05thread:101;");
        let segv = StopReason::Signal {
            thread: T,
            signo: 11,
        };
        assert_eq!(text(segv, MULTI), "T0bthread:p100.101;");
        let usr1 = StopReason::Signal {
            thread: T,
            signo: 10,
        };
        assert_eq!(text(usr1, MULTI), "T1ethread:p100.101;");
        let sw = StopReason::Breakpoint {
            thread: T,
            hardware: false,
        };
        assert_eq!(text(sw.clone(), MULTI), "T05thread:p100.101;swbreak:;");
        assert_eq!(text(sw, PLAIN), "T05thread:101;");
        let hw = StopReason::Breakpoint {
            thread: T,
            hardware: true,
        };
        assert_eq!(text(hw, MULTI), "T05thread:p100.101;hwbreak:;");
        let watch = StopReason::Watchpoint {
            thread: T,
            kind: WatchKind::Access,
            addr: 0x7ffe_0010,
        };
        assert_eq!(text(watch, PLAIN), "T05thread:101;awatch:7ffe0010;");
        let end = StopReason::HistoryEnd {
            thread: T,
            at_start: false,
        };
        assert_eq!(text(end, MULTI), "T05thread:p100.101;replaylog:end;");
        let begin = StopReason::HistoryEnd {
            thread: T,
            at_start: true,
        };
        assert_eq!(text(begin, PLAIN), "T05thread:101;replaylog:begin;");
        let int = StopReason::Interrupted { thread: T };
        assert_eq!(text(int, MULTI), "T02thread:p100.101;");
        let exec = StopReason::Exec {
            thread: T,
            path: "/bin/ls".into(),
        };
        assert_eq!(
            text(exec.clone(), MULTI),
            "T05thread:p100.101;exec:2f62696e2f6c73;"
        );
        assert_eq!(text(exec, PLAIN), "T05thread:101;");
    }

    #[test]
    fn exits() {
        let exited = StopReason::Exited {
            pid: 0x100,
            code: 3,
        };
        assert_eq!(text(exited.clone(), MULTI), "W03;process:100");
        assert_eq!(text(exited, PLAIN), "W03");
        let killed = StopReason::Killed {
            pid: 0x100,
            signo: 9,
        };
        assert_eq!(text(killed, MULTI), "X09;process:100");
        let odd = StopReason::Exited {
            pid: 0x100,
            code: 256 + 7,
        };
        assert_eq!(text(odd, PLAIN), "W07");
    }

    #[test]
    fn signal_numbers() {
        assert_eq!(gdb_signal(2), 2);
        assert_eq!(gdb_signal(7), 10);
        assert_eq!(gdb_signal(17), 20);
        assert_eq!(gdb_signal(31), 12);
        assert_eq!(gdb_signal(32), 77);
        assert_eq!(gdb_signal(33), 45);
        assert_eq!(gdb_signal(34), 46);
        assert_eq!(gdb_signal(63), 75);
        assert_eq!(gdb_signal(64), 78);
        assert_eq!(gdb_signal(16), GDB_SIGNAL_UNKNOWN);
        assert_eq!(gdb_signal(0), 0);
        assert_eq!(gdb_signal(-5), GDB_SIGNAL_UNKNOWN);
        for linux in (1..=64).filter(|&s| s != 16) {
            assert_eq!(linux_signal(u64::from(gdb_signal(linux))), Some(linux));
        }
        assert_eq!(linux_signal(u64::from(GDB_SIGNAL_UNKNOWN)), None);
        assert_eq!(linux_signal(7), None);
    }
}
