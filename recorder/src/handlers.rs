//! What the record loop does at each kind of stop.

use std::io::Write;
use std::rc::Rc;

use trace_format::{CloneEvent, CloneKind, Event, EventRecord, ExitEvent, ExitStatus};
use tracee::syscallbuf_abi;
use tracee::syscalls::{self, CloneWord};
use tracee::{PtraceEvent, RemoteAddr, Resume, Stop, SyscallStopKind, Task, Tid};

use crate::error::RecordError;
use crate::outputs;
use crate::scratch;
use crate::session::{internal, Session};
use crate::syscall::{self, ExitContext};
use crate::task::{RecordTask, TaskState};

const CLONE_VM: u64 = libc::CLONE_VM as u64;
/// -ERESTARTSYS, -ERESTARTNOINTR, -ERESTARTNOHAND, -ERESTART_RESTARTBLOCK:
/// the kernel's "interrupted, restart or return EINTR" results, which a
/// tracer sees at the syscall's exit stop.
pub(crate) const RESTART_CODES: [i64; 4] = [-512, -513, -514, -516];
const CLONE_THREAD: u64 = libc::CLONE_THREAD as u64;

/// Decodes an exit status as waitpid reports it (also the event message of
/// PTRACE_EVENT_EXIT).
pub fn exit_status(raw: i32) -> ExitStatus {
    if libc::WIFSIGNALED(raw) {
        ExitStatus::Killed {
            signal: libc::WTERMSIG(raw),
            core_dumped: libc::WCOREDUMP(raw),
        }
    } else {
        ExitStatus::Exited(libc::WEXITSTATUS(raw))
    }
}

impl Session {
    pub(crate) fn dispatch(&mut self, tid: Tid, stop: Stop) -> Result<(), RecordError> {
        if !matches!(stop, Stop::Signal(_)) {
            self.task(tid)?.boundary_regs = None;
        }
        match stop {
            Stop::Syscall => match self.task(tid)?.task.syscall_stop_kind()? {
                SyscallStopKind::Entry => self.on_syscall_entry(tid),
                SyscallStopKind::Exit => self.on_syscall_exit(tid),
                SyscallStopKind::Seccomp => self.resume_as_before(tid),
                // Killed meanwhile: its exit is handled when it is reported.
                SyscallStopKind::Left => Ok(()),
            },
            Stop::Signal(signal) => self.on_signal(tid, signal),
            Stop::Event(PtraceEvent::Exec, _) => self.on_exec_event(tid),
            Stop::Event(PtraceEvent::Exit, _) => self.on_exit_event(tid),
            Stop::Event(PtraceEvent::Clone, _) => self.on_clone_event(tid, CloneKind::Thread),
            Stop::Event(PtraceEvent::Fork, _) => self.on_clone_event(tid, CloneKind::Fork),
            Stop::Event(PtraceEvent::Vfork, _) => self.on_clone_event(tid, CloneKind::Vfork),
            Stop::Event(PtraceEvent::Stop, signal) => self.on_interrupt_stop(tid, signal),
            Stop::Event(PtraceEvent::Seccomp, _) => match self.task(tid)?.state {
                // Resumed with PTRACE_CONT: the filter's stop is the entry.
                TaskState::Running => self.on_syscall_entry(tid),
                // After the entry stop of PTRACE_SYSCALL: the same syscall.
                _ => self.resume_as_before(tid),
            },
            Stop::Event(PtraceEvent::VforkDone, _) => self.resume_as_before(tid),
            Stop::Exited(code) => self.on_death(tid, ExitStatus::Exited(code)),
            Stop::Killed {
                signal,
                core_dumped,
            } => self.on_death(
                tid,
                ExitStatus::Killed {
                    signal,
                    core_dumped,
                },
            ),
        }
    }

