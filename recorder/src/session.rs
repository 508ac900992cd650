//! The record event loop. Every traced thread stops at each syscall, signal
//! and ptrace event; the loop turns stops into trace events and decides
//! which one thread runs user code at a time (ARCHITECTURE.md "Recording").
//!
//! Trace order is execution order. Three rules keep it so:
//! - stops of other threads that arrive while one thread runs user code are
//!   queued and handled only when it stops;
//! - a thread whose syscall has not returned when something else happens
//!   gets a `SyscallEntry` event first (`flush_entries`), so that replay
//!   advances it to that syscall at the right moment;
//! - a thread running user code while others wait is preempted at the end
//!   of its slice, at a fingerprinted execution point.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use tracee::clock::Moment;
use tracee::switches::SwitchCounter;

use trace_format::{Event, EventRecord, ExitStatus, SyscallEntryEvent, TraceWriter};
use tracee::waiter::ChildWaiter;
use tracee::{Resume, Stop, Task, Tid};

use crate::error::RecordError;
use crate::exec;
use crate::files::FileCapture;
use crate::scheduler::{Scheduler, Slice};
use crate::shared::SharedFiles;
use crate::syscall::OutputIds;
use crate::task::{AddressSpace, RecordTask, TaskState};

/// After this long, new and resumed threads count only their switches
/// into a sleep.
const SLEEP_COUNTERS_AFTER: Duration = Duration::from_secs(1);
/// Or once threads have resumed this often with a counter of every
/// switch: each of their stops sent a notice (about 16 us), and this many
/// cost what the tracepoint's last close does (30-40 ms).
const SLEEP_COUNTERS_AFTER_NOTICES: u32 = 2000;
/// How long to wait for a syscall to return before treating its thread as
/// blocked and letting another run.
const SYSCALL_GRACE: Duration = Duration::from_micros(200);
/// A syscall still running in the kernel (not sleeping) gets this long.
const SYSCALL_GRACE_MAX: Duration = Duration::from_millis(5);

pub struct Session {
    pub(crate) tasks: BTreeMap<Tid, RecordTask>,
    pub(crate) writer: TraceWriter,
    pub(crate) files: FileCapture,
    pub(crate) output_ids: OutputIds,
    pub(crate) waiter: ChildWaiter,
    /// Stops seen while another thread ran user code.
    queue: VecDeque<(Tid, Stop)>,
    /// First stops of new threads that arrived before their parent's
    /// clone event.
    pub(crate) early_stops: HashMap<Tid, Stop>,
    /// Threads in a syscall whose `SyscallEntry` is not written yet, in
    /// the order they entered.
    pub(crate) unannounced: Vec<Tid>,
    /// vfork parents whose return waits until their child's exec is
    /// recorded: (parent, child).
    pub(crate) held_vforks: Vec<(Tid, Tid)>,
    /// The thread running user code, since when, and its slice.
    pub(crate) running: Option<(Tid, Moment, Duration)>,
    /// A thread just resumed into a syscall, waited for briefly.
    grace: Option<(Tid, Moment)>,
    /// A thread in a syscall that changes the file of a shared object:
    /// nobody runs user code until it returns (see
    /// `SharedFiles::write_at_entry`).
    pub(crate) exclusive: Option<Tid>,
    pub(crate) scheduler: Scheduler,
    /// The first process's id; its exit status is the recording's.
    main_pid: Tid,
    pub(crate) main_status: Option<ExitStatus>,
    /// The signal that told the recorder to end the recording.
    ended_by: Option<i32>,
    /// Processes recorded so far: the first, and each fork or vfork.
    pub(crate) processes: u64,
    /// Syscall numbers unknown to rewind that the program called, each
    /// warned about once.
    pub(crate) unknown_syscalls: std::collections::HashSet<u64>,
    /// The recorder's thread that waits for tracees, which the context
    /// switch counters notify (`crate::desched`).
    pub(crate) recorder_tid: Tid,
    /// The kernel refused a context switch counter once: it is not asked
    /// again.
    pub(crate) switches_refused: bool,
    /// The kernel refused a tracepoint counter once: not asked again.
    pub(crate) sleeps_refused: bool,
    /// Resumes of threads whose counter counts every switch (each stop
    /// before one sent a notice), up to `SLEEP_COUNTERS_AFTER_NOTICES`.
    notices_paid: u32,
    /// The switch counters opened so far.
    pub(crate) counters: crate::SwitchCounters,
    /// When the recording started, by the coarse clock: it is read at
    /// every resume, and a tick is close enough for its one second.
    started: Duration,
    /// The recording's shared objects.
    pub(crate) shared: SharedFiles,
    /// Processes the recorder delivered a stop signal to, until their
    /// group stop ends.
    pub(crate) stopping: std::collections::HashSet<Tid>,
}

