//! What the replayer keeps for each replayed thread (rr's ReplayTask).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use tracee::waiter::ChildWaiter;
use tracee::{cputime, PtraceEvent, Resume, Stop, SyscallStopKind, Task, Tid};

use crate::debug::controller::Outcome;
use crate::debug::DebugLink;
use crate::error::ReplayError;
use crate::syscallbuf::ThreadBuffer;
use crate::verify;

/// Where a replayed thread is stopped.
pub struct ReplayTask {
    pub task: Task,
    /// The thread's id in the recording, which the trace uses.
    pub recorded_tid: Tid,
    /// Its process's id in the recording.
    pub recorded_process: Tid,
    /// The recorded process whose memory it runs in: its own, or for a
    /// vfork child (CLONE_VM without CLONE_THREAD) its parent's.
    pub memory_of: Tid,
    /// At the entry of a syscall SYSEMU skipped: resuming with
    /// PTRACE_SYSCALL first reports that syscall's exit.
    pub at_emulated_entry: bool,
    /// At a syscall entry whose `Syscall` event comes later.
    pub entered: bool,
    /// Inside clone, between the `Clone` event and the syscall's end.
    pub in_clone: bool,
    /// The pidfd the replay's clone made, to close when clone returns.
    pub replay_pidfd: Option<u32>,
    /// Reported PTRACE_EVENT_EXIT.
    pub exiting: bool,
    /// Dead and reaped.
    pub gone: bool,
    /// Its `Exit` event came while it was alive: another thread's exec,
    /// exit_group or fatal signal ends it later in the replay.
    pub doomed: bool,
    /// Signal to deliver at the next resume.
    pub resume_signal: i32,
    /// A signal the replayer already sent for the next `Signal` event.
    pub signal_sent: Option<i32>,
    /// The debugger, when one is attached: it sees every stop first.
    pub debug: Option<DebugLink>,
    /// Creation order, for the debugger's thread list.
    pub serial: u64,
    /// For waiting with a timeout, when the replay runs without gdb.
    pub waiter: Option<Rc<ChildWaiter>>,
    /// While set, a resume that is still running user code when the
    /// thread's user CPU time passes the limit ends as a divergence.
    pub cpu_limit: Option<CpuLimit>,
    /// Its syscall buffer, and the flush it owes (`crate::syscallbuf`).
    pub buffers: ThreadBuffer,
}

/// The watchdog of a run to an execution point: the software tick source
/// cannot tell that the point was passed, only that it is long overdue.
#[derive(Clone, Copy)]
pub struct CpuLimit {
    /// User CPU time of the thread when the recording reached the point.
    pub recorded: Duration,
    pub limit: Duration,
}

impl CpuLimit {
    /// A replay runs the same user code as the recording, plus the
    /// trampoline's checks on every pass: up to about 4 times as long in
    /// a tight loop whose flags are live. A false alarm would end a good
    /// replay, a late one only delays the report of a bad one: allow twice
    /// that, and a margin for the coarse accounting.
    pub fn for_recorded(recorded: Duration) -> CpuLimit {
        CpuLimit {
            recorded,
            limit: recorded * 8 + Duration::from_secs(5),
        }
    }
}

/// How often a watched run looks at the thread's CPU time.
const WATCH_PERIOD: Duration = Duration::from_millis(200);

impl ReplayTask {
    pub fn new(task: Task, recorded_tid: Tid, recorded_process: Tid) -> ReplayTask {
        ReplayTask {
            task,
            recorded_tid,
            recorded_process,
            memory_of: recorded_process,
            at_emulated_entry: false,
            entered: false,
            in_clone: false,
            replay_pidfd: None,
            exiting: false,
            gone: false,
            doomed: false,
            resume_signal: 0,
            signal_sent: None,
            debug: None,
            serial: 0,
            waiter: None,
            cpu_limit: None,
            buffers: ThreadBuffer::default(),
        }
    }

    /// The thread as gdb names it.
    pub fn thread_id(&self) -> gdb_remote::ThreadId {
        gdb_remote::ThreadId {
            pid: self.recorded_process,
            tid: self.recorded_tid,
        }
    }

    pub fn tid(&self) -> Tid {
        self.task.tid
    }

    /// Resumes the thread and returns its next stop that the replay cares
    /// about. Signals the replay did not send (SIGCHLD from replayed
    /// children, for one) are dropped unless `wanted` names them; a fault
    /// nobody expected is a divergence.
    pub fn resume(
        &mut self,
        event: u64,
        how: Resume,
        wanted: Option<i32>,
    ) -> Result<Stop, ReplayError> {
        if self.at_emulated_entry && how == Resume::Syscall {
            let stop = self.task.step(Resume::Syscall, 0)?;
            if stop != Stop::Syscall || self.task.syscall_stop_kind()? != SyscallStopKind::Exit {
                return Err(verify::diverged(
                    event,
                    self.recorded_tid,
                    "finishing an emulated syscall",
                    format!("expected its exit stop, got {stop:?}"),
                ));
            }
        }
        self.at_emulated_entry = false;
        self.buffers.point_slot(&self.task)?;
        let mut signal = std::mem::take(&mut self.resume_signal);
        let mut first = true;
        loop {
            let stop = match self.debug.clone() {
                None => self.step_watched(event, how, signal)?,
                Some(debugger) => {
                    let thread = self.thread_id();
                    let outcome = debugger.borrow_mut().resume_once(
                        thread,
                        &self.task,
                        how,
                        signal,
                        std::mem::take(&mut first),
                    );
                    let outcome = match outcome {
                        Err(ReplayError::Interrupted) if signal != 0 => {
                            // Unwinding to show gdb a stop before the
                            // signal went in: keep it for the next resume.
                            self.resume_signal = signal;
                            return Err(ReplayError::Interrupted);
                        }
                        other => other?,
                    };
                    match outcome {
                        Outcome::NotRun => continue,
                        Outcome::Consumed => {
                            signal = 0;
                            continue;
                        }
                        Outcome::Stop(stop) => stop,
                    }
                }
            };
            signal = 0;
            match stop {
                Stop::Signal(s) if Some(s) != wanted => {
                    let info = self.task.siginfo()?;
                    let code = i32::from_le_bytes([info[8], info[9], info[10], info[11]]);
                    let fault = matches!(
                        s,
                        libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE | libc::SIGTRAP
                    ) && code > 0;
                    if fault {
                        let regs = self.task.regs()?;
                        return Err(verify::diverged(
                            event,
                            self.recorded_tid,
                            "running",
                            format!(
                                "the replay raised signal {} at rip {:#x}, which the recording did not",
                                tracee::signal_name(s),
                                regs.rip
                            ),
                        ));
                    }
                }
                Stop::Event(PtraceEvent::Stop, _) => {}
                Stop::Event(PtraceEvent::Exit, _) => {
                    self.exiting = true;
                    return Ok(stop);
                }
                _ => {
                    if stop.is_death() {
                        self.gone = true;
                    }
                    return Ok(stop);
                }
            }
        }
    }