    /// The program installed a seccomp filter of its own in `tid`'s process
    /// (for all its threads, with TSYNC): from now on they, and whatever
    /// they start, stop at every syscall entry before any filter runs.
    fn leave_filter(&mut self, tid: Tid) -> Result<(), RecordError> {
        let tgid = self.task(tid)?.tgid;
        for record in self.tasks.values_mut().filter(|t| t.tgid == tgid) {
            record.filtered = false;
        }
        Ok(())
    }

    /// Resumes a thread that stopped for something the recording ignores,
    /// in the state it was in.
    pub(crate) fn resume_as_before(&mut self, tid: Tid) -> Result<(), RecordError> {
        match self.task(tid)?.state {
            TaskState::Running => self.keep_running(tid),
            TaskState::InKernel => {
                self.task(tid)?.task.resume(Resume::Syscall, 0)?;
                Ok(())
            }
            TaskState::Exiting => {
                self.task(tid)?.task.resume(Resume::Continue, 0)?;
                Ok(())
            }
            TaskState::Stopped | TaskState::GroupStopped => Ok(()),
        }
    }

    fn on_syscall_entry(&mut self, tid: Tid) -> Result<(), RecordError> {
        let record = self
            .tasks
            .get_mut(&tid)
            .ok_or_else(|| internal(format!("syscall entry of unknown thread {tid}")))?;
        let regs = record.task.regs()?;
        if crate::syscallbuf::is_untraced(&regs) {
            // A buffered call, which its record in the buffer describes.
            record.in_untraced_call = true;
            record.task.resume(Resume::Syscall, 0)?;
            return self.entered_kernel(tid, true);
        }
        // Flushes happen only where replay stops the thread too: at a
        // traced syscall's entry (the buffer fills, and then the library
        // takes the traced way) and at the thread's end.
        self.flush_buffer(tid, false)?;
        // The field, not `self.task`: `self.shared` is borrowed beside it.
        let record = self
            .tasks
            .get_mut(&tid)
            .ok_or_else(|| internal(format!("syscall entry of unknown thread {tid}")))?;
        let mut pending = syscall::on_entry(&record.task, regs, &self.shared)?;
        let exclusive = pending.shared_write.is_some();
        if let (Some(scratch), true) = (record.scratch, Rc::strong_count(&record.space) > 1) {
            if pending.is_emulated() {
                pending.redirects = scratch::redirect(&record.task, &regs, scratch)?;
            }
        }
        let unknown = pending.is_unknown();
        record.pending = Some(pending);
        record.task.resume(Resume::Syscall, 0)?;
        self.exclusive = exclusive.then_some(tid);
        // A call through the buffer that blocked, made again: it sleeps,
        // waiting for it would only delay the others.
        let known_to_block = std::mem::take(&mut record.known_to_block);
        if unknown && self.unknown_syscalls.insert(regs.orig_rax) {
            // Not eprintln!: a hung-up terminal must not end the recording.
            let _ = writeln!(
                std::io::stderr(),
                "rewind: warning: the program called syscall number {}, which rewind does not \
                 know; it got ENOSYS, as from a kernel without it",
                regs.orig_rax as i64
            );
        }
        self.entered_kernel(tid, false)?;
        if known_to_block && !exclusive {
            self.stop_waiting_for(tid);
        }
        Ok(())
    }

