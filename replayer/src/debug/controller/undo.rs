//! A step back without its last replay (ARCHITECTURE.md "Reverse
//! execution"). A step back single-steps its thread to the goal and then
//! travels to the instant before the last step, a whole replay more.
//! Where that last instruction was a jump, a return or a call, which
//! write registers and at most the stack word a call pushes, putting back
//! the registers and that word as they were before it is that instant
//! exactly, and the step back ends there.

use gdb_remote::ThreadId;
use trace_format::Registers;
use tracee::{x86, RemoteAddr, Task};

use super::Debugger;
use crate::error::ReplayError;

/// A thread's registers before a single step of an instruction that
/// changes nothing else.
pub(crate) struct BeforeStep {
    thread: ThreadId,
    regs: Registers,
    /// A call's: the stack word it overwrites, and its address.
    pushed_over: Option<(u64, [u8; 8])>,
    /// A call or a return: it moves a shadow stack's pointer too.
    calls_or_returns: bool,
}

/// Whether the thread has a CET shadow stack (the kernel says so in
/// /proc since 6.6): its pointer is not among the registers put back.
fn shadow_stack_enabled(tid: tracee::Tid) -> bool {
    std::fs::read_to_string(format!("/proc/{tid}/status")).is_ok_and(|status| {
        status
            .lines()
            .any(|l| l.starts_with("x86_Thread_features:") && l.contains("shstk"))
    })
}

/// A return (ret, ret imm16), after the prefixes a branch may have.
fn is_return(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .take(2)
        .take_while(|&&b| matches!(b, 0xf2 | 0xf3))
        .count();
    matches!(bytes.get(start), Some(0xc3 | 0xc2))
}

/// What the instruction at the start of `bytes` writes besides registers
/// (rip, rsp and the flags included): nothing (`Some(false)`), the word
/// below the stack pointer (`Some(true)`, a call), or more (None: memory,
/// vector or x87 state, the kernel's).
fn writes_beyond_registers(bytes: &[u8]) -> Option<bool> {
    let call =
        matches!(bytes, [0xe8, ..]) || matches!(bytes, [0xff, modrm, ..] if (modrm >> 3) & 7 == 2);
    if call {
        return Some(true);
    }
    writes_registers_only(bytes).then_some(false)
}

fn writes_registers_only(bytes: &[u8]) -> bool {
    // endbr64, and the bnd / notrack prefixes of branches.
    if bytes.starts_with(&[0xf3, 0x0f, 0x1e, 0xfa]) {
        return true;
    }
    let start = bytes
        .iter()
        .take(2)
        .take_while(|&&b| matches!(b, 0xf2 | 0xf3 | 0x3e))
        .count();
    let Some(rest) = bytes.get(start..) else {
        return false;
    };
    match rest {
        // ret, ret imm16
        [0xc3, ..] | [0xc2, ..] => true,
        // jmp through a register or memory (reads it only)
        [0xff, modrm, ..] => (modrm >> 3) & 7 == 4,
        [0x90, ..] => true,
        _ => x86::decode_jump(rest).is_some(),
    }
}

impl Debugger {
    /// `thread` is about to be single-stepped for a step back over the
    /// instruction `code` at its registers `regs`: kept if undoing it is
    /// putting them back.
    pub(super) fn before_step(
        &mut self,
        thread: ThreadId,
        task: &Task,
        regs: &Registers,
        code: &[u8],
    ) {
        self.before_step = None;
        if !self.stepping_back() {
            return;
        }
        let pushed_over = match writes_beyond_registers(code) {
            None => return,
            Some(false) => None,
            Some(true) => {
                // Unreadable (the stack grows into a page not mapped
                // yet): the call's effect cannot be undone.
                let at = regs.rsp.wrapping_sub(8);
                let mut word = [0u8; 8];
                if task.read_bytes(RemoteAddr(at), &mut word).is_err() {
                    return;
                }
                Some((at, word))
            }
        };
        self.before_step = Some(BeforeStep {
            thread,
            regs: *regs,
            calls_or_returns: pushed_over.is_some() || is_return(code),
            pushed_over,
        });
    }

    /// Puts `thread` back at the instant before its last single step, if
    /// that step's registers were kept: whether it did.
    pub(super) fn undo_last_step(&mut self, thread: ThreadId) -> Result<bool, ReplayError> {
        let Some(before) = self.before_step.take().filter(|b| b.thread == thread) else {
            return Ok(false);
        };
        let Ok(tid) = super::thread_of(&self.threads, thread) else {
            return Ok(false);
        };
        if before.calls_or_returns && shadow_stack_enabled(tid) {
            return Ok(false);
        }
        let task = Task::new(tid)?;
        if let Some((at, word)) = before.pushed_over {
            task.write_bytes(RemoteAddr(at), &word)?;
        }
        task.set_regs(&before.regs)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumps_and_returns_write_registers_only() {
        assert!(writes_registers_only(&[0xc3]));
        assert!(writes_registers_only(&[0xf3, 0xc3]));
        assert!(writes_registers_only(&[0xc2, 0x08, 0x00]));
        assert!(writes_registers_only(&[0x75, 0xf0]));
        assert!(writes_registers_only(&[0x0f, 0x85, 1, 2, 3, 4]));
        assert!(writes_registers_only(&[0xe9, 1, 2, 3, 4]));
        assert!(writes_registers_only(&[0xf2, 0xe9, 1, 2, 3, 4]));
        // jmp *%rax, jmp *8(%rdi)
        assert!(writes_registers_only(&[0xff, 0xe0]));
        assert!(writes_registers_only(&[0xff, 0x67, 0x08]));
        assert!(writes_registers_only(&[0xf3, 0x0f, 0x1e, 0xfa]));
        // A call pushes its return address; push, a store, syscall
        // write more.
        assert_eq!(writes_beyond_registers(&[0xe8, 1, 2, 3, 4]), Some(true));
        assert_eq!(writes_beyond_registers(&[0xff, 0xd0]), Some(true));
        assert_eq!(writes_beyond_registers(&[0xc3]), Some(false));
        assert_eq!(writes_beyond_registers(&[0x55]), None);
        assert!(!writes_registers_only(&[0xe8, 1, 2, 3, 4]));
        assert!(!writes_registers_only(&[0x55]));
        assert!(!writes_registers_only(&[0x48, 0x89, 0x07]));
        assert!(!writes_registers_only(&[0x0f, 0x05]));
        assert!(!writes_registers_only(&[]));
        assert!(is_return(&[0xc3]) && is_return(&[0xf2, 0xc3]) && !is_return(&[0xe9, 0, 0, 0, 0]));
    }
}