impl Session {
    pub fn new(
        task: Task,
        writer: TraceWriter,
        files: FileCapture,
        chaos_seed: Option<u64>,
        recorder_signals: &[i32],
        filtered: bool,
    ) -> Result<Session, RecordError> {
        let tid = task.tid;
        let mut tasks = BTreeMap::new();
        let mut first = RecordTask::new(task, tid, AddressSpace::new(0));
        first.filtered = filtered;
        tasks.insert(tid, first);
        Ok(Session {
            tasks,
            writer,
            files,
            output_ids: OutputIds::of_this_process(),
            waiter: ChildWaiter::taking(
                &[recorder_signals, &[tracee::switches::NOTICE_SIGNAL]].concat(),
            )?,
            queue: VecDeque::new(),
            early_stops: HashMap::new(),
            unannounced: Vec::new(),
            held_vforks: Vec::new(),
            running: None,
            grace: None,
            exclusive: None,
            scheduler: Scheduler::new(chaos_seed),
            main_pid: tid,
            main_status: None,
            ended_by: None,
            processes: 1,
            unknown_syscalls: std::collections::HashSet::new(),
            recorder_tid: tracee::switches::this_thread(),
            switches_refused: false,
            sleeps_refused: false,
            notices_paid: 0,
            counters: crate::SwitchCounters::default(),
            started: tracee::clock::coarse(),
            shared: SharedFiles::default(),
            stopping: std::collections::HashSet::new(),
        })
    }

    /// The signal that ended the recording early, if one did.
    pub fn ended_by(&self) -> Option<i32> {
        self.ended_by
    }

    /// Hands the writer back so the caller can finish the trace.
    pub fn into_writer(self) -> TraceWriter {
        self.writer
    }

    pub(crate) fn task(&mut self, tid: Tid) -> Result<&mut RecordTask, RecordError> {
        self.tasks
            .get_mut(&tid)
            .ok_or_else(|| internal(format!("thread {tid} is not tracked")))
    }

    /// Writes an event of `tid`. Threads that entered a syscall since the
    /// last event get their `SyscallEntry` first; `tid`'s own pending
    /// entry is implied by the event.
    pub(crate) fn emit(&mut self, tid: Tid, event: Event) -> Result<(), RecordError> {
        self.unannounced.retain(|&t| t != tid);
        self.flush_entries()?;
        self.writer.append_event(&EventRecord { tid, event })?;
        Ok(())
    }

    /// Writes `SyscallEntry` events for threads still inside a syscall.
    pub(crate) fn flush_entries(&mut self) -> Result<(), RecordError> {
        for tid in std::mem::take(&mut self.unannounced) {
            let Some(pending) = self.tasks.get(&tid).and_then(|t| t.pending.as_ref()) else {
                continue;
            };
            let event = Event::SyscallEntry(SyscallEntryEvent {
                regs: pending.regs,
                executed: pending.is_executed(),
            });
            self.writer.append_event(&EventRecord { tid, event })?;
        }
        Ok(())
    }

    /// Captures the address space at the exit stop of an execve.
    pub(crate) fn record_exec(&mut self, tid: Tid) -> Result<(), RecordError> {
        let record = self
            .tasks
            .get_mut(&tid)
            .ok_or_else(|| internal(format!("exec in unknown thread {tid}")))?;
        let capture = exec::capture_exec(&mut record.task, &mut self.writer, &mut self.files)?;
        // A vfork child took its scratch area from its parent's space,
        // which lives on: the next child (the next posix_spawn) reuses it.
        if let Some(area) = record.scratch.take() {
            record.space.spare_scratch.borrow_mut().push(area);
        }
        record.space = AddressSpace::new(capture.brk_end);
        record.buffer = None;
        record.buffer_refused = false;
        record.interrupted.clear();
        self.emit(tid, Event::Exec(capture.event))
    }

