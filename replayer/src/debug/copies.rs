//! Which copies of the replay the debugger keeps (ARCHITECTURE.md "Copies
//! of the replay"): one each time the replay has run a while since the
//! last, at the boundary before an event or at a named instant inside a
//! long one, as long as they cost no more memory than twice the replayed
//! processes'; a move back starts from the latest copy before the first
//! instant it must see.

use std::collections::BTreeMap;
use std::time::Duration;

use tracee::clock::Moment;

use tracee::Tid;

use super::position::Position;

/// Replay time between copies: a move back replays at most about this much
/// before the first event it must see, where copies could be made.
pub const INTERVAL: Duration = Duration::from_millis(200);
/// Copies kept at most; beyond, the one closest to its predecessor goes.
pub const MOST: usize = 32;
/// Copies inside events kept at most, beside those; beyond, the one taken
/// first goes. They serve the moves around one long stretch of
/// computation, where the latest moves are.
pub const MOST_INSIDE: usize = 8;
/// The memory the copies may cost, in multiples of the replayed
/// processes'; beyond, copies go until they fit.
pub const MEMORY_FACTOR: u64 = 2;
/// What the copies may cost whatever the replayed processes' size, in
/// KiB: a small program's copies cost less than the recorder's own
/// memory, and thinning them only makes moves back replay longer.
pub const MEMORY_FLOOR_KIB: u64 = 64 * 1024;

/// Where a copy stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyAt {
    /// At the boundary before this event.
    Boundary(u64),
    /// Inside an event: the copy taken `n`-th.
    Inside(u64),
}

struct InsideCopy<T> {
    at: Position,
    taken: u64,
    copy: T,
}

pub struct Copies<T> {
    /// By the event each stands before.
    kept: BTreeMap<u64, T>,
    /// Copies inside events, in the order taken.
    inside: Vec<InsideCopy<T>>,
    taken: u64,
    since: Moment,
    interval: Duration,
    /// When the copies' memory was last measured (reading every copy's
    /// smaps costs milliseconds).
    measured: Option<Moment>,
    /// A copy failed and the user was told.
    warned: bool,
    /// The copy taken last.
    newest: Option<u64>,
}

impl<T> Copies<T> {
    pub fn new(interval: Duration) -> Copies<T> {
        Copies {
            kept: BTreeMap::new(),
            inside: Vec::new(),
            taken: 0,
            since: Moment::now(),
            interval,
            measured: None,
            warned: false,
            newest: None,
        }
    }

    /// A replay begins (from the start or from a copy).
    pub fn replay_began(&mut self) {
        self.since = Moment::now();
    }

    /// At the boundary before `event`: whether a copy is wanted here (an
    /// interval has passed, or the replay `asks` for one), unless one
    /// stands here already.
    pub fn due(&mut self, event: u64, asks: bool) -> bool {
        if self.kept.contains_key(&event) {
            self.since = Moment::now();
            return false;
        }
        asks || self.since.elapsed() >= self.interval
    }

    /// Inside an event, at a named instant: whether an interval has passed
    /// since the last copy was taken or passed.
    pub fn due_inside(&self) -> bool {
        self.since.elapsed() >= self.interval
    }

    /// A copy could not be made here: try again after an interval.
    pub fn declined(&mut self) {
        self.since = Moment::now();
    }

    pub fn keep(&mut self, event: u64, copy: T) {
        self.kept.insert(event, copy);
        self.newest = Some(event);
        self.since = Moment::now();
        while self.kept.len() > MOST {
            self.thin();
        }
    }

    /// Keeps a copy standing at `at`, inside an event.
    pub fn keep_inside(&mut self, at: Position, copy: T) {
        // A copy at the same instant is replaced (the same name is the
        // same instant).
        self.inside.retain(|c| c.at != at);
        self.taken += 1;
        self.inside.push(InsideCopy {
            at,
            taken: self.taken,
            copy,
        });
        self.since = Moment::now();
        if self.inside.len() > MOST_INSIDE {
            self.inside.remove(0);
        }
    }

