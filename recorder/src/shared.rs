//! Shared objects (ARCHITECTURE.md "Recording"): files the recorded
//! processes map `MAP_SHARED`, and System V segments. The kernel keeps one
//! set of pages for each, which every mapping of it sees, and writes through
//! file descriptors change those pages too. The replay backs each object
//! with one memory file of its own: the recorder names the objects, says
//! what each holds when first mapped, and records every change a syscall
//! makes to an object's file through a descriptor.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};

use trace_format::{FileChange, TraceWriter};
use tracee::{maps, Task, Tid};

use crate::error::RecordError;

/// A file as `/proc/PID/maps` names it: device numbers and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileKey {
    pub device: (u32, u32),
    pub inode: u64,
}

impl FileKey {
    pub fn of_mapping(entry: &maps::MapEntry) -> FileKey {
        FileKey {
            device: entry.device,
            inode: entry.inode,
        }
    }

    pub fn of_metadata(meta: &std::fs::Metadata) -> FileKey {
        let dev = meta.dev();
        // glibc's encoding of dev_t, as the kernel's new_encode_dev.
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
        let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
        FileKey {
            device: (major as u32, minor as u32),
            inode: meta.ino(),
        }
    }
}

/// Whether a mapping made now needs a shared object, and which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backing {
    /// The captured file will do (a private mapping of a file no recorded
    /// process shares).
    Captured,
    /// An object that exists already.
    Existing(u32),
    /// A new object; its first contents go into the trace with it.
    New(u32),
}

#[derive(Default)]
pub struct SharedFiles {
    objects: HashMap<FileKey, u32>,
    next: u32,
}

impl SharedFiles {
    /// The backing of a mapping of `key` (shared or not) made now, while
    /// `processes` are alive. An object no recorded process maps any more
    /// is not reused: the file may have changed meanwhile from outside.
    pub fn backing(&mut self, key: FileKey, shared: bool, processes: &[Tid]) -> Backing {
        let live = self
            .objects
            .get(&key)
            .copied()
            .filter(|_| mapped_anywhere(key, processes));
        match (live, shared) {
            (Some(object), _) => Backing::Existing(object),
            (None, false) => Backing::Captured,
            (None, true) => {
                let object = self.next;
                self.next += 1;
                self.objects.insert(key, object);
                Backing::New(object)
            }
        }
    }

