//! Going back (ARCHITECTURE.md "Reverse execution"): every stop is named
//! as it happens (position.rs), and a move backwards is carried out by a
//! replay started again, which follows a name instead of showing gdb what
//! it passes: to a stop (travel), to the current instant noting the stops
//! gdb would have seen (scan, for reverse-continue), or to the current
//! instant stepping one thread (step back, for reverse-stepi).

use gdb_remote::StopReason;

use super::step_back::{StepBack, VIA_STEPS};
use super::Debugger;
use crate::debug::plan::{History, Plan, Seen};
use crate::debug::position::{BoundaryStop, Follower, Position, Progress, Trigger};
use crate::debug::timeline::Inside;
use crate::error::ReplayError;

pub(crate) enum Mode {
    Live,
    Travel {
        follower: Follower,
        stop: StopReason,
    },
    Scan {
        follower: Follower,
        hits: Hits,
    },
    StepBack(Box<StepBack>),
}

impl Mode {
    fn new(plan: Plan) -> Mode {
        match plan {
            Plan::Travel(seen) => Mode::Travel {
                follower: Follower::new(seen.position),
                stop: seen.reason,
            },
            Plan::Scan { to } => Mode::Scan {
                follower: Follower::new(to),
                hits: Hits::default(),
            },
            Plan::StepBack {
                to,
                thread,
                window,
                reason,
                via,
            } => Mode::StepBack(Box::new(StepBack::new(to, thread, window, reason, via))),
        }
    }

    /// The fewest occurrences of `trigger` a follower waiting for it
    /// still needs: a counter can count that many for all of them.
    pub(super) fn fewest_remaining(&self, trigger: &Trigger) -> Option<u64> {
        let followers = match self {
            Mode::Live => Vec::new(),
            Mode::Travel { follower, .. } | Mode::Scan { follower, .. } => vec![follower],
            Mode::StepBack(back) => {
                if back.stepping || back.call_site_wanted().as_ref() == Some(trigger) {
                    return None;
                }
                vec![&back.window, &back.goal]
            }
        };
        followers
            .into_iter()
            .filter_map(Follower::remaining)
            .filter(|(wanted, _)| wanted == trigger)
            .map(|(_, times)| times)
            .min()
    }

    /// The followers, as they stand now.
    pub(super) fn followers(&self) -> Vec<Follower> {
        match self {
            Mode::Live => Vec::new(),
            Mode::Travel { follower, .. } | Mode::Scan { follower, .. } => vec![follower.clone()],
            Mode::StepBack(back) => vec![back.window.clone(), back.goal.clone()],
        }
    }

    /// Whether a follower waits for `trigger` now.
    pub(super) fn wants(&self, trigger: &Trigger) -> bool {
        self.wanted().contains(trigger)
            || matches!((self, trigger), (Mode::StepBack(back), Trigger::Step { thread })
                if back.stepping && back.thread == *thread)
    }

    /// The triggers the replay must stop at for the followers.
    fn wanted(&self) -> Vec<Trigger> {
        match self {
            Mode::Live => Vec::new(),
            Mode::Travel { follower, .. } | Mode::Scan { follower, .. } => {
                follower.wanted().into_iter().collect()
            }
            Mode::StepBack(back) => back
                .window
                .wanted()
                .into_iter()
                .chain(back.goal.wanted())
                .chain(back.call_site_wanted())
                .collect(),
        }
    }
}

/// The stops a scan noted before the one it showed gdb. gdb makes each
/// false hit of a conditional breakpoint, and each hit an ignore count
/// skips, a reverse-continue of its own: from the shown stop, with the same
/// breakpoints, watchpoints and signal settings, the answer is the latest
/// of these, without scanning again.
pub(crate) struct ScanMemo {
    /// The stop shown (None until the step back to a watchpoint's hit
    /// has named it).
    shown: Option<Position>,
    earlier: Hits,
    entries: (Vec<u64>, Vec<crate::debug::breakpoints::HardwareSlot>),
    passed: Vec<i32>,
}

/// The stops a scan noted, in order: each a run of `n` stops at one
/// instant after another, the `n` occurrences in a row of one trigger
/// (the hits of a breakpoint in a loop an arrival counter counted),
/// named by the last of them.
#[derive(Default)]
pub(crate) struct Hits {
    runs: Vec<(Seen, u64)>,
}

