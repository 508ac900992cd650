//! Finding the program to record the way a shell would.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::RecordError;

/// Resolves `name`: a name with a slash is a path; otherwise the first
/// executable regular file of that name in `$PATH`.
pub fn resolve_program(name: &OsStr) -> Result<PathBuf, RecordError> {
    let as_path = Path::new(name);
    if name.as_encoded_bytes().contains(&b'/') {
        return check_executable(as_path);
    }
    let path_var =
        std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let mut found_not_executable = None;
    for dir in std::env::split_paths(&path_var) {
        let candidate = if dir.as_os_str().is_empty() {
            PathBuf::from(".").join(name)
        } else {
            dir.join(name)
        };
        match candidate.metadata() {
            Ok(meta) if meta.is_file() && meta.permissions().mode() & 0o111 != 0 => {
                return Ok(candidate);
            }
            Ok(meta) if meta.is_file() => {
                found_not_executable.get_or_insert(candidate);
            }
            _ => {}
        }
    }
    match found_not_executable {
        Some(path) => check_executable(&path),
        None => Err(RecordError::ProgramNotFound {
            name: name.to_string_lossy().into_owned(),
        }),
    }
}

fn check_executable(path: &Path) -> Result<PathBuf, RecordError> {
    let meta = path.metadata().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            RecordError::ProgramNotFound {
                name: path.display().to_string(),
            }
        } else {
            RecordError::NotExecutable {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }
        }
    })?;
    if meta.is_dir() {
        return Err(RecordError::NotExecutable {
            path: path.to_path_buf(),
            reason: "it is a directory".into(),
        });
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(RecordError::NotExecutable {
            path: path.to_path_buf(),
            reason: "it has no execute permission".into(),
        });
    }
    Ok(path.to_path_buf())
}
