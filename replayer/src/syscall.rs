//! Replaying a syscall: the thread is brought to its entry and checked,
//! then given what the recording says (an emulated result and memory
//! writes, a mapping, or a run of the syscall itself).

use trace_format::{Registers, SyscallAction, SyscallEntryEvent, SyscallEvent};
use tracee::{PtraceEvent, Resume, Stop, SyscallStopKind, Task, Tid};

use crate::error::ReplayError;
use crate::session::{task_in, ReplaySession};
use crate::task::ReplayTask;
use crate::{memory, output, verify};

impl ReplaySession {
    /// Brings `tid` to the entry of its next syscall and checks the
    /// registers, unless a `SyscallEntry` event already did.
    pub(crate) fn enter_syscall(
        &mut self,
        number: u64,
        tid: Tid,
        regs: &Registers,
        executed: bool,
    ) -> Result<(), ReplayError> {
        let at = format!("syscall {}", tracee::syscalls::name(regs.orig_rax));
        let task = task_in(&mut self.tasks, number, tid)?;
        if std::mem::take(&mut task.entered) {
            if !executed && !task.at_emulated_entry {
                // Its entry was recorded as one the replay runs (an execve
                // still in the kernel when another event came), but it
                // failed in the recording and is emulated: the kernel must
                // not run it here.
                cancel_syscall(task, number)?;
            }
            return Ok(());
        }
        let how = if executed {
            Resume::Syscall
        } else {
            Resume::Sysemu
        };
        let stop = task.resume_restartable(number, how, None)?;
        let is_entry =
            stop == Stop::Syscall && task.task.syscall_stop_kind()? == SyscallStopKind::Entry;
        if !is_entry {
            return Err(verify::diverged(
                number,
                tid,
                &at,
                format!("expected the syscall's entry, got {stop:?}"),
            ));
        }
        let replayed = task.task.regs()?;
        verify::registers(number, tid, &at, regs, &replayed)?;
        task.at_emulated_entry = !executed;
        if executed {
            tracee::syscalls::apply_rewrites(&task.task, &replayed)?;
        }
        // A traced syscall's entry is where the recording flushed.
        self.check_flush(number, tid)
    }

    pub(crate) fn replay_syscall_entry(
        &mut self,
        number: u64,
        tid: Tid,
        event: &SyscallEntryEvent,
    ) -> Result<(), ReplayError> {
        self.enter_syscall(number, tid, &event.regs, event.executed)?;
        task_in(&mut self.tasks, number, tid)?.entered = true;
        Ok(())
    }

    pub(crate) fn replay_syscall(
        &mut self,
        number: u64,
        tid: Tid,
        event: &SyscallEvent,
    ) -> Result<(), ReplayError> {
        self.follow_syscall(number, tid, event)?;
        for change in &event.file_changes {
            self.objects.apply(&mut self.reader, change)?;
        }
        if event.regs.orig_rax == tracee::syscallbuf_abi::REGISTER_BUFFER
            && tracee::syscallbuf_abi::is_registered(event.result)
        {
            self.register_buffer(number, tid, event.regs.syscall_args())?;
        }
        Ok(())
    }

    pub(crate) fn follow_syscall(
        &mut self,
        number: u64,
        tid: Tid,
        event: &SyscallEvent,
    ) -> Result<(), ReplayError> {
        let at = format!("syscall {}", tracee::syscalls::name(event.number()));
        if event.action == SyscallAction::Clone {
            return self.finish_clone(number, tid, &at, event);
        }
        if event.action == SyscallAction::Restart {
            return self.restart_syscall(number, tid, event);
        }
        if let SyscallAction::MaskedWait { signo } = event.action {
            return self.masked_wait(number, tid, event, signo);
        }
        let executed = matches!(
            event.action,
            SyscallAction::Execute | SyscallAction::Remap { .. } | SyscallAction::Exec
        );
        self.enter_syscall(number, tid, &event.regs, executed)?;
        let echo = self.echo_output;
        let task = task_in(&mut self.tasks, number, tid)?;
        match &event.action {
            SyscallAction::Emulate => {
                memory::apply_writes(&task.task, &mut self.reader, &event.writes)?;
                if let (Some(stream), true) = (event.output, echo) {
                    output::echo(&task.task, event, stream)?;
                }
                set_result(&task.task, event)?;
                if let Some(debugger) = &task.debug {
                    // What the kernel wrote, gdb's watchpoints see too.
                    let thread = task.thread_id();
                    debugger.borrow_mut().kernel_wrote(thread, &event.writes)?;
                }
                Ok(())
            }
            SyscallAction::Map(map) => {
                task.leave_emulated_entry(number)?;
                memory::map_region(
                    &task.task,
                    &mut self.reader,
                    &mut self.objects,
                    (map.addr, map.len),
                    map.prot,
                    map.flags,
                    &map.source,
                )?;
                set_result(&task.task, event)
            }
            SyscallAction::Unmap { ranges } => {
                task.leave_emulated_entry(number)?;
                for &(start, len) in ranges {
                    memory::unmap(&task.task, start, len)?;
                }
                set_result(&task.task, event)
            }
            SyscallAction::Brk { old_end, new_end } => {
                task.leave_emulated_entry(number)?;
                memory::move_break(&task.task, *old_end, *new_end)?;
                set_result(&task.task, event)
            }
            SyscallAction::Execute => {
                finish_executed(task, number, &at, event, None)?;
                // What it wrote in the recording (prlimit64's old limit,
                // say) the replay's own run may not have.
                memory::apply_writes(&task.task, &mut self.reader, &event.writes)
            }
            SyscallAction::Remap { new_addr } => {
                finish_executed(task, number, &at, event, Some(*new_addr))
            }
            SyscallAction::Exec => self.exec_stub(number, tid),
            SyscallAction::Clone | SyscallAction::Restart | SyscallAction::MaskedWait { .. } => {
                Ok(())
            }
        }
    }

