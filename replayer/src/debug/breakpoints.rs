//! The debugger's breakpoints and watchpoints in the replayed process:
//! software breakpoints as int3 bytes in its memory (the original bytes
//! kept here, and shown instead of int3 when the debugger reads memory),
//! hardware ones in the debug registers the replay leaves free.

use std::collections::BTreeMap;

use gdb_remote::{BreakpointKind, TargetError, WatchKind};
use tracee::debugregs::{self, DebugKind};
use tracee::{RemoteAddr, Task, Tid};

use crate::point::REPLAY_SLOT;

const INT3: u8 = 0xcc;

/// One armed debug register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HardwareSlot {
    pub addr: u64,
    pub len: u64,
    /// None: an instruction breakpoint.
    pub watch: Option<WatchKind>,
    /// The `Z` packet's address and length this slot is part of (a watched
    /// range may need several slots).
    pub request: (u64, u64),
}

#[derive(Default)]
pub struct BreakpointTable {
    /// Address -> the byte int3 replaced.
    software: BTreeMap<u64, u8>,
    hardware: [Option<HardwareSlot>; REPLAY_SLOT],
}

fn errno(e: i32) -> TargetError {
    TargetError::Errno(e)
}

/// Splits `[addr, addr+len)` into the aligned 1/2/4/8-byte pieces that
/// debug registers can watch.
fn aligned_pieces(mut addr: u64, len: u64) -> Option<Vec<(u64, u64)>> {
    let end = addr.checked_add(len)?;
    let mut pieces = Vec::new();
    while addr < end {
        let size = [8u64, 4, 2, 1]
            .into_iter()
            .find(|&s| addr.is_multiple_of(s) && addr + s <= end)
            .unwrap_or(1);
        pieces.push((addr, size));
        addr += size;
    }
    Some(pieces)
}

impl BreakpointTable {
    pub fn software_at(&self, addr: u64) -> bool {
        self.software.contains_key(&addr)
    }

    pub fn has_software(&self) -> bool {
        !self.software.is_empty()
    }

    /// Whether a software breakpoint lies in `[start, end)`.
    pub fn software_within(&self, start: u64, end: u64) -> bool {
        self.software.range(start..end).next().is_some()
    }

    pub fn has_hardware(&self) -> bool {
        self.hardware.iter().any(Option::is_some)
    }

    /// Puts the original bytes back into a copy of memory read at `addr`.
    pub fn shadow(&self, addr: u64, bytes: &mut [u8]) {
        let end = addr.saturating_add(bytes.len() as u64);
        for (&at, &original) in self.software.range(addr..end) {
            bytes[(at - addr) as usize] = original;
        }
    }

    /// Inserts a breakpoint or watchpoint; `memory` is a thread of the
    /// debugged process, `threads` all of its threads (debug registers are
    /// per thread).
    pub fn insert(
        &mut self,
        memory: &Task,
        threads: &[Tid],
        kind: BreakpointKind,
        addr: u64,
        len: u64,
    ) -> Result<(), TargetError> {
        match kind {
            BreakpointKind::Software => {
                let mut current = [0u8];
                let armed =
                    memory.read_bytes(RemoteAddr(addr), &mut current).is_ok() && current[0] == INT3;
                if self.software.contains_key(&addr) && armed {
                    return Ok(());
                }
                let mut original = [0u8];
                memory
                    .read_bytes(RemoteAddr(addr), &mut original)
                    .map_err(|_| errno(libc::EFAULT))?;
                memory
                    .write_bytes(RemoteAddr(addr), &[INT3])
                    .map_err(|_| errno(libc::EFAULT))?;
                self.software.insert(addr, original[0]);
                Ok(())
            }
            BreakpointKind::Hardware => {
                self.insert_hardware(threads, vec![(addr, 1)], None, (addr, len))
            }
            // x86 cannot watch reads alone; gdb then asks for an access
            // watchpoint and checks the value itself.
            BreakpointKind::Watch(WatchKind::Read) => Err(TargetError::Unsupported),
            BreakpointKind::Watch(watch) => {
                let pieces = aligned_pieces(addr, len)
                    .filter(|p| !p.is_empty() && len <= 8 * REPLAY_SLOT as u64)
                    .ok_or(errno(libc::EINVAL))?;
                self.insert_hardware(threads, pieces, Some(watch), (addr, len))
            }
        }
    }

    fn insert_hardware(
        &mut self,
        threads: &[Tid],
        pieces: Vec<(u64, u64)>,
        watch: Option<WatchKind>,
        request: (u64, u64),
    ) -> Result<(), TargetError> {
        let free: Vec<usize> = (0..REPLAY_SLOT)
            .filter(|&s| self.hardware[s].is_none())
            .collect();
        if free.len() < pieces.len() {
            return Err(errno(libc::ENOSPC));
        }
        for (&slot, &(addr, len)) in free.iter().zip(&pieces) {
            self.hardware[slot] = Some(HardwareSlot {
                addr,
                len,
                watch,
                request,
            });
        }
        let armed = threads.iter().try_for_each(|&tid| self.arm(tid));
        if armed.is_err() {
            // The kernel refused the address: leave every thread as it was.
            for &slot in free.iter().take(pieces.len()) {
                self.hardware[slot] = None;
            }
            for &tid in threads {
                let _ = self.arm(tid);
            }
            return Err(errno(libc::EINVAL));
        }
        Ok(())
    }