    /// Whether a failed copy was reported already (once is enough);
    /// marks it reported.
    pub fn warned(&mut self) -> bool {
        std::mem::replace(&mut self.warned, true)
    }

    /// Whether the copies' memory is to be measured again: at most once an
    /// interval (`INTERVAL`, even where copies are taken more often).
    pub fn measure_due(&mut self) -> bool {
        let due = self.measured.is_none_or(|at| at.elapsed() >= INTERVAL);
        if due {
            self.measured = Some(Moment::now());
        }
        due
    }

    /// The copies cost more memory than they may: one goes, unless only
    /// the latest is left. Returns whether one went.
    pub fn drop_one(&mut self) -> bool {
        // Copies inside events serve the moves around where gdb is now:
        // they go after the boundaries' thinning has left the latest two,
        // the one taken first first.
        if self.kept.len() > 2 || (self.inside.is_empty() && self.kept.len() > 1) {
            self.thin();
            return true;
        }
        if !self.inside.is_empty() && self.inside.len() + self.kept.len() > 1 {
            self.inside.remove(0);
            return true;
        }
        let more = self.kept.len() > 1;
        if more {
            self.thin();
        }
        more
    }

    /// Drops the copy whose predecessor is nearest (never the latest two,
    /// nor the one taken last: a copy a step back asked for is where the
    /// next moves start, and at the end of the history it stands just
    /// after the latest the replay made on its way), so that those left
    /// spread over the whole recording.
    fn thin(&mut self) {
        let events: Vec<u64> = self.kept.keys().copied().collect();
        let newest = self.newest;
        let closest = events
            .windows(2)
            .take(events.len().saturating_sub(3))
            .filter(|pair| Some(pair[1]) != newest)
            .min_by_key(|pair| pair[1] - pair[0])
            .map(|pair| pair[1]);
        if let Some(event) = closest.or(events.first().copied()) {
            self.kept.remove(&event);
        }
    }

    /// The latest copy standing before an event earlier than `event`: a
    /// replay from it sees event `event` whole, from its boundary on.
    #[cfg(test)]
    pub fn latest_before(&mut self, event: u64) -> Option<(u64, &mut T)> {
        match self.latest_serving(event, |_, _| false)? {
            (CopyAt::Boundary(at), copy) => Some((at, copy)),
            (CopyAt::Inside(_), _) => None,
        }
    }

    /// The latest copy a replay whose first instant to see lies in event
    /// `event` may start from: one standing before an earlier event, or
    /// one inside an event up to `event` that `serves` accepts (a copy
    /// inside `event` itself is of use only to a replay whose names can
    /// be followed on from there). A copy inside an event comes after the
    /// one before it; two inside one event are in the order of their
    /// names where those tell it, else in the order they were taken.
    pub fn latest_serving(
        &mut self,
        event: u64,
        serves: impl Fn(&Position, &T) -> bool,
    ) -> Option<(CopyAt, &mut T)> {
        let boundary = self.kept.range(..event).next_back().map(|(&at, _)| at);
        let serving: Vec<usize> = (0..self.inside.len())
            .filter(|&i| {
                let c = &self.inside[i];
                c.at.event <= event
                    && boundary.is_none_or(|b| c.at.event >= b)
                    && serves(&c.at, &c.copy)
            })
            .collect();
        let before = |a: &InsideCopy<T>, b: &InsideCopy<T>| {
            a.at.event < b.at.event || (a.at.event == b.at.event && a.at.is_before(&b.at))
        };
        // Those no other serving copy comes after; of them, the one
        // taken last (names of different shapes do not tell their order).
        let best = serving
            .iter()
            .copied()
            .filter(|&i| {
                !serving
                    .iter()
                    .any(|&j| before(&self.inside[i], &self.inside[j]))
            })
            .max_by_key(|&i| self.inside[i].taken);
        match best {
            Some(index) => {
                let found = &mut self.inside[index];
                Some((CopyAt::Inside(found.taken), &mut found.copy))
            }
            None => {
                let at = boundary?;
                self.kept
                    .get_mut(&at)
                    .map(|copy| (CopyAt::Boundary(at), copy))
            }
        }
    }

