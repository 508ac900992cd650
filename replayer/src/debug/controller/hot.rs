//! Where an event's thread spends its time (ARCHITECTURE.md "Copies of
//! the replay"): a thread that runs long inside one event is sampled once,
//! and a follower's replay through that event later counts its arrivals at
//! the sampled instruction with a chunked counter, so that it takes copies
//! inside the stretch and names its instants by those arrivals.

use tracee::clock::Moment;

use gdb_remote::ThreadId;
use tracee::Task;

use super::counting::Kind;
use super::Debugger;
use crate::debug::position::Trigger;

/// Arrivals a counter for copies counts at most: never reached.
pub(super) const HOT_ARRIVALS: u64 = u64::MAX / 4;
/// Samples of one event's thread before it is given up on.
const HOT_SAMPLES: u32 = 8;

impl Debugger {
    /// When `thread`, resumed now, is to be stopped once to see where it
    /// runs: after it has run about a copy interval in an event not
    /// sampled yet, while nothing of the replay's own is in its code.
    pub(super) fn sample_at(&self, thread: ThreadId) -> Option<Moment> {
        let due = thread.pid == self.debugged
            && !self.hot.contains_key(&self.event)
            && self.counter.is_none()
            && !self.trampoline_running;
        due.then(|| self.event_began + self.chunks.target())
    }

    /// `thread` was stopped to be sampled: the event's hot instruction is
    /// one of the loop it stands in that a counter's jump can replace
    /// alone (5 bytes or longer, movable; a shorter one would need debug
    /// registers to guard what the jump covers, or reach past the loop,
    /// where a breakpoint keeps the counter out). Outside a loop, or in
    /// one without such an instruction, the thread is sampled again at
    /// the next period, a few times at most.
    pub(super) fn learn_hot(&mut self, thread: ThreadId, task: &Task) {
        self.hot_samples += 1;
        let found = task
            .regs()
            .ok()
            .and_then(|regs| crate::trampoline::loop_instruction(task, regs.rip));
        match found {
            Some(pc) => {
                self.hot.insert(self.event, Some((thread, pc)));
            }
            None if self.hot_samples >= HOT_SAMPLES => {
                self.hot.insert(self.event, None);
            }
            None => {}
        }
    }

    /// The arrival a follower's replay counts in this event for copies
    /// inside it: at the event's hot instruction, unless counting there
    /// was refused, gdb has a breakpoint there, or a step back steps or
    /// counts (its names count other arrivals).
    pub(super) fn hot_trigger(&self) -> Option<Trigger> {
        let (thread, pc) = (*self.hot.get(&self.event)?)?;
        let allowed = self.following()
            && self.past_history_start
            && !self.hot_blocked
            && self.diversion.is_none()
            && !self.step_back_busy()
            && !self.table.gdb_software_at(pc);
        allowed.then_some(Trigger::Arrival { thread, pc })
    }

    /// What the counter in the tracee counts for, if one is in and no
    /// follower waits for its arrivals.
    pub(super) fn counter_in_background(&self) -> Option<Kind> {
        self.counter
            .as_ref()
            .map(|armed| armed.kind())
            .filter(|&kind| kind != Kind::Follower)
    }

    /// Counting arrivals of `kind` (hot ones, or a scan's hits) cannot go
    /// on in this event: a counter of that kind is taken out (what it
    /// counted named), and the hot int3 comes out.
    pub(super) fn block_background(&mut self, kind: Kind) -> Result<(), crate::error::ReplayError> {
        if self.counter_in_background() == Some(kind) {
            self.counter_out()?;
        }
        match kind {
            Kind::Hot => self.hot_blocked = true,
            Kind::Hits => self.hits_blocked = true,
            Kind::Follower => {}
        }
        self.arm_wanted()
    }
}