impl Hits {
    fn push(&mut self, seen: Seen, run: u64) {
        if run > 0 {
            self.runs.push((seen, run));
        }
    }

    /// The latest stop noted, taken off.
    fn pop(&mut self) -> Option<Seen> {
        let (seen, run) = self.runs.pop()?;
        if let Some(earlier) = seen.one_occurrence_earlier().filter(|_| run > 1) {
            self.runs.push((earlier, run - 1));
        }
        Some(seen)
    }
}

/// Where gdb is shown a noted hit, if known before the move: a
/// watchpoint's stop is named only once the step back to it is made.
fn shown_at_hit(seen: &Seen) -> Option<Position> {
    (!matches!(seen.reason, StopReason::Watchpoint { .. })).then(|| seen.position.clone())
}

/// The replay lost its way to a stop it had named: a bug in rewind.
fn lost(event: u64) -> ReplayError {
    ReplayError::BadTrace {
        event,
        reason: "the replay started again did not come back to the stop the debugger saw; \
                 please report this with the trace"
            .into(),
    }
}

/// The executable mappings of process `tid`, as (start, end).
fn executable_ranges(tid: tracee::Tid) -> Vec<(u64, u64)> {
    let maps = std::fs::read_to_string(format!("/proc/{tid}/maps")).unwrap_or_default();
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let range = fields.next()?;
            let perms = fields.next()?;
            let (start, end) = range.split_once('-')?;
            perms.contains('x').then_some((
                u64::from_str_radix(start, 16).ok()?,
                u64::from_str_radix(end, 16).ok()?,
            ))
        })
        .collect()
}

fn in_ranges(ranges: &[(u64, u64)], addr: u64) -> bool {
    ranges
        .iter()
        .any(|&(start, end)| start <= addr && addr < end)
}

/// Whether gdb, continuing, would have stopped at `reason` seen at
/// `trigger`: breakpoints, watchpoints and signals, not the ends of the
/// program or the steps a replay takes to follow a name.
fn is_hit(trigger: &Trigger, reason: &StopReason) -> bool {
    match reason {
        StopReason::Breakpoint { .. } | StopReason::Watchpoint { .. } => true,
        StopReason::Signal { .. } => matches!(
            trigger,
            Trigger::Signal { .. } | Trigger::Boundary(BoundaryStop::Kill)
        ),
        _ => false,
    }
}

impl Debugger {
    /// A replay begins: the first from the start (`None`), or one for a
    /// move the last replay could not make forward.
    pub fn begin(&mut self, plan: Option<Plan>) {
        self.threads.clear();
        self.step = None;
        self.step_done = None;
        self.shown_at = None;
        self.pending_signal = None;
        self.stepping_with_signal = None;
        self.signal_due = None;
        self.diversion = None;
        self.orig_rax_cleared = false;
        self.trampoline_running = false;
        self.deferred_stop = None;
        self.internal.clear();
        self.counter = None;
        self.before_step = None;
        self.trail = Some(Position::boundary(0));
        self.event = 0;
        self.past_history_start = false;
        self.replay_from = Position::boundary(0);
        self.restartable = false;
        self.copy_wanted = None;
        self.continuing = false;
        self.recount = None;
        self.hot_blocked = false;
        self.hits_blocked = false;
        if plan.is_some() {
            self.table.transplant();
        }
        self.mode = plan.map_or(Mode::Live, Mode::new);
    }

    /// This replay begins from a copy standing before `event`: where gdb's
    /// history began, the copy is past it, gdb's breakpoints go in now.
    pub fn resumed_at(&mut self, event: u64) {
        self.replay_from = Position::boundary(event);
        self.past_history_start = self
            .history_start
            .as_ref()
            .is_some_and(|start| start.position.event <= event);
        if self.past_history_start {
            self.activate_gdb_entries();
        }
    }

