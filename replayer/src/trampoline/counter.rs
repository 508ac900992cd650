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

use tracee::{debugregs, x86, RemoteAddr, Task, TraceeError};

use super::code::{self, Check};
use super::region::{self, Piece, Region};
use super::{bytes_in, free_page_near, put_in, take_out, MAX_INTERIOR, PAGE};
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
    /// (original, copy) of the covered instructions after the first,
    /// each watched by the debug register of its index.
    interior: Vec<(u64, u64)>,
    /// The thread whose debug registers guard them.
    tid: tracee::Tid,
}

fn clear_guards(tid: tracee::Tid, count: usize) {
    for slot in 0..count {
        let _ = debugregs::clear_slot(tid, slot);
    }
}

/// The original code a region's copy covers: from the loop head to the
/// end of its last instruction.
fn covered(point: u64, region: &Region) -> (u64, u64) {
    let start = region.head.first().map_or(point, |&(addr, _)| addr);
    let end = region
        .body
        .iter()
        .map(|piece| match *piece {
            Piece::Copy { addr, insn } => addr + insn.len as u64,
            Piece::Jump { addr, len, .. } => addr + u64::from(len),
        })
        .max()
        .unwrap_or(point);
    (start, end.max(point + x86::JUMP_LEN as u64))
}

impl Counter {
    /// Puts a counter at the instruction at `point` that traps at the
    /// `arrivals`-th pass (never, for `u64::MAX`). None where the
    /// instructions the jump covers cannot be moved, where `clear(start,
    /// end)` says the code the copy covers is not free of breakpoints, or
    /// no page is near enough. `task` is a stopped thread of the process,
    /// where a syscall can be injected.
    ///
    /// Where the instruction is shorter than the jump, the jump covers it
    /// and up to three after it, if `guards` allows (else None): a branch into the middle of
    /// the jump would run garbage, so each covered instruction after the
    /// first is watched by a debug register (0, 1, 2) of `task`, and a
    /// thread stopped there is sent to its copy (`guarded`).
    pub fn install(
        task: &Task,
        point: u64,
        arrivals: u64,
        clear: impl Fn(u64, u64) -> bool,
        guards: bool,
    ) -> Result<Option<Counter>, ReplayError> {
        let mut bytes = [0u8; 32];
        let got = task.read_partial(RemoteAddr(point), &mut bytes);
        let Some(span) = x86::patchable_span(&bytes[..got])
            .filter(|span| span.len() <= MAX_INTERIOR + 1 && (guards || span.len() == 1))
        else {
            return Ok(None);
        };
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
        let at = |offset: usize| page + offset as u64;
        let copies: Vec<(u64, u64)> = code
            .copies
            .iter()
            .map(|&(original, offset)| (original, at(offset)))
            .collect();
        let interior: Vec<(u64, u64)> = span
            .iter()
            .skip(1)
            .filter_map(|&(offset, _)| {
                let original = point + offset as u64;
                copies.iter().find(|&&(o, _)| o == original).copied()
            })
            .collect();
        if interior.len() + 1 != span.len() {
            return Ok(None);
        }
        // The guards go in before the jump: nothing may run into its
        // middle unwatched.
        for (slot, &(original, _)) in interior.iter().enumerate() {
            debugregs::set_exec_breakpoint(task.tid, slot, original)?;
        }
        if !put_in(task, page, point, &code)? {
            clear_guards(task.tid, interior.len());
            return Ok(None);
        }
        Ok(Some(Counter {
            point,
            original: bytes[..x86::JUMP_LEN].to_vec(),
            page,
            start: arrivals,
            counting: at(code.counting.start)..at(code.counting.end),
            zero: at(code.zero),
            trap_return: at(code.trap_return),
            copies,
            interior,
            tid: task.tid,
            covered: (start, end),
        }))
    }

    /// A debug-register stop with status `status` of a thread at `rip`:
    /// if it is a guard's (a branch into the middle of the jump), the
    /// copy of the instruction there, where the thread goes on.
    pub fn guarded(&self, status: u64, rip: u64) -> Option<u64> {
        self.interior
            .iter()
            .enumerate()
            .find(|&(slot, &(original, _))| status & (1 << slot) != 0 && original == rip)
            .map(|(_, &(_, copy))| copy)
    }

    /// Whether debug registers guard the jump.
    pub fn guards(&self) -> bool {
        !self.interior.is_empty()
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
        clear_guards(self.tid, self.interior.len());
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
    fn the_copy_covers_the_loop_up_to_its_last_branch_and_no_further() {
        // cc -O1: the loop of `sink += i` over a volatile, its `ret`, and
        // the next function (where gdb's breakpoint often is) at 0x115e.
        let body = [
            0x48, 0x8b, 0x15, 0xd6, 0x2e, 0x00, 0x00, // mov rdx, [rip+...]
            0x48, 0x01, 0xc2, // add rdx, rax
            0x48, 0x89, 0x15, 0xcc, 0x2e, 0x00, 0x00, // mov [rip+...], rdx
            0x48, 0x83, 0xc0, 0x01, // add rax, 1
            0x48, 0x39, 0xc7, // cmp rdi, rax
            0x75, 0xe6, // jne 0x1143
            0xc3, // ret
            0x48, 0x8b, 0x05, // after: mov rax, ...
        ];
        let region = region::build(0x1143, &body, 0x1143, &[]);
        assert_eq!(covered(0x1143, &region), (0x1143, 0x115d));
    }

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
            interior: vec![(0x1003, 0x9033)],
            tid: 1,
        };
        assert_eq!(counter.guarded(1, 0x1003), Some(0x9033));
        assert_eq!(counter.guarded(2, 0x1003), None);
        assert_eq!(counter.guarded(1, 0x1004), None);
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
