//! A step back's state (ARCHITECTURE.md "Reverse execution"): the
//! window it steps from, the goal it steps to, the call site it may step
//! from instead, and the counting of passes that replaces stepping where
//! the window is far back.

use gdb_remote::{StopReason, ThreadId};

use crate::debug::plan::Plan;
use crate::debug::position::{Follower, Position, Trigger};

pub(crate) struct StepBack {
    pub(super) window: Follower,
    pub(super) goal: Follower,
    pub(super) thread: ThreadId,
    pub(super) reason: Option<StopReason>,
    /// The window is reached: every resume of the thread is a step.
    pub(super) stepping: bool,
    /// Where stepping began, and the instants after its latest two steps.
    pub(super) start: Option<Position>,
    pub(super) latest: Option<Position>,
    pub(super) previous: Option<Position>,
    /// The call site the thread is stepped from (see `Plan::StepBack`),
    /// and the steps left before it runs freely again.
    pub(super) via: Option<u64>,
    pub(super) steps_left: u32,
    /// Since stepping began, or since the event the thread steps in now
    /// began: where, and where each step landed. Stepping that goes on
    /// too long counts instead (`STEPS_BEFORE_COUNTING`).
    pub(super) refine_from: Option<Position>,
    pub(super) landings: Vec<u64>,
    /// The instruction a counter counts the thread's passes by, and the
    /// steps that landed there before it went in.
    pub(super) counting: Option<(u64, u64)>,
    /// The latest completed step was a single step (not a resume that
    /// ran a syscall or entered a handler).
    pub(super) last_was_step: bool,
}

/// Single steps cost about 93 us each here: after this many, a step back
/// stops stepping and counts the thread's passes by the instruction it
/// stands at, to name an instant near the goal and step from there.
const STEPS_BEFORE_COUNTING: usize = 1000;
/// Steps landing at instructions a counter cannot take (too short, or
/// not movable) before stepping just goes on.
const LANDINGS_KEPT: usize = 4 * STEPS_BEFORE_COUNTING;

/// How far from its call site a step back looks for the instant: the
/// call, a PLT stub's two instructions, and a prologue.
pub(super) const VIA_STEPS: u32 = 16;

impl StepBack {
    pub(super) fn new(
        to: Position,
        thread: ThreadId,
        window: Position,
        reason: Option<StopReason>,
        via: Option<u64>,
    ) -> StepBack {
        StepBack {
            window: Follower::new(window),
            goal: Follower::new(to),
            thread,
            reason,
            stepping: false,
            start: None,
            latest: None,
            previous: None,
            via,
            steps_left: 0,
            refine_from: None,
            landings: Vec::new(),
            counting: None,
            last_was_step: false,
        }
    }

    /// The arrival at the call site to stop at: once the window is
    /// reached, while the thread runs freely.
    pub(super) fn call_site_wanted(&self) -> Option<Trigger> {
        let pc = self.via?;
        (self.window.reached() && !self.stepping).then_some(Trigger::Arrival {
            thread: self.thread,
            pc,
        })
    }

    /// The window is reached: stepping begins, from the call site if
    /// there is one.
    pub(super) fn window_reached(&mut self, trail: Option<Position>) {
        if self.via.is_none() {
            self.stepping = true;
            self.start = trail.clone();
            self.refine_from = trail;
            self.landings.clear();
        }
    }

    /// A step of the thread landed at `pc`.
    pub(super) fn landed(&mut self, pc: u64) {
        if self.via.is_none() && self.landings.len() < LANDINGS_KEPT {
            self.landings.push(pc);
        }
    }

    /// Where a counter may start counting the thread's passes by the
    /// instruction at `pc`, where its latest step landed: stepping has
    /// gone on long, and the goal's next mark is not a step.
    pub(super) fn counting_due(&self, pc: u64) -> bool {
        self.stepping
            && self.via.is_none()
            && self.counting.is_none()
            && self.refine_from.is_some()
            && (STEPS_BEFORE_COUNTING..LANDINGS_KEPT).contains(&self.landings.len())
            && self.landings.last() == Some(&pc)
            && !matches!(self.goal.wanted(), Some(Trigger::Step { .. }))
            && !matches!(self.goal.wanted(), Some(Trigger::Arrival { pc: goal, .. }) if goal == pc)
    }

    /// A counter counts the thread's passes by `pc` from now on, and the
    /// thread runs freely.
    pub(super) fn counting_from(&mut self, pc: u64) {
        let landed = self.landings.iter().filter(|&&at| at == pc).count();
        self.counting = Some((pc, landed as u64));
        self.stepping = false;
    }

    /// The instant of the thread's `counted`-th pass by the counted
    /// instruction since the counter went in (the first of them the
    /// step's landing there), named from where stepping began.
    pub(super) fn counted_at(&self, counted: u64) -> Option<Position> {
        let (pc, landed) = self.counting?;
        Some(self.refine_from.as_ref()?.then_times(
            Trigger::Arrival {
                thread: self.thread,
                pc,
            },
            landed.saturating_add(counted.saturating_sub(1)),
        ))
    }

    /// The step back made again from the instant of the thread's latest
    /// pass by the counted instruction: `counted` passes since the
    /// counter went in.
    pub(super) fn refined(&self, counted: u64) -> Option<Plan> {
        Some(Plan::StepBack {
            to: self.goal.goal().clone(),
            thread: self.thread,
            window: self.counted_at(counted)?,
            reason: self.reason.clone(),
            via: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: ThreadId = ThreadId { pid: 5, tid: 5 };

    fn arrival(pc: u64) -> Trigger {
        Trigger::Arrival { thread: T, pc }
    }

    #[test]
    fn a_long_step_back_counts_passes_and_is_made_again_from_the_last() {
        let goal = Position::boundary(9).then(arrival(0x900));
        let mut back = StepBack::new(goal.clone(), T, Position::boundary(9), None, None);
        let _ = back.goal.boundary(9);
        let _ = back.window.boundary(9);
        back.window_reached(Some(Position::boundary(9)));
        // A loop of four instructions, 250 rounds.
        for step in 0..STEPS_BEFORE_COUNTING as u64 {
            back.landed(0x100 + (step % 4) * 8);
            let pc = 0x100 + (step % 4) * 8;
            let due = back.counting_due(pc);
            assert_eq!(due, step + 1 == STEPS_BEFORE_COUNTING as u64, "step {step}");
        }
        let pc = 0x118;
        assert!(!back.counting_due(0x100), "only where the thread stands");
        back.counting_from(pc);
        assert!(!back.stepping && !back.counting_due(pc));
        // 1,000 passes counted since, the first of them the landing.
        match back.refined(1000) {
            Some(Plan::StepBack {
                to, window, via, ..
            }) => {
                assert_eq!(to, goal);
                assert_eq!(via, None);
                assert_eq!(
                    window,
                    Position::boundary(9).then_times(arrival(pc), 250 + 999)
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_counting_while_the_goal_counts_steps_or_stands_there() {
        // 1,000 steps landed at 0x100 on the way to `goal`.
        let stepped = |goal: Position| {
            let mut back = StepBack::new(goal, T, Position::boundary(3), None, None);
            let _ = back.goal.boundary(3);
            back.window_reached(Some(Position::boundary(3)));
            for _ in 0..STEPS_BEFORE_COUNTING {
                back.landed(0x100);
            }
            back
        };
        let steps = Position::boundary(3).then_times(Trigger::Step { thread: T }, 5000);
        assert!(!stepped(steps).counting_due(0x100));
        let at = Position::boundary(3).then(arrival(0x100));
        assert!(!stepped(at).counting_due(0x100));
    }
}
