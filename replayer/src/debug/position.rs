//! Names for the instants gdb sees, which a replay started again can find
//! without a tick counter (ARCHITECTURE.md "Reverse execution"). An event
//! number alone names the instant between two events. Inside an event,
//! where only the event's thread runs, an instant is named by the stops
//! the debugger's machinery made there since the event began: each mark
//! is "the n-th occurrence of this trigger after the previous mark". The
//! replay is deterministic, so a replay that arms each mark's trigger in
//! turn and counts its occurrences stops at exactly the same instant: one
//! name never means two instants, because each occurrence is counted, not
//! recognized by what the program state looks like.

use gdb_remote::{ThreadId, WatchKind};

/// Something the replay can stop at and count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The thread begins the instruction at `pc` (a breakpoint there is
    /// hit). The instruction it stands on at the previous mark is not an
    /// occurrence: it was begun before.
    Arrival { thread: ThreadId, pc: u64 },
    /// An instruction of the thread touched watched memory; the thread
    /// stands after it.
    Watch {
        thread: ThreadId,
        addr: u64,
        len: u64,
        kind: WatchKind,
    },
    /// A single step of the thread ended after one instruction.
    Step { thread: ThreadId },
    /// The replay resumes the thread for the first time since the previous
    /// mark. A step that ran a syscall or began a signal handler ends
    /// there.
    Resumed { thread: ThreadId },
    /// A recorded signal reaches the thread, before its delivery.
    Signal { thread: ThreadId },
    /// The syscall of the thread's event has written its memory.
    KernelWrite { thread: ThreadId },
    /// A stop between two events.
    Boundary(BoundaryStop),
}

/// The stops made between events, in the order they can come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoundaryStop {
    /// The debugged process ran a new program.
    Exec,
    /// The debugged process ended.
    Exit,
    /// gdb first sees the process.
    Start,
    /// gdb's Ctrl-C, answered before the next event.
    Interrupt,
    /// The last thread of the debugged process is about to exit.
    Kill,
    /// The recording has no more events.
    End,
}

impl Trigger {
    /// Whether consecutive occurrences fold into one mark with a count.
    /// Only triggers that stop the thread each time can: the others
    /// happen at points of the replay's own code, and a mark counts them
    /// all, seen or not.
    fn folds(&self) -> bool {
        matches!(
            self,
            Trigger::Arrival { .. } | Trigger::Watch { .. } | Trigger::Step { .. }
        )
    }

    /// Whether every occurrence is a mark. The replay resumes threads all
    /// the time; only a resume gdb is shown a stop at is one, and it is
    /// always the first since the mark before.
    pub fn always_named(&self) -> bool {
        !matches!(self, Trigger::Resumed { .. })
    }

    /// The thread the trigger is about, if it names one.
    pub fn thread(&self) -> Option<ThreadId> {
        match *self {
            Trigger::Arrival { thread, .. }
            | Trigger::Watch { thread, .. }
            | Trigger::Step { thread }
            | Trigger::Resumed { thread }
            | Trigger::Signal { thread }
            | Trigger::KernelWrite { thread } => Some(thread),
            Trigger::Boundary(_) => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    pub trigger: Trigger,
    pub times: u64,
}

/// An instant of the replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    /// Events before this one are done.
    pub event: u64,
    /// Inside the event (empty: at its start).
    pub marks: Vec<Mark>,
}

impl Position {
    pub fn boundary(event: u64) -> Position {
        Position {
            event,
            marks: Vec::new(),
        }
    }

    /// The instant of the next occurrence of `trigger` after this one.
    pub fn then(&self, trigger: Trigger) -> Position {
        let mut next = self.clone();
        next.push(trigger, 1);
        next
    }

    /// The instant `times` occurrences of `trigger` after this one.
    pub fn then_times(&self, trigger: Trigger, times: u64) -> Position {
        let mut next = self.clone();
        if times > 0 {
            next.push(trigger, times);
        }
        next
    }

    pub(crate) fn push(&mut self, trigger: Trigger, times: u64) {
        match self.marks.last_mut() {
            Some(last) if last.trigger == trigger && trigger.folds() => last.times += times,
            _ => self.marks.push(Mark { trigger, times }),
        }
    }

    pub fn last(&self) -> Option<&Mark> {
        self.marks.last()
    }

    /// The instant of the previous mark (the event's start for the first).
    pub fn before_last(&self) -> Position {
        let mut earlier = self.clone();
        earlier.marks.pop();
        earlier
    }