    pub fn remove(
        &mut self,
        memory: Option<&Task>,
        threads: &[Tid],
        kind: BreakpointKind,
        addr: u64,
        len: u64,
    ) -> Result<(), TargetError> {
        match kind {
            BreakpointKind::Software => {
                // Unknown addresses (gone with an exec) are already removed.
                if let (Some(original), Some(memory)) = (self.software.remove(&addr), memory) {
                    memory
                        .write_bytes(RemoteAddr(addr), &[original])
                        .map_err(|_| errno(libc::EFAULT))?;
                }
                Ok(())
            }
            BreakpointKind::Hardware | BreakpointKind::Watch(_) => {
                let watch = match kind {
                    BreakpointKind::Watch(w) => Some(w),
                    _ => None,
                };
                for slot in 0..REPLAY_SLOT {
                    let matches = self.hardware[slot]
                        .is_some_and(|h| h.request == (addr, len) && h.watch == watch);
                    if matches {
                        self.hardware[slot] = None;
                        for &tid in threads {
                            let _ = debugregs::clear_slot(tid, slot);
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// Sets every armed slot on `tid` (a thread new to the process).
    pub fn arm(&self, tid: Tid) -> Result<(), tracee::TraceeError> {
        for (slot, hw) in self.hardware.iter().enumerate() {
            match hw {
                Some(h) => {
                    let kind = match h.watch {
                        None => DebugKind::Execute,
                        Some(WatchKind::Write) => DebugKind::Write,
                        Some(_) => DebugKind::ReadWrite,
                    };
                    debugregs::set_slot(tid, slot, h.addr, kind, h.len)?;
                }
                None => debugregs::clear_slot(tid, slot)?,
            }
        }
        Ok(())
    }

    /// A write or access watchpoint on any byte of `[start, end)`.
    pub fn watched_within(&self, start: u64, end: u64) -> Option<HardwareSlot> {
        self.hardware.iter().flatten().copied().find(|h| {
            matches!(h.watch, Some(WatchKind::Write | WatchKind::Access))
                && h.addr < end
                && start < h.addr + h.len
        })
    }

    /// The debugger slot that a DR6 value reports as triggered.
    pub fn triggered(&self, status: u64) -> Option<HardwareSlot> {
        (0..REPLAY_SLOT)
            .filter(|&s| status & (1 << s) != 0)
            .find_map(|s| self.hardware[s])
    }

    /// Restores the original bytes in a forked copy of the process's
    /// memory, which must not trap where the debugger never asked.
    pub fn scrub(&self, copy: &Task) {
        for (&addr, &original) in &self.software {
            let _ = copy.write_bytes(RemoteAddr(addr), &[original]);
        }
    }

    /// `data` is about to be written at `addr`: it becomes the original
    /// bytes under any breakpoint there, and the breakpoints stay in place.
    pub fn write_under(&mut self, addr: u64, data: &mut [u8]) {
        let end = addr.saturating_add(data.len() as u64);
        for (&at, original) in self.software.range_mut(addr..end) {
            let index = (at - addr) as usize;
            *original = data[index];
            data[index] = INT3;
        }
    }

    /// Re-inserts int3 at `addr` after a step over it.
    pub fn rearm_software(&self, memory: &Task, addr: u64) -> Result<(), tracee::TraceeError> {
        if self.software.contains_key(&addr) {
            memory.write_bytes(RemoteAddr(addr), &[INT3])?;
        }
        Ok(())
    }

    /// Puts the original byte back at `addr` for a step over it.
    pub fn disarm_software(&self, memory: &Task, addr: u64) -> Result<(), tracee::TraceeError> {
        if let Some(&original) = self.software.get(&addr) {
            memory.write_bytes(RemoteAddr(addr), &[original])?;
        }
        Ok(())
    }

    /// Forgets everything: the process exec'd, and its new image and
    /// threads have none of it.
    pub fn clear(&mut self) {
        self.software.clear();
        self.hardware = [None; REPLAY_SLOT];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watched_ranges_split_into_aligned_pieces() {
        assert_eq!(aligned_pieces(0x1000, 8), Some(vec![(0x1000, 8)]));
        assert_eq!(aligned_pieces(0x1004, 4), Some(vec![(0x1004, 4)]));
        assert_eq!(
            aligned_pieces(0x1003, 6),
            Some(vec![(0x1003, 1), (0x1004, 4), (0x1008, 1)])
        );
        assert_eq!(aligned_pieces(0x1000, 0), Some(vec![]));
        assert_eq!(aligned_pieces(u64::MAX - 7, 16), None);
    }
}
