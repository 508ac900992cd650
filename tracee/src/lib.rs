//! Control of traced Linux tasks: what recording and replay share.
//!
//! This is the one crate (with `syscallbuf`) where `unsafe` lives: every
//! raw syscall is wrapped here and turned into a `Result` on the spot.

mod addr;
pub mod clock;
pub mod cpu;
pub mod cputime;
pub mod debugregs;
mod error;
pub mod extended_state;
pub mod fingerprint;
pub mod fork;
pub mod limits;
pub mod maps;
pub mod memfd;
mod ptrace;
pub mod remote;
pub mod resources;
pub mod seccomp;
pub mod signals;
pub mod spawn;
pub mod switches;
/// The preload library's side of the agreement, from its own source.
#[path = "../../syscallbuf/src/abi.rs"]
pub mod syscallbuf_abi;
pub mod syscalls;
mod task;
pub mod thread_state;
mod wait;
pub mod waiter;
pub mod x86;

pub use addr::RemoteAddr;
pub use error::TraceeError;
pub use ptrace::{Resume, PTRACE_OPTIONS};
pub use task::{SyscallStopKind, Task};
pub use wait::{PtraceEvent, Stop};

/// A Linux thread id.
pub type Tid = i32;

/// Sends `signal` to the process `pid`; used to end tracees we started.
pub fn kill_process(pid: Tid, signal: i32) {
    // SAFETY: kill has no memory effects; errors (already gone) are moot.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// The effective user id of this process.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// A thread's id as the kernel reports it to the thread itself.
pub fn own_pid() -> Tid {
    std::process::id() as Tid
}

/// The conventional name of a signal number.
pub fn signal_name(signal: i32) -> String {
    const NAMES: [&str; 32] = [
        "0",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    usize::try_from(signal)
        .ok()
        .and_then(|i| NAMES.get(i))
        .map_or_else(|| format!("SIGRT{signal}"), |n| n.to_string())
}

/// Waits until a tracee we killed is gone, so that it leaves no zombie.
/// Each of its threads may still report a PTRACE_EVENT_EXIT stop, or
/// stand in one reported already (seen by a wait that the error
/// interrupted, so no new report comes): every thread is resumed, and the
/// other threads' deaths are waited for, until the kernel reports the
/// process's. A leader with threads left dies only after them.
pub fn reap(pid: Tid) {
    loop {
        let threads: Vec<Tid> = std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|dir| {
                dir.flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        for &tid in &threads {
            let _ = ptrace::resume(tid, Resume::Continue, 0);
        }
        for &tid in threads.iter().filter(|&&tid| tid != pid) {
            let mut status = 0;
            // SAFETY: waitpid writes one int.
            unsafe { libc::waitpid(tid, &mut status, libc::__WALL | libc::WNOHANG) };
        }
        let mut status = 0;
        // SAFETY: waitpid writes one int.
        let got = unsafe { libc::waitpid(pid, &mut status, libc::__WALL | libc::WNOHANG) };
        if got == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if got == -1 || (got == pid && (libc::WIFEXITED(status) || libc::WIFSIGNALED(status))) {
            return;
        }
        if got == 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

/// Waits for the next stop of any tracee.
pub fn wait_any() -> Result<(Tid, Stop), TraceeError> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes one int.
        let got = unsafe { libc::waitpid(-1, &mut status, libc::__WALL) };
        if got > 0 {
            return Ok((got, Stop::decode(status)));
        }
        let source = std::io::Error::last_os_error();
        if source.kind() != std::io::ErrorKind::Interrupted {
            return Err(TraceeError::Wait { tid: -1, source });
        }
    }
}