    /// Runs the recording until every traced thread is gone; returns the
    /// first process's exit status.
    pub fn run(&mut self) -> Result<ExitStatus, RecordError> {
        while !self.tasks.is_empty() {
            let mut noticed = false;
            for signo in self.waiter.take_signals() {
                if signo == tracee::switches::NOTICE_SIGNAL {
                    noticed = true;
                } else {
                    self.on_recorder_signal(signo);
                }
            }
            if noticed {
                self.on_switch_notice()?;
            }
            self.writer.flush_if_due()?;
            if self.running.is_none() {
                while let Some((tid, stop)) = self.queue.pop_front() {
                    self.on_stop(tid, stop)?;
                }
                if self.grace.is_none() {
                    if let Some(tid) = self.scheduler.pick(&self.tasks) {
                        let started = self.start(tid);
                        self.tolerate_death(tid, started)?;
                        if self.running.is_none() && self.grace.is_none() {
                            // Its slice ended before it stopped by itself
                            // (chaos single steps): choose again.
                            continue;
                        }
                    }
                }
            }
            if self.tasks.is_empty() {
                break;
            }
            match self.waiter.wait_any(self.timeout())? {
                Some((tid, stop)) => match self.running {
                    Some((running, ..)) if running != tid => self.queue.push_back((tid, stop)),
                    _ => self.on_stop(tid, stop)?,
                },
                None => self.on_timeout()?,
            }
        }
        self.main_status
            .ok_or_else(|| internal("the recorded program ended without an exit status".into()))
    }

    /// A signal sent to the recorder itself. SIGINT belongs to the
    /// program: a terminal's Ctrl-C reaches it through its process group,
    /// and one sent to the recorder alone changes nothing (as with rr).
    /// SIGTERM and SIGHUP end the recording: every recorded process is
    /// killed, so that the trace ends with their deaths and a trailer, as
    /// one whose program was killed from outside.
    fn on_recorder_signal(&mut self, signo: i32) {
        if signo == libc::SIGINT || self.ended_by.is_some() {
            return;
        }
        self.ended_by = Some(signo);
        let processes: std::collections::BTreeSet<Tid> =
            self.tasks.values().map(|t| t.tgid).collect();
        for pid in processes {
            tracee::kill_process(pid, libc::SIGKILL);
        }
    }

    /// Whether a thread other than `tid` could use the processor.
    fn others_waiting(&self, tid: Tid) -> bool {
        !self.queue.is_empty()
            || self
                .tasks
                .values()
                .any(|t| t.tid() != tid && t.state == TaskState::Stopped)
    }