    fn on_syscall_exit(&mut self, tid: Tid) -> Result<(), RecordError> {
        let record = self
            .tasks
            .get_mut(&tid)
            .ok_or_else(|| internal(format!("syscall exit of unknown thread {tid}")))?;
        if std::mem::take(&mut record.in_untraced_call) {
            record.state = TaskState::Stopped;
            return Ok(());
        }
        let Some(pending) = record.pending.take() else {
            // The exit half of an injected or restarted syscall.
            record.state = TaskState::Stopped;
            return Ok(());
        };
        // The kernel lets a vfork parent go when its child's exec starts,
        // but replay can only exec the child at its recorded exec event:
        // the parent's return is recorded after that.
        // Likewise a child that exits lets its parent go when its memory is
        // released, after PTRACE_EVENT_EXIT: the parent waits for its death.
        if let Some(child) = record.vfork_child {
            let child_busy = self.tasks.get(&child).is_some_and(|c| {
                c.state == TaskState::Exiting || c.pending.as_ref().is_some_and(|p| p.is_execve())
            });
            if child_busy {
                self.task(tid)?.pending = Some(pending);
                self.held_vforks.push((tid, child));
                return Ok(());
            }
            self.task(tid)?.vfork_child = None;
        }
        let ready_answer = if pending.is_library_ready() {
            Some(self.library_ready(tid, pending.regs.syscall_args())?)
        } else {
            None
        };
        // The registration and the library's announcement are among the
        // calls the kernel is made to skip.
        let record = self.task(tid)?;
        let registers_buffer =
            pending.is_register_buffer() && record.buffer.is_none() && !record.buffer_refused;
        let blocking = registers_buffer && self.count_switches(tid)?;
        let record = self
            .tasks
            .get_mut(&tid)
            .ok_or_else(|| internal(format!("syscall exit of unknown thread {tid}")))?;
        let mut exit_regs = record.task.regs()?;
        if pending.spec.number as i64 == libc::SYS_rt_sigreturn {
            record.interrupted.pop();
        }
        if pending.is_refused() {
            // Skipping it took its number away; the replay, which emulates
            // it, keeps the number, and a signal delivered right here
            // compares the two.
            exit_regs.orig_rax = pending.regs.orig_rax;
            if pending.is_register_buffer() {
                // A signal handler's call can register a buffer while the
                // interrupted call is between mapping its own and
                // registering it: the later one is refused, and the
                // library unmaps it.
                exit_regs.rax = if blocking {
                    syscallbuf_abi::REGISTERED_BLOCKING as u64
                } else if registers_buffer {
                    syscallbuf_abi::REGISTERED as u64
                } else if record.buffer_refused {
                    -i64::from(libc::EPERM) as u64
                } else {
                    -i64::from(libc::EEXIST) as u64
                };
            }
            if let Some(answer) = ready_answer {
                exit_regs.rax = answer as u64;
            }
            record.task.set_regs(&exit_regs)?;
        }
        if registers_buffer {
            self.register_buffer(tid, pending.regs.syscall_args())?;
        }
        let record = self.task(tid)?;
        let result = exit_regs.rax as i64;
        scratch::restore(&record.task, &pending.redirects, result)?;
        let masked_wait =
            tracee::syscalls::temporary_sigmask(&record.task, &pending.regs).is_some();
        if RESTART_CODES.contains(&result) || (masked_wait && result == -i64::from(libc::EINTR)) {
            return self.on_interrupted_syscall(tid, pending, result, masked_wait);
        }
        // A filter of the program's own may trap or kill the calls the
        // library makes: from here on it buffers none in this process.
        let leaves_filter =
            result >= 0 && installs_seccomp_filter(&pending.regs) && self.task(tid)?.filtered;
        if leaves_filter {
            self.leave_filter(tid)?;
        }
        let event = self.syscall_event(tid, &pending, result)?;
        let record = self.task(tid)?;
        let is_exec = event.action == trace_format::SyscallAction::Exec;
        let was_execve = pending.is_execve();
        // The execve is the old thread's; its result and the new program
        // belong to the id it has now.
        let caller = record.pre_exec_tid.take().unwrap_or(tid);
        self.emit(caller, Event::Syscall(event))?;
        if !is_exec && !was_execve {
            self.try_patch(tid, &pending, &exit_regs)?;
        }
        if leaves_filter || ready_answer == Some(-i64::from(libc::EPERM)) {
            self.turn_buffering_off(tid)?;
        }
        if pending.spec.number as i64 == libc::SYS_process_vm_writev && result > 0 {
            self.record_remote_writes(tid, &pending.regs, result as u64)?;
        }
        if is_exec {
            self.record_exec(tid)?;
        }
        let record = self.task(tid)?;
        record.state = TaskState::Stopped;
        record.boundary_regs = Some(record.task.regs()?);
        if record.scratch.is_none() && Rc::strong_count(&record.space) > 1 {
            record.scratch = Some(record.space.take_scratch(&record.task)?);
        }
        self.redeliver_deferred(tid)?;
        if was_execve {
            self.release_vfork_parent(tid)?;
        }
        Ok(())
    }

