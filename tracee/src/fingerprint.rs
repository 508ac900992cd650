//! The state fingerprint of the software tick source (ARCHITECTURE.md "Ticks"):
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

/// A hash of the memory in `ranges` (start, length); unreadable bytes
/// count as absent, so a range that shrank hashes differently.
pub fn data_hash(task: &Task, ranges: &[(u64, u64)]) -> u64 {
    const CHUNK: usize = 1 << 16;
    let mut buf = vec![0u8; CHUNK];
    let mut hash = 0x9e37_79b9_7f4a_7c15u64;
    for &(start, len) in ranges {
        let mut at = 0;
        while at < len {
            let want = (len - at).min(CHUNK as u64) as usize;
            let got = task.read_partial(RemoteAddr(start + at), &mut buf[..want]);
            hash = mix_words(hash, &buf[..got]);
            hash = mix_words(hash, &(got as u64).to_le_bytes());
            if got < want {
                break;
            }
            at += want as u64;
        }
    }
    hash
}

/// Folds `bytes` into `hash` a word at a time (a multiply per 8 bytes:
/// megabytes per millisecond, enough for data segments at every point).
fn mix_words(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
        hash = (hash ^ w)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
    for &b in words.remainder() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    hash
}

/// The fingerprint of the thread's current state, with `memory` words and
/// the contents of `data_ranges`.
pub fn capture(
    task: &Task,
    regs: &Registers,
    memory: Vec<(u64, u64)>,
    data_ranges: Vec<(u64, u64)>,
) -> Fingerprint {
    Fingerprint {
        stack_hash: stack_hash(task, regs),
        memory,
        data_hash: data_hash(task, &data_ranges),
        data_ranges,
        user_time_ns: crate::cputime::user_time(task.tid).map_or(0, |t| t.as_nanos() as u64),
    }
}

/// x86's resume flag, which the kernel sets when an instruction
/// breakpoint stops a thread.
pub const RESUME_FLAG: u64 = 0x1_0000;
/// CF, PF, AF, ZF, SF and OF: what arithmetic sets.
pub const STATUS_FLAGS: u64 = 0x8d5;
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
        && data_hash(task, &want.data_ranges) == want.data_hash
}
