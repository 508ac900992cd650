//! The preload library (`syscallbuf/`), built by `build.rs` and carried
//! inside the binary, so one file is all a user copies to a server.
//!
//! Recording preloads it (unless `-n`): written into the trace directory,
//! named first in the program's LD_PRELOAD. The C library's syscall sites
//! reach its hook once patched (`crate::patching`; ARCHITECTURE.md
//! "syscallbuf", "Patching").

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::RecordError;

/// The library's bytes, as the build made them.
pub const LIBRARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/librewind_syscallbuf.so"));

/// The library's file name in the trace directory.
pub const FILE_NAME: &str = "librewind_syscallbuf.so";

/// Writes the library into `trace_dir` and returns its absolute path (the
/// program may change directory before an exec), or None with a warning
/// where LD_PRELOAD cannot name it: it splits at spaces and colons.
pub fn write_into(trace_dir: &Path) -> Result<Option<PathBuf>, RecordError> {
    let path = trace_dir.join(FILE_NAME);
    let io_error = |e| RecordError::Trace(trace_format::TraceError::io(&path, e));
    std::fs::write(&path, LIBRARY).map_err(io_error)?;
    let path = std::fs::canonicalize(&path).map_err(io_error)?;
    if path
        .as_os_str()
        .as_bytes()
        .iter()
        .any(|b| matches!(b, b' ' | b':'))
    {
        // Not eprintln!: a hung-up terminal must not end the recording.
        let _ = writeln!(
            std::io::stderr(),
            "rewind: warning: the trace directory {} has a space or colon in its path, which \
             LD_PRELOAD cannot name; recording without the syscall buffer",
            trace_dir.display()
        );
        return Ok(None);
    }
    Ok(Some(path))
}

/// Puts `library` first in the LD_PRELOAD of `env` (entries `KEY=VALUE`).
pub fn add_to_env(env: &mut Vec<Vec<u8>>, library: &Path) {
    let ours = library.as_os_str().as_bytes();
    let existing = env.iter().position(|pair| pair.starts_with(b"LD_PRELOAD="));
    let mut entry = b"LD_PRELOAD=".to_vec();
    entry.extend_from_slice(ours);
    match existing {
        Some(at) => {
            let others = env[at][b"LD_PRELOAD=".len()..].to_vec();
            if !others.is_empty() {
                entry.push(b':');
                entry.extend_from_slice(&others);
            }
            env[at] = entry;
        }
        None => env.push(entry),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_comes_first_in_ld_preload() {
        let library = Path::new("/t/lib.so");
        let mut env = vec![b"A=1".to_vec()];
        add_to_env(&mut env, library);
        assert_eq!(env, [b"A=1".to_vec(), b"LD_PRELOAD=/t/lib.so".to_vec()]);
        let mut env = vec![b"LD_PRELOAD=/x.so /y.so".to_vec(), b"B=2".to_vec()];
        add_to_env(&mut env, library);
        assert_eq!(env[0], b"LD_PRELOAD=/t/lib.so:/x.so /y.so".to_vec());
        let mut env = vec![b"LD_PRELOAD=".to_vec()];
        add_to_env(&mut env, library);
        assert_eq!(env, [b"LD_PRELOAD=/t/lib.so".to_vec()]);
    }
}