    /// The `Syscall` event of `tid`'s syscall that ended with `result`.
    fn syscall_event(
        &mut self,
        tid: Tid,
        pending: &syscall::PendingSyscall,
        result: i64,
    ) -> Result<trace_format::SyscallEvent, RecordError> {
        let mut processes: Vec<Tid> = self.tasks.values().map(|t| t.tgid).collect();
        processes.sort_unstable();
        processes.dedup();
        let record = self
            .tasks
            .get_mut(&tid)
            .ok_or_else(|| internal(format!("syscall exit of unknown thread {tid}")))?;
        syscall::on_exit(
            &record.task,
            pending,
            result,
            ExitContext {
                writer: &mut self.writer,
                files: &mut self.files,
                output_ids: &self.output_ids,
                brk_end: &record.space.brk_end,
                shared: &mut self.shared,
                processes: &processes,
            },
        )
    }

    /// A signal interrupted the syscall. Whether the kernel restarts it or
    /// returns to a handler shows at the thread's very next stop, which
    /// comes before it runs any user code; it is taken right here.
    fn on_interrupted_syscall(
        &mut self,
        tid: Tid,
        pending: syscall::PendingSyscall,
        result: i64,
        masked_wait: bool,
    ) -> Result<(), RecordError> {
        let record = self.task(tid)?;
        record.task.resume(Resume::Syscall, 0)?;
        let next = record.task.wait()?;
        // A signal that acts here (a handler, a fatal or a stop signal) is
        // delivered at this boundary: the syscall ends with its restart
        // code, as the replay's emulation ends it, and the kernel restarts
        // it (or not) as the handler's flags say, in replay alike.
        let handler = match next {
            Stop::Signal(signo) if self.signal_will_run(tid, signo)? => Some(signo),
            _ => None,
        };
        let tgid = self.task(tid)?.tgid;
        let caught = match handler {
            Some(signo) => {
                tracee::signals::disposition(tgid, signo)? == tracee::signals::Disposition::Caught
            }
            None => false,
        };
        let mut event = self.syscall_event(tid, &pending, result)?;
        event.action = match handler {
            Some(signo) if masked_wait && caught => {
                trace_format::SyscallAction::MaskedWait { signo }
            }
            Some(_) => trace_format::SyscallAction::Emulate,
            None if RESTART_CODES.contains(&result) => trace_format::SyscallAction::Restart,
            None => trace_format::SyscallAction::Emulate,
        };
        self.emit(tid, Event::Syscall(event))?;
        let record = self.task(tid)?;
        record.state = TaskState::Running;
        if handler.is_some() {
            record.boundary_regs = Some(record.task.regs()?);
        }
        self.dispatch(tid, next)
    }

    /// process_vm_writev wrote another process's memory: if that process
    /// is recorded, what the call left there becomes an event of its own,
    /// right after the call's.
    fn record_remote_writes(
        &mut self,
        caller: Tid,
        regs: &trace_format::Registers,
        written: u64,
    ) -> Result<(), RecordError> {
        let args = regs.syscall_args();
        let Some(target_tgid) = self.process_named(caller, args[0] as Tid) else {
            // Outside the recording: nothing of it is replayed.
            return Ok(());
        };
        let Some(target) = self.tasks.values().find(|t| t.tgid == target_tgid) else {
            return Ok(());
        };
        let caller = self
            .tasks
            .get(&caller)
            .ok_or_else(|| internal(format!("syscall exit of unknown thread {caller}")))?;
        // The remote iovecs are in the caller's memory.
        let remote = outputs::read_iovecs(&caller.task, args[3], args[4])?;
        let mut writes = Vec::new();
        let mut remaining = written;
        for (base, len) in remote {
            if remaining == 0 {
                break;
            }
            let take = len.min(remaining);
            writes.extend(outputs::span(&target.task, &mut self.writer, base, take)?);
            remaining -= take;
        }
        let target_tid = target.tid();
        self.flush_entries()?;
        self.writer.append_event(&EventRecord {
            tid: target_tid,
            event: Event::MemoryWrites(writes),
        })?;
        Ok(())
    }

