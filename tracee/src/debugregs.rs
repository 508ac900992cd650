//! Hardware breakpoints through the debug registers (PTRACE_POKEUSER into
//! `struct user`'s u_debugreg).

use libc::c_void;

use crate::error::TraceeError;
use crate::ptrace;
use crate::Tid;

/// offsetof(struct user, u_debugreg) on x86-64.
const DEBUGREG_OFFSET: usize = 848;

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

/// Sets an execution breakpoint at `addr` in debug register `slot` (0..4).
pub fn set_exec_breakpoint(tid: Tid, slot: usize, addr: u64) -> Result<(), TraceeError> {
    poke_debugreg(tid, slot, addr)?;
    // Local enable bit for the slot; RW and LEN stay 00 (instruction).
    poke_debugreg(tid, 7, 1 << (slot * 2))
}

/// Clears all hardware breakpoints of `tid`.
pub fn clear_breakpoints(tid: Tid) -> Result<(), TraceeError> {
    poke_debugreg(tid, 7, 0)
}
