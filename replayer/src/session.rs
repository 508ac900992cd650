//! The replay loop: follows the trace event by event. Each event names a
//! thread; that thread alone is resumed to the recorded stop, verified, and
//! given what the recording recorded. Threads never run concurrently, so
//! the replay reproduces the recording's order exactly.

use std::collections::HashMap;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::rc::Rc;

use trace_format::{
    CloneEvent, Event, EventRecord, ExecEvent, ExitEvent, ExitStatus, RdtscEvent, Registers,
    SignalDisposition, SignalEvent, SyscallAction, SyscallEntryEvent, SyscallEvent, TraceReader,
};
use tracee::spawn::{self, FirstExec, SpawnSpec};
use tracee::waiter::ChildWaiter;
use tracee::{PtraceEvent, RemoteAddr, Resume, Stop, SyscallStopKind, Task, Tid};

use crate::debug::DebugLink;
use crate::error::ReplayError;
use tracee::syscalls::{self, CloneWord};

use crate::shared::SharedObjects;
use crate::task::ReplayTask;
use crate::{exec, memory, output, point, verify};

pub struct ReplaySession {
    pub(crate) reader: TraceReader,
    stub: PathBuf,
    echo_output: bool,
    /// Replayed threads by recorded id.
    pub(crate) tasks: HashMap<Tid, ReplayTask>,
    /// The status the first process ended with.
    main_status: Option<ExitStatus>,
    main_tid: Option<Tid>,
    /// The debugger, when gdb drives the replay.
    pub(crate) debugger: Option<DebugLink>,
    /// Lets a thread run with a CPU-time limit (see `ReplayTask::resume`);
    /// without a debugger only, which has its own.
    waiter: Option<Rc<ChildWaiter>>,
    /// Threads created so far.
    created: u64,
    /// The replay's copies of the recording's shared objects.
    objects: SharedObjects,
}

impl ReplaySession {
    pub fn new(reader: TraceReader, stub: PathBuf, echo_output: bool) -> ReplaySession {
        ReplaySession {
            reader,
            stub,
            echo_output,
            tasks: HashMap::new(),
            main_status: None,
            main_tid: None,
            debugger: None,
            waiter: None,
            created: 0,
            objects: SharedObjects::default(),
        }
    }

    /// Adds a replayed thread, with the debugger attached if there is one.
    fn adopt(&mut self, recorded_tid: Tid, mut task: ReplayTask) {
        task.debug = self.debugger.clone();
        task.waiter = self.waiter.clone();
        task.serial = self.created;
        self.created += 1;
        self.tasks.insert(recorded_tid, task);
    }

    pub fn reader(&self) -> &TraceReader {
        &self.reader
    }

    /// Replays every event; returns how the first process ended.
    pub fn run_to_end(&mut self) -> Result<ExitStatus, ReplayError> {
        // Without SIGCHLD blocked the waiter would sleep out every timeout.
        if tracee::waiter::sigchld_blocked() {
            self.waiter = ChildWaiter::new().ok().map(Rc::new);
        }
        for item in self.reader.events() {
            let (number, record) = item?;
            self.replay_event(number, &record)?;
        }
        let last = self.reader.event_count();
        match (self.main_status, self.reader.early_end()) {
            (Some(status), None) => Ok(status),
            (_, Some(early)) => Err(ReplayError::BadTrace {
                event: last,
                reason: format!("{early}; the replay stopped there"),
            }),
            (None, None) => Err(ReplayError::BadTrace {
                event: last,
                reason: "the trace ends before the program did".into(),
            }),
        }
    }

