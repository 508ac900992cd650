//! The replay thread's side of a debugging session: parks the replay where
//! gdb must see it and serves gdb's requests there; runs replayed threads
//! with gdb's breakpoints, steps and watchpoints in force.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;

use gdb_remote::{ResumeAction, StopReason, TargetError, ThreadId};
use tracee::waiter::ChildWaiter;
use tracee::{extended_state, RemoteAddr, Stop, Task, Tid};

use super::breakpoints::BreakpointTable;
use super::plan::{Plan, Seen};
use super::position::{BoundaryStop, Position, Trigger};
use super::protocol::{Answer, Reply, Request};
use super::registers;
use super::timeline::Inside;
use crate::error::ReplayError;
use travel::Mode;

mod call_site;
mod counting;
mod diversion;
mod hot;
mod monitor;
mod step_back;
mod stepping;
mod travel;
mod undo;

/// What one debug-aware resume of a thread did.
pub enum Outcome {
    /// The debugger was shown a stop before the thread ran; resume again
    /// with the same signal.
    NotRun,
    /// The thread ran and its stop was the debugger's; resume again.
    Consumed,
    /// A stop the replay must handle.
    Stop(Stop),
}

pub struct Debugger {
    requests: Receiver<Request>,
    answers: Sender<Reply>,
    interrupt: Arc<AtomicBool>,
    waiter: ChildWaiter,
    table: BreakpointTable,
    /// The thread gdb asked to step, until it has run one instruction.
    step: Option<ThreadId>,
    /// A step that ended in a stop the replay handles (a syscall, a
    /// signal): reported when the thread next runs.
    step_done: Option<ThreadId>,
    /// Live threads of the debugged process, oldest first.
    threads: Vec<(ThreadId, Tid)>,
    /// The recorded id of the process gdb debugs.
    pub debugged: i32,
    /// The event being replayed (or next to be).
    pub event: u64,
    /// gdb changed memory or registers: its resumes run a throw-away copy
    /// (diversion.rs).
    diversion: Option<diversion::Diversion>,
    /// The resume that ended a diversion, to make once the replay is back.
    pending_resume: Option<(ResumeAction, Option<i32>)>,
    /// gdb set orig_rax to -1 before any other change.
    orig_rax_cleared: bool,
    /// A thread runs through a trampoline (point.rs): a Ctrl-C must not
    /// show gdb the replay until it is out.
    pub trampoline_running: bool,
    deferred_stop: Option<StopReason>,
    message: Option<String>,
    files: HashMap<String, PathBuf>,
    /// Each process's program and auxiliary vector, by recorded pid.
    programs: HashMap<i32, (String, Vec<u8>)>,
    /// Signals gdb lets pass without showing them (`handle SIG nostop`).
    passed_signals: HashSet<i32>,
    /// The recorded signal the stop gdb sees is about to deliver: the one
    /// signal a resume may give.
    pending_signal: Option<i32>,
    /// The signal of the stop gdb saw before a move it did not ask for
    /// (`monitor goto`, `restart`): gdb learns of no new stop then, and its
    /// next resume gives that signal again, which the replay drops.
    signal_before_move: Option<i32>,
    /// gdb's breakpoint conditions (agent expressions), by whether the
    /// breakpoint is a hardware one and its address.
    conditions: HashMap<(bool, u64), Vec<Vec<u8>>>,
    /// A move back was given up for gdb's Ctrl-C: the replay returns to
    /// the stop before it, and another Ctrl-C waits for that.
    giving_up: bool,
    /// The thread gdb saw stopped last, and its pc then, until it runs.
    shown_at: Option<(ThreadId, u64)>,
    /// The thread gdb asked to step at a signal's stop, with the signal.
    stepping_with_signal: Option<ThreadId>,
    /// A thread about to take a signal where it stands: it runs nothing
    /// first, so a breakpoint under it is not hit yet.
    signal_due: Option<ThreadId>,
    /// What this replay is for: showing gdb its stops, or following a
    /// name back to one (travel.rs).
    mode: Mode,
    /// The move a replay unwound for, for the next one to make.
    plan: Option<Plan>,
    /// The name of the current instant; None after a stop that cannot be
    /// named (a Ctrl-C in the middle of a run) until the next event.
    trail: Option<Position>,
    /// The stop gdb sees now, if it can be named.
    shown: Option<Seen>,
    /// The first stop gdb saw, where `run` starts again.
    first_stop: Option<Seen>,
    /// Where the program gdb knows began: reverse moves end there.
    history_start: Option<Seen>,
    /// This replay has passed `history_start`.
    past_history_start: bool,
    /// The followers' own breakpoints and watchpoints, now armed.
    internal: Vec<Trigger>,
    /// An arrival counter in the tracee (counting.rs), while one is.
    counter: Option<counting::ArmedCounter>,
    /// The registers before a step back's latest single step, where
    /// putting them back undoes it (undo.rs).
    before_step: Option<undo::BeforeStep>,
    /// The recorded thread of each event replayed so far, by number
    /// (events are numbered from 1).
    event_threads: Vec<i32>,
    /// Where this replay began: the trace's start, or the copy's instant.
    replay_from: Position,
    /// The replay resumes the event's thread where nothing of its event
    /// but running it is done yet: a copy may be taken at a named stop
    /// then (`ReplayError::CopyWanted`).
    restartable: bool,
    /// The copy asked for, for the replay loop to take.
    copy_wanted: Option<Inside>,
    /// The event goes on from a stop inside it (after a copy, or in a
    /// replay begun from one): the thread's next resume is not the first
    /// since the event began.
    continuing: bool,
    /// How many arrivals a counter counts before it traps for a copy.
    chunks: counting::Chunks,
    /// A step back's count a copy interrupted, to go on with when the
    /// thread runs again.
    recount: Option<counting::Recount>,
    /// Events whose thread ran long, by number: the thread and a pc it
    /// was found at then (None where the sample was of no use). A
    /// follower's replay counts the arrivals there, to take copies
    /// inside the event (counting.rs).
    hot: HashMap<u64, Option<(ThreadId, u64)>>,
    /// Counting the event's hot arrivals, or a scan's breakpoint hits, was
    /// refused in the current event, or got in the way of a count that
    /// comes first.
    hot_blocked: bool,
    hits_blocked: bool,
    /// When the current event began to run, and the samples of where its
    /// thread runs taken since.
    event_began: tracee::clock::Moment,
    hot_samples: u32,
    /// The copies of the replay kept (where each stands, and its
    /// processes), and the replayed processes now: for `monitor copies`.
    copies: Vec<(Position, Vec<Tid>)>,
    replayed: Vec<Tid>,
    scan_memo: Option<travel::ScanMemo>,
    /// gdb's `checkpoint`s by number: stops to go back to.
    checkpoints: std::collections::BTreeMap<u32, Seen>,
    next_checkpoint: u32,
}

