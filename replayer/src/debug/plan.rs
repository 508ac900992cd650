//! What a replay started again is for (ARCHITECTURE.md "Reverse
//! execution"), and how a step back chooses where to look.

use gdb_remote::{StopReason, ThreadId};

use super::position::{Follower, Position, Trigger};

/// A stop gdb saw or is to see, with the instant it names.
#[derive(Clone, Debug)]
pub struct Seen {
    pub position: Position,
    pub reason: StopReason,
}

impl Seen {
    /// The same stop at the previous occurrence of its last mark's
    /// trigger, if that is still after the mark before (a run of hits).
    pub fn one_occurrence_earlier(&self) -> Option<Seen> {
        Some(Seen {
            position: self.position.one_occurrence_earlier()?,
            reason: self.reason.clone(),
        })
    }
}

/// What a replay started again is for.
#[derive(Clone, Debug)]
pub enum Plan {
    /// To this stop, showing nothing before it.
    Travel(Seen),
    /// To `to`, noting the stops gdb would have seen since its program
    /// began; then to the last of them.
    Scan { to: Position },
    /// To `to`, single-stepping `thread` from `window` on; then to the
    /// instant before its last instruction, shown as `reason` (a finished
    /// step if None). With `via`, the thread runs freely from the window
    /// and is single-stepped only a few instructions from each arrival at
    /// that address (the call that led to `to`); if `to` comes otherwise,
    /// the step back is made again without it.
    StepBack {
        to: Position,
        thread: ThreadId,
        window: Position,
        reason: Option<StopReason>,
        via: Option<u64>,
    },
}

impl Plan {
    /// The first event the replay for this plan must see from its start:
    /// where it may begin from a copy.
    pub fn earliest_event(&self) -> u64 {
        match self {
            Plan::Travel(seen) => seen.position.event,
            Plan::Scan { to } => to.event,
            Plan::StepBack { window, .. } => window.event,
        }
    }

    /// Whether a replay for this plan can begin from a copy standing at
    /// `at` inside an event, `known` the followers of the replay that took
    /// the copy there: each name the plan follows can be followed on from
    /// there (a travel may end right there), and a scan's or step back's
    /// goal lies after it.
    pub fn starts_at(&self, at: &Position, known: &[Follower]) -> bool {
        let follows = |goal: &Position| Follower::resumed_at(goal, at, known);
        match self {
            Plan::Travel(seen) => follows(&seen.position).is_some(),
            Plan::Scan { to } => follows(to).is_some_and(|f| !f.reached()),
            Plan::StepBack { to, window, .. } => {
                follows(window).is_some() && follows(to).is_some_and(|f| !f.reached())
            }
        }
    }
}

/// The history gdb can go back through: from the stop where its program
/// began, with the thread of each event replayed so far.
pub struct History<'a> {
    pub start: Option<&'a Seen>,
    pub event_threads: &'a [i32],
}

