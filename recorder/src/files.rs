//! Capturing the files a tracee executes or maps into the trace's `files/`
//! directory, so that replay never reads the host's copies.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use trace_format::CapturedFile;

use crate::error::RecordError;

/// What identifies one version of a file.
#[derive(Hash, PartialEq, Eq, Clone, Copy)]
struct FileVersion {
    device: u64,
    inode: u64,
    size: u64,
    mtime_ns: i128,
}

pub struct FileCapture {
    dir: PathBuf,
    /// The trace root's store of files shared by its traces, if the trace
    /// is in a root (`rewind record -o` elsewhere copies into the trace).
    shared: Option<PathBuf>,
    captured: HashMap<FileVersion, String>,
    /// Files stored so far, which numbers their names.
    copies: usize,
    euid: u32,
}

impl FileCapture {
    pub fn new(dir: PathBuf, shared: Option<PathBuf>) -> FileCapture {
        FileCapture {
            dir,
            shared,
            captured: HashMap::new(),
            copies: 0,
            euid: tracee::effective_uid(),
        }
    }

    /// Captures the file that `open_path` opens (a path of the tracee's,
    /// or `/proc/PID/fd/N` and `/proc/PID/map_files/...`, which reach files
    /// that were deleted or renamed), recording it under `original_path`.
    pub fn capture(
        &mut self,
        open_path: &Path,
        original_path: &str,
    ) -> Result<CapturedFile, RecordError> {
        self.capture_with(open_path, original_path, true)
    }

    /// `capture`, but of the file as it is now even where a copy of the
    /// same size and time exists: that copy may be older than writes that
    /// left the time as it was.
    pub fn capture_fresh(
        &mut self,
        open_path: &Path,
        original_path: &str,
    ) -> Result<CapturedFile, RecordError> {
        self.capture_with(open_path, original_path, false)
    }

    fn capture_with(
        &mut self,
        open_path: &Path,
        original_path: &str,
        reuse: bool,
    ) -> Result<CapturedFile, RecordError> {
        let failed = |reason: String| RecordError::Capture {
            path: original_path.to_string(),
            reason,
        };
        let meta = fs::metadata(open_path).map_err(|e| failed(e.to_string()))?;
        let version = FileVersion {
            device: meta.dev(),
            inode: meta.ino(),
            size: meta.size(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        };
        if let Some(stored) = self.captured.get(&version).filter(|_| reuse) {
            return Ok(CapturedFile {
                original_path: original_path.to_string(),
                stored_name: stored.clone(),
            });
        }
        let base = Path::new(original_path)
            .file_name()
            .map_or_else(|| "file".to_string(), |n| n.to_string_lossy().into_owned());
        self.copies += 1;
        let stored_name = format!("{}-{base}", self.copies);
        let dest = self.dir.join(&stored_name);
        let linked = self.try_hard_link(original_path, &meta, &dest)
            || (reuse && self.link_shared(open_path, &meta, &dest));
        if !linked {
            fs::copy(open_path, &dest).map_err(|e| failed(format!("copying it failed: {e}")))?;
        }
        self.captured.insert(version, stored_name.clone());
        Ok(CapturedFile {
            original_path: original_path.to_string(),
            stored_name,
        })
    }

    /// Links `dest` to the root's stored copy of this version of the file,
    /// storing one first if there is none. The name holds the file's
    /// device, inode, size, mtime and ctime: any write changes the ctime,
    /// so a stored copy is never an older version. A copy is stored under
    /// a temporary name and renamed into place, so that a recording killed
    /// half-way, or two at once, leave no partial file under the name.
    /// False where the store cannot be used (the trace is copied into).
    fn link_shared(&self, open_path: &Path, meta: &fs::Metadata, dest: &Path) -> bool {
        let Some(shared) = &self.shared else {
            return false;
        };
        let name = format!(
            "{:x}-{:x}-{}-{}.{}-{}.{}",
            meta.dev(),
            meta.ino(),
            meta.size(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ctime(),
            meta.ctime_nsec()
        );
        let stored = shared.join(name);
        if !stored.is_file() {
            let temporary = shared.join(format!(".partial-{}-{}", std::process::id(), self.copies));
            let stored_now = fs::create_dir_all(shared).is_ok()
                && fs::copy(open_path, &temporary).is_ok()
                && fs::rename(&temporary, &stored).is_ok();
            if !stored_now {
                let _ = fs::remove_file(&temporary);
                return false;
            }
        }
        fs::hard_link(&stored, dest).is_ok()
    }

    /// A hard link is as good as a copy when nobody running as us can
    /// change the file: it is not ours, and not writable by group or others.
    /// (Root can write anything, so root always copies.)
    fn try_hard_link(&self, original_path: &str, meta: &fs::Metadata, dest: &Path) -> bool {
        let writable_by_us =
            self.euid == 0 || (meta.uid() == self.euid) || meta.mode() & 0o022 != 0;
        if writable_by_us {
            return false;
        }
        let same_file = fs::metadata(original_path)
            .is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino());
        same_file && fs::hard_link(original_path, dest).is_ok()
    }
}