fn thread_of(threads: &[(ThreadId, Tid)], thread: ThreadId) -> Result<Tid, TargetError> {
    threads
        .iter()
        .find(|(id, _)| id.tid == thread.tid || thread.tid <= 0)
        .map(|&(_, real)| real)
        .ok_or(TargetError::Errno(libc::ESRCH))
}

fn tracee_error(_: tracee::TraceeError) -> TargetError {
    TargetError::Errno(libc::EIO)
}

impl Debugger {
    pub fn new(
        requests: Receiver<Request>,
        answers: Sender<Reply>,
        interrupt: Arc<AtomicBool>,
        debugged: i32,
        copy_interval: std::time::Duration,
    ) -> Result<Debugger, ReplayError> {
        Ok(Debugger {
            requests,
            answers,
            interrupt,
            waiter: ChildWaiter::new()?,
            table: BreakpointTable::default(),
            step: None,
            step_done: None,
            threads: Vec::new(),
            debugged,
            event: 0,
            diversion: None,
            pending_resume: None,
            orig_rax_cleared: false,
            trampoline_running: false,
            deferred_stop: None,
            message: None,
            files: HashMap::new(),
            programs: HashMap::new(),
            passed_signals: HashSet::new(),
            pending_signal: None,
            signal_before_move: None,
            giving_up: false,
            conditions: HashMap::new(),
            shown_at: None,
            stepping_with_signal: None,
            signal_due: None,
            mode: Mode::Live,
            plan: None,
            trail: Some(Position::boundary(0)),
            shown: None,
            first_stop: None,
            history_start: None,
            past_history_start: false,
            internal: Vec::new(),
            counter: None,
            before_step: None,
            event_threads: vec![0],
            replay_from: Position::boundary(0),
            restartable: false,
            copy_wanted: None,
            continuing: false,
            chunks: counting::Chunks::new(copy_interval),
            recount: None,
            hot: HashMap::new(),
            hot_blocked: false,
            hits_blocked: false,
            event_began: tracee::clock::Moment::now(),
            hot_samples: 0,
            copies: Vec::new(),
            replayed: Vec::new(),
            scan_memo: None,
            checkpoints: std::collections::BTreeMap::new(),
            next_checkpoint: 1,
        })
    }