    /// The instant one occurrence of the last mark's trigger earlier, when
    /// that is still after the previous mark.
    pub fn one_occurrence_earlier(&self) -> Option<Position> {
        let last = self.marks.last()?;
        if last.times < 2 {
            return None;
        }
        let mut earlier = self.clone();
        if let Some(last) = earlier.marks.last_mut() {
            last.times -= 1;
        }
        Some(earlier)
    }

    /// Whether this instant comes before `other` in the replay. Both must
    /// be names from one replay history: two marks lists that differ after
    /// a shared prefix are ordered by the first occurrence they differ in
    /// only when they count the same trigger.
    pub fn is_before(&self, other: &Position) -> bool {
        if self.event != other.event {
            return self.event < other.event;
        }
        for (mine, theirs) in self.marks.iter().zip(&other.marks) {
            if mine != theirs {
                return mine.trigger == theirs.trigger && mine.times < theirs.times;
            }
        }
        self.marks.len() < other.marks.len()
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "event {}", self.event)?;
        if !self.marks.is_empty() {
            // The occurrences counted since the event began.
            let stops = self
                .marks
                .iter()
                .fold(0u64, |sum, mark| sum.saturating_add(mark.times));
            write!(f, " + {stops} stops")?;
        }
        Ok(())
    }
}

/// What following a name did with one occurrence.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// Not the instant yet.
    Waiting,
    /// A mark on the way is passed; the next one has another trigger.
    Passed,
    /// The named instant.
    Reached,
}

/// Walks a replay to a named instant: counts the occurrences of each mark's
/// trigger in turn.
#[derive(Clone, Debug)]
pub struct Follower {
    goal: Position,
    /// The event has begun.
    inside: bool,
    link: usize,
    seen: u64,
    reached: bool,
}

impl Follower {
    pub fn new(goal: Position) -> Follower {
        Follower {
            goal,
            inside: false,
            link: 0,
            seen: 0,
            reached: false,
        }
    }

    pub fn goal(&self) -> &Position {
        &self.goal
    }

    /// The replay is between events, before `event`. Returns whether that
    /// is the goal; an error if the replay went past it without stopping
    /// (a mark that never came).
    pub fn boundary(&mut self, event: u64) -> Result<Progress, u64> {
        if self.reached {
            return Ok(Progress::Waiting);
        }
        if event == self.goal.event {
            self.inside = true;
            self.link = 0;
            self.seen = 0;
            if self.goal.marks.is_empty() {
                self.reached = true;
                return Ok(Progress::Reached);
            }
            return Ok(Progress::Waiting);
        }
        if event > self.goal.event {
            return Err(self.goal.event);
        }
        Ok(Progress::Waiting)
    }

    /// The trigger the replay must stop at now, if the goal's event has
    /// begun and the goal is not reached.
    pub fn wanted(&self) -> Option<Trigger> {
        if !self.inside || self.reached {
            return None;
        }
        self.goal.marks.get(self.link).map(|m| m.trigger)
    }

    /// The trigger wanted now, with the occurrences of it the current
    /// mark still needs.
    pub fn remaining(&self) -> Option<(Trigger, u64)> {
        let trigger = self.wanted()?;
        Some((trigger, self.goal.marks[self.link].times - self.seen))
    }

    /// The replay met `trigger`.
    #[cfg(test)]
    pub fn observe(&mut self, trigger: &Trigger) -> Progress {
        self.observe_times(trigger, 1)
    }

    /// The replay met `trigger` `times` times in a row (an arrival
    /// counter's trap), at most as often as the current mark still needs.
    pub fn observe_times(&mut self, trigger: &Trigger, times: u64) -> Progress {
        if self.wanted().as_ref() != Some(trigger) {
            return Progress::Waiting;
        }
        // More at once than the mark needs would pass its instant unseen:
        // counters trap at the fewest any follower needs.
        debug_assert!(
            self.seen + times <= self.goal.marks[self.link].times,
            "{times} occurrences at once overshoot a mark"
        );
        self.seen += times;
        if self.seen < self.goal.marks[self.link].times {
            return Progress::Waiting;
        }
        self.link += 1;
        self.seen = 0;
        if self.link == self.goal.marks.len() {
            self.reached = true;
            Progress::Reached
        } else {
            Progress::Passed
        }
    }

    /// The replay met all of `triggers` at one instant: one instant is one
    /// mark, so at most one of them counts.
    #[cfg(test)]
    pub fn observe_any(&mut self, triggers: &[Trigger]) -> Progress {
        self.observe_any_times(triggers, 1)
    }

