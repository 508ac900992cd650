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

use trace_format::{DataRef, FileChange, Registers, TraceWriter};
use tracee::{maps, RemoteAddr, Task, Tid};

use crate::error::RecordError;

/// A file as the kernel names it: device numbers and inode.
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

    /// The device as fstat's st_dev encodes it (glibc's makedev).
    pub fn st_dev(&self) -> u64 {
        let (major, minor) = (u64::from(self.device.0), u64::from(self.device.1));
        ((major & 0xfff) << 8) | ((major & !0xfff) << 32) | (minor & 0xff) | ((minor & !0xff) << 12)
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

/// A file's two names: what `stat` of a descriptor says, and what
/// `/proc/PID/maps` shows for a mapping of it. They differ on overlay file
/// systems, where maps names the file of the layer beneath.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileNames {
    pub opened: FileKey,
    pub mapped: FileKey,
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

/// The mapping being made, which the liveness of an object must not count.
#[derive(Debug, Clone, Copy)]
pub struct NewMapping {
    pub pid: Tid,
    pub start: u64,
    pub end: u64,
}

#[derive(Default)]
pub struct SharedFiles {
    /// Objects by the name `stat` gives their file.
    objects: HashMap<FileKey, u32>,
    /// Each object's name in `/proc/PID/maps`.
    mapped_as: Vec<FileKey>,
}

impl SharedFiles {
    /// The backing of a mapping of `file` (shared or not) made now, while
    /// `processes` are alive. An object no recorded process maps any more
    /// is not reused: the file may have changed meanwhile from outside.
    pub fn backing(
        &mut self,
        file: FileNames,
        shared: bool,
        processes: &[Tid],
        new: NewMapping,
    ) -> Backing {
        let live = self.objects.get(&file.opened).copied().filter(|&object| {
            let mapped = self.mapped_as.get(object as usize).copied();
            mapped.is_some_and(|key| mapped_anywhere(key, processes, new))
        });
        match (live, shared) {
            (Some(object), _) => Backing::Existing(object),
            (None, false) => Backing::Captured,
            (None, true) => {
                let object = self.mapped_as.len() as u32;
                self.mapped_as.push(file.mapped);
                self.objects.insert(file.opened, object);
                Backing::New(object)
            }
        }
    }

    /// How many objects there have been; the list only grows.
    pub fn count(&self) -> usize {
        self.objects.len()
    }

    /// The files of all objects as fstat names them (st_dev, st_ino): the
    /// preload library's writes must not reach them.
    pub fn files(&self) -> Vec<(u64, u64)> {
        let mut files: Vec<(u64, u64)> = self
            .objects
            .keys()
            .map(|key| (key.st_dev(), key.inode))
            .collect();
        files.sort_unstable();
        files
    }

    /// The object of the file `stat` names `key`, if it has one.
    fn object_of(&self, key: FileKey) -> Option<u32> {
        self.objects.get(&key).copied()
    }
}

/// Whether any of `processes` maps `key` shared, besides `new`.
fn mapped_anywhere(key: FileKey, processes: &[Tid], new: NewMapping) -> bool {
    processes.iter().any(|&pid| {
        maps::read_maps(pid).is_ok_and(|entries| {
            entries.iter().any(|e| {
                let is_new = pid == new.pid && e.start >= new.start && e.end <= new.end;
                e.shared && !is_new && FileKey::of_mapping(e) == key
            })
        })
    })
}

/// Which bytes of the file a write-like syscall changes, as far as its
/// entry tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    /// As many bytes as the result, from this offset.
    At(u64),
    /// As many bytes as the result, at the file's end (O_APPEND,
    /// RWF_APPEND; Linux appends even a pwrite to an O_APPEND file).
    Append,
    /// These bytes (offset, length), as far as the file reaches.
    Range(u64, u64),
    /// From this offset to the file's end (fallocate collapsing or
    /// inserting a range shifts what follows).
    From(u64),
    /// Only the size changes.
    Size,
}

/// A syscall in the kernel that changes the file of an object through a
/// descriptor or a path.
#[derive(Debug, Clone)]
pub struct SharedWrite {
    object: u32,
    /// How the recorder reaches the file.
    path: String,
    span: Span,
}

/// fallocate modes that shift the file's tail, and that zero a range.
const FALLOC_FL_PUNCH_HOLE: u64 = 0x02;
const FALLOC_FL_COLLAPSE_RANGE: u64 = 0x08;
const FALLOC_FL_ZERO_RANGE: u64 = 0x10;
const FALLOC_FL_INSERT_RANGE: u64 = 0x20;
/// pwritev2's flag to append.
const RWF_APPEND: u64 = 0x10;
const FICLONE: u64 = 0x4004_9409;
const FICLONERANGE: u64 = 0x4020_940d;