    /// Event `number` of the trace belongs to `tid`.
    pub fn note_event(&mut self, number: u64, tid: i32) {
        if self.event_threads.len() as u64 == number {
            self.event_threads.push(tid);
        }
    }

    /// The copies `monitor copies` reports.
    pub fn set_copies(&mut self, copies: Vec<(Position, Vec<Tid>)>) {
        self.copies = copies;
    }

    /// The replayed processes, whose memory `monitor copies` compares.
    pub fn set_replayed(&mut self, processes: Vec<Tid>) {
        self.replayed = processes;
    }

    pub fn set_threads(&mut self, threads: Vec<(ThreadId, Tid)>) {
        self.threads = threads;
    }

    /// Whether a trampoline at `addr` cannot meet anything of gdb's as
    /// `thread` runs: no breakpoint near it, no watchpoint (it could fire
    /// inside the trampoline), no step of the thread to do or to report.
    pub fn trampoline_allowed(&self, thread: ThreadId, addr: u64) -> bool {
        !self
            .table
            .software_within(addr.saturating_sub(16), addr.saturating_add(16))
            && !self.table.has_hardware()
            && self.step != Some(thread)
            && self.step_done != Some(thread)
            && !self.internal.iter().any(|t| t.thread() == Some(thread))
            && self.counter.is_none()
    }

    /// A stop of the machinery (stepping.rs): named and counted, and shown
    /// to gdb if `reason` says so. While a trampoline is in memory a stop
    /// for gdb is kept instead, and the replay unwinds to where the
    /// trampoline was installed, takes it out, and shows the stop from
    /// there.
    pub fn stop_for_gdb(
        &mut self,
        triggers: &[Trigger],
        reason: Option<StopReason>,
    ) -> Result<(), ReplayError> {
        if self.trampoline_running && reason.is_some() && !self.following() {
            self.deferred_stop = reason;
            self.trail = None;
            return Err(ReplayError::Interrupted);
        }
        self.stop_here(triggers, reason)
    }

    /// A stop at an instant no name can find again (gdb's Ctrl-C while a
    /// thread runs): shown, but reverse moves from it are refused until
    /// the next event.
    pub fn stop_unnamed(&mut self, reason: StopReason) -> Result<(), ReplayError> {
        if self.following() {
            return Ok(());
        }
        if self.trampoline_running {
            self.deferred_stop = Some(reason);
            self.trail = None;
            return Err(ReplayError::Interrupted);
        }
        self.trail = None;
        self.park(reason)
    }