    pub(crate) fn replay_event(
        &mut self,
        number: u64,
        record: &EventRecord,
    ) -> Result<(), ReplayError> {
        let tid = record.tid;
        match &record.event {
            Event::Exec(e) => self.replay_exec(number, tid, e),
            Event::SyscallEntry(e) => self.replay_syscall_entry(number, tid, e),
            Event::Syscall(e) => self.replay_syscall(number, tid, e),
            Event::Clone(e) => self.replay_clone(number, tid, e),
            Event::Rdtsc(e) => self.replay_rdtsc(number, tid, e),
            Event::Signal(e) => self.replay_signal(number, tid, e),
            Event::Preemption(p) => {
                let task = task_in(&mut self.tasks, number, tid)?;
                point::run_to(task, number, p)
            }
            Event::Exit(e) => self.replay_exit(number, tid, e),
            Event::MemoryWrites(writes) => {
                // The thread is stopped; another's syscall wrote its memory.
                let task = task_in(&mut self.tasks, number, tid)?;
                memory::apply_writes(&task.task, &mut self.reader, writes)
            }
            other => Err(ReplayError::BadTrace {
                event: number,
                reason: format!("{} events cannot be replayed yet", other.kind_name()),
            }),
        }
    }

    fn replay_exec(&mut self, number: u64, tid: Tid, exec: &ExecEvent) -> Result<(), ReplayError> {
        if self.tasks.is_empty() {
            let task = self.spawn_stub(number)?;
            self.adopt(tid, ReplayTask::new(task, tid, tid));
            self.main_tid = Some(tid);
        }
        let task = task_in(&mut self.tasks, number, tid)?;
        exec::rebuild(&mut task.task, &mut self.reader, &mut self.objects, exec)
    }

    fn spawn_stub(&self, number: u64) -> Result<Task, ReplayError> {
        let stub =
            CString::new(self.stub.as_os_str().as_bytes()).map_err(|_| ReplayError::BadTrace {
                event: number,
                reason: "the path of this rewind binary contains a NUL byte".into(),
            })?;
        let spec = SpawnSpec {
            program: stub,
            argv: vec![c"rewind-replay-stub".to_owned()],
            envp: Vec::new(),
            detached: true,
            stack_limit: self.reader.header().stack_limit,
        };
        let mut task = spawn::spawn_stopped(&spec)?;
        if let FirstExec::Failed(errno) = spawn::run_to_first_exec(&mut task)? {
            tracee::kill_process(task.tid, libc::SIGKILL);
            tracee::reap(task.tid);
            return Err(ReplayError::Tracee(tracee::TraceeError::Spawn {
                what: format!("cannot start the replay stub {}", self.stub.display()),
                source: std::io::Error::from_raw_os_error(errno),
            }));
        }
        Ok(task)
    }

    /// Brings `tid` to the entry of its next syscall and checks the
    /// registers, unless a `SyscallEntry` event already did.
    fn enter_syscall(
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
        let stop = task.resume(number, how, None)?;
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
        Ok(())
    }

    fn replay_syscall_entry(
        &mut self,
        number: u64,
        tid: Tid,
        event: &SyscallEntryEvent,
    ) -> Result<(), ReplayError> {
        self.enter_syscall(number, tid, &event.regs, event.executed)?;
        task_in(&mut self.tasks, number, tid)?.entered = true;
        Ok(())
    }

    fn replay_syscall(
        &mut self,
        number: u64,
        tid: Tid,
        event: &SyscallEvent,
    ) -> Result<(), ReplayError> {
        self.follow_syscall(number, tid, event)?;
        for change in &event.file_changes {
            self.objects.apply(&mut self.reader, change)?;
        }
        Ok(())
    }