impl SharedFiles {
    /// At a syscall's entry (`regs`): whether it may change the file of a
    /// shared object, and which bytes. Such a syscall must run to its end
    /// before any other thread runs user code, or a thread reading the
    /// mapping could see the change before the trace has it.
    pub fn write_at_entry(&self, task: &Task, regs: &Registers) -> Option<SharedWrite> {
        if self.objects.is_empty() {
            return None;
        }
        let a = regs.syscall_args();
        let tid = task.tid;
        let fd_path = |fd: u64| format!("/proc/{tid}/fd/{fd}");
        let position = |fd: u64| {
            let (pos, append) = descriptor_state(tid, fd)?;
            Some(if append { Span::Append } else { Span::At(pos) })
        };
        let offset_or_append = |fd: u64, offset: u64| {
            let (_, append) = descriptor_state(tid, fd)?;
            Some(if append {
                Span::Append
            } else {
                Span::At(offset)
            })
        };
        // The descriptor written and the bytes written, or a path.
        let (path, span) = match regs.orig_rax as i64 {
            libc::SYS_write | libc::SYS_writev => (fd_path(a[0]), position(a[0])?),
            libc::SYS_pwrite64 | libc::SYS_pwritev => {
                (fd_path(a[0]), offset_or_append(a[0], a[3])?)
            }
            libc::SYS_pwritev2 => {
                let span = if a[5] & RWF_APPEND != 0 {
                    Span::Append
                } else if a[3] == u64::MAX {
                    position(a[0])?
                } else {
                    offset_or_append(a[0], a[3])?
                };
                (fd_path(a[0]), span)
            }
            libc::SYS_ftruncate => (fd_path(a[0]), Span::Size),
            libc::SYS_truncate => (path_of(task, a[0])?, Span::Size),
            libc::SYS_fallocate => {
                let span = if a[1] & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE) != 0 {
                    Span::From(a[2])
                } else if a[1] & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE) != 0 {
                    Span::Range(a[2], a[3])
                } else {
                    Span::Size
                };
                (fd_path(a[0]), span)
            }
            libc::SYS_sendfile => (fd_path(a[0]), position(a[0])?),
            libc::SYS_copy_file_range | libc::SYS_splice => {
                let span = if a[3] == 0 {
                    position(a[2])?
                } else {
                    Span::At(task.read_u64(RemoteAddr(a[3])).ok()?)
                };
                (fd_path(a[2]), span)
            }
            libc::SYS_ioctl if a[1] & 0xffff_ffff == FICLONE => (fd_path(a[0]), Span::From(0)),
            libc::SYS_ioctl if a[1] & 0xffff_ffff == FICLONERANGE => {
                let length = task.read_u64(RemoteAddr(a[2] + 16)).ok()?;
                let offset = task.read_u64(RemoteAddr(a[2] + 24)).ok()?;
                let span = if length == 0 {
                    Span::From(offset)
                } else {
                    Span::Range(offset, length)
                };
                (fd_path(a[0]), span)
            }
            _ => return None,
        };
        let object = self.object_of(FileKey::of_metadata(&std::fs::metadata(&path).ok()?))?;
        Some(SharedWrite { object, path, span })
    }

    /// What a finished syscall changed in files behind objects: the one
    /// `write` found at its entry, or an open with O_TRUNC of one.
    pub fn changes(
        &self,
        tid: Tid,
        regs: &Registers,
        write: Option<&SharedWrite>,
        result: i64,
        writer: &mut TraceWriter,
    ) -> Result<Vec<FileChange>, RecordError> {
        let Ok(count) = u64::try_from(result) else {
            return Ok(Vec::new());
        };
        let truncating_open = match write {
            Some(_) => None,
            None => self.truncating_open(tid, regs, count),
        };
        let Some(write) = write.or(truncating_open.as_ref()) else {
            return Ok(Vec::new());
        };
        let Ok(meta) = std::fs::metadata(&write.path) else {
            return Ok(Vec::new());
        };
        let size = meta.len();
        let (offset, len) = match write.span {
            Span::At(offset) => (offset, count),
            Span::Append => (size.saturating_sub(count), count),
            Span::Range(offset, len) => (offset, len),
            Span::From(offset) => (offset, size.saturating_sub(offset)),
            Span::Size => (size, 0),
        };
        let len = len.min(size.saturating_sub(offset));
        let data = copy_file(&write.path, offset, len, writer)?;
        Ok(vec![FileChange {
            object: write.object,
            size,
            offset,
            data,
        }])
    }

    /// An open, openat, openat2 or creat that truncated a file with an
    /// object, whose new descriptor is `fd`.
    fn truncating_open(&self, tid: Tid, regs: &Registers, fd: u64) -> Option<SharedWrite> {
        if self.objects.is_empty() {
            return None;
        }
        let a = regs.syscall_args();
        let truncating = |flags: u64| flags & libc::O_TRUNC as u64 != 0;
        let truncated = match regs.orig_rax as i64 {
            libc::SYS_open => truncating(a[1]),
            libc::SYS_openat => truncating(a[2]),
            libc::SYS_creat => true,
            libc::SYS_openat2 => {
                let task = Task::new(tid).ok()?;
                truncating(task.read_u64(RemoteAddr(a[2])).ok()?)
            }
            _ => false,
        };
        if !truncated {
            return None;
        }
        let path = format!("/proc/{tid}/fd/{fd}");
        let object = self.object_of(FileKey::of_metadata(&std::fs::metadata(&path).ok()?))?;
        Some(SharedWrite {
            object,
            path,
            span: Span::Size,
        })
    }
}