    /// The stop `stop_for_gdb` kept.
    pub fn take_deferred_stop(&mut self) -> Option<StopReason> {
        self.deferred_stop.take()
    }

    pub fn first_thread(&self) -> Option<ThreadId> {
        self.threads.first().map(|&(id, _)| id)
    }

    pub fn interrupt_requested(&self) -> bool {
        self.interrupt.swap(false, Ordering::SeqCst)
    }

    /// Process `pid` exec'd. If it is the debugged one, its new image has
    /// none of the old breakpoints.
    pub fn exec(&mut self, pid: i32, exe: String, auxv: Vec<u8>) {
        // A replay started again passes the execs before gdb's program
        // with gdb's table kept for that program.
        if pid == self.debugged && self.past_history_start {
            self.table.clear();
        }
        self.programs.insert(pid, (exe, auxv));
    }

    /// A forked process runs its parent's program.
    pub fn forked_program(&mut self, parent: i32, child: i32) {
        if let Some(program) = self.programs.get(&parent).cloned() {
            self.programs.insert(child, program);
        }
    }

    /// A patch replaced `len` bytes at `start`: breakpoints inside them
    /// stood on an instruction that is gone and stay out of memory, and
    /// one the jump overwrote at `start` goes in again.
    pub fn patched(&mut self, start: u64, len: u64) {
        self.table.displace(start, len);
        self.mappings_changed();
    }

    /// Puts the original bytes under gdb's breakpoints back into `bytes`,
    /// read from the debugged process at `addr`.
    pub fn shadow_breakpoints(&self, addr: u64, bytes: &mut [u8]) {
        self.table.shadow(addr, bytes);
    }

    pub fn note_file(&mut self, original: &str, stored: PathBuf) {
        self.files.insert(original.to_owned(), stored);
    }

    /// A thread joined the debugged process: it gets the watchpoints.
    pub fn thread_added(&self, tid: Tid) -> Result<(), ReplayError> {
        Ok(self.table.arm(tid)?)
    }

    /// A process forked from the debugged one: its copy of memory must not
    /// keep the breakpoints.
    pub fn forked(&self, child: &Task) {
        self.table.scrub(child);
    }

    /// A syscall of `thread` wrote `writes` into memory: a write or access
    /// watchpoint on any of it stops there, as the program's own write
    /// would have.
    pub fn kernel_wrote(
        &mut self,
        thread: ThreadId,
        writes: &[trace_format::MemoryWrite],
    ) -> Result<(), ReplayError> {
        if thread.pid != self.debugged {
            return Ok(());
        }
        let hit = writes.iter().find_map(|w| {
            self.table
                .watched_within(w.addr, w.addr.saturating_add(w.data.len))
        });
        let reason = hit.map(|slot| StopReason::Watchpoint {
            thread,
            kind: slot.watch.unwrap_or(gdb_remote::WatchKind::Write),
            addr: slot.request.0,
        });
        self.stop_here(&[Trigger::KernelWrite { thread }], reason)
    }

    /// gdb sees the stop at `thread`'s pc: a breakpoint it stands on is one
    /// it has already hit.
    fn note_shown(&mut self, thread: ThreadId) {
        self.shown_at = self.rip_of(thread).map(|rip| (thread, rip));
    }

    fn rip_of(&self, thread: ThreadId) -> Option<u64> {
        let real = thread_of(&self.threads, thread).ok()?;
        Some(Task::new(real).ok()?.regs().ok()?.rip)
    }

