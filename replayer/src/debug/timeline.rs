//! The replay thread's loop (ARCHITECTURE.md "Reverse execution"): one
//! replay after another. A replay runs until gdb leaves, or until gdb asks
//! for a move it cannot make forward; then it unwinds, its processes end,
//! and a replay started again carries the move out: from a copy taken
//! before the first event the move must see ("Copies of the replay"), or
//! from the trace's start.

use std::path::Path;

use trace_format::TraceReader;
use tracee::Tid;

use super::copies::Copies;
use super::plan::Plan;
use super::{DebugLink, DebugStart};
use crate::error::ReplayError;
use crate::session::ReplaySession;

/// A copy of the replay standing at the boundary before an event, never
/// run itself: replays start from copies of it.
pub(crate) struct Snapshot {
    pub session: ReplaySession,
    /// What the replay loop knew there.
    pub resumed: Resumed,
}

/// Where a replay from a copy begins, and the replay loop's state there.
#[derive(Clone, Copy)]
pub(crate) struct Resumed {
    pub first_event: u64,
    /// gdb's program had been shown.
    pub started: bool,
    /// The thread of the last event replayed.
    pub last: Option<Tid>,
}

pub(super) fn run(
    trace_dir: &Path,
    stub: &Path,
    debugger: DebugLink,
    start: DebugStart,
    first: TraceReader,
) -> Result<(), ReplayError> {
    let mut copies: Copies<Snapshot> = Copies::new(start.copy_interval);
    let mut reader = Some(first);
    let mut plan: Option<Plan> = None;
    loop {
        let earliest = plan.as_ref().map(Plan::earliest_event);
        debugger.borrow_mut().begin(plan.take());
        let (mut session, resumed) = match earliest.and_then(|e| from_copy(&mut copies, e)) {
            Some((session, resumed)) => (session, Some(resumed)),
            None => {
                let reader = match reader.take() {
                    Some(reader) => reader,
                    None => TraceReader::open(trace_dir)?,
                };
                (ReplaySession::new(reader, stub.to_owned(), false), None)
            }
        };
        copies.replay_began();
        let outcome = session.run_debugger(debugger.clone(), start, resumed, &mut copies);
        // Its processes end before the next replay's begin.
        drop(session);
        match outcome {
            Err(ReplayError::Travel) => {
                plan = debugger.borrow_mut().take_plan();
                if plan.is_none() {
                    return Err(ReplayError::BadTrace {
                        event: 0,
                        reason: "the replay started again without a destination".into(),
                    });
                }
            }
            other => return other,
        }
    }
}

/// A replay from the latest copy before `event`; None if there is none, or
/// it could not be copied again (it is dropped then).
fn from_copy(copies: &mut Copies<Snapshot>, event: u64) -> Option<(ReplaySession, Resumed)> {
    let (at, snapshot) = copies.latest_before(event)?;
    let resumed = snapshot.resumed;
    let copied = snapshot.session.reader.try_clone().ok().and_then(|reader| {
        snapshot
            .session
            .fork_copy(reader, &|_, _| {})
            .ok()
            .flatten()
    });
    match copied {
        Some(session) => Some((session, resumed)),
        None => {
            copies.forget(at);
            None
        }
    }
}
