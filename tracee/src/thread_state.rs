//! What a thread keeps in the kernel beside its registers, read from a
//! stopped original and given to its copy (ARCHITECTURE.md "Copies of the
//! replay"). A fork keeps the signal mask, alternate signal stack and
//! floating-point state of the thread that forks, but clears the address
//! the kernel zeroes at thread exit (set_tid_address) and the robust futex
//! list; a thread made by clone(CLONE_VM) inherits the cloning thread's
//! mask, floating-point state and name, and no alternate stack. Either
//! would make a copy replay differently from its original once a thread
//! exits or takes a signal, or show gdb other thread names.

use libc::c_void;

use crate::error::TraceeError;
use crate::ptrace;
use crate::remote::{self, REWIND_SCRATCH};
use crate::task::{SyscallStopKind, Task};
use crate::wait::Stop;
use crate::{extended_state, RemoteAddr, Resume, Tid};
use trace_format::Registers;

/// prctl(PR_GET_TID_ADDRESS): the calling thread's clear_child_tid.
const PR_GET_TID_ADDRESS: u64 = 40;
/// glibc lacks these on x86-64 (include/uapi/linux/ptrace.h).
const PTRACE_GETSIGMASK: libc::c_uint = 0x420a;
const PTRACE_SETSIGMASK: libc::c_uint = 0x420b;
/// sizeof(stack_t) on x86-64: ss_sp, ss_flags (padded), ss_size.
const STACK_T_LEN: usize = 24;
/// The longest thread name, without its NUL (TASK_COMM_LEN - 1).
const NAME_MAX: usize = 15;
/// The two bytes of `syscall`.
const SYSCALL_INSN: [u8; 2] = [0x0f, 0x05];

/// A thread's kernel-held state, as read from its original.
pub struct ThreadState {
    pub regs: Registers,
    floating: extended_state::WholeState,
    signal_mask: u64,
    clear_tid: u64,
    robust_list: (u64, u64),
    alternate_stack: [u8; STACK_T_LEN],
    /// The thread's name (comm), NUL-terminated.
    name: Vec<u8>,
}

impl ThreadState {
    /// Reads the state of `task`, which must be at a stop from which it
    /// would run user code next: it runs three syscalls on rewind's behalf.
    pub fn read(task: &Task) -> Result<ThreadState, TraceeError> {
        let regs = task.regs()?;
        let scratch = REWIND_SCRATCH;
        // Kernels built without CONFIG_CHECKPOINT_RESTORE cannot say; a
        // single-threaded process never needs it (the kernel clears the
        // word only while other threads share the memory), and a copy of
        // more threads is not made there (`clear_tid_readable`).
        let clear_tid = match remote::syscall(
            task,
            "prctl(PR_GET_TID_ADDRESS)",
            libc::SYS_prctl,
            [PR_GET_TID_ADDRESS, scratch, 0, 0, 0, 0],
        ) {
            Ok(_) => task.read_u64(RemoteAddr(scratch))?,
            Err(TraceeError::RemoteSyscall { errno, .. }) if errno == -(libc::EINVAL as i64) => 0,
            Err(e) => return Err(e),
        };
        remote::syscall(
            task,
            "get_robust_list",
            libc::SYS_get_robust_list,
            [0, scratch, scratch + 8, 0, 0, 0],
        )?;
        let robust_list = (
            task.read_u64(RemoteAddr(scratch))?,
            task.read_u64(RemoteAddr(scratch + 8))?,
        );
        remote::syscall(
            task,
            "sigaltstack",
            libc::SYS_sigaltstack,
            [0, scratch, 0, 0, 0, 0],
        )?;
        let mut alternate_stack = [0; STACK_T_LEN];
        task.read_bytes(RemoteAddr(scratch), &mut alternate_stack)?;
        let path = format!("/proc/{}/comm", task.tid);
        let mut name = std::fs::read(&path).map_err(|source| TraceeError::Proc {
            path: path.into(),
            source,
        })?;
        name.retain(|&b| b != b'\n');
        name.truncate(NAME_MAX);
        name.push(0);
        Ok(ThreadState {
            regs,
            name,
            floating: extended_state::read_whole(task.tid)?,
            signal_mask: signal_mask(task.tid)?,
            clear_tid,
            robust_list,
            alternate_stack,
        })
    }

    /// Gives the state to `copy`, a fork of the original (which kept the
    /// mask, alternate stack, name and floating-point state) or a thread
    /// cloned for it (`cloned`: which kept none of them). Registers go
    /// last.
    pub fn give(&self, copy: &Task, cloned: bool) -> Result<(), TraceeError> {
        remote::syscall(
            copy,
            "set_tid_address",
            libc::SYS_set_tid_address,
            [self.clear_tid, 0, 0, 0, 0, 0],
        )?;
        if self.robust_list.0 != 0 {
            remote::syscall(
                copy,
                "set_robust_list",
                libc::SYS_set_robust_list,
                [self.robust_list.0, self.robust_list.1, 0, 0, 0, 0],
            )?;
        }
        if cloned {
            copy.write_bytes(RemoteAddr(REWIND_SCRATCH), &self.name)?;
            remote::syscall(
                copy,
                "prctl(PR_SET_NAME)",
                libc::SYS_prctl,
                [libc::PR_SET_NAME as u64, REWIND_SCRATCH, 0, 0, 0, 0],
            )?;
            copy.write_bytes(RemoteAddr(REWIND_SCRATCH), &self.alternate_stack)?;
            remote::syscall(
                copy,
                "sigaltstack",
                libc::SYS_sigaltstack,
                [REWIND_SCRATCH, 0, 0, 0, 0, 0],
            )?;
            set_signal_mask(copy.tid, self.signal_mask)?;
            extended_state::write_whole(copy.tid, &self.floating)?;
        }
        copy.set_regs(&self.regs)
    }
}

