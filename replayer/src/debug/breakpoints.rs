//! The debugger's breakpoints and watchpoints in the replayed process:
//! software breakpoints as int3 bytes in its memory (the original bytes
//! kept here, and shown instead of int3 when the debugger reads memory),
//! hardware ones in the debug registers the replay leaves free. A replay
//! that travels to a named instant (position.rs) puts its own triggers in
//! the same table, beside gdb's; and a replay started again gets gdb's
//! table once it reaches the program image gdb knows.

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
    /// gdb asked for it (otherwise only the replay's travel did).
    pub gdb: bool,
    /// The replay's travel counts its triggers.
    pub internal: bool,
}

#[derive(Clone, Copy, Debug)]
struct Software {
    /// The byte int3 replaced, while it is in memory.
    original: Option<u8>,
    gdb: bool,
    internal: bool,
}

#[derive(Default)]
pub struct BreakpointTable {
    software: BTreeMap<u64, Software>,
    hardware: [Option<HardwareSlot>; REPLAY_SLOT],
    /// gdb's entries are waiting for the replay to reach the program they
    /// belong to: not in memory, not in the debug registers.
    gdb_waiting: bool,
    /// Bytes inside patched syscall sites (start, end): the instructions
    /// that stood there moved into stubs, and an int3 would cut into a
    /// site's jump, so breakpoints there stay out of memory.
    displaced: Vec<(u64, u64)>,
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
    /// Whether an int3 of anyone's is in memory at `addr`.
    pub fn software_at(&self, addr: u64) -> bool {
        self.software
            .get(&addr)
            .is_some_and(|s| s.original.is_some())
    }

    /// Whether gdb has a breakpoint in memory at `addr`.
    pub fn gdb_software_at(&self, addr: u64) -> bool {
        self.software
            .get(&addr)
            .is_some_and(|s| s.gdb && s.original.is_some())
    }

    pub fn has_software(&self) -> bool {
        self.software.values().any(|s| s.original.is_some())
    }

    /// Whether a software breakpoint lies in `[start, end)`.
    pub fn software_within(&self, start: u64, end: u64) -> bool {
        self.software
            .range(start..end)
            .any(|(_, s)| s.original.is_some())
    }

    pub fn has_hardware(&self) -> bool {
        self.armed_slots().next().is_some()
    }

