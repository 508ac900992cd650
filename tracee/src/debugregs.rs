//! Hardware breakpoints and watchpoints through the debug registers
//! (PTRACE_PEEKUSER/POKEUSER of `struct user`'s u_debugreg). Each of the
//! four slots is set on its own, so the replayer's own breakpoint and a
//! debugger's watchpoints can live side by side.

use libc::c_void;

use crate::error::TraceeError;
use crate::ptrace;
use crate::Tid;

/// offsetof(struct user, u_debugreg) on x86-64.
const DEBUGREG_OFFSET: usize = 848;
/// DR6 bit: the stop was a single step.
pub const STATUS_SINGLE_STEP: u64 = 1 << 14;
pub const SLOTS: usize = 4;

/// What a slot watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebugKind {
    /// Executing the instruction at the address.
    Execute,
    /// Writing any of `len` bytes.
    Write,
    /// Reading or writing any of `len` bytes (x86 has no read-only kind).
    ReadWrite,
}

fn poke_debugreg(tid: Tid, index: usize, value: u64) -> Result<(), TraceeError> {
    // SAFETY: POKEUSER writes the word `data` at offset `addr` of the
    // tracee's user area; no local memory is touched.
    unsafe {
        ptrace::raw(
            libc::PTRACE_POKEUSER,
            "POKEUSER",
            tid,
            (DEBUGREG_OFFSET + index * 8) as *mut c_void,
            value as *mut c_void,
        )
    }
    .map(drop)
}

fn peek_debugreg(tid: Tid, index: usize) -> Result<u64, TraceeError> {
    // SAFETY: PEEKUSER returns the word at offset `addr` of the tracee's
    // user area as its result; data is unused.
    unsafe {
        ptrace::raw(
            libc::PTRACE_PEEKUSER,
            "PEEKUSER",
            tid,
            (DEBUGREG_OFFSET + index * 8) as *mut c_void,
            std::ptr::null_mut(),
        )
    }
    .map(|word| word as u64)
}

/// DR7's enable, type and length bits of one slot.
fn control_bits(slot: usize, kind: DebugKind, len: u64) -> u64 {
    let rw = match kind {
        DebugKind::Execute => 0b00,
        DebugKind::Write => 0b01,
        DebugKind::ReadWrite => 0b11,
    };
    let len_bits = match (kind, len) {
        (DebugKind::Execute, _) | (_, 1) => 0b00,
        (_, 2) => 0b01,
        (_, 8) => 0b10,
        _ => 0b11,
    };
    (1 << (slot * 2)) | (rw << (16 + slot * 4)) | (len_bits << (18 + slot * 4))
}

fn slot_mask(slot: usize) -> u64 {
    (0b11 << (slot * 2)) | (0b1111 << (16 + slot * 4))
}

/// Arms `slot` (0..4) of `tid`. Watched lengths are 1, 2, 4 or 8 bytes,
/// aligned to their length (the caller splits other ranges).
pub fn set_slot(
    tid: Tid,
    slot: usize,
    addr: u64,
    kind: DebugKind,
    len: u64,
) -> Result<(), TraceeError> {
    let control = peek_debugreg(tid, 7)? & !slot_mask(slot);
    // The kernel validates DR7 against the addresses already set: disable
    // the slot, set its address, then enable it.
    poke_debugreg(tid, 7, control)?;
    poke_debugreg(tid, slot, addr)?;
    poke_debugreg(tid, 7, control | control_bits(slot, kind, len))
}

/// Disarms `slot` of `tid`, leaving the other slots as they are.
pub fn clear_slot(tid: Tid, slot: usize) -> Result<(), TraceeError> {
    let control = peek_debugreg(tid, 7)?;
    if control & slot_mask(slot) != 0 {
        poke_debugreg(tid, 7, control & !slot_mask(slot))?;
    }
    Ok(())
}

/// DR6: which slots triggered (bits 0..4) and whether the stop was a
/// single step ([`STATUS_SINGLE_STEP`]).
pub fn status(tid: Tid) -> Result<u64, TraceeError> {
    peek_debugreg(tid, 6)
}

/// Clears DR6; the CPU never clears it by itself.
pub fn clear_status(tid: Tid) -> Result<(), TraceeError> {
    poke_debugreg(tid, 6, 0)
}

/// The address `slot` of `tid` watches, if the slot is armed.
pub fn armed_at(tid: Tid, slot: usize) -> Result<Option<u64>, TraceeError> {
    if peek_debugreg(tid, 7)? & (0b11 << (slot * 2)) == 0 {
        return Ok(None);
    }
    peek_debugreg(tid, slot).map(Some)
}

/// Sets an execution breakpoint at `addr` in debug register `slot`.
pub fn set_exec_breakpoint(tid: Tid, slot: usize, addr: u64) -> Result<(), TraceeError> {
    set_slot(tid, slot, addr, DebugKind::Execute, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_bits_place_type_and_length_per_slot() {
        assert_eq!(control_bits(0, DebugKind::Execute, 1), 0b1);
        assert_eq!(
            control_bits(1, DebugKind::Write, 4),
            (1 << 2) | (0b01 << 20) | (0b11 << 22)
        );
        assert_eq!(
            control_bits(3, DebugKind::ReadWrite, 8),
            (1 << 6) | (0b11 << 28) | (0b10 << 30)
        );
        assert_eq!(slot_mask(2) & control_bits(1, DebugKind::Write, 2), 0);
    }
}
