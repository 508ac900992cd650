//! The replay thread's loop (ARCHITECTURE.md "Reverse execution"): one
//! replay after another. A replay runs until gdb leaves, or until gdb asks
//! for a move it cannot make forward; then it unwinds, its processes end,
//! and a replay started again from the trace carries the move out.

use std::path::Path;

use trace_format::TraceReader;

use super::{DebugLink, DebugStart};
use crate::error::ReplayError;
use crate::session::ReplaySession;

pub(super) fn run(
    trace_dir: &Path,
    stub: &Path,
    debugger: DebugLink,
    start: DebugStart,
    first: TraceReader,
) -> Result<(), ReplayError> {
    let mut reader = Some(first);
    let mut plan = None;
    loop {
        debugger.borrow_mut().begin(plan.take());
        let reader = match reader.take() {
            Some(reader) => reader,
            None => TraceReader::open(trace_dir)?,
        };
        let mut session = ReplaySession::new(reader, stub.to_owned(), false);
        let outcome = session.run_debugger(debugger.clone(), start);
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
