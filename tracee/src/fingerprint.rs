//! The state fingerprint of the software tick source (DESIGN.md "Ticks"):
//! what identifies one dynamic instant of a thread without a branch
//! counter. Recorder and replayer must compute it identically.

use trace_format::{Fingerprint, Registers};

use crate::addr::RemoteAddr;
use crate::task::Task;

/// Bytes from the stack pointer up that the stack hash covers.
pub const STACK_BYTES: usize = 256;

/// FNV-1a of the top of the stack (fewer bytes where the stack ends).
pub fn stack_hash(task: &Task, regs: &Registers) -> u64 {
    let mut bytes = [0u8; STACK_BYTES];
    let got = task.read_partial(RemoteAddr(regs.rsp), &mut bytes);
    bytes[..got].iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The fingerprint of the thread's current state, with `memory` words.
pub fn capture(task: &Task, regs: &Registers, memory: Vec<(u64, u64)>) -> Fingerprint {
    Fingerprint {
        stack_hash: stack_hash(task, regs),
        memory,
    }
}

/// x86's resume flag, which the kernel sets when an instruction
/// breakpoint stops a thread.
pub const RESUME_FLAG: u64 = 0x1_0000;
/// Flags the debugging machinery sets (RF at a hardware breakpoint, TF
/// while single-stepping), which are not the program's state.
pub const DEBUG_FLAGS: u64 = RESUME_FLAG | 0x100;

/// Whether two register sets are the same program state, whatever the
/// debugging machinery did to the flags.
pub fn same_registers(a: &Registers, b: &Registers) -> bool {
    let (mut a, mut b) = (*a, *b);
    a.eflags &= !DEBUG_FLAGS;
    b.eflags &= !DEBUG_FLAGS;
    a == b
}

/// Whether the thread, whose registers are `regs`, is at the recorded
/// instant.
pub fn matches(task: &Task, regs: &Registers, want_regs: &Registers, want: &Fingerprint) -> bool {
    if !same_registers(regs, want_regs) || stack_hash(task, regs) != want.stack_hash {
        return false;
    }
    want.memory
        .iter()
        .all(|&(addr, value)| task.read_u64(RemoteAddr(addr)).is_ok_and(|v| v == value))
}
