//! Where traces live: the trace root, naming a new trace, the
//! `latest-trace` link, finding a trace by name and listing them.

use std::ffi::OsString;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use crate::error::TraceError;
use crate::layout;

/// The directory holding traces: `$REWIND_TRACE_DIR`, else
/// `$XDG_DATA_HOME/rewind`, else `~/.local/share/rewind`.
pub fn trace_root() -> Result<PathBuf, TraceError> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = non_empty("REWIND_TRACE_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = non_empty("XDG_DATA_HOME") {
        return Ok(PathBuf::from(dir).join("rewind"));
    }
    non_empty("HOME")
        .map(|home| PathBuf::from(home).join(".local/share/rewind"))
        .ok_or(TraceError::NoTraceRoot)
}

/// Creates a new, empty trace directory `<exe>-<N>` under `root`, with N
/// one more than the largest in use. `mkdir` is atomic, so two recorders
/// starting at once each get their own directory.
pub fn create_trace_dir(root: &Path, exe_name: &str) -> Result<PathBuf, TraceError> {
    fs::create_dir_all(root).map_err(|e| TraceError::io(root, e))?;
    let base = sanitize(exe_name);
    let mut n = highest_number(root, &base)? + 1;
    loop {
        let dir = root.join(format!("{base}-{n}"));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(TraceError::io(&dir, e)),
        }
    }
}

fn sanitize(exe_name: &str) -> String {
    let cleaned: String = exe_name
        .chars()
        .map(|c| if c == '/' || c.is_control() { '_' } else { c })
        .collect();
    match cleaned.as_str() {
        "" | "." | ".." => "trace".into(),
        _ => cleaned,
    }
}

fn highest_number(root: &Path, base: &str) -> Result<u64, TraceError> {
    let entries = fs::read_dir(root).map_err(|e| TraceError::io(root, e))?;
    let prefix = format!("{base}-");
    Ok(entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix(&prefix)?.parse::<u64>().ok()
        })
        .max()
        .unwrap_or(0))
}

/// Points `root/latest-trace` at `dir`, replacing the link atomically.
pub fn set_latest(root: &Path, dir: &Path) -> Result<(), TraceError> {
    let target = dir
        .file_name()
        .map_or_else(|| dir.as_os_str().to_owned(), |n| n.to_owned());
    let mut tmp_name = OsString::from(".latest-trace.");
    tmp_name.push(std::process::id().to_string());
    let tmp = root.join(tmp_name);
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&target, &tmp).map_err(|e| TraceError::io(&tmp, e))?;
    let link = root.join(layout::LATEST);
    fs::rename(&tmp, &link).map_err(|e| TraceError::io(&link, e))
}

/// Finds the trace the user named: a path to a trace directory, or a
/// trace name in the root; none means the latest trace.
pub fn resolve_trace(name: Option<&Path>) -> Result<PathBuf, TraceError> {
    let root = trace_root()?;
    let Some(name) = name else {
        let latest = root.join(layout::LATEST);
        return match fs::canonicalize(&latest) {
            Ok(dir) => Ok(dir),
            Err(_) => Err(TraceError::NoSuchTrace {
                name: layout::LATEST.into(),
                root,
            }),
        };
    };
    if name.join(layout::HEADER).exists() || name.is_dir() {
        return Ok(name.to_path_buf());
    }
    let in_root = root.join(name);
    if in_root.is_dir() {
        return Ok(in_root);
    }
    Err(TraceError::NoSuchTrace {
        name: name.display().to_string(),
        root,
    })
}

/// The trace directories in `root` (those with a header), in no order.
pub fn list_traces(root: &Path) -> Result<Vec<PathBuf>, TraceError> {
    let entries = match fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(TraceError::io(root, e)),
    };
    Ok(entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|p| p.join(layout::HEADER).is_file())
        .collect())
}

/// The directory of a trace root where captured files are stored once for
/// all its traces; each trace's `files/` holds hard links into it.
pub fn shared_files(root: &Path) -> PathBuf {
    root.join(".files")
}

/// Removes the trace in `trace`, refusing a directory that is not one. The
/// latest-trace link goes if it named it; files in the root's store that
/// no trace links to any more go too. Other traces stay whole: their
/// links keep the files they share.
pub fn remove_trace(root: &Path, trace: &Path) -> Result<(), TraceError> {
    let is_trace = trace.join(layout::HEADER).is_file() && trace.join(layout::EVENTS).is_file();
    if !is_trace {
        return Err(TraceError::NotATrace {
            path: trace.to_path_buf(),
        });
    }
    let trace = fs::canonicalize(trace).map_err(|e| TraceError::io(trace, e))?;
    let latest = root.join(layout::LATEST);
    if fs::canonicalize(&latest).is_ok_and(|named| named == trace) {
        fs::remove_file(&latest).map_err(|e| TraceError::io(&latest, e))?;
    }
    fs::remove_dir_all(&trace).map_err(|e| TraceError::io(&trace, e))?;
    prune_shared_files(root);
    Ok(())
}

/// Deletes stored files no trace links to (their only link is the store's).
fn prune_shared_files(root: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = fs::read_dir(shared_files(root)) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        if entry
            .metadata()
            .is_ok_and(|m| m.is_file() && m.nlink() == 1)
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Bytes a directory tree occupies on disk (allocated blocks), each file
/// counted once however many links to it the tree holds.
pub fn disk_usage(dir: &Path) -> u64 {
    disk_usage_of(&[dir])
}

/// `disk_usage` of several trees together: a file linked from more than
/// one of them counts once.
pub fn disk_usage_of(dirs: &[&Path]) -> u64 {
    let mut seen = std::collections::HashSet::new();
    dirs.iter().map(|dir| usage(dir, &mut seen)).sum()
}

fn usage(dir: &Path, seen: &mut std::collections::HashSet<(u64, u64)>) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => m.blocks() * 512 + usage(&e.path(), seen),
            Ok(m) if seen.insert((m.dev(), m.ino())) => m.blocks() * 512,
            _ => 0,
        })
        .sum()
}

/// The program name a trace directory is named after.
pub fn exe_name_of(argv0: &[u8]) -> String {
    let path = PathBuf::from(OsString::from_vec(argv0.to_vec()));
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "trace".into())
}