    /// How long the loop may wait for a stop: until the end of the running
    /// thread's slice or grace period, and no longer than the trace writer
    /// may keep what it holds.
    fn timeout(&self) -> Option<Duration> {
        let scheduling = self.scheduling_timeout();
        match (scheduling, self.writer.flush_due_in()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn scheduling_timeout(&self) -> Option<Duration> {
        if self.grace.is_some() {
            return Some(SYSCALL_GRACE);
        }
        if self.blocked_with_signals().next().is_some() {
            return Some(SIGNAL_RETRY);
        }
        let (tid, since, slice) = self.running?;
        let retry = self
            .tasks
            .get(&tid)
            .is_some_and(|t| !t.deferred.is_empty())
            .then_some(SIGNAL_RETRY);
        let slice_end = (self.others_waiting(tid) || self.scheduler.is_chaos())
            .then(|| slice.saturating_sub(since.elapsed()));
        match (retry, slice_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Threads in a syscall that hold signals back for its boundary: the
    /// boundary may never come (a read that only the stopped process's
    /// parent could end), and a real signal would interrupt the call.
    fn blocked_with_signals(&self) -> impl Iterator<Item = Tid> + '_ {
        self.tasks
            .iter()
            .filter(|(_, t)| t.state == TaskState::InKernel && !t.deferred.is_empty())
            .map(|(&tid, _)| tid)
    }

    fn on_timeout(&mut self) -> Result<(), RecordError> {
        let waiting: Vec<Tid> = self.blocked_with_signals().collect();
        for tid in waiting {
            if matches!(tracee::waiter::thread_state(tid), Some('S' | 'D')) {
                // Sent now, it interrupts the sleeping call, and is
                // delivered at the call's boundary as the trace places it.
                self.redeliver_deferred(tid)?;
            }
        }
        if let Some((tid, since)) = self.grace {
            let sleeping = matches!(tracee::waiter::thread_state(tid), Some('S' | 'D'));
            let held = self.exclusive == Some(tid) && self.tasks.contains_key(&tid);
            if !held && (sleeping || since.elapsed() >= SYSCALL_GRACE_MAX) {
                self.grace = None;
            }
            return Ok(());
        }
        if let Some((tid, since, slice)) = self.running {
            // Signals held back because the thread stood where they could
            // not be placed (a rep-prefixed copy, say) and that has made
            // no syscall since: try again wherever it is now.
            self.redeliver_deferred(tid)?;
            let others = self.others_waiting(tid) || self.scheduler.is_chaos();
            if since.elapsed() >= slice && others {
                let record = self.task(tid)?;
                if !record.interrupt_requested {
                    record.interrupt_requested = true;
                    record.task.interrupt()?;
                } else if since.elapsed() >= slice + INTERRUPT_RETRY
                    && matches!(tracee::waiter::thread_state(tid), Some('R' | 'S'))
                {
                    // The interrupt's trap has not come and the thread still
                    // runs user code, or sleeps in a call through its buffer:
                    // seen hung under load (group_stop in chaos mode; a
                    // buffered futex wait in chaos mode, the trap taken by
                    // another stop), every other thread waiting on it.
                    // Asking again is harmless: pending interrupts make one
                    // trap.
                    record.task.interrupt()?;
                }
            }
        }
        Ok(())
    }

    /// Lets `tid` run user code.
    fn start(&mut self, tid: Tid) -> Result<(), RecordError> {
        self.flush_entries()?;
        let slice = match self.scheduler.slice() {
            Slice::Time(duration) => duration,
            Slice::Steps(steps) => return self.run_steps(tid, steps),
        };
        self.publish_shared_files(tid)?;
        self.point_slot(tid)?;
        self.forget_notices(tid)?;
        let record = self.task(tid)?;
        let signal = std::mem::take(&mut record.resume_signal);
        record.state = TaskState::Running;
        record.task.resume(record.user_resume(), signal)?;
        self.running = Some((tid, Moment::now(), slice));
        Ok(())
    }

    /// Chaos mode: runs `tid` for exactly `steps` instructions, then
    /// preempts it. An instruction the recorder must see as a stop of its
    /// own (a syscall) ends the stepping; the thread then runs normally
    /// into it.
    fn run_steps(&mut self, tid: Tid, steps: u32) -> Result<(), RecordError> {
        self.publish_shared_files(tid)?;
        self.point_slot(tid)?;
        self.task(tid)?.state = TaskState::Running;
        for _ in 0..steps {
            let record = self.task(tid)?;
            let regs = record.task.regs()?;
            let mut bytes = [0u8; 16];
            let got = record
                .task
                .read_partial(tracee::RemoteAddr(regs.rip), &mut bytes);
            if crate::signals::restart_pending(&regs)
                || crate::signals::stops_by_itself(&bytes[..got])
            {
                return self.keep_running(tid);
            }
            let signal = std::mem::take(&mut record.resume_signal);
            let stop = record.task.step(Resume::SingleStep, signal)?;
            if stop != Stop::Signal(libc::SIGTRAP) {
                return self.dispatch(tid, stop);
            }
        }
        self.preempt(tid, true)
    }

    /// Resumes `tid` (which was running user code when it stopped) to go
    /// on running it without a scheduling decision.
    pub(crate) fn keep_running(&mut self, tid: Tid) -> Result<(), RecordError> {
        self.point_slot(tid)?;
        self.forget_notices(tid)?;
        let record = self.task(tid)?;
        let signal = std::mem::take(&mut record.resume_signal);
        record.state = TaskState::Running;
        record.task.resume(record.user_resume(), signal)?;
        let slice = match self.running {
            Some((_, since, slice)) => (since, slice),
            None => match self.scheduler.slice() {
                Slice::Time(duration) => (Moment::now(), duration),
                Slice::Steps(_) => (Moment::now(), Duration::from_micros(50)),
            },
        };
        self.running = Some((tid, slice.0, slice.1));
        Ok(())
    }

    /// Before `tid` runs user code: no thread does now, so the switch
    /// counters' notices that came so far are stale (the one `tid`'s own
    /// stop sent, among them), and each would cost a look at /proc after
    /// the resume.
    fn forget_notices(&mut self, tid: Tid) -> Result<(), RecordError> {
        let upgrade = self.wants_sleep_counters()
            && self
                .task(tid)?
                .switches
                .as_ref()
                .is_some_and(|c| !c.counts_sleeps());
        if upgrade {
            // Stopped, so not inside a call through the buffer.
            match SwitchCounter::open_sleeps(tid, self.recorder_tid) {
                Ok(counter) => {
                    self.counters.sleeps += 1;
                    self.task(tid)?.switches = Some(counter);
                }
                Err(_) => self.sleeps_refused = true,
            }
        }
        let counts_every_switch = match &self.task(tid)?.switches {
            Some(counter) => {
                counter.resume();
                !counter.counts_sleeps()
            }
            None => return Ok(()),
        };
        self.waiter.forget(tracee::switches::NOTICE_SIGNAL);
        if counts_every_switch {
            self.notices_paid = self.notices_paid.saturating_add(1);
        }
        Ok(())
    }

    /// Whether threads count only their switches into a sleep
    /// (`SwitchCounter::open_sleeps`): once the recording has lasted
    /// `SLEEP_COUNTERS_AFTER` or paid `SLEEP_COUNTERS_AFTER_NOTICES`
    /// notices, so that a short one does not pay the kernel's 30-40 ms
    /// for the tracepoint's last close.
    pub(crate) fn wants_sleep_counters(&self) -> bool {
        !self.sleeps_refused
            && (self.notices_paid >= SLEEP_COUNTERS_AFTER_NOTICES
                || tracee::clock::coarse().saturating_sub(self.started) >= SLEEP_COUNTERS_AFTER)
    }

    /// `tid` went into a syscall: wait briefly for it when others could
    /// run, so that quick syscalls need no `SyscallEntry`. `announced`:
    /// an event (`Clone`) already marks the entry.
    pub(crate) fn entered_kernel(&mut self, tid: Tid, announced: bool) -> Result<(), RecordError> {
        let record = self.task(tid)?;
        record.state = TaskState::InKernel;
        // Its sleep there is no call through the buffer blocking.
        if let Some(counter) = &record.switches {
            counter.pause();
        }
        if !announced {
            self.unannounced.push(tid);
        }
        if self.others_waiting(tid) || self.exclusive == Some(tid) {
            self.grace = Some((tid, Moment::now()));
        }
        Ok(())
    }

    /// Others may run while `tid` is in its syscall: no grace period.
    pub(crate) fn stop_waiting_for(&mut self, tid: Tid) {
        if matches!(self.grace, Some((waited, _)) if waited == tid) {
            self.grace = None;
        }
    }

    fn on_stop(&mut self, tid: Tid, stop: Stop) -> Result<(), RecordError> {
        if matches!(self.running, Some((running, ..)) if running == tid) {
            self.running = None;
        }
        if matches!(self.grace, Some((waited, _)) if waited == tid) {
            self.grace = None;
        }
        if self.exclusive == Some(tid) {
            self.exclusive = None;
        }
        if !self.tasks.contains_key(&tid) {
            if !stop.is_death() {
                self.early_stops.insert(tid, stop);
            }
            return Ok(());
        }
        let handled = self.dispatch(tid, stop);
        self.tolerate_death(tid, handled)
    }

    /// A thread killed while the recorder dealt with it (by another
    /// thread's exit_group or exec, or from outside) fails ptrace calls
    /// with ESRCH; its death is reported and recorded next.
    fn tolerate_death(
        &mut self,
        tid: Tid,
        result: Result<(), RecordError>,
    ) -> Result<(), RecordError> {
        match result {
            Err(RecordError::Tracee(e)) if e.is_gone() => {
                if let Some(record) = self.tasks.get_mut(&tid) {
                    record.state = TaskState::Exiting;
                }
                if matches!(self.running, Some((running, ..)) if running == tid) {
                    self.running = None;
                }
                Ok(())
            }
            other => other,
        }
    }

    /// A stop of a new thread that waitpid already reported, kept aside or
    /// queued while another thread ran.
    pub(crate) fn take_early_stop(&mut self, tid: Tid) -> Option<Stop> {
        if let Some(stop) = self.early_stops.remove(&tid) {
            return Some(stop);
        }
        let at = self.queue.iter().position(|&(t, _)| t == tid)?;
        self.queue.remove(at).map(|(_, stop)| stop)
    }

    /// Hands a stop back to the main loop, to be handled before any other
    /// (instead of handling it deep inside another stop's handling).
    pub(crate) fn requeue(&mut self, tid: Tid, stop: Stop) {
        self.queue.push_front((tid, stop));
    }

    pub(crate) fn is_main_process(&self, tgid: Tid) -> bool {
        tgid == self.main_pid
    }
}

/// How long a signal held back in user code waits before another attempt.
const SIGNAL_RETRY: Duration = Duration::from_millis(10);
/// How long past its slice a thread may go on running before the recorder
/// asks it to stop again.
const INTERRUPT_RETRY: Duration = Duration::from_millis(100);

pub(crate) fn internal(what: String) -> RecordError {
    RecordError::Tracee(tracee::TraceeError::UnexpectedStop {
        tid: 0,
        expected: "a consistent recording",
        got: what,
    })
}