    /// `observe_any` for the first trigger met `times` times in a row.
    pub fn observe_any_times(&mut self, triggers: &[Trigger], times: u64) -> Progress {
        match triggers.iter().find(|t| self.wanted().as_ref() == Some(t)) {
            Some(trigger) => self.observe_times(trigger, times),
            None => Progress::Waiting,
        }
    }

    pub fn reached(&self) -> bool {
        self.reached
    }

    /// This follower's goal followed by a replay that begins from a copy
    /// standing at `at`, inside an event (ARCHITECTURE.md "Copies of the
    /// replay"): as far on as it is there, or None if that cannot be known
    /// (the goal lies before `at`, or names the instant otherwise than
    /// `at` does and `known`, the followers of the replay that took the
    /// copy as they stood there, has no follower of the same goal still
    /// on its way).
    pub fn resumed_at(goal: &Position, at: &Position, known: &[Follower]) -> Option<Follower> {
        if goal.event > at.event {
            return Some(Follower::new(goal.clone()));
        }
        if goal.event < at.event {
            return None;
        }
        // One that was reached before the copy's instant is of no use:
        // what was to happen there is past.
        let same = known
            .iter()
            .find(|f| f.goal == *goal && f.inside && !f.reached);
        if let Some(same) = same {
            return Some(same.clone());
        }
        let (last, before) = at.marks.split_last()?;
        let link = before.len();
        let extends = goal.marks.len() > link
            && goal.marks[..link] == *before
            && goal.marks[link].trigger == last.trigger
            && goal.marks[link].times >= last.times;
        if !extends {
            return None;
        }
        let passed = goal.marks[link].times == last.times;
        let mut follower = Follower::new(goal.clone());
        follower.inside = true;
        follower.link = if passed { link + 1 } else { link };
        follower.seen = if passed { 0 } else { last.times };
        follower.reached = follower.link == goal.marks.len();
        Some(follower)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: ThreadId = ThreadId { pid: 10, tid: 11 };

    fn arrival(pc: u64) -> Trigger {
        Trigger::Arrival { thread: T, pc }
    }

    #[test]
    fn repeated_stops_fold_into_counts() {
        let p = Position::boundary(7)
            .then(arrival(0x10))
            .then(arrival(0x10))
            .then(Trigger::Signal { thread: T })
            .then(Trigger::Signal { thread: T })
            .then(Trigger::Step { thread: T })
            .then(Trigger::Step { thread: T });
        let kinds: Vec<(Trigger, u64)> = p.marks.iter().map(|m| (m.trigger, m.times)).collect();
        assert_eq!(
            kinds,
            vec![
                (arrival(0x10), 2),
                (Trigger::Signal { thread: T }, 1),
                (Trigger::Signal { thread: T }, 1),
                (Trigger::Step { thread: T }, 2),
            ]
        );
        assert_eq!(p.one_occurrence_earlier().unwrap().last().unwrap().times, 1);
        assert_eq!(p.before_last().marks.len(), 3);
        assert!(Position::boundary(7)
            .then(arrival(0x10))
            .one_occurrence_earlier()
            .is_none());
    }

    #[test]
    fn a_follower_counts_each_mark_in_turn() {
        let goal = Position::boundary(3)
            .then_times(arrival(0x10), 3)
            .then(Trigger::Step { thread: T });
        let mut f = Follower::new(goal);
        assert_eq!(f.wanted(), None);
        assert_eq!(f.boundary(2), Ok(Progress::Waiting));
        // Occurrences before the goal's event do not count.
        assert_eq!(f.observe(&arrival(0x10)), Progress::Waiting);
        assert_eq!(f.boundary(3), Ok(Progress::Waiting));
        assert_eq!(f.wanted(), Some(arrival(0x10)));
        assert_eq!(f.observe(&arrival(0x20)), Progress::Waiting);
        assert_eq!(f.observe(&arrival(0x10)), Progress::Waiting);
        assert_eq!(f.observe(&Trigger::Step { thread: T }), Progress::Waiting);
        assert_eq!(f.observe(&arrival(0x10)), Progress::Waiting);
        assert_eq!(f.observe(&arrival(0x10)), Progress::Passed);
        assert_eq!(f.wanted(), Some(Trigger::Step { thread: T }));
        assert_eq!(f.observe(&Trigger::Step { thread: T }), Progress::Reached);
        assert!(f.reached());
        assert_eq!(f.wanted(), None);
    }

    #[test]
    fn a_counted_run_of_arrivals_passes_a_mark_at_once() {
        let goal = Position::boundary(3)
            .then_times(arrival(0x10), 40_000_000)
            .then(arrival(0x20));
        let mut f = Follower::new(goal);
        f.boundary(3).unwrap();
        assert_eq!(f.remaining(), Some((arrival(0x10), 40_000_000)));
        assert_eq!(f.observe(&arrival(0x10)), Progress::Waiting);
        assert_eq!(f.remaining(), Some((arrival(0x10), 39_999_999)));
        assert_eq!(
            f.observe_times(&arrival(0x10), 39_999_999),
            Progress::Passed
        );
        assert_eq!(f.remaining(), Some((arrival(0x20), 1)));
    }

    #[test]
    fn one_instant_passes_at_most_one_mark() {
        let step = Trigger::Step { thread: T };
        let goal = Position::boundary(1).then(arrival(0x10)).then(step);
        let mut f = Follower::new(goal);
        f.boundary(1).unwrap();
        // A step that lands on the breakpoint's address is the arrival; the
        // step after it is the next mark.
        assert_eq!(f.observe_any(&[arrival(0x10), step]), Progress::Passed);
        assert_eq!(f.observe_any(&[arrival(0x12), step]), Progress::Reached);
    }

    #[test]
    fn a_goal_between_events_is_reached_at_its_boundary_and_missing_it_is_an_error() {
        let mut f = Follower::new(Position::boundary(5));
        assert_eq!(f.boundary(4), Ok(Progress::Waiting));
        assert_eq!(f.boundary(5), Ok(Progress::Reached));
        let mut missed = Follower::new(Position::boundary(5).then(arrival(1)));
        assert_eq!(missed.boundary(5), Ok(Progress::Waiting));
        assert_eq!(missed.boundary(6), Err(5));
    }

    #[test]
    fn a_follower_resumed_inside_an_event_goes_on_from_the_copys_instant() {
        let step = Trigger::Step { thread: T };
        let at = Position::boundary(4)
            .then(Trigger::Signal { thread: T })
            .then_times(arrival(0x10), 1000);
        // A goal that extends the copy's name: the rest of its count.
        let goal = at.then_times(arrival(0x10), 5).then(step);
        let mut f = Follower::resumed_at(&goal, &at, &[]).unwrap();
        assert_eq!(f.remaining(), Some((arrival(0x10), 5)));
        assert_eq!(f.observe_times(&arrival(0x10), 5), Progress::Passed);
        assert_eq!(f.observe(&step), Progress::Reached);
        // The copy's instant itself, and a mark passed there.
        let same = Follower::resumed_at(&at, &at, &[]).unwrap();
        assert!(same.reached());
        let passed = at.then(step);
        let f = Follower::resumed_at(&passed, &at, &[]).unwrap();
        assert_eq!(f.remaining(), Some((step, 1)));
        // A later event's goal waits for its boundary.
        let mut later = Follower::resumed_at(&Position::boundary(6), &at, &[]).unwrap();
        assert_eq!(later.boundary(6), Ok(Progress::Reached));
        // Before the copy, or named another way: unknown.
        let fewer = Position::boundary(4)
            .then(Trigger::Signal { thread: T })
            .then_times(arrival(0x10), 999);
        assert!(Follower::resumed_at(&fewer, &at, &[]).is_none());
        assert!(Follower::resumed_at(&Position::boundary(3), &at, &[]).is_none());
        let other = Position::boundary(4).then(arrival(0x20));
        assert!(Follower::resumed_at(&other, &at, &[]).is_none());
        // ... unless the replay that took the copy followed that goal.
        let mut original = Follower::new(other.clone());
        original.boundary(4).unwrap();
        let known = Follower::resumed_at(&other, &at, &[original]).unwrap();
        assert_eq!(known.remaining(), Some((arrival(0x20), 1)));
    }

    #[test]
    fn order_of_names_from_one_history() {
        let a = Position::boundary(4).then(arrival(1));
        let b = a.then(arrival(1));
        let c = b.then(Trigger::Step { thread: T });
        assert!(a.is_before(&b) && b.is_before(&c) && a.is_before(&c));
        assert!(!c.is_before(&a) && !b.is_before(&b));
        assert!(Position::boundary(4).is_before(&a));
        assert!(c.is_before(&Position::boundary(5)));
    }
}