    /// The object of file `key`, if it has one.
    pub fn object_of(&self, key: FileKey) -> Option<u32> {
        self.objects.get(&key).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

/// Whether any of `processes` maps `key` shared.
fn mapped_anywhere(key: FileKey, processes: &[Tid]) -> bool {
    processes.iter().any(|&pid| {
        maps::read_maps(pid).is_ok_and(|entries| {
            entries
                .iter()
                .any(|e| e.shared && FileKey::of_mapping(e) == key)
        })
    })
}

/// What a syscall that succeeded may have changed in a file through a
/// descriptor: the descriptor, and the bytes affected (`None`: only the
/// size).
struct FileWrite {
    fd: u64,
    range: Option<(u64, u64)>,
}

/// The file writes of a successful syscall (`regs` at its entry), as far
/// as they can change an object: writes, truncation, fallocate, copies
/// into a file, an open with O_TRUNC.
fn file_write(task: &Task, regs: &trace_format::Registers, result: i64) -> Option<FileWrite> {
    let a = regs.syscall_args();
    let n = u64::try_from(result).ok()?;
    let at_position = |fd: u64| {
        let end = descriptor_position(task.tid, fd)?;
        Some(FileWrite {
            fd,
            range: Some((end.saturating_sub(n), n)),
        })
    };
    let at_pointer = |fd: u64, pointer: u64| {
        if pointer == 0 {
            return at_position(fd);
        }
        let end = task.read_u64(tracee::RemoteAddr(pointer)).ok()?;
        Some(FileWrite {
            fd,
            range: Some((end.saturating_sub(n), n)),
        })
    };
    let truncating = |flags: u64| flags & libc::O_TRUNC as u64 != 0;
    match regs.orig_rax as i64 {
        libc::SYS_write | libc::SYS_writev => at_position(a[0]),
        libc::SYS_pwrite64 | libc::SYS_pwritev => Some(FileWrite {
            fd: a[0],
            range: Some((a[3], n)),
        }),
        libc::SYS_pwritev2 if a[3] == u64::MAX => at_position(a[0]),
        libc::SYS_pwritev2 => Some(FileWrite {
            fd: a[0],
            range: Some((a[3], n)),
        }),
        libc::SYS_ftruncate => Some(FileWrite {
            fd: a[0],
            range: None,
        }),
        libc::SYS_fallocate => Some(FileWrite {
            fd: a[0],
            range: Some((a[2], a[3])),
        }),
        libc::SYS_sendfile => at_position(a[0]),
        libc::SYS_copy_file_range | libc::SYS_splice => at_pointer(a[2], a[3]),
        libc::SYS_open if truncating(a[1]) => Some(FileWrite { fd: n, range: None }),
        libc::SYS_openat if truncating(a[2]) => Some(FileWrite { fd: n, range: None }),
        libc::SYS_creat => Some(FileWrite { fd: n, range: None }),
        libc::SYS_openat2 => {
            let flags = task.read_u64(tracee::RemoteAddr(a[2])).ok()?;
            truncating(flags).then_some(FileWrite { fd: n, range: None })
        }
        _ => None,
    }
}

/// The file position of descriptor `fd` of thread `tid`.
fn descriptor_position(tid: Tid, fd: u64) -> Option<u64> {
    let info = std::fs::read_to_string(format!("/proc/{tid}/fdinfo/{fd}")).ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("pos:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The path by which the recorder reaches the file of descriptor `fd`.
fn descriptor_path(tid: Tid, fd: u64) -> String {
    format!("/proc/{tid}/fd/{fd}")
}

impl SharedFiles {
    /// What a finished syscall changed in files behind objects.
    pub fn changes(
        &self,
        task: &Task,
        regs: &trace_format::Registers,
        result: i64,
        writer: &mut TraceWriter,
    ) -> Result<Vec<FileChange>, RecordError> {
        if self.is_empty() || result < 0 {
            return Ok(Vec::new());
        }
        let truncated_path = (regs.orig_rax as i64 == libc::SYS_truncate)
            .then(|| path_of(task.tid, regs.rdi))
            .flatten();
        let (path, range) = match (truncated_path, file_write(task, regs, result)) {
            (Some(path), _) => (path, None),
            (None, Some(write)) => (descriptor_path(task.tid, write.fd), write.range),
            (None, None) => return Ok(Vec::new()),
        };
        let Ok(meta) = std::fs::metadata(&path) else {
            return Ok(Vec::new());
        };
        let Some(object) = self.object_of(FileKey::of_metadata(&meta)) else {
            return Ok(Vec::new());
        };
        let size = meta.len();
        let (offset, bytes) = match range {
            Some((offset, len)) => {
                let len = len.min(size.saturating_sub(offset));
                (offset, read_file(&path, offset, len)?)
            }
            None => (size, Vec::new()),
        };
        Ok(vec![FileChange {
            object,
            size,
            offset,
            data: writer.append_data(&bytes)?,
        }])
    }
}

/// The file truncate(2) named, as the recorder reaches it: relative
/// paths from the thread's working directory, absolute ones from its root.
fn path_of(tid: Tid, pointer: u64) -> Option<String> {
    let task = Task::new(tid).ok()?;
    let mut bytes = vec![0u8; 4096];
    let got = task.read_partial(tracee::RemoteAddr(pointer), &mut bytes);
    let end = bytes[..got].iter().position(|&b| b == 0)?;
    let path = String::from_utf8_lossy(&bytes[..end]).into_owned();
    Some(match path.strip_prefix('/') {
        Some(absolute) => format!("/proc/{tid}/root/{absolute}"),
        None => format!("/proc/{tid}/cwd/{path}"),
    })
}

fn read_file(path: &str, offset: u64, len: u64) -> Result<Vec<u8>, RecordError> {
    let failed = |e: std::io::Error| RecordError::Capture {
        path: path.to_string(),
        reason: format!("reading what a write left in the shared file failed: {e}"),
    };
    let file = File::open(path).map_err(failed)?;
    let mut bytes = vec![0u8; len as usize];
    let mut done = 0;
    while done < bytes.len() {
        match file.read_at(&mut bytes[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(failed(e)),
        }
    }
    bytes.truncate(done);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_mapping_of_an_unshared_file_uses_the_capture() {
        let mut shared = SharedFiles::default();
        let key = FileKey {
            device: (8, 1),
            inode: 42,
        };
        assert_eq!(shared.backing(key, false, &[]), Backing::Captured);
        assert_eq!(shared.backing(key, true, &[]), Backing::New(0));
        // Nobody maps it now (no processes): a new object, as the file may
        // have changed since.
        assert_eq!(shared.backing(key, true, &[]), Backing::New(1));
        assert_eq!(shared.object_of(key), Some(1));
    }
}