    /// The recorded process that `caller` names `pid` (in its own PID
    /// namespace, where the recorder's ids may differ): the one whose id
    /// at the caller's namespace depth is `pid` (`NSpid` in
    /// /proc/PID/status lists a process's ids from the outermost
    /// namespace in).
    fn process_named(&self, caller: Tid, pid: Tid) -> Option<Tid> {
        let depth = tracee::signals::namespace_pids(caller)?.len();
        let mut processes: Vec<Tid> = self.tasks.values().map(|t| t.tgid).collect();
        processes.dedup();
        processes.into_iter().find(|&tgid| {
            tracee::signals::namespace_pids(tgid)
                .and_then(|ids| ids.get(depth.checked_sub(1)?).copied())
                == Some(pid)
        })
    }

    /// Records the held return of the vfork parent of `child`.
    pub(crate) fn release_vfork_parent(&mut self, child: Tid) -> Result<(), RecordError> {
        let (released, kept): (Vec<_>, Vec<_>) =
            self.held_vforks.drain(..).partition(|&(_, c)| c == child);
        self.held_vforks = kept;
        for (parent, _) in released {
            self.dispatch(parent, Stop::Syscall)?;
        }
        Ok(())
    }

    /// The kernel reports a successful exec on the thread group leader's
    /// id. When another thread exec'd, it has taken over that id.
    fn on_exec_event(&mut self, tid: Tid) -> Result<(), RecordError> {
        let former = self.task(tid)?.task.event_msg()? as Tid;
        if former != tid {
            let mut execing = self
                .tasks
                .remove(&former)
                .ok_or_else(|| internal(format!("exec by unknown thread {former}")))?;
            self.unannounced.retain(|&t| t != former);
            execing.task = Task::new(tid)?;
            execing.pre_exec_tid = Some(former);
            self.tasks.insert(tid, execing);
        }
        let record = self.task(tid)?;
        if let Some(pending) = &mut record.pending {
            pending.exec_happened = true;
        }
        record.task.resume(Resume::Syscall, 0)?;
        Ok(())
    }

    /// A thread is about to die. Its exit syscall, which never returns, is
    /// written now, then its end.
    fn on_exit_event(&mut self, tid: Tid) -> Result<(), RecordError> {
        self.flush_buffer(tid, true)?;
        let record = self.task(tid)?;
        let status = exit_status(record.task.event_msg()? as i32);
        let tgid = record.tgid;
        record.state = TaskState::Exiting;
        let pending = record.pending.take();
        if let Some(pending) = pending.filter(|p| p.is_exit()) {
            let event = self.syscall_event(tid, &pending, 0)?;
            self.emit(tid, Event::Syscall(event))?;
        }
        // A leader's end is written at its death, which the kernel reports
        // after every other thread of the process is gone: that is the
        // process's exit. A leader dying because another of its threads
        // exec'd lives on under that thread and never gets one.
        if tid != tgid {
            self.emit(
                tid,
                Event::Exit(ExitEvent {
                    status,
                    process_exit: false,
                }),
            )?;
            self.task(tid)?.exit_written = true;
        }
        self.task(tid)?.task.resume(Resume::Continue, 0)?;
        if tid != tgid {
            // The kernel clears the thread's CLONE_CHILD_CLEARTID word when
            // it dies, and other threads look at it (glibc reuses a thread
            // stack once it reads zero): let the death complete before any
            // other thread runs, as it will in replay.
            loop {
                let stop = self.task(tid)?.task.wait()?;
                if stop.is_death() {
                    return self.on_death(tid, exit_status_of(stop, status));
                }
                self.task(tid)?.task.resume(Resume::Continue, 0)?;
            }
        }
        Ok(())
    }

