//! `vFile:` host I/O: gdb reads the program's executable and libraries
//! through the target, which serves them from the trace. Read-only; replies
//! are `F<result>[,errno][;data]` with numbers in hex and errno values from
//! the protocol's own list, not the host's.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};

use crate::connection::Connection;
use crate::framing::escape_binary;
use crate::packets::FileRequest;
use crate::session::{Session, PACKET_SIZE};
use crate::target::TargetError;

/// Open files one client may hold; gdb keeps a handful.
const MAX_OPEN_FILES: usize = 64;

// File-I/O errno values (the protocol's list).
const EBADF: i32 = 9;
const EACCES: i32 = 13;
const EINVAL: i32 = 22;
const EMFILE: i32 = 24;
const ENOSYS: i32 = 88;
const ENAMETOOLONG: i32 = 91;
const EUNKNOWN: i32 = 9999;

// File-I/O open flags that ask for writing.
const O_WRONLY: u64 = 0x1;
const O_RDWR: u64 = 0x2;
const O_APPEND: u64 = 0x8;
const O_CREAT: u64 = 0x200;
const O_TRUNC: u64 = 0x400;
const O_EXCL: u64 = 0x800;

// File-I/O mode bits: the two file types the protocol names and the
// permission bits.
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;

/// Host errno to the protocol's: Linux agrees on the small numbers the
/// list has; the rest differ or are absent.
fn fileio_errno(linux: i32) -> i32 {
    match linux {
        1 | 2 | 4 | 9 | 13 | 14 | 16 | 17 | 19..=24 | 27..=30 => linux,
        36 => ENAMETOOLONG,
        38 => ENOSYS,
        _ => EUNKNOWN,
    }
}

fn target_errno(err: &TargetError) -> i32 {
    match err {
        TargetError::Errno(e) => fileio_errno(*e),
        TargetError::Unsupported => ENOSYS,
        TargetError::Message(_) => EUNKNOWN,
    }
}

fn io_errno(err: &io::Error) -> i32 {
    err.raw_os_error().map_or(EUNKNOWN, fileio_errno)
}

fn failure(errno: i32) -> Vec<u8> {
    format!("F-1,{errno:x}").into_bytes()
}

/// `F<count>;<data>`, the data escaped; `data` must fit one reply.
fn success_with_data(data: &[u8]) -> Vec<u8> {
    let mut reply = format!("F{:x};", data.len()).into_bytes();
    escape_binary(data, &mut reply, usize::MAX);
    reply
}

/// gdb's `struct stat` for File-I/O: fixed sizes, big-endian.
fn fileio_stat(meta: &std::fs::Metadata) -> [u8; 64] {
    let mode_type = match meta.mode() & 0o170000 {
        S_IFREG => S_IFREG,
        S_IFDIR => S_IFDIR,
        _ => 0,
    };
    // Wider host values are cut to the protocol's 32 bits.
    let fields32 = [
        meta.dev() as u32,
        meta.ino() as u32,
        mode_type | (meta.mode() & 0o777),
        meta.nlink() as u32,
        meta.uid(),
        meta.gid(),
        meta.rdev() as u32,
    ];
    let fields64 = [meta.size(), meta.blksize(), meta.blocks()];
    let times = [
        meta.atime() as u32,
        meta.mtime() as u32,
        meta.ctime() as u32,
    ];
    let mut out = [0u8; 64];
    let mut at = 0;
    for v in fields32 {
        out[at..at + 4].copy_from_slice(&v.to_be_bytes());
        at += 4;
    }
    for v in fields64 {
        out[at..at + 8].copy_from_slice(&v.to_be_bytes());
        at += 8;
    }
    for v in times {
        out[at..at + 4].copy_from_slice(&v.to_be_bytes());
        at += 4;
    }
    out
}

/// Files the client opened, by the descriptor number it was given.
#[derive(Default)]
pub(crate) struct FileTable {
    slots: Vec<Option<File>>,
}

impl FileTable {
    fn insert(&mut self, file: File) -> Option<usize> {
        if let Some(free) = self.slots.iter().position(Option::is_none) {
            self.slots[free] = Some(file);
            return Some(free);
        }
        if self.slots.len() >= MAX_OPEN_FILES {
            return None;
        }
        self.slots.push(Some(file));
        Some(self.slots.len() - 1)
    }

    fn get(&self, fd: i64) -> Option<&File> {
        self.slots.get(usize::try_from(fd).ok()?)?.as_ref()
    }