/// The file position of descriptor `fd` of thread `tid`, and whether it
/// appends (O_APPEND in its flags).
fn descriptor_state(tid: Tid, fd: u64) -> Option<(u64, bool)> {
    let info = std::fs::read_to_string(format!("/proc/{tid}/fdinfo/{fd}")).ok()?;
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
    };
    let pos = field("pos:")?.parse().ok()?;
    let flags = u64::from_str_radix(field("flags:")?, 8).ok()?;
    Some((pos, flags & libc::O_APPEND as u64 != 0))
}

/// The file truncate(2) named, as the recorder reaches it: relative
/// paths from the thread's working directory, absolute ones from its root.
fn path_of(task: &Task, pointer: u64) -> Option<String> {
    let tid = task.tid;
    let mut bytes = vec![0u8; 4096];
    let got = task.read_partial(RemoteAddr(pointer), &mut bytes);
    let end = bytes[..got].iter().position(|&b| b == 0)?;
    let path = String::from_utf8_lossy(&bytes[..end]).into_owned();
    Some(match path.strip_prefix('/') {
        Some(absolute) => format!("/proc/{tid}/root/{absolute}"),
        None => format!("/proc/{tid}/cwd/{path}"),
    })
}

/// Bytes of the file copied into the trace at a time.
const PIECE: usize = 1 << 20;

/// Streams `len` bytes of the file at `path` from `offset` into the
/// trace's data.
fn copy_file(
    path: &str,
    offset: u64,
    len: u64,
    writer: &mut TraceWriter,
) -> Result<DataRef, RecordError> {
    let failed = |e: std::io::Error| RecordError::Capture {
        path: std::fs::read_link(path)
            .map_or_else(|_| path.to_string(), |p| p.display().to_string()),
        reason: format!("reading what a syscall wrote into it failed: {e}"),
    };
    if len == 0 {
        return Ok(DataRef {
            offset: writer.data_position(),
            len: 0,
        });
    }
    let file = File::open(path).map_err(failed)?;
    copy_from(&file, offset, len, writer, failed)
}

/// Streams up to `len` bytes of `file` from `offset` into the trace's
/// data, a piece at a time; fewer where the file ends first.
pub fn copy_from(
    file: &File,
    offset: u64,
    len: u64,
    writer: &mut TraceWriter,
    failed: impl Fn(std::io::Error) -> RecordError,
) -> Result<DataRef, RecordError> {
    let start = writer.data_position();
    let mut piece = vec![0u8; PIECE.min(len as usize)];
    let mut done = 0u64;
    while done < len {
        let want = ((len - done) as usize).min(piece.len());
        match file.read_at(&mut piece[..want], offset + done) {
            Ok(0) => break,
            Ok(n) => {
                writer.append_data(&piece[..n])?;
                done += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(failed(e)),
        }
    }
    Ok(DataRef {
        offset: start,
        len: done,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(inode: u64) -> FileNames {
        let key = FileKey {
            device: (8, 1),
            inode,
        };
        FileNames {
            opened: key,
            mapped: key,
        }
    }

    const NEW: NewMapping = NewMapping {
        pid: 1,
        start: 0x1000,
        end: 0x2000,
    };

    #[test]
    fn a_private_mapping_of_an_unshared_file_uses_the_capture() {
        let mut shared = SharedFiles::default();
        assert_eq!(
            shared.backing(names(42), false, &[], NEW),
            Backing::Captured
        );
        assert_eq!(shared.backing(names(42), true, &[], NEW), Backing::New(0));
        // Nobody maps it now (no processes): a new object, as the file may
        // have changed since.
        assert_eq!(shared.backing(names(42), true, &[], NEW), Backing::New(1));
        assert_eq!(shared.object_of(names(42).opened), Some(1));
        assert_eq!(shared.backing(names(7), true, &[], NEW), Backing::New(2));
    }
}