    /// Each copy kept: those before events by event, then those inside
    /// events in the order taken.
    pub fn iter(&self) -> impl Iterator<Item = (Position, &T)> {
        self.kept
            .iter()
            .map(|(&event, copy)| (Position::boundary(event), copy))
            .chain(self.inside.iter().map(|c| (c.at.clone(), &c.copy)))
    }

    pub fn forget(&mut self, at: CopyAt) {
        match at {
            CopyAt::Boundary(event) => {
                self.kept.remove(&event);
            }
            CopyAt::Inside(taken) => self.inside.retain(|c| c.taken != taken),
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.kept.len() + self.inside.len()
    }
}

/// The memory copies cost: the pages that exist only because the copies
/// do. A copy shares every page it has not written with its original and
/// with the other copies; proportional set sizes split each page among
/// the processes that map it, so the copies' and the replayed processes'
/// together, less what the replayed processes map, is what the copies add.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryCost {
    pub copies_kib: u64,
    pub replayed_kib: u64,
}

impl MemoryCost {
    pub fn of<'a>(copies: impl Iterator<Item = &'a [Tid]>, replayed: &[Tid]) -> MemoryCost {
        let copies_pss: u64 = copies.flatten().map(|&pid| rollup_kib(pid).pss).sum();
        let (replayed_pss, replayed_kib) = replayed
            .iter()
            .map(|&pid| rollup_kib(pid))
            .fold((0, 0), |(pss, rss), m| (pss + m.pss, rss + m.rss));
        MemoryCost {
            copies_kib: (copies_pss + replayed_pss).saturating_sub(replayed_kib),
            replayed_kib,
        }
    }

    pub fn over_budget(&self) -> bool {
        self.copies_kib > (MEMORY_FACTOR * self.replayed_kib).max(MEMORY_FLOOR_KIB)
    }
}

/// A process's resident and proportional set sizes, in KiB.
#[derive(Default)]
struct Rollup {
    rss: u64,
    pss: u64,
}

