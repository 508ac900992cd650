//! Which copies of the replay the debugger keeps (ARCHITECTURE.md "Copies
//! of the replay"): one each time the replay has run a while since the
//! last, at the boundary before an event; a move back starts from the
//! latest copy before the first event it must see.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Replay time between copies: a move back replays at most about this much
/// before the first event it must see, where copies could be made.
pub const INTERVAL: Duration = Duration::from_millis(200);
/// Copies kept at most; beyond, the one closest to its predecessor goes.
pub const MOST: usize = 32;

pub struct Copies<T> {
    /// By the event each stands before.
    kept: BTreeMap<u64, T>,
    since: Instant,
    interval: Duration,
}

impl<T> Copies<T> {
    pub fn new(interval: Duration) -> Copies<T> {
        Copies {
            kept: BTreeMap::new(),
            since: Instant::now(),
            interval,
        }
    }

    /// A replay begins (from the start or from a copy).
    pub fn replay_began(&mut self) {
        self.since = Instant::now();
    }

    /// At the boundary before `event`: whether a copy is wanted here.
    pub fn due(&mut self, event: u64) -> bool {
        if self.kept.contains_key(&event) {
            self.since = Instant::now();
            return false;
        }
        self.since.elapsed() >= self.interval
    }

    /// A copy could not be made here: try again after an interval.
    pub fn declined(&mut self) {
        self.since = Instant::now();
    }

    pub fn keep(&mut self, event: u64, copy: T) {
        self.kept.insert(event, copy);
        self.since = Instant::now();
        while self.kept.len() > MOST {
            self.thin();
        }
    }

    /// Drops the copy whose predecessor is nearest (never the latest), so
    /// that those left spread over the whole recording.
    fn thin(&mut self) {
        let events: Vec<u64> = self.kept.keys().copied().collect();
        let closest = events
            .windows(2)
            .take(events.len().saturating_sub(2))
            .min_by_key(|pair| pair[1] - pair[0])
            .map(|pair| pair[1]);
        if let Some(event) = closest.or(events.first().copied()) {
            self.kept.remove(&event);
        }
    }

    /// The latest copy standing before an event earlier than `event`: a
    /// replay from it sees event `event` whole, from its boundary on.
    pub fn latest_before(&mut self, event: u64) -> Option<(u64, &mut T)> {
        self.kept
            .range_mut(..event)
            .next_back()
            .map(|(&at, copy)| (at, copy))
    }

    /// Each copy kept, by event.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> {
        self.kept.iter().map(|(&event, copy)| (event, copy))
    }

    pub fn forget(&mut self, event: u64) {
        self.kept.remove(&event);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.kept.len()
    }
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
        copies.forget(20);
        assert_eq!(copies.latest_before(500).map(|(e, _)| e), Some(10));
    }

    #[test]
    fn no_copy_is_due_where_one_stands_or_before_the_interval() {
        let mut copies: Copies<()> = Copies::new(Duration::from_secs(3600));
        assert!(!copies.due(5));
        let mut now = Copies::new(Duration::ZERO);
        assert!(now.due(5));
        now.keep(5, ());
        assert!(!now.due(5));
        assert!(now.due(6));
    }

    #[test]
    fn thinning_keeps_the_latest_and_spreads_the_rest() {
        let mut copies = Copies::new(Duration::ZERO);
        for event in 0..(MOST as u64) {
            copies.keep(event * 100, ());
        }
        copies.keep((MOST as u64 - 2) * 100 + 50, ());
        assert_eq!(copies.len(), MOST);
        let latest = (MOST as u64 - 1) * 100;
        assert!(copies
            .latest_before(latest + 1)
            .is_some_and(|(e, _)| e == latest));
        // The one squeezed in beside its neighbour went.
        let kept: Vec<u64> = copies.kept.keys().copied().collect();
        assert!(kept.windows(2).all(|p| p[1] - p[0] == 100), "{kept:?}");
    }
}
