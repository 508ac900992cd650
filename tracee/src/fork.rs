//! A copy of a stopped single-threaded tracee, made by a fork it runs on
//! rewind's behalf (ARCHITECTURE.md "Copies of the replay"). The copy
//! stands where the original stood, with the same registers, and is
//! traced by this process as the original is.

use crate::error::TraceeError;
use crate::ptrace::Resume;
use crate::remote::REWIND_SYSCALL;
use crate::task::{SyscallStopKind, Task};
use crate::wait::{PtraceEvent, Stop};

/// Signals the injected instruction raises itself.
const FAULTS: [i32; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGTRAP];

/// The kernel's "restart this syscall" result fork gives when a signal is
/// pending: the fork did not happen.
const ERESTARTNOINTR: i64 = 513;

/// Forks `task`, which must be at a stop from which it would run user code
/// next and not have a syscall to restart. Returns the stopped copy, with
/// the original's registers.
pub fn fork(task: &Task) -> Result<Task, TraceeError> {
    let saved = task.regs()?;
    let mut injected = saved;
    injected.rip = REWIND_SYSCALL;
    // clone(CLONE_PARENT | SIGCHLD): a fork whose copy is a child of the
    // original's parent, not of the original. Where that parent is rewind
    // (the first replayed process), rewind reaps the copy when it ends.
    injected.rax = libc::SYS_clone as u64;
    injected.rdi = (libc::CLONE_PARENT | libc::SIGCHLD) as u64;
    [injected.rsi, injected.rdx, injected.r10, injected.r8] = [0; 4];
    injected.orig_rax = u64::MAX;
    let mut held = Vec::new();
    let outcome = loop {
        task.set_regs(&injected)?;
        match run_fork(task, &mut held) {
            Ok(Some(copy)) => break Ok(copy),
            // Interrupted by a signal: the signal is held back, and the
            // fork runs again.
            Ok(None) => continue,
            Err(e) => break Err(e),
        }
    };
    task.set_regs(&saved)?;
    for signal in held {
        if let Some(tgid) = crate::signals::thread_group(task.tid) {
            crate::signals::tgkill(tgid, task.tid, signal)?;
        }
    }
    let copy = outcome?;
    // orig_rax too: the replay checks it (a signal raised by a syscall is
    // taken with the syscall's number there). The caller makes sure rax
    // holds no result the kernel would restart the syscall for.
    copy.set_regs(&saved)?;
    Ok(copy)
}

/// One try: the copy, or None if a signal made the fork restart.
fn run_fork(task: &Task, held: &mut Vec<i32>) -> Result<Option<Task>, TraceeError> {
    let unexpected = |got: Stop, expected: &'static str| TraceeError::UnexpectedStop {
        tid: task.tid,
        expected,
        got: format!("{got:?}"),
    };
    let mut step = |task: &Task| -> Result<Stop, TraceeError> {
        let mut stop = task.step(Resume::Syscall, 0)?;
        while let Stop::Signal(signal) = stop {
            if FAULTS.contains(&signal) {
                // The injected instruction itself faulted (no rewind page).
                return Ok(stop);
            }
            held.push(signal);
            stop = task.step(Resume::Syscall, 0)?;
        }
        Ok(stop)
    };
    let entry = step(task)?;
    if entry != Stop::Syscall || task.syscall_stop_kind()? != SyscallStopKind::Entry {
        return Err(unexpected(entry, "the entry of an injected fork"));
    }
    let created = step(task)?;
    if created == Stop::Syscall && task.regs()?.rax as i64 == -ERESTARTNOINTR {
        return Ok(None);
    }
    if created != Stop::Event(PtraceEvent::Fork, libc::SIGTRAP) {
        return Err(unexpected(created, "the fork event of an injected fork"));
    }
    let copy = Task::new(task.event_msg()? as crate::Tid)?;
    let first = copy.wait()?;
    if !matches!(first, Stop::Event(PtraceEvent::Stop, _)) {
        return Err(TraceeError::UnexpectedStop {
            tid: copy.tid,
            expected: "the first stop of a forked copy",
            got: format!("{first:?}"),
        });
    }
    let exit = step(task)?;
    if exit != Stop::Syscall || task.syscall_stop_kind()? != SyscallStopKind::Exit {
        crate::kill_process(copy.tid, libc::SIGKILL);
        crate::reap(copy.tid);
        return Err(unexpected(exit, "the exit of an injected fork"));
    }
    Ok(Some(copy))
}