    fn on_death(&mut self, tid: Tid, status: ExitStatus) -> Result<(), RecordError> {
        let Some(record) = self.tasks.remove(&tid) else {
            return Ok(());
        };
        if let Some(area) = record.scratch {
            record.space.spare_scratch.borrow_mut().push(area);
        }
        self.unannounced.retain(|&t| t != tid);
        let process_exit = tid == record.tgid;
        if process_exit && self.is_main_process(tid) {
            self.main_status = Some(status);
        }
        if !record.exit_written {
            self.emit(
                tid,
                Event::Exit(ExitEvent {
                    status,
                    process_exit,
                }),
            )?;
        }
        self.release_vfork_parent(tid)
    }

    /// The kernel created a thread or process. The `Clone` event comes
    /// before anything the child does; the parent's syscall ends later.
    fn on_clone_event(&mut self, tid: Tid, kind: CloneKind) -> Result<(), RecordError> {
        let parent = self.task(tid)?;
        let child_tid = parent.task.event_msg()? as Tid;
        let Some(pending) = parent.pending.as_ref() else {
            return Err(internal(format!("thread {tid} cloned outside a syscall")));
        };
        let regs = pending.regs;
        let flags = clone_flags(&parent.task, &regs, kind)?;
        let (parent_tgid, parent_space) = (parent.tgid, Rc::clone(&parent.space));
        let first_stop = match self.take_early_stop(child_tid) {
            Some(stop) => stop,
            None => wait_for_thread(child_tid)?,
        };
        if !matches!(first_stop, Stop::Event(PtraceEvent::Stop, _)) {
            return Err(internal(format!(
                "new thread {child_tid} first stopped with {first_stop:?}"
            )));
        }
        let child_task = Task::new(child_tid)?;
        let child_regs = child_task.regs()?;
        // Ids as the program's namespaces number them, and pidfds: what the
        // replay's own clone writes differs.
        let parent = self
            .tasks
            .get(&tid)
            .ok_or_else(|| internal(format!("clone of unknown thread {tid}")))?;
        let mut parent_writes = Vec::new();
        let mut child_writes = Vec::new();
        for word in [CloneWord::Pidfd, CloneWord::ParentTid, CloneWord::ChildTid] {
            let Some(addr) = syscalls::clone_word(&parent.task, &regs, flags, word) else {
                continue;
            };
            let (task, writes) = match word {
                CloneWord::ChildTid => (&child_task, &mut child_writes),
                _ => (&parent.task, &mut parent_writes),
            };
            writes.extend(outputs::span(task, &mut self.writer, addr, 4)?);
        }
        let tgid = if flags & CLONE_THREAD != 0 {
            parent_tgid
        } else {
            child_tid
        };
        let space = if flags & CLONE_VM != 0 {
            parent_space
        } else {
            parent_space.fork()
        };
        if kind != CloneKind::Thread {
            self.processes += 1;
        }
        self.emit(
            tid,
            Event::Clone(CloneEvent {
                kind,
                flags,
                regs,
                child_tid,
                child_regs,
                parent_writes,
                child_writes,
            }),
        )?;
        let mut child = RecordTask::new(child_task, tgid, space);
        // Seccomp filters are inherited by threads and processes alike.
        child.filtered = self.task(tid)?.filtered;
        let counted = self.task(tid)?.switches.is_some();
        if kind == CloneKind::Fork {
            // The child's copy of the buffer, empty: the fork's stop
            // flushed it. Its header lets calls that may block through if
            // the parent's did: the child's switches are counted too.
            child.buffer = self.task(tid)?.buffer;
        }
        // A buffer a vfork child mapped would stay in its parent's memory
        // after the child's exec: it buffers nothing.
        child.buffer_refused = kind == CloneKind::Vfork;
        self.tasks.insert(child_tid, child);
        if kind == CloneKind::Fork && counted {
            self.count_switches(child_tid)?;
        }
        let parent = self.task(tid)?;
        if kind == CloneKind::Vfork {
            parent.vfork_child = Some(child_tid);
        }
        parent.task.resume(Resume::Syscall, 0)?;
        self.entered_kernel(tid, true)
    }

