//! Shared objects (ARCHITECTURE.md "Replay"): files the recorded processes
//! mapped `MAP_SHARED`, and System V segments. Each is a memory file of the
//! replayer's, which every replayed mapping of the object maps, so that
//! processes share its pages as they did in the recording; writes that
//! the recording made to the file through file descriptors are applied to
//! it at their syscalls. The trace's captured files are only ever read:
//! one may be a hard link to the host's original.

use std::collections::hash_map::{Entry, HashMap};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

use trace_format::{FileChange, SharedInit, TraceReader};
use tracee::Task;

use crate::error::ReplayError;
use crate::memory;
use crate::unshare::{backing_of, Backing, CopiedFiles};

#[derive(Default)]
pub struct SharedObjects {
    files: HashMap<u32, File>,
}

impl SharedObjects {
    /// Each object's memory file, as mappings name it, and its size.
    pub(crate) fn backings(&self) -> Result<Vec<(Backing, u64)>, ReplayError> {
        self.files
            .iter()
            .map(|(&object, file)| {
                let failed = |e: std::io::Error| ReplayError::SharedObject {
                    object,
                    reason: e.to_string(),
                };
                let size = file.metadata().map_err(failed)?.len();
                Ok((backing_of(file).map_err(failed)?, size))
            })
            .collect()
    }

    /// A copy of every object's file with the same contents, for a copy of
    /// the replay; with the copy's file of each original's backing (false:
    /// already filled).
    pub(crate) fn duplicate(&self) -> Result<(SharedObjects, CopiedFiles), ReplayError> {
        let mut copy = SharedObjects::default();
        let mut by_backing = HashMap::new();
        for (&object, file) in &self.files {
            let failed = |e: std::io::Error| ReplayError::SharedObject {
                object,
                reason: format!("cannot copy it for a copy of the replay: {e}"),
            };
            let fresh =
                tracee::memfd::create(&format!("rewind-shared-{object}")).map_err(failed)?;
            let mut source = file.try_clone().map_err(failed)?;
            std::io::Seek::seek(&mut source, std::io::SeekFrom::Start(0)).map_err(failed)?;
            let mut target = &fresh;
            std::io::copy(&mut source, &mut target).map_err(failed)?;
            fresh
                .set_len(file.metadata().map_err(failed)?.len())
                .map_err(failed)?;
            by_backing.insert(
                backing_of(file).map_err(failed)?,
                (fresh.try_clone().map_err(failed)?, false),
            );
            copy.files.insert(object, fresh);
        }
        Ok((copy, by_backing))
    }

    /// Maps `len` bytes of `object` from `offset` at `addr` in `task`,
    /// `flags` as recorded (`MAP_SHARED`, or `MAP_PRIVATE` for a private
    /// mapping of a file that was shared at the time).
    #[allow(clippy::too_many_arguments)]
    pub fn map(
        &mut self,
        task: &Task,
        reader: &mut TraceReader,
        object: u32,
        init: Option<&SharedInit>,
        region: (u64, u64),
        offset: u64,
        prot: u32,
        flags: u32,
    ) -> Result<(), ReplayError> {
        let file = self.file(object, init, reader)?;
        let path = format!("/proc/{}/fd/{}", std::process::id(), file.as_raw_fd());
        let writable = flags & libc::MAP_SHARED as u32 != 0 && prot & libc::PROT_WRITE as u32 != 0;
        let mode = if writable {
            libc::O_RDWR
        } else {
            libc::O_RDONLY
        };
        let (addr, len) = region;
        memory::map_path(
            task,
            path.as_bytes(),
            mode,
            (addr, len, prot, flags),
            offset,
        )
    }

    /// Applies what a recorded syscall did to a shared object's file.
    pub fn apply(
        &mut self,
        reader: &mut TraceReader,
        change: &FileChange,
    ) -> Result<(), ReplayError> {
        let file = self.file(change.object, None, reader)?;
        let failed = |e: std::io::Error| ReplayError::SharedObject {
            object: change.object,
            reason: e.to_string(),
        };
        file.set_len(change.size).map_err(failed)?;
        let mut at = change.offset;
        reader.data().for_each_piece(change.data, |piece| {
            file.write_all_at(piece, at).map_err(failed)?;
            at += piece.len() as u64;
            Ok::<(), ReplayError>(())
        })
    }

    fn file(
        &mut self,
        object: u32,
        init: Option<&SharedInit>,
        reader: &mut TraceReader,
    ) -> Result<&File, ReplayError> {
        let failed = |reason: String| ReplayError::SharedObject { object, reason };
        match self.files.entry(object) {
            Entry::Occupied(entry) => Ok(entry.into_mut()),
            Entry::Vacant(entry) => {
                let Some(init) = init else {
                    return Err(failed(
                        "the trace uses it before its first mapping: the trace is damaged".into(),
                    ));
                };
                let file = tracee::memfd::create(&format!("rewind-shared-{object}"))
                    .map_err(|e| failed(format!("cannot create a memory file: {e}")))?;
                fill(&file, object, init, reader)?;
                Ok(entry.insert(file))
            }
        }
    }
}

/// Puts the object's first contents into its memory file.
fn fill(
    file: &File,
    object: u32,
    init: &SharedInit,
    reader: &mut TraceReader,
) -> Result<(), ReplayError> {
    let failed = |e: std::io::Error| ReplayError::SharedObject {
        object,
        reason: e.to_string(),
    };
    match init {
        SharedInit::File(captured) => {
            let path = reader.captured_file_path(&captured.stored_name);
            let mut source =
                File::open(&path).map_err(|e| trace_format::TraceError::io(&path, e))?;
            let mut target = file;
            std::io::copy(&mut source, &mut target).map_err(failed)?;
            Ok(())
        }
        SharedInit::Memory { size, contents } => {
            file.set_len(*size).map_err(failed)?;
            for write in contents {
                let mut at = write.addr;
                reader.data().for_each_piece(write.data, |piece| {
                    file.write_all_at(piece, at).map_err(failed)?;
                    at += piece.len() as u64;
                    Ok::<(), ReplayError>(())
                })?;
            }
            Ok(())
        }
    }
}
