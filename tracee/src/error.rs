//! Errors of controlling a tracee.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::Tid;

#[derive(Debug)]
pub enum TraceeError {
    /// A ptrace request failed.
    Ptrace {
        request: &'static str,
        tid: Tid,
        source: io::Error,
    },
    /// waitpid failed.
    Wait { tid: Tid, source: io::Error },
    /// Reading or writing tracee memory failed.
    Memory {
        tid: Tid,
        addr: u64,
        len: usize,
        write: bool,
        source: io::Error,
    },
    /// A /proc file could not be read.
    Proc { path: PathBuf, source: io::Error },
    /// Starting the tracee failed.
    Spawn { what: String, source: io::Error },
    /// The tracee stopped in a way the caller did not expect.
    UnexpectedStop {
        tid: Tid,
        expected: &'static str,
        got: String,
    },
    /// A syscall injected into the tracee failed.
    RemoteSyscall {
        tid: Tid,
        name: &'static str,
        errno: i64,
    },
}

impl TraceeError {
    /// The thread no longer exists or is dying (killed while we looked at
    /// it); its death will still be reported by waitpid.
    pub fn is_gone(&self) -> bool {
        match self {
            TraceeError::Ptrace { source, .. } => source.raw_os_error() == Some(libc::ESRCH),
            TraceeError::Memory { source, .. } | TraceeError::Proc { source, .. } => {
                matches!(
                    source.raw_os_error(),
                    Some(libc::ESRCH) | Some(libc::ENOENT)
                ) || source.kind() == std::io::ErrorKind::UnexpectedEof
            }
            _ => false,
        }
    }
}

impl fmt::Display for TraceeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceeError::Ptrace {
                request,
                tid,
                source,
            } => write!(f, "ptrace {request} on thread {tid} failed: {source}"),
            TraceeError::Wait { tid, source } => {
                write!(f, "waiting for thread {tid} failed: {source}")
            }
            TraceeError::Memory {
                tid,
                addr,
                len,
                write,
                source,
            } => write!(
                f,
                "{} {len} bytes at {addr:#x} in thread {tid} failed: {source}",
                if *write { "writing" } else { "reading" }
            ),
            TraceeError::Proc { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            TraceeError::Spawn { what, source } => write!(f, "{what}: {source}"),
            TraceeError::UnexpectedStop { tid, expected, got } => write!(
                f,
                "thread {tid} stopped with {got} where {expected} was expected"
            ),
            TraceeError::RemoteSyscall { tid, name, errno } => write!(
                f,
                "the {name} syscall rewind ran in thread {tid} failed: {}",
                io::Error::from_raw_os_error(-*errno as i32)
            ),
        }
    }
}

impl std::error::Error for TraceeError {}