    fn remove(&mut self, fd: i64) -> Option<File> {
        self.slots.get_mut(usize::try_from(fd).ok()?)?.take()
    }
}

impl<C: Connection> Session<'_, C> {
    pub(crate) fn file_request(&mut self, request: FileRequest<'_>) -> Vec<u8> {
        let Some(host) = self.target.host_files() else {
            // Empty: gdb then reads files on its own machine.
            return Vec::new();
        };
        match request {
            // Paths are the traced program's; whichever process gdb names,
            // the target resolves them.
            FileRequest::SetFs(_) => b"F0".to_vec(),
            FileRequest::Open { path, flags, .. } => {
                if flags & (O_WRONLY | O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_EXCL) != 0 {
                    return failure(EACCES);
                }
                let Ok(path) = String::from_utf8(path) else {
                    return failure(EINVAL);
                };
                match host.open(&path) {
                    Ok(file) => match self.files.insert(file) {
                        Some(fd) => format!("F{fd:x}").into_bytes(),
                        None => failure(EMFILE),
                    },
                    Err(e) => failure(target_errno(&e)),
                }
            }
            FileRequest::Pread { fd, count, offset } => {
                let Some(file) = self.files.get(fd) else {
                    return failure(EBADF);
                };
                // Room for the header, and for every byte to be escaped.
                let mut buf = vec![0u8; count.min((PACKET_SIZE - 32) / 2)];
                match read_at_retrying(file, &mut buf, offset) {
                    Ok(n) => success_with_data(&buf[..n]),
                    Err(e) => failure(io_errno(&e)),
                }
            }
            FileRequest::Close(fd) => match self.files.remove(fd) {
                Some(_) => b"F0".to_vec(),
                None => failure(EBADF),
            },
            FileRequest::Fstat(fd) => {
                let Some(file) = self.files.get(fd) else {
                    return failure(EBADF);
                };
                match file.metadata() {
                    Ok(meta) => success_with_data(&fileio_stat(&meta)),
                    Err(e) => failure(io_errno(&e)),
                }
            }
            FileRequest::Readlink(path) => {
                let Ok(path) = String::from_utf8(path) else {
                    return failure(EINVAL);
                };
                match host.readlink(&path) {
                    Ok(target) if target.len() <= (PACKET_SIZE - 32) / 2 => {
                        success_with_data(target.as_bytes())
                    }
                    Ok(_) => failure(ENAMETOOLONG),
                    Err(e) => failure(target_errno(&e)),
                }
            }
            FileRequest::Other(_) => failure(ENOSYS),
        }
    }
}

fn read_at_retrying(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    loop {
        match file.read_at(buf, offset) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_mapping() {
        assert_eq!(fileio_errno(2), 2);
        assert_eq!(fileio_errno(13), 13);
        assert_eq!(fileio_errno(36), ENAMETOOLONG);
        assert_eq!(fileio_errno(38), ENOSYS);
        assert_eq!(fileio_errno(5), EUNKNOWN);
        assert_eq!(failure(EACCES), b"F-1,d");
        assert_eq!(failure(ENOSYS), b"F-1,58");
    }

    #[test]
    fn stat_layout() {
        let meta = std::fs::metadata(std::env::current_exe().unwrap()).unwrap();
        let st = fileio_stat(&meta);
        let mode = u32::from_be_bytes([st[8], st[9], st[10], st[11]]);
        assert_eq!(mode & 0o170000, S_IFREG);
        let size = u64::from_be_bytes(st[28..36].try_into().unwrap());
        assert_eq!(size, meta.len());
        let mtime = u32::from_be_bytes(st[56..60].try_into().unwrap());
        assert_eq!(mtime, meta.mtime() as u32);
    }

    #[test]
    fn table_is_bounded_and_reuses_slots() {
        let mut table = FileTable::default();
        let exe = std::env::current_exe().unwrap();
        for i in 0..MAX_OPEN_FILES {
            assert_eq!(table.insert(File::open(&exe).unwrap()), Some(i));
        }
        assert_eq!(table.insert(File::open(&exe).unwrap()), None);
        assert!(table.remove(3).is_some());
        assert!(table.remove(3).is_none());
        assert!(table.get(-1).is_none());
        assert_eq!(table.insert(File::open(&exe).unwrap()), Some(3));
    }

    #[test]
    fn data_replies_are_escaped() {
        assert_eq!(success_with_data(b"a}b"), b"F3;a}]b");
    }
}
