//! Why a replay stopped.

use std::fmt;

use trace_format::TraceError;
use tracee::TraceeError;

/// Exit status of a replay that diverged from its recording (EX_SOFTWARE).
pub const DIVERGENCE_EXIT_CODE: i32 = 70;

/// The replay did something other than the recording at `event`.
#[derive(Debug)]
pub struct Divergence {
    pub event: u64,
    /// The recorded id of the thread.
    pub tid: i32,
    /// What was being replayed (`syscall read`, `rdtsc`, ...).
    pub at: String,
    /// Expected against actual, in words.
    pub details: String,
}

#[derive(Debug)]
pub enum ReplayError {
    Divergence(Divergence),
    Trace(TraceError),
    Tracee(TraceeError),
    /// The trace cannot be replayed by this rewind (its shape is wrong).
    BadTrace {
        event: u64,
        reason: String,
    },
    /// Writing the replayed output failed.
    Output(std::io::Error),
    /// The replay's copy of a shared object could not be made or changed.
    SharedObject {
        object: u32,
        reason: String,
    },
    /// Shared memory could not be copied for a copy of the replay.
    CopyMemory(std::io::Error),
    /// The trace was recorded on a CPU whose CPUID differs from this one's
    /// (what differs, in words).
    OtherCpu(String),
    /// The debugger went away; the replay ends with it.
    DebuggerGone,
    /// gdb's Ctrl-C reached a thread running through a trampoline, which
    /// must come out before gdb sees the replay. Caught where the
    /// trampoline was installed; never leaves the replayer.
    Interrupted,
    /// The debugger asked for a move the replay cannot make forward: it
    /// unwinds and starts again (debug/timeline.rs). Never leaves the
    /// replayer.
    Travel,
    /// The debugger wants a copy of the replay where it stands, inside an
    /// event (ARCHITECTURE.md "Copies of the replay"): the replay unwinds
    /// to its loop, which takes the copy and replays the event on from the
    /// thread's stop. Raised only where nothing of the event was done yet
    /// but running its thread; never leaves the replayer.
    CopyWanted,
}

impl ReplayError {
    pub fn exit_code(&self) -> i32 {
        match self {
            ReplayError::Divergence(_) => DIVERGENCE_EXIT_CODE,
            _ => 1,
        }
    }
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Divergence(d) => write!(
                f,
                "replay diverged from the recording at event {} (thread {}, {}): {}",
                d.event, d.tid, d.at, d.details
            ),
            ReplayError::Trace(e) => write!(f, "{e}"),
            ReplayError::Tracee(e) => write!(f, "replay failed: {e}"),
            ReplayError::BadTrace { event, reason } => {
                write!(f, "the trace cannot be replayed at event {event}: {reason}")
            }
            ReplayError::Output(e) => write!(f, "cannot write the replayed output: {e}"),
            ReplayError::SharedObject { object, reason } => write!(
                f,
                "cannot keep the replay's copy of shared object {object} ({reason}); the replay \
                 needs memory for it and /proc mounted"
            ),
            ReplayError::CopyMemory(e) => write!(
                f,
                "cannot copy the replay's shared memory for a copy of the replay ({e}); \
                 the replay needs memory for it and /proc mounted"
            ),
            ReplayError::OtherCpu(differences) => write!(
                f,
                "this trace needs a machine with the recording's CPU features, which glibc \
                 chooses its code by, and this CPU differs ({differences}); replay it on a \
                 machine like the one it was recorded on"
            ),
            ReplayError::DebuggerGone => write!(f, "the debugger disconnected"),
            ReplayError::Interrupted => write!(f, "the replay was interrupted"),
            ReplayError::Travel => write!(f, "the replay started again"),
            ReplayError::CopyWanted => write!(f, "the replay stopped for a copy"),
        }
    }
}

impl std::error::Error for ReplayError {}

impl From<TraceError> for ReplayError {
    fn from(e: TraceError) -> Self {
        ReplayError::Trace(e)
    }
}

impl From<TraceeError> for ReplayError {
    fn from(e: TraceeError) -> Self {
        ReplayError::Tracee(e)
    }
}
