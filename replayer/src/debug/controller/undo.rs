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

/// What an instruction writes besides the general registers (rip, rsp
/// and the flags included), where undoing it is putting those back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Undoable {
    /// Nothing else: a jump, nop, endbr64.
    Jump,
    /// Nothing else, but it moves a shadow stack's pointer.
    Return,
    /// The stack word below the stack pointer, and a shadow stack.
    Call,
}

/// How the instruction at the start of `bytes` can be undone; None when
/// it writes memory, vector or x87 state, or the kernel's.
fn undoable(bytes: &[u8]) -> Option<Undoable> {
    // endbr64, and the bnd / notrack prefixes of branches.
    if bytes.starts_with(&[0xf3, 0x0f, 0x1e, 0xfa]) {
        return Some(Undoable::Jump);
    }
    match bytes {
        [0xe8, ..] => return Some(Undoable::Call),
        [0xff, modrm, ..] if (modrm >> 3) & 7 == 2 => return Some(Undoable::Call),
        _ => {}
    }
    let start = bytes
        .iter()
        .take(2)
        .take_while(|&&b| matches!(b, 0xf2 | 0xf3 | 0x3e))
        .count();
    let rest = bytes.get(start..)?;
    match rest {
        // ret, ret imm16
        [0xc3 | 0xc2, ..] => Some(Undoable::Return),
        // jmp through a register or memory (reads it only)
        [0xff, modrm, ..] if (modrm >> 3) & 7 == 4 => Some(Undoable::Jump),
        [0x90, ..] => Some(Undoable::Jump),
        _ => x86::decode_jump(rest).map(|_| Undoable::Jump),
    }
}

impl Debugger {
    /// `thread` is about to be single-stepped for a step back over the
    /// instruction `code`: its registers are kept if undoing the step is
    /// putting them back. A step given a signal enters its handler, and is
    /// not undone.
    pub(super) fn before_step(
        &mut self,
        thread: ThreadId,
        task: &Task,
        code: &[u8],
        signal: i32,
    ) -> Result<(), ReplayError> {
        self.before_step = None;
        if !self.stepping_back() || signal != 0 {
            return Ok(());
        }
        let Some(kind) = undoable(code) else {
            return Ok(());
        };
        let regs = task.regs()?;
        let pushed_over = match kind {
            Undoable::Call => {
                // Unreadable (the stack grows into a page not mapped
                // yet): the call's effect cannot be undone.
                let at = regs.rsp.wrapping_sub(8);
                let mut word = [0u8; 8];
                if task.read_bytes(RemoteAddr(at), &mut word).is_err() {
                    return Ok(());
                }
                Some((at, word))
            }
            Undoable::Jump | Undoable::Return => None,
        };
        self.before_step = Some(BeforeStep {
            thread,
            regs,
            pushed_over,
            calls_or_returns: kind != Undoable::Jump,
        });
        Ok(())
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
    fn jumps_returns_and_calls_can_be_undone() {
        use Undoable::*;
        assert_eq!(undoable(&[0xc3]), Some(Return));
        assert_eq!(undoable(&[0xf3, 0xc3]), Some(Return));
        assert_eq!(undoable(&[0xf2, 0xc3]), Some(Return));
        assert_eq!(undoable(&[0xc2, 0x08, 0x00]), Some(Return));
        assert_eq!(undoable(&[0x75, 0xf0]), Some(Jump));
        assert_eq!(undoable(&[0x0f, 0x85, 1, 2, 3, 4]), Some(Jump));
        assert_eq!(undoable(&[0xe9, 1, 2, 3, 4]), Some(Jump));
        assert_eq!(undoable(&[0xf2, 0xe9, 1, 2, 3, 4]), Some(Jump));
        // jmp *%rax, jmp *8(%rdi)
        assert_eq!(undoable(&[0xff, 0xe0]), Some(Jump));
        assert_eq!(undoable(&[0xff, 0x67, 0x08]), Some(Jump));
        assert_eq!(undoable(&[0xf3, 0x0f, 0x1e, 0xfa]), Some(Jump));
        // A call pushes its return address; push, a store, syscall
        // write more.
        assert_eq!(undoable(&[0xe8, 1, 2, 3, 4]), Some(Call));
        assert_eq!(undoable(&[0xff, 0xd0]), Some(Call));
        assert_eq!(undoable(&[0x55]), None);
        assert_eq!(undoable(&[0x48, 0x89, 0x07]), None);
        assert_eq!(undoable(&[0x0f, 0x05]), None);
        assert_eq!(undoable(&[]), None);
    }
}
