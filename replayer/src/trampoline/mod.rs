//! Stopping a thread at a recorded execution point without a ptrace stop
//! per pass (ARCHITECTURE.md "Ticks"). The instruction at the point is replaced by
//! a jump to a trampoline in the tracee that compares the general registers
//! with the recorded ones and traps only when all are equal; otherwise it
//! runs a copy of the code from the point on (`region`), in which a tight
//! loop goes round without coming back to the original. A spin loop then
//! runs at nearly full speed in replay. Only the thread being replayed runs
//! while a trampoline exists, so one page serves as its code, data and
//! stack.

mod code;
mod counter;
mod region;

pub use counter::Counter;

/// An instruction of the loop around `pc` (its head, from the target of
/// the loop's backward jump up to `pc`, then on from `pc` up to that
/// jump) that a counter's jump can replace alone: 5 bytes or longer and
/// movable. `pc` itself if it is one.
pub fn loop_instruction(task: &Task, pc: u64) -> Option<u64> {
    in_loop_of(&region::region_at(task, pc), pc)
}

fn in_loop_of(region: &region::Region, pc: u64) -> Option<u64> {
    let backward = |piece: &region::Piece| matches!(piece, region::Piece::Jump { target, .. } if *target <= pc);
    if region.head.is_empty() && !region.body.iter().any(backward) {
        return None;
    }
    let body = region
        .body
        .iter()
        .take_while(|piece| !backward(piece))
        .filter_map(|piece| match *piece {
            region::Piece::Copy { addr, insn } => Some((addr, insn.len)),
            region::Piece::Jump { .. } => None,
        });
    let head = region.head.iter().map(|&(addr, insn)| (addr, insn.len));
    body.chain(head)
        .find(|&(_, len)| len >= x86::JUMP_LEN)
        .map(|(addr, _)| addr)
}

use trace_format::Registers;
use tracee::maps;
use tracee::x86;
use tracee::{
    debugregs, fingerprint, remote, PtraceEvent, RemoteAddr, Resume, Stop, Task, TraceeError,
};

use crate::error::ReplayError;
use crate::point::REPLAY_SLOT;
use code::{register_values, Check, Wanted};

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
    /// (original address, address in the page) of each copied instruction.
    copies: Vec<(u64, u64)>,
    /// The code at the point overwrites the status flags before reading
    /// them, so the trampoline's quick check may clobber them: at its trap
    /// they are not the program's, and any value is as good as the
    /// recorded one.
    pub flags_dead: bool,
}

/// Interior instructions a span may have: one debug register each, the
/// replay's own slot excluded.
pub const MAX_INTERIOR: usize = 3;

/// The bytes at `addr` in the tracee, if all `len` can be read.
fn bytes_in(task: &Task, addr: u64, len: usize) -> Option<Vec<u8>> {
    let mut bytes = vec![0u8; len];
    (task.read_partial(RemoteAddr(addr), &mut bytes) == len).then_some(bytes)
}

/// Maps the trampoline `code` at `page` and puts a jump to its entry at
/// `point`: false if the page was taken meanwhile.
fn put_in(task: &Task, page: u64, point: u64, code: &code::Assembled) -> Result<bool, ReplayError> {
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
        return Ok(false);
    }
    task.write_bytes(RemoteAddr(page), &code.page)?;
    let jump = ((page + code.entry as u64) as i64 - (point + x86::JUMP_LEN as u64) as i64) as i32;
    let mut patch = vec![0xe9];
    patch.extend_from_slice(&jump.to_le_bytes());
    task.write_bytes(RemoteAddr(point), &patch)?;
    Ok(true)
}

/// Puts the `original` bytes back at `point` and unmaps the trampoline's
/// `page`.
fn take_out(task: &Task, page: u64, point: u64, original: &[u8]) -> Result<(), ReplayError> {
    task.write_bytes(RemoteAddr(point), original)?;
    remote::syscall(
        task,
        "munmap of a trampoline",
        libc::SYS_munmap,
        [page, PAGE, 0, 0, 0, 0],
    )?;
    Ok(())
}