/// Both sizes from one read of /proc/PID/smaps_rollup; 0 if unreadable (a
/// process that just ended).
fn rollup_kib(pid: Tid) -> Rollup {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let mut sizes = Rollup::default();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some(name), Some(Ok(kib))) = (words.next(), words.next().map(str::parse)) else {
            continue;
        };
        match name {
            "Rss:" => sizes.rss = kib,
            "Pss:" => sizes.pss = kib,
            _ => {}
        }
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_move_starts_from_the_latest_copy_strictly_before_its_first_event() {
        let mut copies = Copies::new(Duration::ZERO);
        copies.keep(10, "ten");
        copies.keep(20, "twenty");
        assert_eq!(copies.latest_before(10).map(|(e, _)| e), None);
        assert_eq!(
            copies.latest_before(11).map(|(e, c)| (e, *c)),
            Some((10, "ten"))
        );
        assert_eq!(copies.latest_before(20).map(|(e, _)| e), Some(10));
        assert_eq!(copies.latest_before(500).map(|(e, _)| e), Some(20));
        copies.forget(CopyAt::Boundary(20));
        assert_eq!(copies.latest_before(500).map(|(e, _)| e), Some(10));
    }

    #[test]
    fn a_copy_inside_an_event_serves_the_moves_that_can_go_on_from_it() {
        use crate::debug::position::Trigger;
        let thread = gdb_remote::ThreadId { pid: 1, tid: 1 };
        let arrivals = |n| Position::boundary(20).then_times(Trigger::Arrival { thread, pc: 8 }, n);
        let mut copies = Copies::new(Duration::ZERO);
        copies.keep(10, "ten");
        copies.keep(20, "twenty");
        copies.keep_inside(arrivals(2000), "2000");
        copies.keep_inside(arrivals(1000), "1000");
        let at = |copies: &mut Copies<&'static str>, event, limit: u64| {
            copies
                .latest_serving(event, |at, _| {
                    at.event < event || at.last().is_some_and(|m| m.times <= limit)
                })
                .map(|(_, copy)| *copy)
        };
        // The latest by name, though taken first.
        assert_eq!(at(&mut copies, 20, u64::MAX), Some("2000"));
        assert_eq!(at(&mut copies, 20, 1500), Some("1000"));
        // None serves: the copy before the event.
        assert_eq!(at(&mut copies, 20, 10), Some("ten"));
        // A later event's replay: every copy inside event 20 serves.
        assert_eq!(at(&mut copies, 21, 0), Some("2000"));
        // A copy before a later event comes after them.
        copies.keep(21, "twenty-one");
        assert_eq!(at(&mut copies, 22, 0), Some("twenty-one"));
        assert_eq!(copies.len(), 5);
        // Over the memory budget, boundaries are thinned to the latest
        // two first, then copies inside events go, the first taken first.
        assert!(copies.drop_one());
        assert_eq!(copies.len(), 4);
        assert!(copies.latest_before(11).is_none());
        assert!(copies.drop_one());
        assert_eq!(at(&mut copies, 21, 0), Some("1000"));
        match copies.latest_serving(21, |_, _| true) {
            Some((at, _)) => copies.forget(at),
            None => panic!("no copy"),
        }
        assert_eq!(at(&mut copies, 21, 0), Some("twenty"));
    }

    #[test]
    fn no_copy_is_due_where_one_stands_or_before_the_interval() {
        let mut copies: Copies<()> = Copies::new(Duration::from_secs(3600));
        assert!(!copies.due(5, false));
        assert!(copies.due(5, true));
        let mut now = Copies::new(Duration::ZERO);
        assert!(now.due(5, false));
        now.keep(5, ());
        assert!(!now.due(5, false) && !now.due(5, true));
        assert!(now.due(6, false));
    }

    #[test]
    fn copies_over_the_memory_budget_go_down_to_the_latest() {
        let mut copies = Copies::new(Duration::ZERO);
        for event in [10, 20, 30] {
            copies.keep(event, ());
        }
        assert!(copies.drop_one() && copies.drop_one());
        assert!(!copies.drop_one());
        assert_eq!(copies.latest_before(100).map(|(e, _)| e), Some(30));
        assert!(copies.measure_due());
        assert!(!copies.measure_due());
        let cost = MemoryCost {
            copies_kib: 200_001,
            replayed_kib: 100_000,
        };
        assert!(cost.over_budget());
        assert!(!MemoryCost {
            copies_kib: 200_000,
            ..cost
        }
        .over_budget());
        // A small program's copies may cost up to the floor.
        let small = MemoryCost {
            copies_kib: MEMORY_FLOOR_KIB,
            replayed_kib: 500,
        };
        assert!(!small.over_budget());
        assert!(MemoryCost {
            copies_kib: MEMORY_FLOOR_KIB + 1,
            ..small
        }
        .over_budget());
    }

    #[test]
    fn thinning_keeps_the_latest_two_and_spreads_the_rest() {
        let mut copies = Copies::new(Duration::ZERO);
        for event in 0..(MOST as u64) {
            copies.keep(event * 100, ());
        }
        copies.keep((MOST as u64 - 3) * 100 + 50, ());
        assert_eq!(copies.len(), MOST);
        let latest = (MOST as u64 - 1) * 100;
        assert!(copies
            .latest_before(latest + 1)
            .is_some_and(|(e, _)| e == latest));
        // The one squeezed in beside its neighbour stays while it is the
        // one taken last; the next thinning takes it.
        let squeezed = (MOST as u64 - 3) * 100 + 50;
        assert!(copies.kept.contains_key(&squeezed));
        copies.keep(MOST as u64 * 100, ());
        assert!(!copies.kept.contains_key(&squeezed));
    }
}
