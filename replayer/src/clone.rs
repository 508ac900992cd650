//! Replaying thread and process creation: the parent runs its clone into
//! the kernel, the child appears, and what the recording's kernel wrote
//! (ids as the program's namespaces number them, a pidfd) replaces what
//! the replay's wrote.

use trace_format::{CloneEvent, CloneKind, Registers, SyscallEvent};
use tracee::syscalls::{self, CloneWord};
use tracee::{PtraceEvent, RemoteAddr, Resume, Stop, SyscallStopKind, Task, Tid};

use crate::error::ReplayError;
use crate::session::{task_in, ReplaySession};
use crate::task::ReplayTask;
use crate::{memory, verify};

impl ReplaySession {
    /// The thread creation the recording saw: the parent runs its clone
    /// into the kernel, the child appears, and the thread ids the kernel
    /// wrote are replaced by the recorded ones.
    pub(crate) fn replay_clone(
        &mut self,
        number: u64,
        tid: Tid,
        event: &CloneEvent,
    ) -> Result<(), ReplayError> {
        self.enter_syscall(number, tid, &event.regs, true)?;
        let parent = task_in(&mut self.tasks, number, tid)?;
        let namespaces = NamespaceFlags::strip(&parent.task, &event.regs)?;
        let mut stop = parent.task.step(Resume::Syscall, 0)?;
        // A signal the replay does not deliver (SIGCHLD from a replayed
        // child) makes fork fail with ERESTARTNOINTR; the kernel restarts
        // it once the signal is dealt with.
        while stop == Stop::Syscall && parent.task.regs()?.rax as i64 == -i64::from(ERESTARTNOINTR)
        {
            let entry = parent.resume(number, Resume::Syscall, None)?;
            if entry != Stop::Syscall || parent.task.syscall_stop_kind()? != SyscallStopKind::Entry
            {
                return Err(verify::diverged(
                    number,
                    tid,
                    "clone",
                    format!("expected clone to restart, got {entry:?}"),
                ));
            }
            stop = parent.task.step(Resume::Syscall, 0)?;
        }
        if !matches!(
            stop,
            Stop::Event(
                PtraceEvent::Clone | PtraceEvent::Fork | PtraceEvent::Vfork,
                _
            )
        ) {
            return Err(verify::diverged(
                number,
                tid,
                "clone",
                format!("expected a new thread, got {stop:?}"),
            ));
        }
        parent.in_clone = true;
        let child_tid = parent.task.event_msg()? as Tid;
        let child = Task::new(child_tid)?;
        let first = child.wait()?;
        if !matches!(first, Stop::Event(PtraceEvent::Stop, _)) {
            return Err(verify::diverged(
                number,
                event.child_tid,
                "clone",
                format!("the new thread first stopped with {first:?}"),
            ));
        }
        if let Some(namespaces) = namespaces {
            namespaces.restore(&parent.task, &child, event.flags)?;
        }
        // The replay's own pidfd is a descriptor the replayed program never
        // sees (its fds are the recording's): closed when clone returns.
        let pidfd = CloneWord::Pidfd;
        if let Some(at) = syscalls::clone_word(&parent.task, &event.regs, event.flags, pidfd) {
            parent.replay_pidfd = Some(parent.task.read_u32(RemoteAddr(at))?);
        }
        // The ids (and pidfd) the recording's kernel wrote, as the program's
        // namespaces number them.
        memory::apply_writes(&parent.task, &mut self.reader, &event.parent_writes)?;
        memory::apply_writes(&child, &mut self.reader, &event.child_writes)?;
        let child_regs = child.regs()?;
        verify::registers(
            number,
            event.child_tid,
            "the new thread",
            &event.child_regs,
            &child_regs,
        )?;
        let process = if event.flags & libc::CLONE_THREAD as u64 != 0 {
            parent.recorded_process
        } else {
            event.child_tid
        };
        if let Some(debugger) = &self.debugger {
            let debugger = debugger.borrow();
            if process == debugger.debugged {
                debugger.thread_added(child.tid)?;
            } else if parent.recorded_process == debugger.debugged
                && event.flags & libc::CLONE_VM as u64 == 0
            {
                // A vfork child shares the parent's memory and its
                // breakpoints, which it steps over unseen.
                debugger.forked(&child);
            }
        }
        let mut adopted = ReplayTask::new(child, event.child_tid, process);
        if event.flags & libc::CLONE_VM as u64 != 0 {
            adopted.memory_of = parent.memory_of;
        }
        self.adopt(event.child_tid, adopted);
        match event.kind {
            CloneKind::Fork => self.fork_buffer(number, tid, event.child_tid)?,
            CloneKind::Vfork => self.refuse_buffer(number, event.child_tid)?,
            CloneKind::Thread => {}
        }
        Ok(())
    }