    /// This replay begins from a copy standing inside its first event, at
    /// `inside.at` (after `resumed_at`): the followers go on from where
    /// they are there, and the thread that stands at `inside.pc` has
    /// arrived there already.
    pub fn resumed_inside(&mut self, inside: &Inside) -> Result<(), ReplayError> {
        let at = &inside.at;
        self.event = at.event;
        self.trail = Some(at.clone());
        self.replay_from = at.clone();
        self.shown_at = Some((inside.thread, inside.pc));
        self.continuing = true;
        self.event_began = tracee::clock::Moment::now();
        self.hot_samples = 0;
        self.hot_blocked = false;
        self.hits_blocked = false;
        self.insert_waiting();
        let resumed = |follower: &Follower| {
            Follower::resumed_at(follower.goal(), at, &inside.followers)
                .ok_or_else(|| lost(at.event))
        };
        let progress = match &mut self.mode {
            Mode::Live => return Ok(()),
            Mode::Travel { follower, .. } | Mode::Scan { follower, .. } => {
                *follower = resumed(follower)?;
                follower.reached()
            }
            Mode::StepBack(back) => {
                back.window = resumed(&back.window)?;
                back.goal = resumed(&back.goal)?;
                if back.window.reached() {
                    back.window_reached(self.trail.clone());
                }
                back.goal.reached()
            }
        };
        let progress = match progress {
            true => Progress::Reached,
            false => Progress::Waiting,
        };
        self.advanced(progress, false)
    }

    /// Whether gdb's breakpoints now let a replay for `plan` begin from a
    /// copy inside an event: its thread stands at `inside.pc` having
    /// arrived there, so a debug register of gdb's there would fire again
    /// when it goes on (an arrival too many), and a scan would not see
    /// the hit of gdb's int3 there (the copy's instant is a stop gdb
    /// would have seen, after the instant where the stretch before the
    /// copy ends).
    pub fn copy_serves(&self, plan: &Plan, inside: &Inside) -> bool {
        let (software, hardware) = self.table.gdb_breakpoint_at(inside.pc);
        let scan = matches!(plan, Plan::Scan { .. });
        !(hardware || (software && scan))
    }

    /// A reverse-continue the last scan already answered: the latest hit
    /// it noted before the stop it showed, if gdb stands there still with
    /// the same breakpoints and signal settings.
    pub(super) fn remembered_hit(&mut self, at: &Position) -> Option<Plan> {
        let entries = self.table.gdb_entries();
        let passed = self.passed_signal_list();
        let memo = self.scan_memo.as_mut()?;
        let same =
            memo.shown.as_ref() == Some(at) && memo.entries == entries && memo.passed == passed;
        if !same {
            return None;
        }
        let seen = memo.earlier.pop()?;
        memo.shown = shown_at_hit(&seen);
        Some(self.hit_plan(seen))
    }

    /// The move to a stop a scan noted. Going back, memory changes as the
    /// instruction that wrote it is undone: a watchpoint's hit is shown at
    /// the instant before it, with the old value in memory.
    fn hit_plan(&self, seen: Seen) -> Plan {
        match seen.reason {
            StopReason::Watchpoint { thread, .. } => {
                let reason = seen.reason.clone();
                self.history()
                    .step_back_plan(seen.position, thread, Some(reason), None)
            }
            _ => Plan::Travel(seen),
        }
    }

    /// Puts gdb's breakpoints into the debugged process, where its code is
    /// mapped, and its watchpoints into the debug registers.
    fn activate_gdb_entries(&mut self) {
        if let Ok((memory, threads)) = self.memory_and_threads() {
            let executable = executable_ranges(memory.tid);
            self.table
                .activate(&memory, &threads, &|addr| in_ranges(&executable, addr));
        }
    }

    /// gdb has changed the replay: it is not a state of the recording.
    pub fn diverted(&self) -> bool {
        self.diversion.is_some()
    }

    /// The move the replay unwound for (`ReplayError::Travel`).
    pub fn take_plan(&mut self) -> Option<Plan> {
        self.plan.take()
    }

