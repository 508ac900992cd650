//! Changing a replayed address space: recreating mappings from the trace
//! and writing recorded bytes.

use std::os::unix::ffi::OsStrExt;

use trace_format::{MappingSource, MemoryWrite, TraceReader};
use tracee::{remote, RemoteAddr, Task, TraceeError};

use crate::error::ReplayError;
use crate::shared::SharedObjects;

const PAGE: u64 = 4096;

pub fn page_up(addr: u64) -> u64 {
    addr.div_ceil(PAGE) * PAGE
}

/// Creates the mapping `[addr, addr+len)` exactly where the recording had
/// it, backed as recorded: the captured copy of its file, a shared object,
/// or anonymous memory. Kernel-provided mappings become anonymous
/// stand-ins; `[vvar]` pages, which only the unpatched vDSO reads, are
/// left inaccessible.
pub fn map_region(
    task: &Task,
    reader: &mut TraceReader,
    objects: &mut SharedObjects,
    region: (u64, u64),
    prot: u32,
    flags: u32,
    source: &MappingSource,
) -> Result<(), ReplayError> {
    let (addr, len) = region;
    let kept = flags
        & (libc::MAP_SHARED | libc::MAP_PRIVATE | libc::MAP_GROWSDOWN | libc::MAP_NORESERVE) as u32;
    match source {
        MappingSource::File { file, offset } => {
            // The captured copy must never change: writable shared mappings
            // of it (from traces without shared objects) become private.
            let shared = kept & libc::MAP_SHARED as u32 != 0;
            let kept = if shared && prot & libc::PROT_WRITE as u32 != 0 {
                (kept & !(libc::MAP_SHARED as u32)) | libc::MAP_PRIVATE as u32
            } else {
                kept
            };
            let path = reader.captured_file_path(&file.stored_name);
            let path = path.as_os_str().as_bytes();
            map_path(task, path, libc::O_RDONLY, (addr, len, prot, kept), *offset)
        }
        MappingSource::Shared {
            object,
            offset,
            init,
        } => objects.map(
            task,
            reader,
            *object,
            init.as_ref(),
            region,
            *offset,
            prot,
            kept,
        ),
        MappingSource::Special { name } if name.starts_with("[vvar") => {
            map_anonymous(task, addr, len, 0, libc::MAP_PRIVATE as u32)
        }
        MappingSource::Anonymous { .. } | MappingSource::Special { .. } => {
            map_anonymous(task, addr, len, prot, kept)
        }
    }
}

/// Maps the file at `path` (opened with `mode`) into `task` at the
/// recorded place: `mapping` is (address, length, protection, flags).
pub fn map_path(
    task: &Task,
    path: &[u8],
    mode: i32,
    mapping: (u64, u64, u32, u32),
    offset: u64,
) -> Result<(), ReplayError> {
    let (addr, len, prot, flags) = mapping;
    let mut c_path = path.to_vec();
    c_path.push(0);
    let path_addr = remote::put_scratch(task, &c_path)?;
    let fd = remote::syscall(
        task,
        "openat of a mapped file",
        libc::SYS_openat,
        [
            libc::AT_FDCWD as u64,
            path_addr,
            (mode | libc::O_CLOEXEC) as u64,
            0,
            0,
            0,
        ],
    )?;
    let mapped = remote::syscall(
        task,
        "mmap of a mapped file",
        libc::SYS_mmap,
        [
            addr,
            len,
            u64::from(prot),
            u64::from(flags | libc::MAP_FIXED as u32),
            fd,
            offset,
        ],
    );
    remote::syscall(task, "close", libc::SYS_close, [fd, 0, 0, 0, 0, 0])?;
    check_address(task, mapped?, addr)
}

pub fn map_anonymous(
    task: &Task,
    addr: u64,
    len: u64,
    prot: u32,
    flags: u32,
) -> Result<(), ReplayError> {
    let sharing = if flags & libc::MAP_SHARED as u32 != 0 {
        0
    } else {
        libc::MAP_PRIVATE as u32
    };
    let flags = flags | sharing | (libc::MAP_FIXED | libc::MAP_ANONYMOUS) as u32;
    let mapped = remote::syscall(
        task,
        "mmap",
        libc::SYS_mmap,
        [addr, len, u64::from(prot), u64::from(flags), u64::MAX, 0],
    )?;
    check_address(task, mapped, addr)
}

fn check_address(task: &Task, mapped: u64, wanted: u64) -> Result<(), ReplayError> {
    if mapped == wanted {
        Ok(())
    } else {
        Err(TraceeError::RemoteSyscall {
            tid: task.tid,
            name: "mmap at the recorded address",
            errno: -i64::from(libc::EFAULT),
        }
        .into())
    }
}

pub fn unmap(task: &Task, addr: u64, len: u64) -> Result<(), ReplayError> {
    remote::syscall(task, "munmap", libc::SYS_munmap, [addr, len, 0, 0, 0, 0])?;
    Ok(())
}

/// Moves the program break the way the recording's brk did, with plain
/// mappings (the replayed process's own break lies elsewhere).
pub fn move_break(task: &Task, old_end: u64, new_end: u64) -> Result<(), ReplayError> {
    let (old, new) = (page_up(old_end), page_up(new_end));
    if new > old {
        let prot = (libc::PROT_READ | libc::PROT_WRITE) as u32;
        map_anonymous(task, old, new - old, prot, libc::MAP_PRIVATE as u32)
    } else if new < old {
        unmap(task, new, old - new)
    } else {
        Ok(())
    }
}

/// Writes recorded bytes into the tracee, streaming large spans.
pub fn apply_writes(
    task: &Task,
    reader: &mut TraceReader,
    writes: &[MemoryWrite],
) -> Result<(), ReplayError> {
    for write in writes {
        let mut at = write.addr;
        reader.data().for_each_piece(write.data, |piece| {
            task.write_bytes(RemoteAddr(at), piece)?;
            at += piece.len() as u64;
            Ok::<(), ReplayError>(())
        })?;
    }
    Ok(())
}
