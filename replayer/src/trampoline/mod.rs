//! Stopping a thread at a recorded execution point without a ptrace stop
//! per pass (DESIGN.md "Ticks"). The instruction at the point is replaced by
//! a jump to a trampoline in the tracee that compares the general registers
//! with the recorded ones and traps only when all are equal; otherwise it
//! runs a copy of the code from the point on (`region`), in which a tight
//! loop goes round without coming back to the original. A spin loop then
//! runs at nearly full speed in replay. Only the thread being replayed runs
//! while a trampoline exists, so one page serves as its code, data and
//! stack.

mod code;
mod region;

use trace_format::Registers;
use tracee::maps;
use tracee::x86::{self, Instruction};
use tracee::{remote, RemoteAddr, Task};

use crate::error::ReplayError;
use code::{register_values, Wanted};

const PAGE: u64 = 4096;
/// jmp rel32 reaches ±2 GiB; stay well inside.
const REACH: u64 = 0x7000_0000;

/// A patched execution point.
pub struct Trampoline {
    /// The patched instruction.
    pub point: u64,
    original: Vec<u8>,
    page: u64,
    /// Address right after the trap (rip at the SIGTRAP stop).
    pub trap_return: u64,
    /// The copy of the instruction at the point, where a false candidate
    /// resumes; the other covered instructions follow at their offsets.
    pub displaced: u64,
    /// Starts of the covered instructions after the first, as offsets
    /// from `point`: a branch landing there would run the middle of the
    /// jump, so each is watched by a debug register and sent to its copy.
    pub interior: Vec<u64>,
    /// The code at the point overwrites the status flags before reading
    /// them, so the trampoline's quick check may clobber them: at its trap
    /// they are not the program's, and any value is as good as the
    /// recorded one.
    pub flags_dead: bool,
}

/// Interior instructions a span may have: one debug register each, the
/// replay's own slot excluded.
pub const MAX_INTERIOR: usize = 3;

/// The instructions from `addr` on that the jump would cover, if the
/// trampoline can move them all (the recording chose the point so that no
/// branch it saw lands inside them).
pub fn span_at(task: &Task, addr: u64) -> Option<Vec<(usize, Instruction)>> {
    let mut bytes = [0u8; 32];
    let got = task.read_partial(RemoteAddr(addr), &mut bytes);
    x86::patchable_span(&bytes[..got])
}

/// A free page within jump range of `point`.
fn free_page_near(task: &Task, point: u64) -> Result<Option<u64>, ReplayError> {
    let mappings = maps::read_maps(task.tid)?;
    let low = point.saturating_sub(REACH).max(0x10000);
    let high = point.saturating_add(REACH);
    let mut candidate = low & !(PAGE - 1);
    for m in &mappings {
        if m.start >= candidate + PAGE && candidate + PAGE <= high && candidate >= low {
            return Ok(Some(candidate));
        }
        candidate = candidate.max(m.end);
    }
    Ok((candidate + PAGE <= high).then_some(candidate))
}

impl Trampoline {
    /// Installs the trampoline for the point at `regs.rip`. None when the
    /// instruction there cannot be moved or no page is near enough.
    /// The trampoline also checks the fingerprint's `memory` words.
    pub fn install(
        task: &Task,
        regs: &Registers,
        memory: &[(u64, u64)],
    ) -> Result<Option<Trampoline>, ReplayError> {
        // A register that differs now from its value at the point is
        // likely one the loop changes every pass: checked first.
        let now = register_values(&task.regs()?);
        let wanted = register_values(regs);
        let quick = (0..16u8)
            .filter(|&r| r != 4)
            .find(|&r| now[usize::from(r)] != wanted[usize::from(r)]);
        let point = regs.rip;
        let Some(span) = span_at(task, point).filter(|s| s.len() <= MAX_INTERIOR + 1) else {
            return Ok(None);
        };
        let interior: Vec<u64> = span.iter().skip(1).map(|&(at, _)| at as u64).collect();
        let mut original = vec![0u8; 32];
        let got = task.read_partial(RemoteAddr(point), &mut original);
        original.truncate(got);
        let flags_dead = x86::flags_dead(&original);
        let region = region::region_at(task, point);
        let Some(page) = free_page_near(task, point)? else {
            return Ok(None);
        };
        let bytes_at = |addr: u64, len: usize| {
            let mut bytes = vec![0u8; len];
            (task.read_partial(RemoteAddr(addr), &mut bytes) == len).then_some(bytes)
        };
        let wanted = Wanted {
            regs,
            memory,
            quick,
            flags_dead,
        };
        let Some(code) = code::assemble(page, point, &region, bytes_at, &wanted) else {
            return Ok(None);
        };
        let mapped = remote::syscall(
            task,
            "mmap of a trampoline",
            libc::SYS_mmap,
            [
                page,
                PAGE,
                (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC) as u64,
                (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE) as u64,
                u64::MAX,
                0,
            ],
        )?;
        if mapped != page {
            return Ok(None);
        }
        task.write_bytes(RemoteAddr(page), &code.page)?;
        let jump = ((page + code.entry as u64) as i64 - (point + 5) as i64) as i32;
        let mut patch = vec![0xe9];
        patch.extend_from_slice(&jump.to_le_bytes());
        task.write_bytes(RemoteAddr(point), &patch)?;
        original.truncate(5);
        Ok(Some(Trampoline {
            point,
            original,
            page,
            trap_return: page + code.trap_return as u64,
            displaced: page + code.body as u64,
            interior,
            flags_dead,
        }))
    }

    /// Restores the instruction and unmaps the trampoline.
    pub fn remove(self, task: &Task) -> Result<(), ReplayError> {
        task.write_bytes(RemoteAddr(self.point), &self.original)?;
        remote::syscall(
            task,
            "munmap of a trampoline",
            libc::SYS_munmap,
            [self.page, PAGE, 0, 0, 0, 0],
        )?;
        Ok(())
    }
}