    fn follow_syscall(
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
    fn masked_wait(
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
    fn restart_syscall(
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

    /// Runs the recorded execve as an exec of the stub. If a thread other
    /// than the leader exec'd, it now has the leader's id (the kernel's
    /// rule), in the recording and in the replay alike.
    fn exec_stub(&mut self, number: u64, tid: Tid) -> Result<(), ReplayError> {
        let task = task_in(&mut self.tasks, number, tid)?;
        let old_tid = task.tid();
        let outcome = exec::exec_stub(&mut task.task, &self.stub)?;
        let new_tid = outcome.tid;
        for other in self.tasks.values_mut() {
            if outcome.died.contains(&other.tid()) {
                other.gone = true;
            }
        }
        if new_tid == old_tid {
            return Ok(());
        }
        let leader = self
            .tasks
            .iter()
            .find(|(&recorded, t)| recorded != tid && t.tid() == new_tid)
            .map(|(&recorded, _)| recorded);
        let mut execing = self
            .tasks
            .remove(&tid)
            .ok_or_else(|| ReplayError::BadTrace {
                event: number,
                reason: format!("thread {tid} vanished during its exec"),
            })?;
        let key = match leader {
            Some(recorded_leader) => {
                if let Some(mut old) = self.tasks.remove(&recorded_leader) {
                    old.gone = true;
                }
                recorded_leader
            }
            None => tid,
        };
        execing.recorded_tid = key;
        execing.recorded_process = key;
        self.tasks.insert(key, execing);
        Ok(())
    }

    /// The thread creation the recording saw: the parent runs its clone
    /// into the kernel, the child appears, and the thread ids the kernel
    /// wrote are replaced by the recorded ones.
    fn replay_clone(
        &mut self,
        number: u64,
        tid: Tid,
        event: &CloneEvent,
    ) -> Result<(), ReplayError> {
        self.enter_syscall(number, tid, &event.regs, true)?;
        let parent = task_in(&mut self.tasks, number, tid)?;
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
        self.adopt(
            event.child_tid,
            ReplayTask::new(child, event.child_tid, process),
        );
        Ok(())
    }

    /// The parent's clone returns: with the recorded child id.
    fn finish_clone(
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

    fn replay_rdtsc(
        &mut self,
        number: u64,
        tid: Tid,
        event: &RdtscEvent,
    ) -> Result<(), ReplayError> {
        let task = task_in(&mut self.tasks, number, tid)?;
        let stop = task.resume(number, Resume::Sysemu, Some(libc::SIGSEGV))?;
        if stop != Stop::Signal(libc::SIGSEGV) {
            return Err(verify::diverged(
                number,
                tid,
                "rdtsc",
                format!("expected the rdtsc trap, got {stop:?}"),
            ));
        }
        let regs = task.task.regs()?;
        verify::registers(number, tid, "rdtsc", &event.regs, &regs)?;
        task.task.set_regs(&event.regs_after())?;
        Ok(())
    }

    /// A signal delivered where the recording delivered it: at the
    /// faulting instruction, or (sent by the replayer) at the syscall
    /// boundary the thread stands at.
    fn replay_signal(
        &mut self,
        number: u64,
        tid: Tid,
        event: &SignalEvent,
    ) -> Result<(), ReplayError> {
        let at = format!("signal {}", tracee::signal_name(event.signo));
        let task = task_in(&mut self.tasks, number, tid)?;
        if let Some(point) = &event.point {
            // It came while the thread ran user code: at this instant.
            point::run_to(task, number, point)?;
        }
        let already_sent = task.signal_sent.take() == Some(event.signo);
        if !event.synchronous && !already_sent {
            let tgid = tracee::signals::thread_group(task.tid()).unwrap_or(task.tid());
            tracee::signals::tgkill(tgid, task.tid(), event.signo)?;
        }
        let stop = task.resume(number, Resume::Sysemu, Some(event.signo))?;
        if stop != Stop::Signal(event.signo) {
            return Err(verify::diverged(
                number,
                tid,
                &at,
                format!("expected the signal, got {stop:?}"),
            ));
        }
        let regs = task.task.regs()?;
        verify::registers(number, tid, &at, &event.regs, &regs)?;
        let mut siginfo = [0u8; 128];
        let len = event.siginfo.len().min(128);
        siginfo[..len].copy_from_slice(&event.siginfo[..len]);
        tracee::signals::set_siginfo(task.tid(), &siginfo)?;
        match &event.disposition {
            SignalDisposition::Handler { regs: handler, .. } => {
                let stop = task.task.step(Resume::SingleStep, event.signo)?;
                if stop != Stop::Signal(libc::SIGTRAP) {
                    return Err(verify::diverged(
                        number,
                        tid,
                        &at,
                        format!("expected the handler, got {stop:?}"),
                    ));
                }
                let entered = task.task.regs()?;
                verify::registers(number, tid, &at, handler, &entered)
            }
            SignalDisposition::Fatal { .. } => {
                task.resume_signal = event.signo;
                Ok(())
            }
            SignalDisposition::Ignored | SignalDisposition::Stopped => Ok(()),
        }
    }

    fn replay_exit(&mut self, number: u64, tid: Tid, event: &ExitEvent) -> Result<(), ReplayError> {
        let main = self.main_tid == Some(tid) && event.process_exit;
        if event.process_exit {
            // The kernel reports a leader's death only after the other
            // threads of its process are reaped.
            for other in self.tasks.values_mut() {
                let ending = other.doomed || other.exiting;
                if other.recorded_process == tid && other.recorded_tid != tid && ending {
                    other.finish_dying()?;
                }
            }
        }
        let task = task_in(&mut self.tasks, number, tid)?;
        if !task.exiting && !task.gone && task.resume_signal == 0 {
            // Killed by another thread's exec or exit_group, which the
            // replay has not reached yet.
            task.doomed = true;
            if main {
                self.main_status = Some(event.status);
            }
            return Ok(());
        }
        let stop = task.finish_dying()?;
        let replayed = match stop {
            Some(Stop::Exited(code)) => Some(ExitStatus::Exited(code)),
            Some(Stop::Killed {
                signal,
                core_dumped,
            }) => Some(ExitStatus::Killed {
                signal,
                core_dumped,
            }),
            _ => None,
        };
        if let Some(replayed) = replayed.filter(|_| event.process_exit) {
            if !same_end(replayed, event.status) {
                return Err(verify::diverged(
                    number,
                    tid,
                    "exit",
                    format!(
                        "the recording ended with {:?}, the replay with {replayed:?}",
                        event.status
                    ),
                ));
            }
        }
        if main {
            self.main_status = Some(event.status);
        }
        Ok(())
    }
}

impl Drop for ReplaySession {
    /// Ends every replayed thread that is still alive and reaps it.
    fn drop(&mut self) {
        // Dropping the tasks sends SIGKILL to those alive; then every
        // tracee (the replayer's only children) is reaped, other threads
        // before leaders as the kernel requires.
        let alive = self.tasks.values().any(|t| !t.gone);
        self.tasks.clear();
        if alive {
            tracee::reap_all();
        }
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

/// The kernel's "restart this syscall whatever the signal handler says".
const ERESTARTNOINTR: i32 = 513;

/// Whether the replay ended as the recording did. Whether a killed process
/// dumped core depends on its core size limit and the machine's
/// core_pattern, which the replay does not reproduce (it writes no core
/// files): the signal must match, the core flag need not.
fn same_end(replayed: ExitStatus, recorded: ExitStatus) -> bool {
    match (replayed, recorded) {
        (ExitStatus::Killed { signal: a, .. }, ExitStatus::Killed { signal: b, .. }) => a == b,
        (a, b) => a == b,
    }
}

/// Sets the recorded result as the syscall's return value.
fn set_result(task: &Task, event: &SyscallEvent) -> Result<(), ReplayError> {
    let mut regs = event.regs;
    regs.rax = event.result as u64;
    task.set_regs(&regs)?;
    Ok(())
}

/// The replayed thread `tid`; borrows only the map, so that the rest of
/// the session stays usable.
fn task_in(
    tasks: &mut HashMap<Tid, ReplayTask>,
    number: u64,
    tid: Tid,
) -> Result<&mut ReplayTask, ReplayError> {
    tasks.get_mut(&tid).ok_or_else(|| ReplayError::BadTrace {
        event: number,
        reason: format!("thread {tid} has no earlier exec or clone in the trace"),
    })
}