/// Whether this kernel tells a thread its clear-child-tid address
/// (prctl PR_GET_TID_ADDRESS), which copies of threads need.
pub fn clear_tid_readable() -> bool {
    let mut address: u64 = 0;
    // SAFETY: PR_GET_TID_ADDRESS writes one pointer-sized word to the
    // address given, a live u64 here.
    let result = unsafe {
        libc::prctl(
            PR_GET_TID_ADDRESS as libc::c_int,
            &mut address as *mut u64,
            0,
            0,
            0,
        )
    };
    result == 0
}

/// Whether the two bytes before `task`'s pc (at a syscall's entry stop)
/// are a `syscall` instruction as memory holds it now.
pub fn before_syscall_instruction(task: &Task) -> Result<bool, TraceeError> {
    Ok(syscall_bytes_before(task, task.regs()?.rip)? == SYSCALL_INSN)
}

/// The two instruction bytes before `rip`.
fn syscall_bytes_before(task: &Task, rip: u64) -> Result<[u8; 2], TraceeError> {
    let mut insn = [0; 2];
    task.read_bytes(RemoteAddr(rip.wrapping_sub(2)), &mut insn)?;
    Ok(insn)
}

/// Puts `task`, stopped after a syscall it was at the entry of (regs at
/// that entry in `entry`), back at the same entry, for a replay that
/// skips it (SYSEMU). Fails if the instruction before is no `syscall`.
pub fn enter_again(task: &Task, entry: &Registers) -> Result<(), TraceeError> {
    enter_again_as(task, entry, Resume::Sysemu)
}

/// Leaves the syscall entry `task` stands at without running the syscall
/// (its exit stop follows), for syscalls injected there: an injected
/// syscall cannot start from an entry stop. Returns the registers at the
/// entry, for `enter_again_as`.
pub fn leave_entry(task: &Task) -> Result<Registers, TraceeError> {
    let entry = task.regs()?;
    let mut skipped = entry;
    skipped.orig_rax = u64::MAX;
    task.set_regs(&skipped)?;
    let mut held = Vec::new();
    let mut stop = task.step(Resume::Syscall, 0)?;
    while let Stop::Signal(signal) = stop {
        held.push(signal);
        stop = task.step(Resume::Syscall, 0)?;
    }
    crate::signals::resend_held(task.tid, held)?;
    if stop != Stop::Syscall || task.syscall_stop_kind()? != SyscallStopKind::Exit {
        return Err(TraceeError::UnexpectedStop {
            tid: task.tid,
            expected: "the exit of a syscall left at its entry",
            got: format!("{stop:?}"),
        });
    }
    Ok(entry)
}

/// `enter_again`, resumed `how`: with `Resume::Syscall` the kernel runs
/// the syscall when the thread is resumed from the entry.
pub fn enter_again_as(task: &Task, entry: &Registers, how: Resume) -> Result<(), TraceeError> {
    let insn = syscall_bytes_before(task, entry.rip)?;
    let unexpected = |got: String| TraceeError::UnexpectedStop {
        tid: task.tid,
        expected: "the entry of a syscall entered again",
        got,
    };
    if insn != SYSCALL_INSN {
        return Err(unexpected(format!("instruction bytes {insn:02x?}")));
    }
    let mut regs = *entry;
    regs.rip -= 2;
    regs.rax = entry.orig_rax;
    task.set_regs(&regs)?;
    // A signal pending now (SIGCHLD of a replayed child, which the replay
    // drops) is held back and sent again, as around injected syscalls.
    let mut held = Vec::new();
    let mut stop = task.step(how, 0)?;
    while let Stop::Signal(signal) = stop {
        held.push(signal);
        stop = task.step(how, 0)?;
    }
    crate::signals::resend_held(task.tid, held)?;
    if stop != Stop::Syscall || task.syscall_stop_kind()? != SyscallStopKind::Entry {
        return Err(unexpected(format!("{stop:?}")));
    }
    let now = task.regs()?;
    if now.orig_rax != entry.orig_rax || now.rip != entry.rip {
        return Err(unexpected(format!(
            "syscall {} at {:#x}",
            now.orig_rax as i64, now.rip
        )));
    }
    // The arguments and the rest stand as they did at the first entry.
    task.set_regs(entry)
}

fn signal_mask(tid: Tid) -> Result<u64, TraceeError> {
    let mut mask = 0u64;
    // SAFETY: GETSIGMASK writes addr (8) bytes to data, a live u64.
    unsafe {
        ptrace::raw(
            PTRACE_GETSIGMASK,
            "GETSIGMASK",
            tid,
            8 as *mut c_void,
            (&mut mask as *mut u64).cast(),
        )
    }?;
    Ok(mask)
}

fn set_signal_mask(tid: Tid, mut mask: u64) -> Result<(), TraceeError> {
    // SAFETY: SETSIGMASK reads addr (8) bytes from data, a live u64.
    unsafe {
        ptrace::raw(
            PTRACE_SETSIGMASK,
            "SETSIGMASK",
            tid,
            8 as *mut c_void,
            (&mut mask as *mut u64).cast(),
        )
    }
    .map(drop)
}
