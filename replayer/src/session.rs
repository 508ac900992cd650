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
    Event, EventRecord, ExecEvent, ExitEvent, ExitStatus, RdtscEvent, SignalDisposition,
    SignalEvent, TraceReader,
};
use tracee::spawn::{self, FirstExec, SpawnSpec};
use tracee::waiter::ChildWaiter;
use tracee::{Resume, Stop, Task, Tid};

use crate::debug::DebugLink;
use crate::error::ReplayError;

use crate::shared::SharedObjects;
use crate::syscallbuf::FlushIndex;
use crate::task::ReplayTask;
use crate::{exec, memory, point, verify};

pub struct ReplaySession {
    pub(crate) reader: TraceReader,
    pub(crate) stub: PathBuf,
    pub(crate) echo_output: bool,
    /// Replayed threads by recorded id.
    pub(crate) tasks: HashMap<Tid, ReplayTask>,
    /// The status the first process ended with.
    pub(crate) main_status: Option<ExitStatus>,
    pub(crate) main_tid: Option<Tid>,
    /// The debugger, when gdb drives the replay.
    pub(crate) debugger: Option<DebugLink>,
    /// Lets a thread run with a CPU-time limit (see `ReplayTask::resume`);
    /// without a debugger only, which has its own.
    waiter: Option<Rc<ChildWaiter>>,
    /// Threads created so far.
    pub(crate) created: u64,
    /// The replay's copies of the recording's shared objects.
    pub(crate) objects: SharedObjects,
    /// Where threads' syscall buffers were flushed, once one registered.
    pub(crate) flushes: Option<Rc<FlushIndex>>,
    /// A thread registered a buffer or was refused one: every thread's
    /// runs set the slot (`ThreadBuffer::slot_in_use`).
    pub(crate) slot_used: bool,
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
            flushes: None,
            slot_used: false,
        }
    }

    /// Adds a replayed thread, with the debugger attached if there is one.
    pub(crate) fn adopt(&mut self, recorded_tid: Tid, mut task: ReplayTask) {
        task.debug = self.debugger.clone();
        task.waiter = self.waiter.clone();
        task.serial = self.created;
        task.buffers.slot_in_use = self.slot_used;
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
            Event::BufferedSyscalls(flush) => {
                task_in(&mut self.tasks, number, tid)?.buffers.due = Some((number, *flush));
                return Ok(());
            }
            // The thread's memory goes with it: nothing left to check.
            Event::Exit(_) | Event::Exec(_) => {
                if let Some(task) = self.tasks.get_mut(&tid) {
                    task.buffers.due = None;
                }
            }
            _ => {}
        }
        self.replay_thread_event(number, record)?;
        if self
            .tasks
            .get(&tid)
            .is_some_and(|t| t.buffers.due.is_some())
        {
            self.check_flush(number, tid)?;
        }
        Ok(())
    }

    fn replay_thread_event(
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
            Event::Desched(p) => {
                // The call through the buffer blocked: the recorder had the
                // library give it up, and the traced way made it.
                let task = task_in(&mut self.tasks, number, tid)?;
                point::run_to_entry_call(task, number, p)?;
                let mut regs = task.task.regs()?;
                regs.rip = tracee::syscallbuf_abi::DESCHED_RETURN;
                regs.rax = tracee::syscallbuf_abi::RETRY as u64;
                task.task.set_regs(&regs)?;
                self.relay_after_committed(number, tid)
            }
            Event::Exit(e) => self.replay_exit(number, tid, e),
            Event::Patch(patch) => {
                let task = task_in(&mut self.tasks, number, tid)?;
                let debugger = self
                    .debugger
                    .as_ref()
                    .filter(|d| d.borrow().debugged == task.memory_of);
                let shadow = |addr: u64, bytes: &mut [u8]| {
                    if let Some(d) = debugger {
                        d.borrow().shadow_breakpoints(addr, bytes);
                    }
                };
                crate::patch::apply(&task.task, &mut self.reader, number, patch, &shadow)
            }
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
        // The new program has the library afresh, with no buffer yet.
        task.buffers = crate::syscallbuf::ThreadBuffer {
            slot_in_use: self.slot_used,
            ..Default::default()
        };
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
            seccomp_filter: false,
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

    /// Runs the recorded execve as an exec of the stub. If a thread other
    /// than the leader exec'd, it now has the leader's id (the kernel's
    /// rule), in the recording and in the replay alike.
    pub(crate) fn exec_stub(&mut self, number: u64, tid: Tid) -> Result<(), ReplayError> {
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

    fn replay_rdtsc(
        &mut self,
        number: u64,
        tid: Tid,
        event: &RdtscEvent,
    ) -> Result<(), ReplayError> {
        let task = task_in(&mut self.tasks, number, tid)?;
        let stop = task.resume_restartable(number, Resume::Sysemu, Some(libc::SIGSEGV))?;
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
        if let Some(debugger) = &task.debug {
            debugger.borrow_mut().signal_due(Some(task.thread_id()));
        }
        // A fault the thread runs into: nothing of the event is done
        // before.
        let stop = match event.synchronous && event.point.is_none() {
            true => task.resume_restartable(number, Resume::Sysemu, Some(event.signo)),
            false => task.resume(number, Resume::Sysemu, Some(event.signo)),
        };
        if let Some(debugger) = &task.debug {
            debugger.borrow_mut().signal_due(None);
        }
        let stop = stop?;
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
        if let Some(debugger) = task.debug.clone() {
            debugger
                .borrow_mut()
                .signal_received(task.thread_id(), event.signo)?;
        }
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
                verify::registers(number, tid, &at, handler, &entered)?;
                if let Some(debugger) = &task.debug {
                    debugger.borrow_mut().signal_delivered(task.thread_id());
                }
                Ok(())
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
        // Dropping the tasks sends SIGKILL to those alive; then each is
        // reaped, other threads before leaders as the kernel requires.
        // Only this session's: the replayer has other children (gdb, and
        // a replay started again has tracees of its own).
        let mut alive: Vec<(bool, Tid)> = self
            .tasks
            .values()
            .filter(|t| !t.gone)
            .map(|t| {
                let leader = tracee::signals::thread_group(t.tid()).is_some_and(|g| g == t.tid());
                (leader, t.tid())
            })
            .collect();
        alive.sort();
        self.tasks.clear();
        for (_, tid) in alive {
            tracee::reap(tid);
        }
    }
}

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

/// The replayed thread `tid`; borrows only the map, so that the rest of
/// the session stays usable.
pub(crate) fn task_in(
    tasks: &mut HashMap<Tid, ReplayTask>,
    number: u64,
    tid: Tid,
) -> Result<&mut ReplayTask, ReplayError> {
    tasks.get_mut(&tid).ok_or_else(|| ReplayError::BadTrace {
        event: number,
        reason: format!("thread {tid} has no earlier exec or clone in the trace"),
    })
}