    fn armed_slots(&self) -> impl Iterator<Item = (usize, HardwareSlot)> + '_ {
        let waiting = self.gdb_waiting;
        self.hardware
            .iter()
            .enumerate()
            .filter_map(move |(i, h)| Some((i, (*h)?)))
            .filter(move |(_, h)| h.internal || !waiting)
    }

    /// Puts the original bytes back into a copy of memory read at `addr`.
    pub fn shadow(&self, addr: u64, bytes: &mut [u8]) {
        let end = addr.saturating_add(bytes.len() as u64);
        for (&at, entry) in self.software.range(addr..end) {
            if let Some(original) = entry.original {
                bytes[(at - addr) as usize] = original;
            }
        }
    }

    /// Inserts a breakpoint or watchpoint of gdb's; `memory` is a thread of
    /// the debugged process, `threads` all of its threads (debug registers
    /// are per thread).
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
                let entry = self.software.entry(addr).or_insert(Software {
                    original: None,
                    gdb: true,
                    internal: false,
                });
                entry.gdb = true;
                let displaced = self.displaced.iter().any(|&(s, e)| (s..e).contains(&addr));
                if entry.original.is_none() && !self.gdb_waiting && !displaced {
                    let original = plant(memory, addr).ok_or(errno(libc::EFAULT));
                    match original {
                        Ok(byte) => entry.original = Some(byte),
                        Err(e) => {
                            if !entry.internal {
                                self.software.remove(&addr);
                            }
                            return Err(e);
                        }
                    }
                }
                Ok(())
            }
            BreakpointKind::Hardware => {
                self.insert_hardware(threads, vec![(addr, 1)], None, (addr, len), true)
            }
            // x86 cannot watch reads alone; gdb then asks for an access
            // watchpoint and checks the value itself.
            BreakpointKind::Watch(WatchKind::Read) => Err(TargetError::Unsupported),
            BreakpointKind::Watch(watch) => {
                let pieces = aligned_pieces(addr, len)
                    .filter(|p| !p.is_empty() && len <= 8 * REPLAY_SLOT as u64)
                    .ok_or(errno(libc::EINVAL))?;
                self.insert_hardware(threads, pieces, Some(watch), (addr, len), true)
            }
        }
    }

    fn insert_hardware(
        &mut self,
        threads: &[Tid],
        pieces: Vec<(u64, u64)>,
        watch: Option<WatchKind>,
        request: (u64, u64),
        gdb: bool,
    ) -> Result<(), TargetError> {
        let same = |h: &HardwareSlot| h.request == request && h.watch == watch;
        if self.hardware.iter().flatten().any(same) {
            for h in self.hardware.iter_mut().flatten().filter(|h| same(h)) {
                h.gdb |= gdb;
                h.internal |= !gdb;
            }
        } else {
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
                    gdb,
                    internal: !gdb,
                });
            }
        }
        let armed = threads.iter().try_for_each(|&tid| self.arm(tid));
        if armed.is_err() {
            // The kernel refused the address: leave every thread as it was.
            self.drop_hardware(threads, watch, request, gdb);
            return Err(errno(libc::EINVAL));
        }
        Ok(())
    }

    /// Removes gdb's breakpoint or watchpoint.
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
                if let Some(entry) = self.software.get_mut(&addr) {
                    entry.gdb = false;
                }
                self.forget_software(memory, addr)
                    .map_err(|_| errno(libc::EFAULT))
            }
            BreakpointKind::Hardware | BreakpointKind::Watch(_) => {
                let watch = match kind {
                    BreakpointKind::Watch(w) => Some(w),
                    _ => None,
                };
                self.drop_hardware(threads, watch, (addr, len), true);
                Ok(())
            }
        }
    }

    /// Takes the int3 at `addr` out if nobody wants it any more.
    fn forget_software(&mut self, memory: Option<&Task>, addr: u64) -> Result<(), ()> {
        let Some(entry) = self.software.get(&addr).copied() else {
            return Ok(());
        };
        if entry.gdb || entry.internal {
            return Ok(());
        }
        self.software.remove(&addr);
        match (entry.original, memory) {
            (Some(original), Some(memory)) => memory
                .write_bytes(RemoteAddr(addr), &[original])
                .map_err(drop),
            _ => Ok(()),
        }
    }

    /// Drops one owner's claim on the slots of `request`; slots nobody
    /// claims any more are cleared on `threads`.
    fn drop_hardware(
        &mut self,
        threads: &[Tid],
        watch: Option<WatchKind>,
        request: (u64, u64),
        gdb: bool,
    ) {
        for slot in 0..REPLAY_SLOT {
            let Some(h) = &mut self.hardware[slot] else {
                continue;
            };
            if h.request != request || h.watch != watch {
                continue;
            }
            if gdb {
                h.gdb = false;
            } else {
                h.internal = false;
            }
            if !h.gdb && !h.internal {
                self.hardware[slot] = None;
                for &tid in threads {
                    let _ = debugregs::clear_slot(tid, slot);
                }
            }
        }
        for &tid in threads {
            let _ = self.arm(tid);
        }
    }

    /// The replay's own instruction breakpoint, for counting arrivals.
    pub fn insert_internal_software(
        &mut self,
        memory: &Task,
        addr: u64,
    ) -> Result<(), tracee::TraceeError> {
        let entry = self.software.entry(addr).or_insert(Software {
            original: None,
            gdb: false,
            internal: true,
        });
        entry.internal = true;
        if entry.original.is_none() {
            let mut original = [0u8];
            memory.read_bytes(RemoteAddr(addr), &mut original)?;
            memory.write_bytes(RemoteAddr(addr), &[INT3])?;
            entry.original = Some(original[0]);
        }
        Ok(())
    }

    pub fn remove_internal_software(&mut self, memory: &Task, addr: u64) {
        if let Some(entry) = self.software.get_mut(&addr) {
            entry.internal = false;
        }
        let gdb_waits = self.gdb_waiting && self.software.get(&addr).is_some_and(|s| s.gdb);
        if gdb_waits {
            // gdb's own breakpoint here is not due yet: out of memory too.
            if let Some(entry) = self.software.get_mut(&addr) {
                if let Some(original) = entry.original.take() {
                    let _ = memory.write_bytes(RemoteAddr(addr), &[original]);
                }
            }
            return;
        }
        let _ = self.forget_software(Some(memory), addr);
    }

    /// The replay's own watchpoint, for counting what touches `request`.
    pub fn insert_internal_watch(
        &mut self,
        threads: &[Tid],
        request: (u64, u64),
        watch: WatchKind,
    ) -> Result<(), TargetError> {
        let pieces = aligned_pieces(request.0, request.1)
            .filter(|p| !p.is_empty())
            .ok_or(errno(libc::EINVAL))?;
        self.insert_hardware(threads, pieces, Some(watch), request, false)
    }

    pub fn remove_internal_watch(
        &mut self,
        threads: &[Tid],
        request: (u64, u64),
        watch: WatchKind,
    ) {
        self.drop_hardware(threads, Some(watch), request, false);
    }

    /// Sets every armed slot on `tid` (a thread new to the process).
    pub fn arm(&self, tid: Tid) -> Result<(), tracee::TraceeError> {
        for slot in 0..REPLAY_SLOT {
            match self.armed_slots().find(|&(s, _)| s == slot) {
                Some((_, h)) => {
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

    /// A write or access watchpoint of gdb's on any byte of `[start, end)`.
    pub fn watched_within(&self, start: u64, end: u64) -> Option<HardwareSlot> {
        self.armed_slots().map(|(_, h)| h).find(|h| {
            h.gdb
                && matches!(h.watch, Some(WatchKind::Write | WatchKind::Access))
                && h.addr < end
                && start < h.addr + h.len
        })
    }

    /// Whether an instruction breakpoint (gdb's or the replay's) is armed
    /// in `[start, end)`.
    pub fn hardware_breakpoint_within(&self, start: u64, end: u64) -> bool {
        self.armed_slots()
            .any(|(_, h)| h.watch.is_none() && (start..end).contains(&h.addr))
    }

    /// Whether gdb has an instruction breakpoint at `addr`, software or
    /// hardware, in force now or waiting for a replay to reach gdb's
    /// program.
    pub fn gdb_breakpoint_at(&self, addr: u64) -> (bool, bool) {
        let software = self.software.get(&addr).is_some_and(|s| s.gdb);
        let hardware = self
            .hardware
            .iter()
            .flatten()
            .any(|h| h.gdb && h.watch.is_none() && h.addr == addr);
        (software, hardware)
    }

    /// The slot that a DR6 value reports as triggered.
    pub fn triggered(&self, status: u64) -> Option<HardwareSlot> {
        self.armed_slots()
            .find(|&(s, _)| status & (1 << s) != 0)
            .map(|(_, h)| h)
    }

    /// Restores the original bytes in a forked copy of the process's
    /// memory, which must not trap where the debugger never asked.
    pub fn scrub(&self, copy: &Task) {
        for (&addr, entry) in &self.software {
            if let Some(original) = entry.original {
                let _ = copy.write_bytes(RemoteAddr(addr), &[original]);
            }
        }
    }

    /// `data` is about to be written at `addr`: it becomes the original
    /// bytes under any breakpoint there, and the breakpoints stay in place.
    pub fn write_under(&mut self, addr: u64, data: &mut [u8]) {
        let end = addr.saturating_add(data.len() as u64);
        for (&at, entry) in self.software.range_mut(addr..end) {
            if let Some(original) = &mut entry.original {
                let index = (at - addr) as usize;
                *original = data[index];
                data[index] = INT3;
            }
        }
    }

    /// Re-inserts int3 at `addr` after a step over it.
    pub fn rearm_software(&self, memory: &Task, addr: u64) -> Result<(), tracee::TraceeError> {
        if self.software_at(addr) {
            memory.write_bytes(RemoteAddr(addr), &[INT3])?;
        }
        Ok(())
    }

    /// Puts the original byte back at `addr` for a step over it.
    pub fn disarm_software(&self, memory: &Task, addr: u64) -> Result<(), tracee::TraceeError> {
        if let Some(original) = self.software.get(&addr).and_then(|s| s.original) {
            memory.write_bytes(RemoteAddr(addr), &[original])?;
        }
        Ok(())
    }

    /// Forgets everything: the process exec'd, and its new image and
    /// threads have none of it.
    pub fn clear(&mut self) {
        self.software.clear();
        self.hardware = [None; REPLAY_SLOT];
        self.gdb_waiting = false;
        self.displaced.clear();
    }

    /// A replay starts again: nothing is in its memory, and gdb's entries
    /// wait for `activate` at the program image they were made in.
    pub fn transplant(&mut self) {
        self.software.retain(|_, s| s.gdb);
        // The replay starting again patches its sites again.
        self.displaced.clear();
        for entry in self.software.values_mut() {
            entry.internal = false;
            entry.original = None;
        }
        for slot in &mut self.hardware {
            if slot.is_some_and(|h| !h.gdb) {
                *slot = None;
            }
            if let Some(h) = slot {
                h.internal = false;
            }
        }
        self.gdb_waiting = true;
    }

    /// gdb's own breakpoints and watchpoints, comparable: what a scan's
    /// hits depend on.
    pub fn gdb_entries(&self) -> (Vec<u64>, Vec<HardwareSlot>) {
        let software = self
            .software
            .iter()
            .filter(|(_, s)| s.gdb)
            .map(|(&addr, _)| addr)
            .collect();
        let hardware = self
            .hardware
            .iter()
            .flatten()
            .filter(|h| h.gdb)
            .map(|h| HardwareSlot {
                internal: false,
                ..*h
            })
            .collect();
        (software, hardware)
    }

    /// The replay reached gdb's program image: gdb's entries go in.
    pub fn activate(&mut self, memory: &Task, threads: &[Tid], executable: &dyn Fn(u64) -> bool) {
        self.gdb_waiting = false;
        self.insert_waiting(memory, executable);
        for &tid in threads {
            let _ = self.arm(tid);
        }
    }

    /// Puts in the software breakpoints whose code was not mapped yet (a
    /// library loaded later in a replay started again), where `executable`
    /// says the code is in place. The loader first maps a library whole
    /// and then its segments over that: an int3 planted too early is lost.
    pub fn insert_waiting(&mut self, memory: &Task, executable: &dyn Fn(u64) -> bool) {
        if self.gdb_waiting {
            return;
        }
        for (&addr, entry) in self.software.iter_mut() {
            let displaced = self.displaced.iter().any(|&(s, e)| (s..e).contains(&addr));
            if entry.original.is_none() && !displaced && executable(addr) {
                entry.original = plant(memory, addr);
            }
        }
    }

    /// A patch replaced `len` bytes at `start`: a breakpoint strictly
    /// inside them stays out of memory from now on (its int3, if planted,
    /// is gone with the bytes the patch wrote).
    pub fn displace(&mut self, start: u64, len: u64) {
        let inside = (start.saturating_add(1), start.saturating_add(len));
        for (_, entry) in self.software.range_mut(inside.0..inside.1) {
            entry.original = None;
        }
        self.displaced.push(inside);
    }

    /// The mappings changed: an int3 a new mapping replaced must go in
    /// again.
    pub fn mappings_changed(&mut self, memory: &Task) {
        for (&addr, entry) in self.software.iter_mut() {
            if entry.original.is_some() && byte_at(memory, addr) != Some(INT3) {
                entry.original = None;
            }
        }
    }

    /// Whether some of gdb's software breakpoints are not in memory.
    pub fn has_waiting(&self) -> bool {
        !self.gdb_waiting && self.software.values().any(|s| s.original.is_none())
    }

    pub fn has_planted(&self) -> bool {
        self.has_software()
    }
}

fn byte_at(memory: &Task, addr: u64) -> Option<u8> {
    let mut byte = [0u8];
    memory.read_bytes(RemoteAddr(addr), &mut byte).ok()?;
    Some(byte[0])
}

/// Writes int3 at `addr`; returns the byte it replaced.
fn plant(memory: &Task, addr: u64) -> Option<u8> {
    let mut original = [0u8];
    memory.read_bytes(RemoteAddr(addr), &mut original).ok()?;
    memory.write_bytes(RemoteAddr(addr), &[INT3]).ok()?;
    Some(original[0])
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
