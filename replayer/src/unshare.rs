//! Private copies of shared memory for a copy of the replay (ARCHITECTURE.md
//! "Copies of the replay"). A fork shares `MAP_SHARED` pages between copy
//! and original, so a write one of them replays later would show in the
//! other. Each group of shared mappings (one shared object's memory file,
//! or anonymous shared memory that processes inherited) gets a memory
//! file of its own with the same contents, and the copy's mappings are
//! moved onto it in place: the copy's processes still share with each
//! other what they shared, and with nothing else.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::sync::OnceLock;

use tracee::maps::MapEntry;
use tracee::{RemoteAddr, Task};

use crate::error::ReplayError;
use crate::memory;
use crate::shared::SharedObjects;

/// A shared mapping's backing, as /proc/PID/maps names it: device (major,
/// minor) and inode.
pub(crate) type Backing = ((u32, u32), u64);

/// The copy's memory file for each backing of the original's, and whether
/// it is still to be filled from the processes' memory.
pub(crate) type CopiedFiles = std::collections::HashMap<Backing, (File, bool)>;

/// Copying shared memory costs its size at every copy: above this much a
/// replay takes no copies (it replays from the start instead).
pub(crate) const MOST_SHARED_BYTES: u64 = 64 << 20;

/// How much is read from a process at a time while filling a copy.
const CHUNK: usize = 1 << 20;

pub(crate) fn backing_of(file: &File) -> std::io::Result<Backing> {
    let meta = file.metadata()?;
    Ok((
        (libc::major(meta.dev()), libc::minor(meta.dev())),
        meta.ino(),
    ))
}

fn backing(entry: &MapEntry) -> Backing {
    (entry.device, entry.inode)
}

/// Whether a mapping can ever be written (smaps "mw").
fn may_write(flags: &[String]) -> bool {
    flags.iter().any(|f| f == "mw")
}

/// Memory a fork does not copy as it is (MADV_DONTFORK, MADV_WIPEONFORK).
fn not_forked(flags: &[String]) -> bool {
    flags.iter().any(|f| f == "dc" || f == "wf")
}

/// The device of the kernel's shared memory: memory files and anonymous
/// shared mappings live there. Found once, from a memory file made for it.
fn shm_device() -> Result<(u32, u32), ReplayError> {
    static DEVICE: OnceLock<(u32, u32)> = OnceLock::new();
    if let Some(&device) = DEVICE.get() {
        return Ok(device);
    }
    let probe = tracee::memfd::create("rewind-probe").map_err(ReplayError::CopyMemory)?;
    let device = backing_of(&probe).map_err(ReplayError::CopyMemory)?.0;
    Ok(*DEVICE.get_or_init(|| device))
}

/// The bytes a copy of the shared memory would hold, or None where a copy
/// cannot be made the same: a private mapping of a shared object (its
/// untouched pages follow the object's file, which the original goes on
/// writing), a shared mapping of another file that can be written, or
/// memory a fork leaves out or wipes.
pub(crate) fn shared_bytes(
    objects: &SharedObjects,
    mappings: &[(MapEntry, Vec<String>)],
) -> Result<Option<u64>, ReplayError> {
    let object_backings = objects.backings()?;
    let mut total: u64 = object_backings.iter().map(|(_, size)| size).sum();
    let shm = shm_device()?;
    for (entry, flags) in mappings {
        let of_object = object_backings.iter().any(|(b, _)| *b == backing(entry));
        if not_forked(flags) || (of_object && !entry.shared) {
            return Ok(None);
        }
        if !entry.shared || of_object {
            continue;
        }
        if entry.device == shm {
            total += entry.len();
        } else if may_write(flags) {
            return Ok(None);
        }
    }
    Ok(Some(total))
}

/// Gives the copied processes (one task each) private copies of the shared
/// memory; returns the shared objects of the copy. A read-only shared
/// mapping of another file stays as it is: it reads the same everywhere.
pub(crate) fn unshare(
    objects: &SharedObjects,
    processes: &[&Task],
) -> Result<SharedObjects, ReplayError> {
    let failed = ReplayError::CopyMemory;
    let (copied, mut files) = objects.duplicate()?;
    let shm = shm_device()?;
    let mut mappings: Vec<(&Task, MapEntry, bool)> = Vec::new();
    for &task in processes {
        for (entry, flags) in tracee::maps::read_with_flags(task.tid)? {
            let ours = files.contains_key(&backing(&entry)) || entry.device == shm;
            if entry.shared && ours {
                mappings.push((task, entry, may_write(&flags)));
            }
        }
    }
    // Anonymous shared memory has no file of the replay's: its contents
    // are read from the first mapping of each part, before any is moved.
    let mut filled = std::collections::HashSet::new();
    for (task, entry, _) in &mappings {
        let from_object = files
            .get(&backing(entry))
            .is_some_and(|(_, from_memory)| !*from_memory);
        if from_object || !filled.insert((backing(entry), entry.offset, entry.len())) {
            continue;
        }
        let (file, _) = match files.entry(backing(entry)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let file = tracee::memfd::create("rewind-copy-shared").map_err(failed)?;
                e.insert((file, true))
            }
        };
        let end = entry.offset + entry.len();
        if file.metadata().map_err(failed)?.len() < end {
            file.set_len(end).map_err(failed)?;
        }
        let mut buf = vec![0u8; CHUNK];
        let mut at = 0;
        while at < entry.len() {
            let n = CHUNK.min((entry.len() - at) as usize);
            task.read_bytes(RemoteAddr(entry.start + at), &mut buf[..n])?;
            file.write_all_at(&buf[..n], entry.offset + at)
                .map_err(failed)?;
            at += n as u64;
        }
    }
    for (task, entry, writable) in &mappings {
        let Some((file, _)) = files.get(&backing(entry)) else {
            continue;
        };
        let path = format!("/proc/{}/fd/{}", std::process::id(), file.as_raw_fd());
        // As the original may: make the mapping writable later or not.
        let mode = if *writable {
            libc::O_RDWR
        } else {
            libc::O_RDONLY
        };
        memory::map_path(
            task,
            path.as_bytes(),
            mode,
            (
                entry.start,
                entry.len(),
                entry.prot,
                libc::MAP_SHARED as u32,
            ),
            entry.offset,
        )?;
    }
    files.clear();
    Ok(copied)
}
