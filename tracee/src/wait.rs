//! Decoding of waitpid statuses into what happened to a tracee.

use std::io;

use crate::error::TraceeError;
use crate::Tid;

/// A ptrace event stop (`status >> 16`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PtraceEvent {
    Fork,
    Vfork,
    Clone,
    Exec,
    VforkDone,
    Exit,
    Seccomp,
    /// A group-stop or PTRACE_INTERRUPT stop of a seized tracee.
    Stop,
}

/// Why waitpid returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The task exited with a status code.
    Exited(i32),
    /// The task was killed by a signal.
    Killed { signal: i32, core_dumped: bool },
    /// A syscall entry or exit stop (TRACESYSGOOD).
    Syscall,
    /// A signal is about to be delivered.
    Signal(i32),
    /// A ptrace event; the signal is the stop signal for `Stop` events.
    Event(PtraceEvent, i32),
}

impl Stop {
    pub(crate) fn decode(status: i32) -> Stop {
        if libc::WIFEXITED(status) {
            return Stop::Exited(libc::WEXITSTATUS(status));
        }
        if libc::WIFSIGNALED(status) {
            return Stop::Killed {
                signal: libc::WTERMSIG(status),
                core_dumped: libc::WCOREDUMP(status),
            };
        }
        let signal = libc::WSTOPSIG(status);
        if signal == libc::SIGTRAP | 0x80 {
            return Stop::Syscall;
        }
        let event = match status >> 16 {
            0 => return Stop::Signal(signal),
            libc::PTRACE_EVENT_FORK => PtraceEvent::Fork,
            libc::PTRACE_EVENT_VFORK => PtraceEvent::Vfork,
            libc::PTRACE_EVENT_CLONE => PtraceEvent::Clone,
            libc::PTRACE_EVENT_EXEC => PtraceEvent::Exec,
            libc::PTRACE_EVENT_VFORK_DONE => PtraceEvent::VforkDone,
            libc::PTRACE_EVENT_EXIT => PtraceEvent::Exit,
            libc::PTRACE_EVENT_SECCOMP => PtraceEvent::Seccomp,
            _ => PtraceEvent::Stop,
        };
        Stop::Event(event, signal)
    }

    /// Whether the task is gone.
    pub fn is_death(&self) -> bool {
        matches!(self, Stop::Exited(_) | Stop::Killed { .. })
    }
}

/// Waits for a state change of `tid` (any thread kind: `__WALL`).
pub(crate) fn wait_for(tid: Tid) -> Result<Stop, TraceeError> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes one int to `status`.
        let got = unsafe { libc::waitpid(tid, &mut status, libc::__WALL) };
        if got == tid {
            return Ok(Stop::decode(status));
        }
        let source = io::Error::last_os_error();
        if got == -1 && source.kind() == io::ErrorKind::Interrupted {
            continue;
        }
        return Err(TraceeError::Wait { tid, source });
    }
}
