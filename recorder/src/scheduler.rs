//! Which thread runs user code next, and for how long (DESIGN.md
//! "Recording": one thread at a time, chosen by the recorder).

use std::collections::BTreeMap;
use std::time::Duration;

use tracee::Tid;

use crate::task::{RecordTask, TaskState};

/// A time slice: long, because without a hardware tick counter every
/// preemption costs a fingerprinted execution point.
const SLICE: Duration = Duration::from_millis(20);

pub struct Scheduler {
    last: Tid,
    chaos: Option<ChaosRng>,
}

impl Scheduler {
    pub fn new(chaos_seed: Option<u64>) -> Scheduler {
        Scheduler {
            last: 0,
            chaos: chaos_seed.map(|seed| ChaosRng(seed | 1)),
        }
    }

    /// The next stopped thread to run: round robin by thread id, or a
    /// random one in chaos mode.
    pub fn pick(&mut self, tasks: &BTreeMap<Tid, RecordTask>) -> Option<Tid> {
        let runnable: Vec<Tid> = tasks
            .values()
            .filter(|t| t.state == TaskState::Stopped)
            .map(RecordTask::tid)
            .collect();
        if runnable.is_empty() {
            return None;
        }
        let choice = match &mut self.chaos {
            Some(rng) => runnable[(rng.next() % runnable.len() as u64) as usize],
            None => runnable
                .iter()
                .copied()
                .find(|&t| t > self.last)
                .unwrap_or(runnable[0]),
        };
        self.last = choice;
        Some(choice)
    }

    /// How long the chosen thread may run while others wait. Chaos mode
    /// draws from a wide range, short slices often, so that rare
    /// interleavings show up.
    pub fn slice(&mut self) -> Duration {
        match &mut self.chaos {
            None => SLICE,
            Some(rng) => {
                let micros = match rng.next() % 4 {
                    0 => rng.next() % 50,
                    1 => rng.next() % 1_000,
                    2 => rng.next() % 10_000,
                    _ => rng.next() % 50_000,
                };
                Duration::from_micros(micros.max(1))
            }
        }
    }

    pub fn is_chaos(&self) -> bool {
        self.chaos.is_some()
    }
}

/// xorshift64: chaos needs variety, not cryptographic quality.
struct ChaosRng(u64);

impl ChaosRng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
