//! rewind's replay session: rebuilds the recorded processes from a trace,
//! runs them to each recorded event, verifies every event, and applies the
//! recorded results (ARCHITECTURE.md "Replay").
#![forbid(unsafe_code)]

mod clone;
mod copy;
mod cpu;
pub mod debug;
mod error;
mod exec;
mod memory;
mod output;
mod patch;
mod point;
mod session;
mod shared;
mod syscall;
mod syscallbuf;
mod task;
mod trampoline;
mod unshare;
mod verify;

use std::path::PathBuf;

use trace_format::{ExitStatus, TraceReader};

pub use error::{Divergence, ReplayError, DIVERGENCE_EXIT_CODE};
pub use session::ReplaySession;

pub struct ReplayOptions {
    pub trace_dir: PathBuf,
    /// Reproduce the program's stdout and stderr writes.
    pub echo_output: bool,
}

/// Replays a whole trace without a debugger; returns the recorded (and
/// verified) exit status.
pub fn replay_to_end(options: &ReplayOptions) -> Result<ExitStatus, ReplayError> {
    // Before any thread exists: stops then wake a signalfd (the watchdog
    // on runs to execution points waits with a timeout).
    tracee::waiter::block_sigchld();
    let trace_dir = std::fs::canonicalize(&options.trace_dir)
        .map_err(|e| trace_format::TraceError::io(&options.trace_dir, e))?;
    let reader = TraceReader::open(&trace_dir)?;
    cpu::check(&reader.header().cpu)?;
    if let Some(early) = reader.early_end() {
        eprintln!("rewind: warning: {early}");
    }
    let stub = replay_stub()?;
    let mut session = ReplaySession::new(reader, stub, options.echo_output);
    // As the recorder (tracee::clock): the tracees trap rdtsc too.
    let _trapped = tracee::clock::TscTrapped::begin();
    session.run_to_end()
}

/// The program replayed processes exec before their recorded address
/// space is rebuilt: this very binary.
fn replay_stub() -> Result<PathBuf, ReplayError> {
    std::env::current_exe().map_err(|e| {
        ReplayError::Tracee(tracee::TraceeError::Spawn {
            what: "cannot find this rewind binary to use as the replay stub".into(),
            source: e,
        })
    })
}
