//! Counting a thread's arrivals at one instruction inside the tracee
//! (ARCHITECTURE.md "Reverse execution"). A name such as "the 40-millionth
//! arrival at this address" is found again by a replay without a ptrace
//! stop per arrival: the instruction is replaced by a jump to a trampoline
//! (code.rs, `Check::Count`) that decrements a count in its page and traps
//! when it reaches zero, and otherwise runs a copy of the code from the
//! instruction on, in which the loop around it goes round without coming
//! back to the original (region.rs). Started at `u64::MAX` it never traps
//! and tells afterwards how often the thread came by. The copied code
//! holds no breakpoint of anyone's: the caller checks the bytes it covers.
//! Only the thread being followed runs while a counter exists.

use tracee::{x86, RemoteAddr, Task, TraceeError};

use super::code::{self, Check};
use super::region::{self, Piece, Region};
use super::{bytes_in, free_page_near, put_in, take_out, PAGE};
use crate::error::ReplayError;

/// A counter at an instruction.
pub struct Counter {
    /// The counted instruction.
    pub point: u64,
    /// The bytes the jump replaced.
    original: Vec<u8>,
    page: u64,
    start: u64,
    /// Page addresses: the count's checks, the trap's rcx restore.
    counting: std::ops::Range<u64>,
    zero: u64,
    /// Where the thread stands after the trap.
    pub trap_return: u64,
    /// (original address, address in the page) of each copied instruction.
    copies: Vec<(u64, u64)>,
    /// The original code the copy runs instead of.
    covered: (u64, u64),
}

/// The original code a region's copy covers: from the loop head to the
/// end of its last instruction (a jump's length taken as its longest).
fn covered(point: u64, region: &Region) -> (u64, u64) {
    let start = region.head.first().map_or(point, |&(addr, _)| addr);
    let end = region
        .body
        .iter()
        .map(|piece| match *piece {
            Piece::Copy { addr, insn } => addr + insn.len as u64,
            Piece::Jump { addr, .. } => addr + 6,
        })
        .max()
        .unwrap_or(point);
    (start, end.max(point + x86::JUMP_LEN as u64))
}

impl Counter {
    /// Puts a counter at the instruction at `point` that traps at the
    /// `arrivals`-th pass (never, for `u64::MAX`). None where the
    /// instruction is shorter than the jump or cannot be moved, where
    /// `clear(start, end)` says the code the copy covers is not free of
    /// breakpoints, or no page is near enough. `task` is a stopped thread
    /// of the process, where a syscall can be injected.
    pub fn install(
        task: &Task,
        point: u64,
        arrivals: u64,
        clear: impl Fn(u64, u64) -> bool,
    ) -> Result<Option<Counter>, ReplayError> {
        let mut bytes = [0u8; 16];
        let got = task.read_partial(RemoteAddr(point), &mut bytes);
        if x86::decode(&bytes[..got]).is_none_or(|i| i.len < x86::JUMP_LEN) {
            return Ok(None);
        }
        let region = region::region_at(task, point);
        let (start, end) = covered(point, &region);
        if !clear(start, end) {
            return Ok(None);
        }
        let Some(page) = free_page_near(task, point)? else {
            return Ok(None);
        };
        let bytes_at = |addr: u64, len: usize| bytes_in(task, addr, len);
        let Some(code) = code::assemble(page, point, &region, bytes_at, &Check::Count(arrivals))
        else {
            return Ok(None);
        };
        if !put_in(task, page, point, &code)? {
            return Ok(None);
        }
        let at = |offset: usize| page + offset as u64;
        Ok(Some(Counter {
            point,
            original: bytes[..x86::JUMP_LEN].to_vec(),
            page,
            start: arrivals,
            counting: at(code.counting.start)..at(code.counting.end),
            zero: at(code.zero),
            trap_return: at(code.trap_return),
            copies: code
                .copies
                .iter()
                .map(|&(original, offset)| (original, at(offset)))
                .collect(),
            covered: (start, end),
        }))
    }

    /// Whether the code the counter copies covers `addr`: a breakpoint
    /// put there now would never be hit.
    pub fn covers(&self, addr: u64) -> bool {
        (self.covered.0..self.covered.1).contains(&addr)
    }

    /// The passes counted so far.
    pub fn arrivals(&self, task: &Task) -> Result<u64, TraceeError> {
        let mut left = [0u8; 8];
        task.read_bytes(RemoteAddr(self.page + code::COUNT as u64), &mut left)?;
        Ok(self.start.wrapping_sub(u64::from_le_bytes(left)))
    }

    /// Where in the original code a thread at `rip` stands, and whether
    /// its rcx is still the counter's to restore: in a copied instruction
    /// at its original; in the count's check, or at the trap, at the
    /// counted instruction (the pass is its arrival).
    fn original_place(&self, rip: u64) -> Option<(u64, bool)> {
        if !(self.page..self.page + PAGE).contains(&rip) {
            return None;
        }
        if rip == self.trap_return {
            return Some((self.point, false));
        }
        if let Some(&(original, _)) = self.copies.iter().find(|&&(_, copy)| copy == rip) {
            return Some((original, false));
        }
        let counting = self.counting.contains(&rip) || rip == self.zero;
        Some((self.point, counting))
    }

    /// Restores the instruction and unmaps the counter; `thread`, if it
    /// stands inside the counter, is moved to the same state in the
    /// original code.
    pub fn remove(self, task: &Task, thread: &Task) -> Result<(), ReplayError> {
        // A thread that has exited stands nowhere; the code is restored
        // all the same.
        let Ok(mut regs) = thread.regs() else {
            return take_out(task, self.page, self.point, &self.original);
        };
        if let Some((rip, counting)) = self.original_place(regs.rip) {
            if counting {
                let mut saved = [0u8; 8];
                thread.read_bytes(RemoteAddr(self.page + code::SAVED_RCX as u64), &mut saved)?;
                regs.rcx = u64::from_le_bytes(saved);
            }
            regs.rip = rip;
            thread.set_regs(&regs)?;
        }
        take_out(task, self.page, self.point, &self.original)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_inside_the_counter_stands_where_its_copy_says() {
        // Page layout: trap (restore rcx, int3) at 0x9000, trap_return
        // 0x9008, the head's copy of 0x0ff8 at 0x9009, the check from
        // 0x900d, the point's copy at 0x9030.
        let counter = Counter {
            point: 0x1000,
            original: vec![0; 5],
            page: 0x9000,
            start: u64::MAX,
            counting: 0x900e..0x9030,
            zero: 0x9000,
            trap_return: 0x9008,
            copies: vec![(0x0ff8, 0x9009), (0x1000, 0x9030), (0x1007, 0x9037)],
            covered: (0x0ff8, 0x1010),
        };
        assert!(counter.covers(0x1007) && !counter.covers(0x1010));
        assert_eq!(counter.original_place(0x1000), None);
        // After the trap: at the counted instruction, rcx restored.
        assert_eq!(counter.original_place(0x9008), Some((0x1000, false)));
        assert_eq!(counter.original_place(0x9000), Some((0x1000, true)));
        // In the head's copy, at its original.
        assert_eq!(counter.original_place(0x9009), Some((0x0ff8, false)));
        // In the check: the pass is the arrival, rcx the counter's.
        assert_eq!(counter.original_place(0x9010), Some((0x1000, true)));
        assert_eq!(counter.original_place(0x9037), Some((0x1007, false)));
    }
}
