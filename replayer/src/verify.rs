//! Comparing the replay with the recording (ARCHITECTURE.md principle 1).

use trace_format::Registers;

use crate::error::{Divergence, ReplayError};

/// Fails unless the registers are identical.
pub fn registers(
    event: u64,
    tid: i32,
    at: &str,
    recorded: &Registers,
    replayed: &Registers,
) -> Result<(), ReplayError> {
    let differences = recorded.differences(replayed);
    if differences.is_empty() {
        return Ok(());
    }
    let details = differences
        .iter()
        .map(|(name, want, got)| {
            format!("{name} was {want:#x} in the recording, {got:#x} in the replay")
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(diverged(event, tid, at, details))
}

pub fn diverged(event: u64, tid: i32, at: &str, details: String) -> ReplayError {
    ReplayError::Divergence(Divergence {
        event,
        tid,
        at: at.to_string(),
        details,
    })
}