    /// The parent's clone returns: with the recorded child id.
    pub(crate) fn finish_clone(
        &mut self,
        number: u64,
        tid: Tid,
        at: &str,
        event: &SyscallEvent,
    ) -> Result<(), ReplayError> {
        let task = task_in(&mut self.tasks, number, tid)?;
        if !std::mem::take(&mut task.in_clone) {
            return Err(ReplayError::BadTrace {
                event: number,
                reason: format!("thread {tid} returns from a clone it did not start"),
            });
        }
        task.entered = false;
        let stop = task.task.step(Resume::Syscall, 0)?;
        if stop != Stop::Syscall || task.task.syscall_stop_kind()? != SyscallStopKind::Exit {
            return Err(verify::diverged(
                number,
                tid,
                at,
                format!("expected the end of clone, got {stop:?}"),
            ));
        }
        if let Some(fd) = task.replay_pidfd.take() {
            tracee::remote::syscall(
                &task.task,
                "close of the replay's pidfd",
                libc::SYS_close,
                [u64::from(fd), 0, 0, 0, 0, 0],
            )?;
        }
        let mut regs = task.task.regs()?;
        regs.rax = event.result as u64;
        task.task.set_regs(&regs)?;
        Ok(())
    }
}

/// The kernel's "restart this syscall whatever the signal handler says".
const ERESTARTNOINTR: i32 = 513;

/// The namespaces a clone may create. They act only in the recording
/// (ARCHITECTURE.md "Recording"): the replay's processes stay in the
/// replayer's, which also spares a replay the privilege they need.
/// CLONE_NEWTIME's bit is clone(2)'s exit signal, so only clone3 has it.
const CLONE_NEW: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u64;
const CLONE_NEWTIME: u64 = 0x80;

/// A clone's flags taken out for the replay's run of it, to be put back.
enum NamespaceFlags {
    /// clone(2)'s first argument, as it was.
    Register(u64),
    /// clone3's `clone_args.flags` at this address, as they were.
    Memory { at: u64, flags: u64 },
}

impl NamespaceFlags {
    /// Runs the clone the parent stands at the entry of without its
    /// namespace flags; None when it has none.
    fn strip(task: &Task, regs: &Registers) -> Result<Option<NamespaceFlags>, ReplayError> {
        match regs.orig_rax as i64 {
            libc::SYS_clone if regs.rdi & CLONE_NEW != 0 => {
                let mut stripped = task.regs()?;
                stripped.rdi &= !CLONE_NEW;
                task.set_regs(&stripped)?;
                Ok(Some(NamespaceFlags::Register(regs.rdi)))
            }
            libc::SYS_clone3 => {
                let at = regs.rdi;
                let flags = task.read_u64(RemoteAddr(at))?;
                if flags & (CLONE_NEW | CLONE_NEWTIME) == 0 {
                    return Ok(None);
                }
                let stripped = flags & !(CLONE_NEW | CLONE_NEWTIME);
                task.write_bytes(RemoteAddr(at), &stripped.to_le_bytes())?;
                Ok(Some(NamespaceFlags::Memory { at, flags }))
            }
            _ => Ok(None),
        }
    }

    /// Puts the flags back where the program keeps them, in the parent
    /// and in the child (which has its own copy unless they share memory).
    fn restore(&self, parent: &Task, child: &Task, clone_flags: u64) -> Result<(), ReplayError> {
        match *self {
            NamespaceFlags::Register(flags) => {
                for task in [parent, child] {
                    let mut regs = task.regs()?;
                    regs.rdi = flags;
                    task.set_regs(&regs)?;
                }
            }
            NamespaceFlags::Memory { at, flags } => {
                parent.write_bytes(RemoteAddr(at), &flags.to_le_bytes())?;
                if clone_flags & libc::CLONE_VM as u64 == 0 {
                    child.write_bytes(RemoteAddr(at), &flags.to_le_bytes())?;
                }
            }
        }
        Ok(())
    }
}