    /// A wait under a temporary signal mask, ended by a signal whose handler
    /// ran under that mask. The replay sends the signal and runs
    /// rt_sigsuspend with the mask instead, which returns at once with the
    /// kernel remembering the mask to restore after the handler, as the
    /// recorded wait did; then the recorded result and outputs are put in
    /// place, and the `Signal` event that follows delivers it.
    pub(crate) fn masked_wait(
        &mut self,
        number: u64,
        tid: Tid,
        event: &SyscallEvent,
        signo: i32,
    ) -> Result<(), ReplayError> {
        let at = format!("syscall {}", tracee::syscalls::name(event.number()));
        self.enter_syscall(number, tid, &event.regs, false)?;
        let task = task_in(&mut self.tasks, number, tid)?;
        if task.at_emulated_entry {
            task.leave_emulated_entry(number)?;
        }
        let Some(mask) = tracee::syscalls::temporary_sigmask(&task.task, &event.regs) else {
            return Err(verify::diverged(
                number,
                tid,
                &at,
                "the wait has no signal mask in the replay".into(),
            ));
        };
        let tgid = tracee::signals::thread_group(task.tid()).unwrap_or(task.tid());
        tracee::signals::tgkill(tgid, task.tid(), signo)?;
        task.signal_sent = Some(signo);
        let suspended = tracee::remote::syscall_at(
            &task.task,
            tracee::remote::REWIND_SYSCALL,
            libc::SYS_rt_sigsuspend,
            [mask, 8, 0, 0, 0, 0],
        )?;
        if suspended != -514 {
            return Err(verify::diverged(
                number,
                tid,
                &at,
                format!("the replayed wait returned {suspended} instead of being interrupted"),
            ));
        }
        memory::apply_writes(&task.task, &mut self.reader, &event.writes)?;
        set_result(&task.task, event)
    }

    /// The recorded attempt was interrupted and restarted by the kernel:
    /// skip it and leave the thread about to run the syscall instruction
    /// again, as the kernel's restart does.
    pub(crate) fn restart_syscall(
        &mut self,
        number: u64,
        tid: Tid,
        event: &SyscallEvent,
    ) -> Result<(), ReplayError> {
        // An entry the replay ran for real is cancelled there.
        self.enter_syscall(number, tid, &event.regs, false)?;
        let task = task_in(&mut self.tasks, number, tid)?;
        let mut regs = event.regs;
        regs.rax = if event.result == -516 {
            libc::SYS_restart_syscall as u64
        } else {
            regs.orig_rax
        };
        regs.rip -= 2;
        task.task.set_regs(&regs)?;
        Ok(())
    }
}

/// Lets an executed syscall run and checks its result. `remap_to` forces
/// an mremap that moved in the recording to the same place.
fn finish_executed(
    task: &mut ReplayTask,
    number: u64,
    at: &str,
    event: &SyscallEvent,
    remap_to: Option<u64>,
) -> Result<(), ReplayError> {
    let tid = task.recorded_tid;
    if let Some(new_addr) = remap_to.filter(|&a| a != event.regs.rdi) {
        let mut forced = event.regs;
        forced.r10 |= (libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED) as u64;
        forced.r8 = new_addr;
        task.task.set_regs(&forced)?;
    }
    let stop = task.task.step(Resume::Syscall, 0)?;
    match stop {
        Stop::Event(PtraceEvent::Exit, _)
            if matches!(at, "syscall exit" | "syscall exit_group") =>
        {
            task.exiting = true;
            return Ok(());
        }
        Stop::Syscall if task.task.syscall_stop_kind()? == SyscallStopKind::Exit => {}
        other => {
            return Err(verify::diverged(
                number,
                tid,
                at,
                format!("expected the syscall's exit, got {other:?}"),
            ));
        }
    }
    let mut regs = task.task.regs()?;
    let result = regs.rax as i64;
    if result != event.result {
        return Err(verify::diverged(
            number,
            tid,
            at,
            format!(
                "it returned {} in the recording, {result} in the replay",
                event.result
            ),
        ));
    }
    if remap_to.is_some() {
        regs.r10 = event.regs.r10;
        regs.r8 = event.regs.r8;
        task.task.set_regs(&regs)?;
    }
    Ok(())
}

/// Turns the syscall `task` entered for real into no syscall at all, and
/// runs it to its exit stop.
fn cancel_syscall(task: &mut ReplayTask, number: u64) -> Result<(), ReplayError> {
    let mut cancelled = task.task.regs()?;
    cancelled.orig_rax = u64::MAX;
    task.task.set_regs(&cancelled)?;
    let stop = task.task.step(Resume::Syscall, 0)?;
    if stop != Stop::Syscall {
        return Err(verify::diverged(
            number,
            task.recorded_tid,
            "cancelling a syscall",
            format!("expected the syscall's exit, got {stop:?}"),
        ));
    }
    Ok(())
}

/// Sets the recorded result as the syscall's return value.
fn set_result(task: &Task, event: &SyscallEvent) -> Result<(), ReplayError> {
    let mut regs = event.regs;
    regs.rax = event.result as u64;
    task.set_regs(&regs)?;
    Ok(())
}
