//! Memory files of the replayer's own, which replayed processes map to
//! share pages (the shared objects of a trace), and where a sparse file
//! holds data.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::FromRawFd;

/// A new, empty memory file named `name` (shown in `/proc/PID/maps` as
/// `/memfd:NAME`). Other processes reach it through its path under this
/// process's `/proc/PID/fd`.
pub fn create(name: &str) -> io::Result<File> {
    let name = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `name` is a live NUL-terminated string; memfd_create returns
    // a new fd or -1.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// The stretches (offset, length) of `file` that hold data, as SEEK_DATA
/// and SEEK_HOLE find them: the holes of a sparse file (an untouched
/// System V segment, say) read as zeros without being stored.
pub fn data_extents(file: &File) -> io::Result<Vec<(u64, u64)>> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    let seek = |offset: u64, whence: i32| -> io::Result<Option<u64>> {
        // SAFETY: lseek on a descriptor `file` owns; it touches no memory.
        let at = unsafe { libc::lseek(fd, offset as libc::off_t, whence) };
        if at >= 0 {
            return Ok(Some(at as u64));
        }
        match io::Error::last_os_error() {
            // No data after `offset`.
            e if e.raw_os_error() == Some(libc::ENXIO) => Ok(None),
            e => Err(e),
        }
    };
    let mut extents = Vec::new();
    let mut at = 0;
    while let Some(start) = seek(at, libc::SEEK_DATA)? {
        let end = seek(start, libc::SEEK_HOLE)?.unwrap_or(start);
        if end <= start {
            break;
        }
        extents.push((start, end - start));
        at = end;
    }
    Ok(extents)
}