    /// Where reverse moves end, and which thread ran each event.
    pub(super) fn history(&self) -> History<'_> {
        History {
            start: self.history_start.as_ref(),
            event_threads: &self.event_threads,
        }
    }

    /// Unwinds the replay to start it again for `plan`.
    pub(super) fn travel(&mut self, plan: Plan) -> ReplayError {
        self.plan = Some(plan);
        ReplayError::Travel
    }

    /// Where a scan going back stretch by stretch has looked from: the end
    /// of the stretch it scans now, with no hit between there and where
    /// the reverse-continue began.
    pub(super) fn scanned_back_to(&self) -> Option<Position> {
        match &self.mode {
            Mode::Scan { follower, .. } => Some(follower.goal().clone()),
            _ => None,
        }
    }

    /// Whether this replay wants a copy at the boundary before `event`:
    /// a step back's, before the event before its window's. Step backs
    /// come in runs (reverse-next is many, and each replays two or three
    /// times), and the next ones then start there, not up to an interval
    /// earlier. A scan would gain nothing: the next reverse-continue
    /// looks before that copy first.
    pub fn copy_wanted_before(&self, event: u64) -> bool {
        match &self.mode {
            Mode::StepBack(back) => event + 1 == back.window.goal().event,
            _ => false,
        }
    }

    /// Whether a step back is stepping or counting its thread's passes:
    /// no other counter may run then, nor an int3 in its way.
    pub(super) fn step_back_busy(&self) -> bool {
        matches!(&self.mode, Mode::StepBack(back) if back.stepping || back.counting.is_some())
    }

    /// Whether a step back single-steps its thread now.
    pub(super) fn stepping_back(&self) -> bool {
        matches!(&self.mode, Mode::StepBack(back) if back.stepping)
    }

    /// Whether the replay follows a name (nothing is shown to gdb).
    pub fn following(&self) -> bool {
        !matches!(self.mode, Mode::Live)
    }

    /// An event changed the debugged process's mappings: breakpoints a
    /// new mapping covered go in again.
    pub fn mappings_changed(&mut self) {
        if let Ok((memory, _)) = self.memory_and_threads() {
            if self.table.has_planted() {
                self.table.mappings_changed(&memory);
            }
        }
    }

    /// The replay is between events, before `event`.
    pub fn boundary(&mut self, event: u64) -> Result<(), ReplayError> {
        // A counter lives inside one event: only its thread runs there.
        self.end_counting()?;
        self.drop_counter()?;
        if let Mode::StepBack(back) = &mut self.mode {
            if back.stepping {
                back.refine_from = Some(Position::boundary(event));
                back.landings.clear();
            }
        }
        self.event = event;
        self.event_began = tracee::clock::Moment::now();
        self.hot_samples = 0;
        self.hot_blocked = false;
        self.hits_blocked = false;
        self.trail = Some(Position::boundary(event));
        self.insert_waiting();
        let progress = match &mut self.mode {
            Mode::Live => return Ok(()),
            Mode::Travel { follower, .. } | Mode::Scan { follower, .. } => {
                follower.boundary(event).map_err(lost)?
            }
            Mode::StepBack(back) => {
                if back.window.boundary(event).map_err(lost)? == Progress::Reached {
                    back.window_reached(self.trail.clone());
                }
                back.goal.boundary(event).map_err(lost)?
            }
        };
        self.advanced(progress, false)
    }

    /// gdb's breakpoints in code that was not mapped yet go in where it is
    /// now.
    fn insert_waiting(&mut self) {
        if self.table.has_waiting() {
            if let Ok((memory, _)) = self.memory_and_threads() {
                let executable = executable_ranges(memory.tid);
                self.table
                    .insert_waiting(&memory, &|addr| in_ranges(&executable, addr));
            }
        }
    }

    /// Something the replay stops at and counts happened: `triggers` at
    /// one instant (the first names it), and `reason` is the stop gdb
    /// would see here, if any.
    pub fn stop_here(
        &mut self,
        triggers: &[Trigger],
        reason: Option<StopReason>,
    ) -> Result<(), ReplayError> {
        self.stop_here_times(triggers, reason, 1)
    }

    /// `stop_here` for `times` occurrences in a row of the first trigger
    /// (a counter's trap).
    pub(super) fn stop_here_times(
        &mut self,
        triggers: &[Trigger],
        reason: Option<StopReason>,
        times: u64,
    ) -> Result<(), ReplayError> {
        let Some(&name) = triggers.first() else {
            return Ok(());
        };
        if reason.is_some() || name.always_named() {
            // The passes counted lie before this mark.
            self.end_counting()?;
            self.name_counted_so_far()?;
            if let Some(trail) = &mut self.trail {
                trail.push(name, times);
            }
        }
        let thread = name
            .thread()
            .or_else(|| reason.as_ref().and_then(StopReason::thread));
        let stops_thread = matches!(
            name,
            Trigger::Arrival { .. } | Trigger::Watch { .. } | Trigger::Step { .. }
        );
        if let (Some(thread), true) = (thread, reason.is_some() || stops_thread) {
            self.note_shown(thread);
        }
        let progress = match &mut self.mode {
            Mode::Live => {
                return match reason {
                    Some(reason) => self.park(reason),
                    None => Ok(()),
                }
            }
            Mode::Travel { follower, .. } => follower.observe_any_times(triggers, times),
            Mode::Scan { follower, hits } => {
                let progress = follower.observe_any_times(triggers, times);
                let noted = match (&reason, &self.trail) {
                    (Some(reason), Some(trail)) if self.past_history_start => is_hit(&name, reason)
                        .then(|| Seen {
                            position: trail.clone(),
                            reason: reason.clone(),
                        }),
                    _ => None,
                };
                match (noted, progress == Progress::Reached) {
                    (Some(seen), false) => hits.push(seen, times),
                    // The last of a run is the goal; those before it are
                    // hits before it.
                    (Some(seen), true) => {
                        if let Some(earlier) = seen.one_occurrence_earlier() {
                            hits.push(earlier, times - 1);
                        }
                    }
                    (None, _) => {}
                }
                progress
            }
            Mode::StepBack(_) => return self.step_back_stop(triggers, reason.is_some(), times),
        };
        self.advanced(progress, false)
    }

    /// A stepping step back that has counted passes by an instruction
    /// until a mark: made again from the latest of them.
    pub(super) fn end_counting(&mut self) -> Result<(), ReplayError> {
        let counting = matches!(&self.mode, Mode::StepBack(back) if back.counting.is_some());
        if !counting {
            return Ok(());
        }
        let counted = self.drop_counter()?.unwrap_or(0);
        let plan = match &self.mode {
            Mode::StepBack(back) => back.refined(counted),
            _ => None,
        };
        match plan {
            Some(plan) => Err(self.travel(plan)),
            None => Err(lost(self.event)),
        }
    }

    fn step_back_stop(
        &mut self,
        triggers: &[Trigger],
        shown: bool,
        times: u64,
    ) -> Result<(), ReplayError> {
        let rip = triggers
            .first()
            .and_then(Trigger::thread)
            .and_then(|t| self.rip_of(t));
        let Mode::StepBack(back) = &mut self.mode else {
            return Ok(());
        };
        let name = triggers[0];
        let completed = back.stepping
            && name.thread() == Some(back.thread)
            && match name {
                Trigger::Step { .. } => true,
                Trigger::Resumed { .. } => shown,
                _ => false,
            };
        let mut seen = triggers.to_vec();
        if back
            .call_site_wanted()
            .is_some_and(|arrival| triggers.contains(&arrival))
        {
            // At the call site: step from here.
            back.stepping = true;
            back.steps_left = VIA_STEPS;
            back.start = self.trail.clone();
            back.latest = None;
            back.previous = None;
        } else if completed && back.via.is_some() {
            back.steps_left = back.steps_left.saturating_sub(1);
        }
        if completed {
            back.last_was_step = matches!(name, Trigger::Step { .. });
            back.previous = back.latest.replace(self.trail.clone().unwrap_or_else(|| {
                // Unreachable: stepping begins only at a named instant.
                Position::boundary(self.event)
            }));
            // While stepping, the thread's arrivals are where its steps
            // land, not traps.
            if let Some(pc) = rip {
                back.landed(pc);
                seen.insert(
                    0,
                    Trigger::Arrival {
                        thread: back.thread,
                        pc,
                    },
                );
            }
        }
        let window_now = !back.window.reached()
            && back.window.observe_any_times(&seen, times) == Progress::Reached;
        if window_now {
            back.window_reached(self.trail.clone());
        }
        let progress = back.goal.observe_any_times(&seen, times);
        if progress != Progress::Reached
            && back.via.is_some()
            && back.stepping
            && back.steps_left == 0
        {
            // Not the way the thread came: run to the call site again.
            back.stepping = false;
        }
        let count_at = rip.filter(|&pc| progress != Progress::Reached && back.counting_due(pc));
        if let Some(pc) = count_at {
            let thread = back.thread;
            // The goal's breakpoints for its next mark go in first: the
            // counter's copy must not cover them.
            self.arm_wanted()?;
            if self.start_counting(thread, pc)? {
                if let Mode::StepBack(back) = &mut self.mode {
                    back.counting_from(pc);
                }
            }
        }
        self.advanced(progress, completed)?;
        if let (true, Some(pc), Some(thread)) = (window_now, rip, name.thread()) {
            // Stepping begins here, deep in a long event: the step backs
            // after this one begin here too.
            self.copy_at_window(thread, pc)?;
        }
        Ok(())
    }

    /// After a follower counted an occurrence.
    fn advanced(&mut self, progress: Progress, completed_now: bool) -> Result<(), ReplayError> {
        if progress == Progress::Reached {
            return self.goal_reached(completed_now);
        }
        self.arm_wanted()?;
        self.drive();
        Ok(())
    }

    /// Who steps: the follower's step marks, or the thread a step back
    /// follows.
    fn drive(&mut self) {
        let stepping = |wanted: Option<Trigger>| match wanted {
            Some(Trigger::Step { thread }) => Some(thread),
            _ => None,
        };
        match &self.mode {
            Mode::Live => {}
            Mode::Travel { follower, .. } | Mode::Scan { follower, .. } => {
                self.step = stepping(follower.wanted());
            }
            Mode::StepBack(back) => {
                self.step = if back.stepping {
                    Some(back.thread)
                } else {
                    stepping(back.window.wanted())
                };
            }
        }
    }

    /// Puts the followers' breakpoints and watchpoints in, and takes out
    /// those they are done with.
    pub(super) fn arm_wanted(&mut self) -> Result<(), ReplayError> {
        let mut wanted: Vec<Trigger> = self
            .mode
            .wanted()
            .into_iter()
            .filter(|t| matches!(t, Trigger::Arrival { .. } | Trigger::Watch { .. }))
            .collect();
        if let Some(hot) = self.hot_trigger().filter(|hot| !wanted.contains(hot)) {
            wanted.push(hot);
        }
        // A follower now waits for arrivals a background count counts
        // (a scan's hits, hot ones): that count must not run past the
        // follower's mark. What it counted is named (at this instant,
        // named already), and the follower counts on from here.
        let overtaken = self.counted_mark().filter(|t| self.mode.wants(t)).is_some()
            && self.counter_in_background().is_some();
        if overtaken {
            self.counter_out()?;
            return self.arm_wanted();
        }
        if wanted == self.internal {
            return Ok(());
        }
        let Ok((memory, threads)) = self.memory_and_threads() else {
            return Ok(());
        };
        for old in std::mem::take(&mut self.internal) {
            if !wanted.contains(&old) {
                self.disarm_one(&memory, &threads, old);
            }
        }
        for new in &wanted {
            if self.counted_mark() == Some(*new) {
                continue;
            }
            let in_the_way = match *new {
                // Its int3 would lie in code the counter runs a copy of.
                Trigger::Arrival { pc, .. } => self.counter_covers(pc),
                // It needs a debug register the counter's guards hold.
                Trigger::Watch { .. } => self.counter_guards(),
                _ => false,
            };
            if in_the_way {
                self.counter_out()?;
            }
            match *new {
                Trigger::Arrival { pc, .. } => self
                    .table
                    .insert_internal_software(&memory, pc)
                    .map_err(|_| lost(self.event))?,
                Trigger::Watch {
                    addr, len, kind, ..
                } => self
                    .table
                    .insert_internal_watch(&threads, (addr, len), kind)
                    .map_err(|_| ReplayError::BadTrace {
                        event: self.event,
                        reason: "going back needs a debug register for a watchpoint, and all \
                                 are in use; delete a watchpoint and try again"
                            .into(),
                    })?,
                _ => {}
            }
        }
        self.internal = wanted;
        Ok(())
    }

    fn disarm_one(&mut self, memory: &tracee::Task, threads: &[tracee::Tid], trigger: Trigger) {
        if self.counted_mark() == Some(trigger) {
            // A counter the replay cannot take out leaves its jump in the
            // program: the follower loses its way and says so.
            let _ = self.drop_counter();
            return;
        }
        match trigger {
            Trigger::Arrival { pc, .. } => self.table.remove_internal_software(memory, pc),
            Trigger::Watch {
                addr, len, kind, ..
            } => self.table.remove_internal_watch(threads, (addr, len), kind),
            _ => {}
        }
    }

    fn disarm_internal(&mut self) {
        let _ = self.drop_counter();
        let armed = std::mem::take(&mut self.internal);
        if let Ok((memory, threads)) = self.memory_and_threads() {
            for trigger in armed {
                self.disarm_one(&memory, &threads, trigger);
            }
        }
    }

    fn goal_reached(&mut self, completed_now: bool) -> Result<(), ReplayError> {
        self.disarm_internal();
        match std::mem::replace(&mut self.mode, Mode::Live) {
            Mode::Live => Ok(()),
            Mode::Travel { follower, stop } => {
                self.trail = Some(follower.goal().clone());
                self.step = None;
                self.shown_travelled_to(follower.goal());
                self.park(stop)
            }
            Mode::Scan { mut hits, .. } => {
                let last = hits.pop();
                self.scan_memo = last.as_ref().map(|seen| ScanMemo {
                    shown: shown_at_hit(seen),
                    earlier: hits,
                    entries: self.table.gdb_entries(),
                    passed: self.passed_signal_list(),
                });
                let plan = match last {
                    Some(seen) => self.hit_plan(seen),
                    // This replay began from a copy after gdb's history
                    // began: the stretch before the copy is scanned next.
                    None if self
                        .history_start
                        .as_ref()
                        .is_some_and(|start| start.position.is_before(&self.replay_from)) =>
                    {
                        Plan::Scan {
                            to: self.replay_from.clone(),
                        }
                    }
                    None => match self.history().begin() {
                        Some(seen) => Plan::Travel(seen),
                        None => return Err(lost(self.event)),
                    },
                };
                Err(self.travel(plan))
            }
            Mode::StepBack(back) if back.via.is_some() && !completed_now => {
                // The thread came to the goal another way than from the
                // call site: step back without it.
                let plan = Plan::StepBack {
                    to: back.goal.goal().clone(),
                    thread: back.thread,
                    window: back.window.goal().clone(),
                    reason: back.reason,
                    via: None,
                };
                Err(self.travel(plan))
            }
            Mode::StepBack(back) => {
                let before = if completed_now {
                    back.previous.or(back.start)
                } else {
                    back.latest
                };
                let thread = back.thread;
                let reason = back.reason.clone().unwrap_or(StopReason::Signal {
                    thread,
                    signo: libc::SIGTRAP,
                });
                let undone = completed_now
                    && back.last_was_step
                    && before.is_some()
                    && self.undo_last_step(thread)?;
                match before {
                    Some(position) if undone => {
                        self.step = None;
                        self.shown_travelled_to(&position);
                        self.trail = Some(position);
                        self.park(reason)
                    }
                    Some(position) => Err(self.travel(Plan::Travel(Seen { position, reason }))),
                    None => {
                        // The thread ran nothing since the window began:
                        // look further back.
                        let to = back.goal.goal().clone();
                        let window = back.window.goal().clone();
                        let plan = self
                            .history()
                            .earlier_window(to, thread, &window, back.reason);
                        Err(self.travel(plan))
                    }
                }
            }
        }
    }

    /// A move ends at `position`: where a watchpoint's hit a scan found
    /// is shown, if it was not named before.
    fn shown_travelled_to(&mut self, position: &Position) {
        if let Some(memo) = self.scan_memo.as_mut().filter(|m| m.shown.is_none()) {
            memo.shown = Some(position.clone());
        }
    }

    /// gdb sees the debugged process's program begin (its first stop or an
    /// exec): the start of the history a reverse move can reach. In a
    /// replay started again, gdb's breakpoints go in there.
    pub fn program_shown(
        &mut self,
        kind: BoundaryStop,
        reason: StopReason,
    ) -> Result<(), ReplayError> {
        let position = self.trail.as_ref().map(|t| t.then(Trigger::Boundary(kind)));
        let known = position.is_some()
            && position.as_ref() == self.history_start.as_ref().map(|s| &s.position);
        if known {
            self.past_history_start = true;
            self.activate_gdb_entries();
        } else if self.ends_travel() || !self.following() {
            self.past_history_start = true;
            if let Some(position) = position {
                let seen = Seen {
                    position,
                    reason: reason.clone(),
                };
                self.first_stop.get_or_insert_with(|| seen.clone());
                self.history_start = Some(seen);
            }
        }
        self.stop_here(&[Trigger::Boundary(kind)], Some(reason))
    }

    /// The debugged process ends, or the recording does.
    pub fn program_ended(
        &mut self,
        kind: BoundaryStop,
        reason: StopReason,
        message: Option<String>,
    ) -> Result<(), ReplayError> {
        self.ends_travel();
        if !self.following() {
            self.message = message;
        }
        self.stop_here(&[Trigger::Boundary(kind)], Some(reason))
    }

    /// A travel forward that meets the program's end or its next exec
    /// stops there, as a continue would. Returns whether it did.
    fn ends_travel(&mut self) -> bool {
        let ends = matches!(self.mode, Mode::Travel { .. }) && self.past_history_start;
        if ends {
            self.disarm_internal();
            self.mode = Mode::Live;
        }
        ends
    }
}