    /// Shows `reason` to gdb and serves its requests until it resumes.
    pub fn park(&mut self, reason: StopReason) -> Result<(), ReplayError> {
        self.giving_up = false;
        if let Some(thread) = reason.thread() {
            self.note_shown(thread);
        }
        if self.diversion.is_none() {
            // After gdb's writes the replay is not the recording: its
            // instants have no names, and going back starts from the last
            // stop before them.
            self.shown = self.trail.clone().map(|position| Seen {
                position,
                reason: reason.clone(),
            });
        }
        if let Some((action, _)) = self.pending_resume.take() {
            // Back from a diversion: the resume that ended it goes on from
            // here (without a signal, which the copy's stop had).
            self.pending_signal = None;
            self.step = match action {
                ResumeAction::Step(thread) => Some(thread),
                ResumeAction::Continue => None,
            };
            return Ok(());
        }
        let message = self.message.take();
        self.answers
            .send(Ok(Answer::Stopped { reason, message }))
            .map_err(|_| ReplayError::DebuggerGone)?;
        loop {
            let request = self
                .requests
                .recv()
                .map_err(|_| ReplayError::DebuggerGone)?;
            let reply = match request {
                Request::Resume(action, signal) if self.diversion.is_some() => {
                    self.resume_diverted(action, signal)?
                }
                Request::Resume(action, signal) => match self.refused_signal(signal) {
                    Some(refusal) => Err(refusal),
                    None => {
                        self.pending_signal = None;
                        self.signal_before_move = None;
                        self.step = match action {
                            ResumeAction::Step(thread) => Some(thread),
                            ResumeAction::Continue => None,
                        };
                        return Ok(());
                    }
                },
                Request::Reverse(action) => match self.reverse_plan(action) {
                    Ok(plan) => {
                        // gdb sees the stop this move ends at.
                        self.signal_before_move = None;
                        return self.go(plan);
                    }
                    Err(e) => Err(e),
                },
                Request::Run(argument) => match self.run_plan(argument.as_deref()) {
                    Ok(plan) => {
                        self.signal_before_move = None;
                        return self.go(plan);
                    }
                    Err(e) => Err(e),
                },
                Request::Monitor(command) if command.trim().starts_with("goto") => {
                    match self.goto_plan(command.trim()) {
                        Ok(plan) => return self.go_unasked(plan),
                        Err(e) => Err(e),
                    }
                }
                Request::Monitor(command) if command.trim().starts_with("restart") => {
                    let number = command.trim().trim_start_matches("restart");
                    match self.restart_plan(number) {
                        Ok(plan) => return self.go_unasked(plan),
                        Err(e) => Err(e),
                    }
                }
                other => self.serve(other),
            };
            self.answers
                .send(reply)
                .map_err(|_| ReplayError::DebuggerGone)?;
        }
    }

    /// Carries out a move gdb asked for: one that stays where gdb is
    /// answers at once; any other needs the replay started again.
    fn go(&mut self, plan: Plan) -> Result<(), ReplayError> {
        if let (Plan::Travel(seen), Some(shown), None) = (&plan, &self.shown, &self.diversion) {
            if seen.position == shown.position {
                // Already there: only the reason differs.
                return self.park(seen.reason.clone());
            }
        }
        Err(self.travel(plan))
    }

    /// gdb's condition for a breakpoint (none if empty). A scan's noted
    /// hits were chosen by the old one.
    fn set_conditions(&mut self, breakpoint: (bool, u64), conditions: Vec<Vec<u8>>) {
        let old = match conditions.is_empty() {
            true => self.conditions.remove(&breakpoint),
            false => self.conditions.insert(breakpoint, conditions.clone()),
        };
        if old.unwrap_or_default() != conditions {
            self.scan_memo = None;
        }
    }

    /// A move gdb learns of only from the monitor command's answer: its
    /// next resume gives the signal of the stop it saw before.
    fn go_unasked(&mut self, plan: Plan) -> Result<(), ReplayError> {
        self.signal_before_move = self.pending_signal.or(self.signal_before_move);
        self.go(plan)
    }

    /// The move for a reverse `continue` or `step`.
    /// gdb's signal settings, comparable.
    fn passed_signal_list(&self) -> Vec<i32> {
        let mut passed: Vec<i32> = self.passed_signals.iter().copied().collect();
        passed.sort_unstable();
        passed
    }

