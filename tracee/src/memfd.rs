//! Memory files of the replayer's own, which replayed processes map to
//! share pages (the shared objects of a trace).

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
