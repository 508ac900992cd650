//! Signals: sending them to tracees, and what a process does with them.

use std::io;

use crate::error::TraceeError;
use crate::ptrace;
use crate::Tid;

/// What a process does with a signal when it is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// A handler runs.
    Caught,
    /// Explicitly ignored (SIG_IGN).
    Ignored,
    /// The default action.
    Default,
}

/// The signals whose default action is to do nothing.
pub fn default_is_ignore(signal: i32) -> bool {
    matches!(
        signal,
        libc::SIGCHLD | libc::SIGCONT | libc::SIGURG | libc::SIGWINCH
    )
}

/// The signals whose default action stops the process.
pub fn default_is_stop(signal: i32) -> bool {
    matches!(
        signal,
        libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
    )
}

/// The disposition of `signal` in process `pid`, from /proc/PID/status.
pub fn disposition(pid: Tid, signal: i32) -> Result<Disposition, TraceeError> {
    let status = proc_status(pid)?;
    let mask = |key: &str| signal_mask(&status, key);
    let bit = 1u64 << (signal - 1);
    Ok(if mask("SigCgt:") & bit != 0 {
        Disposition::Caught
    } else if mask("SigIgn:") & bit != 0 {
        Disposition::Ignored
    } else {
        Disposition::Default
    })
}

/// Whether thread `tid` blocks `signal` (its mask, from
/// /proc/TID/status).
pub fn blocked(tid: Tid, signal: i32) -> Result<bool, TraceeError> {
    let mask = signal_mask(&proc_status(tid)?, "SigBlk:");
    Ok((1..=64).contains(&signal) && mask & (1u64 << (signal - 1)) != 0)
}

/// Process `pid`'s ids in each PID namespace it belongs to, from the
/// outermost in (`NSpid` in /proc/PID/status).
pub fn namespace_pids(pid: Tid) -> Option<Vec<Tid>> {
    let status = proc_status(pid).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
    line.split_whitespace().map(|id| id.parse().ok()).collect()
}

fn proc_status(pid: Tid) -> Result<String, TraceeError> {
    let path = format!("/proc/{pid}/status");
    std::fs::read_to_string(&path).map_err(|source| TraceeError::Proc {
        path: path.into(),
        source,
    })
}

/// A signal set line of /proc/PID/status (`SigBlk:`, `SigCgt:`, ...).
fn signal_mask(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0)
}

/// Sends `signal` to thread `tid` of process `pid`.
pub fn tgkill(pid: Tid, tid: Tid, signal: i32) -> Result<(), TraceeError> {
    // SAFETY: tgkill takes three integers.
    let r = unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, signal) };
    if r < 0 {
        return Err(TraceeError::Ptrace {
            request: "tgkill",
            tid,
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// Replaces the siginfo of the signal a tracee is stopped to deliver.
pub fn set_siginfo(tid: Tid, info: &[u8; 128]) -> Result<(), TraceeError> {
    // SAFETY: SETSIGINFO reads one 128-byte siginfo_t from data.
    unsafe {
        ptrace::raw(
            libc::PTRACE_SETSIGINFO,
            "SETSIGINFO",
            tid,
            std::ptr::null_mut(),
            info.as_ptr().cast_mut().cast(),
        )
    }
    .map(drop)
}

/// Sends `thread` again the signals held back while it ran something on
/// rewind's behalf (an injected syscall, clone, or a syscall entered
/// again), so that they are delivered where it goes on.
pub(crate) fn resend_held(thread: Tid, held: Vec<i32>) -> Result<(), TraceeError> {
    for signal in held {
        if let Some(tgid) = thread_group(thread) {
            tgkill(tgid, thread, signal)?;
        }
    }
    Ok(())
}

/// The thread group (process) id of thread `tid`.
pub fn thread_group(tid: Tid) -> Option<Tid> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Makes this process ignore SIGINT: while gdb runs in the same terminal,
/// Ctrl-C is gdb's to handle (it interrupts the replay through the remote
/// protocol), not a reason for rewind to die.
pub fn ignore_interrupt_key() {
    // SAFETY: installs SIG_IGN, which runs no code in this process.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
}
