//! The replay thread's loop (ARCHITECTURE.md "Reverse execution"): one
//! replay after another. A replay runs until gdb leaves, or until gdb asks
//! for a move it cannot make forward; then it unwinds, its processes end,
//! and a replay started again carries the move out: from a copy taken
//! before the first event the move must see ("Copies of the replay"), or
//! from the trace's start.

use std::path::Path;

use gdb_remote::ThreadId;
use trace_format::TraceReader;
use tracee::Tid;

use super::copies::Copies;
use super::plan::Plan;
use super::position::{Follower, Position};
use super::{DebugLink, DebugStart};
use crate::error::ReplayError;
use crate::session::ReplaySession;

/// A copy of the replay standing at the boundary before an event or at a
/// named instant inside one, never run itself: replays start from copies
/// of it.
pub(crate) struct Snapshot {
    pub session: ReplaySession,
    /// What the replay loop knew there.
    pub resumed: Resumed,
}

/// Where a replay from a copy begins, and the replay loop's state there.
#[derive(Clone)]
pub(crate) struct Resumed {
    pub first_event: u64,
    /// gdb's program had been shown.
    pub started: bool,
    /// The thread of the last event replayed.
    pub last: Option<Tid>,
    /// Inside `first_event`, if the copy stands there.
    pub inside: Option<Inside>,
}

impl Resumed {
    /// At event `first_event` (inside it if `inside`), with gdb's program
    /// shown or not and the last event's thread.
    pub fn at(
        first_event: u64,
        (started, last): (bool, Option<Tid>),
        inside: Option<Inside>,
    ) -> Resumed {
        Resumed {
            first_event,
            started,
            last,
            inside,
        }
    }
}

/// A copy's instant inside an event (ARCHITECTURE.md "Copies of the
/// replay"): its name, the followers of the replay that took it as they
/// stood there (a later replay's follower of the same goal goes on from
/// where they were), and the event's thread, which has just arrived at
/// `pc` (the instruction there is not begun).
#[derive(Clone, Debug)]
pub(crate) struct Inside {
    pub at: Position,
    pub followers: Vec<Follower>,
    pub thread: ThreadId,
    pub pc: u64,
    /// Taken whether one is due or not.
    pub asked: bool,
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
        let copied = plan.as_ref().and_then(|plan| {
            let d = debugger.borrow();
            from_copy(&mut copies, plan, &|inside| d.copy_serves(plan, inside))
        });
        debugger.borrow_mut().begin(plan.take());
        let (mut session, resumed) = match copied {
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

/// A replay from the latest copy `plan` can start from (ARCHITECTURE.md
/// "Copies of the replay"); None if there is none, or it could not be
/// copied again (it is dropped then).
/// `usable` says whether gdb's breakpoints now allow a copy inside an
/// event.
fn from_copy(
    copies: &mut Copies<Snapshot>,
    plan: &Plan,
    usable: &dyn Fn(&Inside) -> bool,
) -> Option<(ReplaySession, Resumed)> {
    let serves = |_: &Position, snapshot: &Snapshot| match &snapshot.resumed.inside {
        Some(inside) => usable(inside) && plan.starts_at(&inside.at, &inside.followers),
        None => true,
    };
    let (at, snapshot) = copies.latest_serving(plan.earliest_event(), serves)?;
    let resumed = snapshot.resumed.clone();
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