    fn reverse_plan(&mut self, action: ResumeAction) -> Result<Plan, TargetError> {
        let shown = self.shown.as_ref().ok_or_else(|| {
            TargetError::Message(
                "rewind cannot go back from a stop made by interrupting a running thread; \
                 step or continue to the next breakpoint or event first"
                    .into(),
            )
        })?;
        let at_start = self
            .history_start
            .as_ref()
            .is_some_and(|start| !start.position.is_before(&shown.position));
        if at_start {
            let thread = shown
                .reason
                .thread()
                .or_else(|| self.first_thread())
                .ok_or(TargetError::Errno(libc::ESRCH))?;
            return Ok(Plan::Travel(Seen {
                position: shown.position.clone(),
                reason: StopReason::HistoryEnd {
                    thread,
                    at_start: true,
                },
            }));
        }
        let at = shown.position.clone();
        Ok(match action {
            ResumeAction::Continue => match self.remembered_hit(&at) {
                Some(plan) => plan,
                None => Plan::Scan { to: at },
            },
            ResumeAction::Step(thread) => {
                let call_site = self.call_site(thread);
                self.history().step_back_plan(at, thread, None, call_site)
            }
        })
    }

    /// A replay can deliver only the signals the recording did: the one
    /// the current stop reports, whatever the resume says about it
    /// (`handle SIG nopass` resumes without it), and no other.
    fn refused_signal(&self, signal: Option<i32>) -> Option<TargetError> {
        let signo = signal?;
        if Some(signo) == self.pending_signal || Some(signo) == self.signal_before_move {
            return None;
        }
        Some(TargetError::Message(format!(
            "rewind: the recording has no {} here, and a replay can deliver only the signals \
             the recording had",
            tracee::signal_name(signo)
        )))
    }

    /// A recorded signal is about to be delivered to `thread`: gdb sees
    /// it first, unless it lets the signal pass. A thread gdb is stepping
    /// reports even those (as gdbserver does): gdb must know that the step
    /// runs into a handler, to step over it.
    pub fn signal_received(&mut self, thread: ThreadId, signo: i32) -> Result<(), ReplayError> {
        if thread.pid != self.debugged {
            return Ok(());
        }
        let stepping = self.step == Some(thread);
        let shown = !self.passed_signals.contains(&signo) || stepping;
        self.pending_signal = Some(signo);
        let reason = shown.then_some(StopReason::Signal { thread, signo });
        let parked = self.stop_here(&[Trigger::Signal { thread }], reason);
        self.pending_signal = None;
        self.stepping_with_signal = (self.step == Some(thread)).then_some(thread);
        parked
    }

    /// The debugged process's last thread is about to exit: gdb sees it
    /// stopped by a SIGKILL there.
    pub fn about_to_exit(&mut self, thread: ThreadId) -> Result<(), ReplayError> {
        self.pending_signal = Some(libc::SIGKILL);
        let reason = StopReason::Signal {
            thread,
            signo: libc::SIGKILL,
        };
        let parked = self.stop_here(&[Trigger::Boundary(BoundaryStop::Kill)], Some(reason));
        self.pending_signal = None;
        parked
    }

    /// `thread` is resumed to take a signal the replay sent it (`Some`),
    /// or has taken it (`None`).
    pub fn signal_due(&mut self, thread: Option<ThreadId>) {
        self.signal_due = thread;
    }

    /// The signal went in: a step gdb asked for with it ends at the
    /// handler's first instruction, as a native step does.
    pub fn signal_delivered(&mut self, thread: ThreadId) {
        if self.stepping_with_signal.take() == Some(thread) {
            self.step = None;
            self.step_done = Some(thread);
        }
    }