/// A free page within jump range of `point`.
fn free_page_near(task: &Task, point: u64) -> Result<Option<u64>, ReplayError> {
    let mappings = maps::read_maps(task.tid)?;
    let gaps = mappings
        .first()
        .map(|m| (0, m.start))
        .into_iter()
        .chain(mappings.windows(2).map(|pair| (pair[0].end, pair[1].start)))
        .chain(mappings.last().map(|m| (m.end, u64::MAX)));
    Ok(nearest_free_page(gaps, point))
}

/// The page closest to `point` inside one of the free `gaps` (start, end)
/// and within jump reach of it: the copied code's rip-relative operands
/// and jumps must reach their targets from there too.
fn nearest_free_page(gaps: impl Iterator<Item = (u64, u64)>, point: u64) -> Option<u64> {
    let low = point.saturating_sub(REACH).max(0x10000);
    let high = point.saturating_add(REACH);
    gaps.filter_map(|(start, end)| {
        let first = start.max(low).next_multiple_of(PAGE);
        let last = end.min(high).checked_sub(PAGE)? & !(PAGE - 1);
        (first <= last).then(|| (point & !(PAGE - 1)).clamp(first, last))
    })
    .min_by_key(|&page| page.abs_diff(point))
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
        // The stack pointer last: it rarely changes from pass to pass.
        let quick = (0..16u8)
            .filter(|&r| r != 4)
            .chain([4])
            .find(|&r| now[usize::from(r)] != wanted[usize::from(r)]);
        let point = regs.rip;
        let mut original = vec![0u8; 32];
        let got = task.read_partial(RemoteAddr(point), &mut original);
        original.truncate(got);
        // The recording chose the point so that no branch it saw lands
        // inside the instructions the jump covers.
        let Some(span) = x86::patchable_span(&original).filter(|s| s.len() <= MAX_INTERIOR + 1)
        else {
            return Ok(None);
        };
        let interior: Vec<u64> = span.iter().skip(1).map(|&(at, _)| at as u64).collect();
        let flags_dead = x86::flags_dead(&original);
        let region = region::region_at(task, point);
        let Some(page) = free_page_near(task, point)? else {
            return Ok(None);
        };
        let bytes_at = |addr: u64, len: usize| bytes_in(task, addr, len);
        let wanted = Wanted {
            regs,
            memory,
            quick,
            flags_dead,
        };
        let Some(code) =
            code::assemble(page, point, &region, bytes_at, &Check::Fingerprint(&wanted))
        else {
            return Ok(None);
        };
        if !put_in(task, page, point, &code)? {
            return Ok(None);
        }
        original.truncate(5);
        Ok(Some(Trampoline {
            point,
            original,
            page,
            trap_return: page + code.trap_return as u64,
            displaced: page + code.body as u64,
            interior,
            flags_dead,
            copies: code
                .copies
                .iter()
                .map(|&(original, offset)| (original, page + offset as u64))
                .collect(),
        }))
    }

    /// Moves a thread stopped inside the trampoline (gdb's Ctrl-C lands
    /// there, where a hot loop spends its time) to the same state in the
    /// original code, so that the trampoline can go. In a copied
    /// instruction it is at its original; in the checks, it is let run to
    /// the copy of the point (or the match's trap) and taken from there.
    pub fn leave(&self, task: &Task) -> Result<(), ReplayError> {
        let in_page = |rip: u64| (self.page..self.page + PAGE).contains(&rip);
        let at_copy = |rip: u64| self.copies.iter().find(|&&(_, copy)| copy == rip);
        let rip = task.regs()?.rip;
        if !in_page(rip) {
            return Ok(());
        }
        if at_copy(rip).is_none() && rip != self.trap_return {
            debugregs::set_exec_breakpoint(task.tid, REPLAY_SLOT, self.displaced)?;
            let ran = (|| loop {
                match task.step(Resume::Sysemu, 0)? {
                    // A stop left over from the interrupt.
                    Stop::Event(PtraceEvent::Stop, _) => continue,
                    stop => return Ok::<Stop, ReplayError>(stop),
                }
            })();
            debugregs::clear_slot(task.tid, REPLAY_SLOT)?;
            let stop = ran?;
            // From the checks the thread reaches the copy of the point, or
            // the trap of a match; anywhere else it ran away.
            let rip = task.regs()?.rip;
            if stop != Stop::Signal(libc::SIGTRAP)
                || (rip != self.displaced && rip != self.trap_return)
            {
                return Err(ReplayError::Tracee(TraceeError::UnexpectedStop {
                    tid: task.tid,
                    expected: "the trap leaving a trampoline",
                    got: format!("{stop:?} at rip {rip:#x}"),
                }));
            }
        }
        let mut regs = task.regs()?;
        regs.rip = match at_copy(regs.rip) {
            Some(&(original, _)) => original,
            None => self.point,
        };
        regs.eflags &= !fingerprint::RESUME_FLAG;
        task.set_regs(&regs)?;
        Ok(())
    }

    /// Restores the instruction and unmaps the trampoline.
    pub fn remove(self, task: &Task) -> Result<(), ReplayError> {
        take_out(task, self.page, self.point, &self.original)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_hot_instruction_is_one_of_the_loop_a_jump_can_replace_alone() {
        // cc -O1: 1143 mov rdx, [rip+x] (7); 114a add rdx, rax (3);
        // 114d mov [rip+x], rdx (7); 1154 add rax, 1 (4); 1158 cmp rdi,
        // rax (3); 115b jne 1143; 115d ret.
        let code = [
            0x48, 0x8b, 0x15, 0xd6, 0x2e, 0x00, 0x00, 0x48, 0x01, 0xc2, 0x48, 0x89, 0x15, 0xcc,
            0x2e, 0x00, 0x00, 0x48, 0x83, 0xc0, 0x01, 0x48, 0x39, 0xc7, 0x75, 0xe6, 0xc3,
        ];
        let at = |pc: u64| {
            let offset = (pc - 0x1143) as usize;
            let region = super::region::build(pc, &code[offset..], 0x1143, &code[..offset]);
            super::in_loop_of(&region, pc)
        };
        // Sampled after the load: the store after it.
        assert_eq!(at(0x114a), Some(0x114d));
        // At the loop's head itself.
        assert_eq!(at(0x1143), Some(0x1143));
        // After the store: back at the head.
        assert_eq!(at(0x1154), Some(0x1143));
        assert_eq!(at(0x115b), Some(0x1143));
    }

    use super::*;

    #[test]
    fn the_free_page_nearest_the_point_is_chosen() {
        let point = 0x5555_5555_1234;
        // A gap far below, one just above the code, one far above.
        let gaps = [
            (0x5555_0000_0000, 0x5555_0000_2000),
            (0x5555_5556_0000, 0x5555_5557_0000),
            (0x7fff_0000_0000, 0x7fff_1000_0000),
        ];
        assert_eq!(
            nearest_free_page(gaps.into_iter(), point),
            Some(0x5555_5556_0000)
        );
        // Nothing within reach.
        assert_eq!(
            nearest_free_page([(0x7fff_0000_0000, 0x7fff_1000_0000)].into_iter(), point),
            None
        );
        // A gap that holds the point's own page (unmapped code cannot run,
        // but the arithmetic must still stay inside the gap).
        assert_eq!(
            nearest_free_page([(0x5555_5555_0000, 0x5555_5556_0000)].into_iter(), point),
            Some(0x5555_5555_1000)
        );
    }
}
