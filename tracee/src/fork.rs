//! Copies of stopped tracees (ARCHITECTURE.md "Copies of the replay"): a
//! process is copied by a fork its thread runs on rewind's behalf, and
//! each further thread by a clone that the copy's first thread runs. A
//! copy stands where the original stood, with the same registers, and is
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

/// A thread of the process that runs the clone, as pthread_create makes
/// one: same memory, files, signal handlers and thread group.
const THREAD_FLAGS: i32 = libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_SIGHAND
    | libc::CLONE_THREAD
    | libc::CLONE_SYSVSEM;

/// Forks `task`, which must be at a stop from which it would run user code
/// next and not have a syscall to restart. Returns the stopped copy, with
/// the original's registers.
pub fn fork(task: &Task) -> Result<Task, TraceeError> {
    // clone(CLONE_PARENT | SIGCHLD): a fork whose copy is a child of the
    // original's parent, not of the original. Where that parent is rewind
    // (the first replayed process), rewind reaps the copy when it ends.
    let copy = inject_clone(task, libc::CLONE_PARENT | libc::SIGCHLD, PtraceEvent::Fork)?;
    // orig_rax too: the replay checks it (a signal raised by a syscall is
    // taken with the syscall's number there). The caller makes sure rax
    // holds no result the kernel would restart the syscall for.
    copy.set_regs(&task.regs()?)?;
    Ok(copy)
}

/// A new thread in `task`'s process, made by a clone `task` runs (same
/// conditions as `fork`). It stands stopped before its first instruction
/// with `task`'s registers; the caller gives it its own
/// (`thread_state::ThreadState::give`).
pub fn clone_thread(task: &Task) -> Result<Task, TraceeError> {
    inject_clone(task, THREAD_FLAGS, PtraceEvent::Clone)
}

/// Runs clone(`flags`) in `task` from the rewind page and returns the
/// stopped child, which the kernel reports with `event`.
fn inject_clone(task: &Task, flags: i32, event: PtraceEvent) -> Result<Task, TraceeError> {
    let saved = task.regs()?;
    let mut injected = saved;
    injected.rip = REWIND_SYSCALL;
    injected.rax = libc::SYS_clone as u64;
    injected.rdi = flags as u64;
    [injected.rsi, injected.rdx, injected.r10, injected.r8] = [0; 4];
    injected.orig_rax = u64::MAX;
    let mut held = Vec::new();
    let outcome = loop {
        task.set_regs(&injected)?;
        match run_clone(task, event, &mut held) {
            Ok(Some(copy)) => break Ok(copy),
            // Interrupted by a signal: the signal is held back, and the
            // fork runs again.
            Ok(None) => continue,
            Err(e) => break Err(e),
        }
    };
    task.set_regs(&saved)?;
    crate::signals::resend_held(task.tid, held)?;
    outcome
}

/// One try: the child, or None if a signal made the clone restart.
fn run_clone(
    task: &Task,
    event: PtraceEvent,
    held: &mut Vec<i32>,
) -> Result<Option<Task>, TraceeError> {
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
        return Err(unexpected(entry, "the entry of an injected clone"));
    }
    let created = step(task)?;
    if created == Stop::Syscall && task.regs()?.rax as i64 == -ERESTARTNOINTR {
        return Ok(None);
    }
    if created != Stop::Event(event, libc::SIGTRAP) {
        return Err(unexpected(created, "the event of an injected clone"));
    }
    let copy = Task::new(task.event_msg()? as crate::Tid)?;
    let first = copy.wait()?;
    if !matches!(first, Stop::Event(PtraceEvent::Stop, _)) {
        return Err(TraceeError::UnexpectedStop {
            tid: copy.tid,
            expected: "the first stop of a cloned copy",
            got: format!("{first:?}"),
        });
    }
    let exit = step(task)?;
    if exit != Stop::Syscall || task.syscall_stop_kind()? != SyscallStopKind::Exit {
        crate::kill_process(copy.tid, libc::SIGKILL);
        crate::reap(copy.tid);
        return Err(unexpected(exit, "the exit of an injected clone"));
    }
    Ok(Some(copy))
}