    /// A PTRACE_EVENT_STOP: the end of a time slice we asked for, or of a
    /// group stop (its signal then SIGTRAP), or a thread taking part in one
    /// (its signal the stop signal).
    ///
    /// A group stop starts only when the recorder delivers a stop signal,
    /// which it does while no thread runs user code: each thread joins it
    /// at a stop the trace has placed (a syscall boundary, or the restart
    /// of a syscall it interrupted), so nothing needs recording here. The
    /// thread is left stopped, as the kernel stops it without a tracer, so
    /// that the program's parent sees the stop and nothing of the process
    /// runs until a SIGCONT.
    fn on_interrupt_stop(&mut self, tid: Tid, signal: i32) -> Result<(), RecordError> {
        let tgid = self.task(tid)?.tgid;
        // The trap's signal says a stop signal whenever the kernel counts a
        // group stop under way; only one the recorder delivered is one
        // this thread takes part in (it may also be the trap of an
        // interrupt the recorder asked for: the kernel makes one of both).
        let joins = tracee::signals::default_is_stop(signal) && self.stopping.contains(&tgid);
        let record = self.task(tid)?;
        if joins {
            record.interrupt_requested = false;
            record.state = TaskState::GroupStopped;
            record.task.resume(Resume::Listen, 0)?;
            return Ok(());
        }
        if record.state == TaskState::GroupStopped {
            // The SIGCONT: it is at a trap now, and runs when scheduled.
            record.state = TaskState::Stopped;
            self.stopping.remove(&tgid);
            return Ok(());
        }
        let requested = std::mem::take(&mut record.interrupt_requested);
        let checking = std::mem::take(&mut record.desched_check);
        if record.state == TaskState::Running {
            // One trap answers both kinds of interrupt.
            if self.desched_if_blocked(tid)? {
                return self.keep_running(tid);
            }
            if requested {
                return self.preempt(tid, false);
            }
            if checking {
                // It woke before the interrupt came: it runs on, and the
                // stop left nothing to record.
                return self.keep_running(tid);
            }
        }
        self.resume_as_before(tid)
    }
}

fn exit_status_of(stop: Stop, fallback: ExitStatus) -> ExitStatus {
    match stop {
        Stop::Exited(code) => ExitStatus::Exited(code),
        Stop::Killed {
            signal,
            core_dumped,
        } => ExitStatus::Killed {
            signal,
            core_dumped,
        },
        _ => fallback,
    }
}

/// The clone flags of the syscall the parent is in.
fn clone_flags(
    task: &Task,
    regs: &trace_format::Registers,
    kind: CloneKind,
) -> Result<u64, RecordError> {
    Ok(match regs.orig_rax as i64 {
        libc::SYS_clone => regs.rdi,
        libc::SYS_clone3 => task.read_u64(RemoteAddr(regs.rdi))?,
        libc::SYS_vfork => (libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD) as u64,
        _ => match kind {
            CloneKind::Vfork => (libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD) as u64,
            _ => libc::SIGCHLD as u64,
        },
    })
}

/// Whether the syscall (at its entry registers) installs a seccomp filter
/// of the program's own, when it succeeds.
fn installs_seccomp_filter(regs: &trace_format::Registers) -> bool {
    let args = regs.syscall_args();
    match regs.orig_rax as i64 {
        libc::SYS_seccomp => args[0] == u64::from(libc::SECCOMP_SET_MODE_FILTER),
        libc::SYS_prctl => {
            args[0] == libc::PR_SET_SECCOMP as u64
                && args[1] == u64::from(libc::SECCOMP_MODE_FILTER)
        }
        _ => false,
    }
}

/// Waits for one specific thread's next stop.
fn wait_for_thread(tid: Tid) -> Result<Stop, RecordError> {
    Ok(Task::new(tid)?.wait()?)
}
