//! Why a recording failed.

use std::fmt;
use std::path::PathBuf;

use trace_format::TraceError;
use tracee::TraceeError;

#[derive(Debug)]
pub enum RecordError {
    /// The program was not found on PATH (a shell exits 127).
    ProgramNotFound {
        name: String,
    },
    /// The program exists but cannot be executed (a shell exits 126).
    NotExecutable {
        path: PathBuf,
        reason: String,
    },
    /// The program did something rewind cannot record yet; the tracee was
    /// killed.
    Unsupported {
        what: String,
    },
    /// The program did something no trace can hold, for `reason`.
    CannotRecord {
        what: String,
        reason: &'static str,
    },
    /// A call rewind cannot describe did not fail harmlessly (`outcome`
    /// says how it ended), so the trace cannot say what it changed.
    CannotDescribe {
        what: String,
        outcome: String,
    },
    Tracee(TraceeError),
    Trace(TraceError),
    /// A file the tracee mapped could not be captured.
    Capture {
        path: String,
        reason: String,
    },
    /// The recording stopped on `error` after the program had started; the
    /// trace holds everything up to then.
    Kept {
        error: Box<RecordError>,
        trace_dir: PathBuf,
    },
}

impl RecordError {
    /// The exit status `rewind record` ends with.
    pub fn exit_code(&self) -> i32 {
        match self {
            RecordError::ProgramNotFound { .. } => 127,
            RecordError::NotExecutable { .. } => 126,
            RecordError::Kept { error, .. } => error.exit_code(),
            _ => 1,
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::ProgramNotFound { name } => write!(
                f,
                "{name}: command not found (check the name, or give a path to the program)"
            ),
            RecordError::NotExecutable { path, reason } => {
                write!(f, "{} cannot be executed: {reason}", path.display())
            }
            RecordError::Unsupported { what } => write!(
                f,
                "{what} is not supported yet; the recording was stopped and the program killed"
            ),
            RecordError::CannotRecord { what, reason } => write!(
                f,
                "{what} cannot be recorded ({reason}); the recording was stopped and the program killed"
            ),
            RecordError::CannotDescribe { what, outcome } => write!(
                f,
                "{what} {outcome}, and rewind cannot tell what it changed; the recording was stopped \
                 and the program killed (rewind must learn this call to record this program: \
                 please report it)"
            ),
            RecordError::Tracee(e) => write!(f, "recording failed: {e}"),
            RecordError::Trace(e) => write!(f, "{e}"),
            RecordError::Capture { path, reason } => write!(
                f,
                "cannot capture {path}, which the program mapped, into the trace: {reason}"
            ),
            RecordError::Kept { error, trace_dir } => write!(
                f,
                "{error}; the trace of what ran until then is kept in {}",
                trace_dir.display()
            ),
        }
    }
}

impl std::error::Error for RecordError {}

impl From<TraceeError> for RecordError {
    fn from(e: TraceeError) -> Self {
        RecordError::Tracee(e)
    }
}

impl From<TraceError> for RecordError {
    fn from(e: TraceError) -> Self {
        RecordError::Trace(e)
    }
}