    /// `resume` where nothing of the event is done yet but running its
    /// thread: the debugger may take a copy of the replay at a named stop
    /// while the thread runs (`ReplayError::CopyWanted`), and the event is
    /// then replayed on from the thread's stop.
    pub fn resume_restartable(
        &mut self,
        event: u64,
        how: Resume,
        wanted: Option<i32>,
    ) -> Result<Stop, ReplayError> {
        let debugger = self.debug.clone();
        if let Some(debugger) = &debugger {
            debugger.borrow_mut().set_restartable(true);
        }
        let stop = self.resume(event, how, wanted);
        if let Some(debugger) = &debugger {
            debugger.borrow_mut().set_restartable(false);
        }
        stop
    }

    /// Steps the thread; under a `cpu_limit`, gives up once the thread
    /// has used more user CPU time than it allows.
    fn step_watched(&mut self, event: u64, how: Resume, signal: i32) -> Result<Stop, ReplayError> {
        let (Some(waiter), Some(limit)) = (self.waiter.clone(), self.cpu_limit) else {
            return Ok(self.task.step(how, signal)?);
        };
        let tid = self.task.tid;
        let used = Cell::new(Duration::ZERO);
        let overdue = || {
            used.set(cputime::user_time(tid).unwrap_or_default());
            used.get() > limit.limit
        };
        let stop = self
            .task
            .step_interruptible(how, signal, &waiter, WATCH_PERIOD, &overdue)?;
        if used.get() > limit.limit && matches!(stop, Stop::Event(PtraceEvent::Stop, _)) {
            return Err(self.overdue(event, used.get(), limit));
        }
        Ok(stop)
    }

    /// For runs that stop often (a breakpoint at every pass): the same
    /// limit, checked between stops.
    pub fn check_cpu_limit(&self, event: u64) -> Result<(), ReplayError> {
        let Some(limit) = self.cpu_limit else {
            return Ok(());
        };
        match cputime::user_time(self.task.tid) {
            Some(used) if used > limit.limit => Err(self.overdue(event, used, limit)),
            _ => Ok(()),
        }
    }

    fn overdue(&self, event: u64, used: Duration, limit: CpuLimit) -> ReplayError {
        let rip = self.task.regs().map_or(0, |r| r.rip);
        verify::diverged(
            event,
            self.recorded_tid,
            "execution point",
            format!(
                "the thread has run {:.1} s of user CPU time (now at rip {rip:#x}) without \
                 reaching the recorded state, which the recording reached after {:.2} s",
                used.as_secs_f64(),
                limit.recorded.as_secs_f64()
            ),
        )
    }

    /// Lets a thread that is exiting (or being killed by its process's
    /// exit) die, and reaps it. A thread killed while it ran is not in a
    /// ptrace stop and cannot be resumed: it is only waited for. Returns
    /// its death, unless it was already reaped.
    pub fn finish_dying(&mut self) -> Result<Option<Stop>, ReplayError> {
        let mut signal = std::mem::take(&mut self.resume_signal);
        while !self.gone {
            // ESRCH: not stopped (already dying); its death comes anyway.
            let _ = self.task.resume(Resume::Continue, signal);
            signal = 0;
            let stop = self.task.wait()?;
            if stop.is_death() {
                self.gone = true;
                return Ok(Some(stop));
            }
        }
        Ok(None)
    }

    /// Runs a SYSEMU-skipped syscall to its exit stop so that remote
    /// syscalls can run.
    pub fn leave_emulated_entry(&mut self, event: u64) -> Result<(), ReplayError> {
        let stop = self.task.step(Resume::Syscall, 0)?;
        self.at_emulated_entry = false;
        if stop == Stop::Syscall && self.task.syscall_stop_kind()? == SyscallStopKind::Exit {
            return Ok(());
        }
        Err(verify::diverged(
            event,
            self.recorded_tid,
            "leaving a syscall",
            format!("expected its exit stop, got {stop:?}"),
        ))
    }
}

impl Drop for ReplayTask {
    /// A replay that stops early (divergence, error) ends its tracees; a
    /// thread held in a ptrace stop is released so that it can die.
    fn drop(&mut self) {
        if !self.gone {
            tracee::kill_process(self.task.tid, libc::SIGKILL);
            let _ = self.task.resume(Resume::Continue, 0);
        }
    }
}
