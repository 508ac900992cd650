//! Which thread runs user code next, and for how long (ARCHITECTURE.md
//! "Recording": one thread at a time, chosen by the recorder).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use tracee::Tid;

use crate::task::{RecordTask, TaskState};

/// A time slice: long, because without a hardware tick counter every
/// preemption costs a fingerprinted execution point.
const SLICE: Duration = Duration::from_millis(20);

/// A time slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slice {
    Time(Duration),
    /// Exactly this many instructions, single-stepped (chaos mode).
    Steps(u32),
}

pub struct Scheduler {
    last: Tid,
    chaos: Option<ChaosRng>,
    /// Chaos mode: each thread's priority; the highest runnable runs.
    priorities: HashMap<Tid, u64>,
}

impl Scheduler {
    pub fn new(chaos_seed: Option<u64>) -> Scheduler {
        Scheduler {
            last: 0,
            chaos: chaos_seed.map(|seed| ChaosRng(seed | 1)),
            priorities: HashMap::new(),
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
            // rr's chaos mode: random priorities, and a thread whose slice
            // ended may drop behind the others; starved threads are where
            // rare interleavings come from.
            Some(rng) => {
                let priorities = &mut self.priorities;
                runnable
                    .iter()
                    .copied()
                    .max_by_key(|t| *priorities.entry(*t).or_insert_with(|| rng.next()))
                    .unwrap_or(runnable[0])
            }
            None => runnable
                .iter()
                .copied()
                .find(|&t| t > self.last)
                .unwrap_or(runnable[0]),
        };
        self.last = choice;
        Some(choice)
    }

    /// Chaos mode: the thread's slice ended; it may get a new priority,
    /// always after a slice counted in instructions (those are the ones
    /// that can stop a thread inside a short critical window, and the race
    /// shows only if others then run first).
    pub fn slice_ended(&mut self, tid: Tid, counted: bool) {
        if let Some(rng) = &mut self.chaos {
            if counted {
                // To the back: whatever it was in the middle of, the others
                // now run first.
                let lowest = self.priorities.values().copied().min().unwrap_or(0);
                self.priorities
                    .insert(tid, lowest.saturating_sub(1 + rng.next() % 16));
            } else if rng.next() % 8 == 0 {
                self.priorities.insert(tid, rng.next());
            }
        }
    }

    /// How long the chosen thread may run while others wait. Chaos mode
    /// draws from a wide range. A timer cannot end a slice inside a window
    /// of a few hundred instructions (a ptrace stop takes microseconds), so
    /// half of its slices are counted in single steps instead.
    pub fn slice(&mut self) -> Slice {
        match &mut self.chaos {
            None => Slice::Time(SLICE),
            Some(rng) => {
                let micros = match rng.next() % 8 {
                    // Log-uniform up to 8192 instructions.
                    0..=4 => {
                        let octave = rng.next() % 13;
                        let steps = (1u64 << octave) + rng.next() % (1u64 << octave);
                        return Slice::Steps(steps as u32);
                    }
                    5 => rng.next() % 1_000,
                    6 => rng.next() % 10_000,
                    _ => rng.next() % 50_000 + 1,
                };
                Slice::Time(Duration::from_micros(micros.max(1)))
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