impl History<'_> {
    /// The stop at the beginning of gdb's history, as a reverse move that
    /// finds nothing shows it.
    pub fn begin(&self) -> Option<Seen> {
        let start = self.start?;
        let thread = start.reason.thread()?;
        Some(Seen {
            position: start.position.clone(),
            reason: StopReason::HistoryEnd {
                thread,
                at_start: true,
            },
        })
    }

    /// The plan for going back one instruction of `thread` from `to`:
    /// reverse-stepi, or a watchpoint's hit seen going back. The stop is
    /// shown as `reason` (a finished step if None). `call_site` is the
    /// instruction that may have led to `to` (a call of the function `to`
    /// stands at the start of), if known.
    pub fn step_back_plan(
        &self,
        to: Position,
        thread: ThreadId,
        reason: Option<StopReason>,
        call_site: Option<u64>,
    ) -> Plan {
        let mut via = None;
        let window = match to.last() {
            Some(last) if last.trigger == (Trigger::Step { thread }) => {
                // The instant before the last step is the previous one.
                let before = to
                    .one_occurrence_earlier()
                    .unwrap_or_else(|| to.before_last());
                return Plan::Travel(Seen {
                    position: before,
                    reason: reason.unwrap_or(StopReason::Signal {
                        thread,
                        signo: libc::SIGTRAP,
                    }),
                });
            }
            Some(last)
                if last.trigger.thread() == Some(thread)
                    && matches!(
                        last.trigger,
                        Trigger::Arrival { .. } | Trigger::Watch { .. }
                    ) =>
            {
                // One pass of a loop back, if there was one: the search
                // steps through one iteration only. A first arrival at a
                // function came from its call, if the call site is known.
                match to.one_occurrence_earlier() {
                    Some(earlier) => earlier,
                    None => {
                        via = call_site.filter(|_| matches!(last.trigger, Trigger::Arrival { .. }));
                        to.before_last()
                    }
                }
            }
            Some(_) => to.before_last(),
            None => return self.earlier_window(to.clone(), thread, &to, reason),
        };
        Plan::StepBack {
            to,
            thread,
            window,
            reason,
            via,
        }
    }

    /// A step back whose window held no instruction of the thread: the
    /// one before it, or the start of the history.
    pub fn earlier_window(
        &self,
        to: Position,
        thread: ThreadId,
        window: &Position,
        reason: Option<StopReason>,
    ) -> Plan {
        let start = self.start.map(|s| s.position.clone());
        let at_start = start.as_ref().is_some_and(|s| !s.is_before(window));
        if at_start {
            if let Some(seen) = self.begin() {
                return Plan::Travel(seen);
            }
        }
        let earlier = if !window.marks.is_empty() {
            window.before_last()
        } else {
            // The thread's latest event before the window's.
            let floor = start.as_ref().map_or(0, |s| s.event);
            let event = (floor..window.event)
                .rev()
                .find(|&e| self.event_threads.get(e as usize) == Some(&thread.tid))
                .unwrap_or(floor);
            Position::boundary(event)
        };
        let earlier = match start {
            Some(start) if earlier.is_before(&start) => start,
            _ => earlier,
        };
        Plan::StepBack {
            to,
            thread,
            window: earlier,
            reason,
            via: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: ThreadId = ThreadId { pid: 5, tid: 5 };
    const OTHER: ThreadId = ThreadId { pid: 5, tid: 6 };

    fn start() -> Seen {
        Seen {
            position: Position::boundary(2).then(Trigger::Boundary(
                crate::debug::position::BoundaryStop::Start,
            )),
            reason: StopReason::Signal {
                thread: T,
                signo: libc::SIGTRAP,
            },
        }
    }

    fn window(plan: &Plan) -> &Position {
        match plan {
            Plan::StepBack { window, .. } => window,
            other => panic!("not a step back: {other:?}"),
        }
    }

    #[test]
    fn a_step_back_after_steps_needs_no_search() {
        let start = start();
        let history = History {
            start: Some(&start),
            event_threads: &[],
        };
        let step = Trigger::Step { thread: T };
        let at = Position::boundary(9).then(step).then(step).then(step);
        match history.step_back_plan(at.clone(), T, None, None) {
            Plan::Travel(seen) => {
                assert_eq!(seen.position.marks[0].times, 2);
                assert!(matches!(
                    seen.reason,
                    StopReason::Signal {
                        signo: libc::SIGTRAP,
                        ..
                    }
                ));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_step_back_from_a_repeated_breakpoint_searches_one_pass() {
        let start = start();
        let history = History {
            start: Some(&start),
            event_threads: &[],
        };
        let hit = Trigger::Arrival {
            thread: T,
            pc: 0x40,
        };
        let mut at = Position::boundary(9).then(Trigger::Signal { thread: T });
        at.push(hit, 5);
        let plan = history.step_back_plan(at.clone(), T, None, Some(0x30));
        assert_eq!(window(&plan).last().map(|m| m.times), Some(4));
        assert!(matches!(plan, Plan::StepBack { via: None, .. }));
        // A first hit: from the stop before it, through its call site if
        // one is known.
        let first = Position::boundary(9)
            .then(Trigger::Signal { thread: T })
            .then(hit);
        let plan = history.step_back_plan(first, T, None, Some(0x30));
        assert_eq!(
            window(&plan),
            &Position::boundary(9).then(Trigger::Signal { thread: T })
        );
        assert!(matches!(
            plan,
            Plan::StepBack {
                via: Some(0x30),
                ..
            }
        ));
        // Another thread's hit tells nothing about this thread.
        let theirs = Position::boundary(9).then(Trigger::Arrival {
            thread: OTHER,
            pc: 0x40,
        });
        let plan = history.step_back_plan(theirs, T, None, None);
        assert_eq!(window(&plan), &Position::boundary(9));
    }

    #[test]
    fn an_empty_window_looks_in_the_threads_previous_event_down_to_the_start() {
        let start = start();
        let threads = [5, 5, 5, 6, 5, 6, 6, 6, 6, 6];
        let history = History {
            start: Some(&start),
            event_threads: &threads,
        };
        let at = Position::boundary(9);
        let plan = history.step_back_plan(at.clone(), T, None, None);
        assert_eq!(window(&plan), &Position::boundary(4));
        let plan = history.earlier_window(at.clone(), T, &Position::boundary(4), None);
        // Events 2 and before are gdb's start and what came before it.
        assert_eq!(window(&plan), &start.position);
        match history.earlier_window(at, T, &start.position, None) {
            Plan::Travel(seen) => assert!(matches!(
                seen.reason,
                StopReason::HistoryEnd { at_start: true, .. }
            )),
            other => panic!("{other:?}"),
        }
    }
}
