//! Errors of reading and writing traces. Each message is one sentence that
//! names the file and, where it helps, what to do.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::{OLDEST_READABLE_VERSION, VERSION};

#[derive(Debug)]
pub enum TraceError {
    /// A file of the trace could not be read or written.
    Io { path: PathBuf, source: io::Error },
    /// The directory has no header: it is not a trace.
    NotATrace { path: PathBuf },
    /// The trace was written in another format version.
    VersionMismatch { path: PathBuf, found: u32 },
    /// A file's bytes are damaged at `offset`.
    Corrupt {
        path: PathBuf,
        offset: u64,
        what: String,
    },
    /// An event references data outside the data stream.
    DataOutOfRange {
        path: PathBuf,
        offset: u64,
        len: u64,
    },
    /// One event encoded to more bytes than a chunk can hold.
    EventTooLarge { number: u64, len: usize },
    /// The background writer stopped after an I/O error.
    WriterFailed { dir: PathBuf },
    /// No directory to keep traces in could be found.
    NoTraceRoot,
    /// The trace asked for does not exist.
    NoSuchTrace { name: String, root: PathBuf },
}

impl TraceError {
    pub fn io(path: &Path, source: io::Error) -> TraceError {
        TraceError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn corrupt(path: &Path, offset: u64, what: impl Into<String>) -> TraceError {
        TraceError::Corrupt {
            path: path.to_path_buf(),
            offset,
            what: what.into(),
        }
    }
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::Io { path, source } => {
                write!(f, "cannot access {}: {source}", path.display())
            }
            TraceError::NotATrace { path } => write!(
                f,
                "{} is not a rewind trace (it has no readable header file)",
                path.display()
            ),
            TraceError::VersionMismatch { path, found } => write!(
                f,
                "trace {} has format version {found}, but this rewind reads versions \
                 {OLDEST_READABLE_VERSION} to {VERSION}; use the rewind release that recorded it",
                path.display()
            ),
            TraceError::Corrupt { path, offset, what } => write!(
                f,
                "trace file {} is corrupt at byte {offset}: {what}",
                path.display()
            ),
            TraceError::DataOutOfRange { path, offset, len } => write!(
                f,
                "trace {} refers to {len} data bytes at offset {offset}, beyond the end of its data",
                path.display()
            ),
            TraceError::EventTooLarge { number, len } => write!(
                f,
                "event {number} encodes to {len} bytes, more than a trace chunk holds"
            ),
            TraceError::WriterFailed { dir } => write!(
                f,
                "writing the trace in {} failed earlier (is the disk full?)",
                dir.display()
            ),
            TraceError::NoTraceRoot => write!(
                f,
                "no directory for traces: set REWIND_TRACE_DIR, XDG_DATA_HOME or HOME"
            ),
            TraceError::NoSuchTrace { name, root } => write!(
                f,
                "no trace named {name} (looked in the current directory and in {}); \
                 `rewind ls` lists the traces",
                root.display()
            ),
        }
    }
}

impl std::error::Error for TraceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TraceError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