    fn serve(&mut self, request: Request) -> Reply {
        match request {
            Request::Threads => Ok(Answer::Threads(
                self.threads.iter().map(|&(id, _)| id).collect(),
            )),
            Request::ThreadName(thread) => {
                let real = thread_of(&self.threads, thread)?;
                let name = std::fs::read_to_string(format!("/proc/{real}/comm"))
                    .ok()
                    .map(|n| n.trim_end().to_owned())
                    .filter(|n| n != "rewind-replay-stub" && !n.is_empty());
                Ok(Answer::Name(name))
            }
            Request::ReadRegisters(thread) => {
                let real = thread_of(&self.threads, thread)?;
                let task = Task::new(real).map_err(tracee_error)?;
                let regs = task.regs().map_err(tracee_error)?;
                let extended = extended_state::read(real).map_err(tracee_error)?;
                Ok(Answer::Registers(Box::new(registers::to_gdb(
                    &regs, &extended,
                ))))
            }
            Request::WriteRegisters(thread, wanted) => {
                let real = thread_of(&self.threads, thread)?;
                let task = Task::new(real).map_err(tracee_error)?;
                let current = task.regs().map_err(tracee_error)?;
                let extended = extended_state::read(real).map_err(tracee_error)?;
                let mut unchanged = registers::to_gdb(&current, &extended);
                if unchanged == *wanted {
                    return Ok(Answer::Done);
                }
                // gdb sets orig_rax to -1 when it resumes a process it
                // started (`run`), so that no syscall restarts; the replay
                // restarts syscalls as the recording did, and ignores it.
                unchanged.orig_rax = wanted.orig_rax;
                if unchanged == *wanted && wanted.orig_rax == u64::MAX && self.diversion.is_none() {
                    self.orig_rax_cleared = true;
                    return Ok(Answer::Done);
                }
                self.divert(thread, None)?;
                let (regs, extended) = registers::from_gdb(&wanted);
                task.set_regs(&regs).map_err(tracee_error)?;
                extended_state::write(real, &extended).map_err(tracee_error)?;
                Ok(Answer::Done)
            }
            Request::ReadMemory(thread, addr, len) => {
                let real = thread_of(&self.threads, thread)?;
                let task = Task::new(real).map_err(tracee_error)?;
                let mut bytes = vec![0u8; len];
                let got = task.read_partial(RemoteAddr(addr), &mut bytes);
                if got == 0 && len > 0 {
                    return Err(TargetError::Errno(libc::EFAULT));
                }
                bytes.truncate(got);
                self.table.shadow(addr, &mut bytes);
                Ok(Answer::Bytes(bytes))
            }
            Request::WriteMemory(thread, addr, data) => {
                let real = thread_of(&self.threads, thread)?;
                let task = Task::new(real).map_err(tracee_error)?;
                let mut current = vec![0u8; data.len()];
                task.read_bytes(RemoteAddr(addr), &mut current)
                    .map_err(|_| TargetError::Errno(libc::EFAULT))?;
                self.table.shadow(addr, &mut current);
                if current == data {
                    return Ok(Answer::Done);
                }
                self.divert(thread, Some(addr))?;
                let mut data = data;
                self.table.write_under(addr, &mut data);
                task.write_bytes(RemoteAddr(addr), &data)
                    .map_err(|_| TargetError::Errno(libc::EFAULT))?;
                Ok(Answer::Done)
            }
            Request::InsertBreakpoint(kind, addr, len) => {
                let (first, all) = self.memory_and_threads()?;
                self.table.insert(&first, &all, kind, addr, len)?;
                Ok(Answer::Done)
            }
            Request::RemoveBreakpoint(kind, addr, len) => {
                let (first, all) = self.memory_and_threads()?;
                self.table.remove(Some(&first), &all, kind, addr, len)?;
                if !matches!(kind, gdb_remote::BreakpointKind::Watch(_)) {
                    let hardware = kind == gdb_remote::BreakpointKind::Hardware;
                    self.set_conditions((hardware, addr), Vec::new());
                }
                Ok(Answer::Done)
            }
            Request::BreakpointConditions(hardware, addr, conditions) => {
                self.set_conditions((hardware, addr), conditions);
                Ok(Answer::Done)
            }
            Request::Auxv | Request::ExecFile => {
                let (exe, auxv) = self
                    .programs
                    .get(&self.debugged)
                    .cloned()
                    .ok_or(TargetError::Errno(libc::ESRCH))?;
                Ok(match request {
                    Request::Auxv => Answer::Bytes(auxv),
                    _ => Answer::Text(exe),
                })
            }
            Request::CapturedFile(path) => self
                .proc_file(&path)
                .or_else(|| self.captured(&path))
                .map(Answer::Path)
                .ok_or(TargetError::Errno(libc::ENOENT)),
            Request::Monitor(command) => self.monitor(command.trim()),
            Request::PassSignals(signals) => {
                self.passed_signals = signals.into_iter().collect();
                Ok(Answer::Done)
            }
            Request::Kill => Ok(Answer::Done),
            Request::Resume(..) | Request::Reverse(..) | Request::Run(_) => {
                Err(TargetError::Unsupported)
            }
        }
    }

