//! Where a thread standing near the start of a function was called from:
//! a step back from the function's first breakpoint stop then single-steps
//! from the call, not from the thread's previous event (ARCHITECTURE.md
//! "Copies of the replay").

use gdb_remote::ThreadId;
use tracee::{RemoteAddr, Task};

use super::{thread_of, Debugger};

/// The stack words searched for the return address: a prologue pushes a
/// few registers before a breakpoint gdb puts after it.
const STACK_WORDS: u64 = 8;
/// How far past the called address the thread may stand (the prologue).
const PROLOGUE: u64 = 64;
const CALL_REL32: u8 = 0xe8;
const CALL_LEN: u64 = 5;

impl Debugger {
    /// The `call` instruction that called the function `thread` stands at
    /// the start of, found as a return address on its stack whose call
    /// leads there, directly or through a PLT stub. None if there is none.
    pub(super) fn call_site(&self, thread: ThreadId) -> Option<u64> {
        let task = Task::new(thread_of(&self.threads, thread).ok()?).ok()?;
        let regs = task.regs().ok()?;
        (0..STACK_WORDS).find_map(|word| {
            let returns_to = task.read_u64(RemoteAddr(regs.rsp + 8 * word)).ok()?;
            let call = returns_to.checked_sub(CALL_LEN)?;
            let target = direct_call_target(&task, call)?;
            let function = plt_target(&task, target).unwrap_or(target);
            (function <= regs.rip && regs.rip < function + PROLOGUE).then_some(call)
        })
    }
}

/// The target of a `call rel32` at `at`.
fn direct_call_target(task: &Task, at: u64) -> Option<u64> {
    let mut bytes = [0u8; CALL_LEN as usize];
    task.read_bytes(RemoteAddr(at), &mut bytes).ok()?;
    if bytes[0] != CALL_REL32 {
        return None;
    }
    let offset = i32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    Some((at + CALL_LEN).wrapping_add_signed(i64::from(offset)))
}

/// Where a PLT stub at `stub` jumps: `[endbr64] [bnd] jmp *disp32(%rip)`,
/// through the GOT entry it reads.
fn plt_target(task: &Task, stub: u64) -> Option<u64> {
    let mut bytes = [0u8; 11];
    task.read_bytes(RemoteAddr(stub), &mut bytes).ok()?;
    let mut at = 0;
    if bytes[..4] == [0xf3, 0x0f, 0x1e, 0xfa] {
        at += 4;
    }
    if bytes[at] == 0xf2 {
        at += 1;
    }
    if bytes[at..at + 2] != [0xff, 0x25] {
        return None;
    }
    let disp = i32::from_le_bytes(bytes[at + 2..at + 6].try_into().ok()?);
    let next = stub + at as u64 + 6;
    task.read_u64(RemoteAddr(next.wrapping_add_signed(i64::from(disp))))
        .ok()
}