    /// The trace's copy of a file the program used. gdb names files as
    /// the program's loader did (`/lib64/ld-linux-x86-64.so.2`, from
    /// PT_INTERP), the trace as the kernel's maps did (the resolved
    /// path): a path that is not in the trace as given is looked up as
    /// this host resolves it, then by a file name only one capture has.
    fn captured(&self, path: &str) -> Option<PathBuf> {
        if let Some(stored) = self.files.get(path) {
            return Some(stored.clone());
        }
        let resolved = std::fs::canonicalize(path).ok();
        if let Some(stored) = resolved.and_then(|r| self.files.get(r.to_str()?)) {
            return Some(stored.clone());
        }
        let name = std::path::Path::new(path).file_name()?;
        let mut same_name = self
            .files
            .iter()
            .filter(|(original, _)| std::path::Path::new(original).file_name() == Some(name));
        match (same_name.next(), same_name.next()) {
            (Some((_, stored)), None) => Some(stored.clone()),
            _ => None,
        }
    }

    /// `/proc/PID/...` and `/proc/PID/task/TID/...` of the replayed
    /// process, with the recorded ids gdb knows turned into the replay's.
    fn proc_file(&self, path: &str) -> Option<PathBuf> {
        // Only what describes the process; never a way out to the host's
        // files (`root/`, `cwd/`, `..`).
        const SERVED: [&str; 6] = ["maps", "smaps", "comm", "stat", "status", "cmdline"];
        let rest = path.strip_prefix("/proc/")?;
        let (pid, rest) = rest.split_once('/')?;
        if pid.parse::<i32>().ok()? != self.debugged {
            return None;
        }
        let parts: Vec<&str> = rest.split('/').collect();
        let file = *parts.last()?;
        let shape_ok = parts.len() == 1 || (parts.len() == 3 && parts[0] == "task");
        if !SERVED.contains(&file) || !shape_ok {
            return None;
        }
        let (_, leader) = *self.threads.first()?;
        let real_rest = match rest.strip_prefix("task/") {
            Some(task) => {
                let (tid, file) = task.split_once('/')?;
                let tid: i32 = tid.parse().ok()?;
                let (_, real) = *self.threads.iter().find(|(id, _)| id.tid == tid)?;
                format!("task/{real}/{file}")
            }
            None => rest.to_owned(),
        };
        Some(PathBuf::from(format!("/proc/{leader}/{real_rest}")))
    }

    fn memory_and_threads(&self) -> Result<(Task, Vec<Tid>), TargetError> {
        let all: Vec<Tid> = self.threads.iter().map(|&(_, real)| real).collect();
        let first = all.first().ok_or(TargetError::Errno(libc::ESRCH))?;
        Ok((Task::new(*first).map_err(tracee_error)?, all))
    }
}
