//! Syscalls that rewind makes a tracee run on its behalf (mapping files
//! during replay, installing the rewind page), and the rewind page itself.

use trace_format::Registers;

use crate::addr::RemoteAddr;
use crate::error::TraceeError;
use crate::ptrace::Resume;
use crate::syscallbuf_abi;
use crate::task::{SyscallStopKind, Task};
use crate::wait::Stop;
use crate::PtraceEvent;

/// Three pages rewind maps at the same fixed address in every recorded and
/// replayed process (`syscallbuf_abi::REWIND_PAGE`): a code page holding
/// the `syscall` instruction that remote syscalls run from (and the
/// preload library's untraced entry), a scratch page for their arguments,
/// and the page of the syscall buffer slot. Mapping them in recording too
/// keeps both address spaces alike.
pub const REWIND_PAGE: u64 = syscallbuf_abi::REWIND_PAGE;
pub const REWIND_REGION_LEN: u64 = 0x3000;
/// The `syscall` instruction remote syscalls run.
pub const REWIND_SYSCALL: u64 = syscallbuf_abi::INJECTED_SYSCALL;
/// A read-write page for strings and structs passed to remote syscalls.
pub const REWIND_SCRATCH: u64 = REWIND_PAGE + 0x1000;
pub const REWIND_SCRATCH_LEN: usize = 0x1000;
/// syscall, run once at the thread's own pc to map the page.
const SYSCALL_BYTES: [u8; 2] = [0x0f, 0x05];

/// Runs syscall `nr` with `args` in the stopped `task` from the
/// instruction at `syscall_insn`, then restores every register. The task
/// must be at a stop from which it would run user code next (not inside a
/// skipped SYSEMU entry). Returns the raw result.
pub fn syscall_at(
    task: &Task,
    syscall_insn: u64,
    nr: i64,
    args: [u64; 6],
) -> Result<i64, TraceeError> {
    let saved = task.regs()?;
    let mut regs = saved;
    regs.rip = syscall_insn;
    regs.rax = nr as u64;
    // -1 in orig_rax keeps the kernel from treating the stop we come from
    // as an interrupted syscall to restart.
    regs.orig_rax = u64::MAX;
    [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9] = args;
    task.set_regs(&regs)?;
    let result = run_injected(task, nr);
    task.set_regs(&saved)?;
    result
}

fn run_injected(task: &Task, nr: i64) -> Result<i64, TraceeError> {
    let unexpected = |got: String, expected: &'static str| TraceeError::UnexpectedStop {
        tid: task.tid,
        expected,
        got,
    };
    // A signal that arrives now must not be delivered with the injected
    // registers: it is held back and sent again afterwards.
    let mut held = Vec::new();
    let mut stop = task.step(Resume::Syscall, 0)?;
    loop {
        match stop {
            Stop::Signal(signal) => held.push(signal),
            // An interrupt the tracer asked for that raced with the stop
            // it got instead (a Ctrl-C, a sample) arrives now: nothing to
            // do with this syscall.
            Stop::Event(PtraceEvent::Stop, _) => {}
            _ => break,
        }
        stop = task.step(Resume::Syscall, 0)?;
    }
    let result = finish_injected(task, nr, stop, unexpected);
    crate::signals::resend_held(task.tid, held)?;
    result
}

fn finish_injected(
    task: &Task,
    nr: i64,
    stop: Stop,
    unexpected: impl Fn(String, &'static str) -> TraceeError,
) -> Result<i64, TraceeError> {
    if stop != Stop::Syscall || task.syscall_stop_kind()? != SyscallStopKind::Entry {
        return Err(unexpected(
            format!("{stop:?}"),
            "the entry of an injected syscall",
        ));
    }
    let entry = task.regs()?;
    if entry.orig_rax as i64 != nr {
        return Err(unexpected(
            format!("syscall {}", entry.orig_rax as i64),
            "the injected syscall",
        ));
    }
    let mut stop = task.step(Resume::Syscall, 0)?;
    if let Stop::Event(PtraceEvent::Seccomp, _) = stop {
        // The recording's filter traces a syscall run from anywhere but the
        // rewind page (the one that maps the page after an exec).
        stop = task.step(Resume::Syscall, 0)?;
    }
    if stop != Stop::Syscall || task.syscall_stop_kind()? != SyscallStopKind::Exit {
        return Err(unexpected(
            format!("{stop:?}"),
            "the exit of an injected syscall",
        ));
    }
    Ok(task.regs()?.rax as i64)
}

/// Runs a syscall from the rewind page; fails with the errno if the
/// syscall returned an error.
pub fn syscall(
    task: &Task,
    name: &'static str,
    nr: i64,
    args: [u64; 6],
) -> Result<u64, TraceeError> {
    let result = syscall_at(task, REWIND_SYSCALL, nr, args)?;
    if (-4095..0).contains(&result) {
        return Err(TraceeError::RemoteSyscall {
            tid: task.tid,
            name,
            errno: result,
        });
    }
    Ok(result as u64)
}

/// Maps the rewind pages into a task that has just exec'd and has no
/// rewind page yet: the `syscall` instruction needed for that is written
/// over the instruction at the current rip for the duration.
pub fn install_rewind_page(task: &Task) -> Result<(), TraceeError> {
    let regs: Registers = task.regs()?;
    let at = RemoteAddr(regs.rip);
    let mut original = [0u8; 2];
    task.read_bytes(at, &mut original)?;
    task.write_bytes(at, &SYSCALL_BYTES)?;
    let installed = map_rewind_region(task, regs.rip);
    task.write_bytes(at, &original)?;
    installed
}

fn map_rewind_region(task: &Task, syscall_insn: u64) -> Result<(), TraceeError> {
    let failed = |name: &'static str, errno: i64| TraceeError::RemoteSyscall {
        tid: task.tid,
        name,
        errno,
    };
    let mapped = syscall_at(
        task,
        syscall_insn,
        libc::SYS_mmap,
        [
            REWIND_PAGE,
            REWIND_REGION_LEN,
            (libc::PROT_READ | libc::PROT_WRITE) as u64,
            (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE) as u64,
            u64::MAX,
            0,
        ],
    )?;
    if mapped as u64 != REWIND_PAGE {
        let errno = if mapped < 0 {
            mapped
        } else {
            -i64::from(libc::EEXIST)
        };
        return Err(failed("mmap of the rewind page", errno));
    }
    task.write_bytes(RemoteAddr(REWIND_PAGE), &syscallbuf_abi::REWIND_CODE)?;
    let protected = syscall_at(
        task,
        syscall_insn,
        libc::SYS_mprotect,
        [
            REWIND_PAGE,
            0x1000,
            (libc::PROT_READ | libc::PROT_EXEC) as u64,
            0,
            0,
            0,
        ],
    )?;
    if protected != 0 {
        return Err(failed("mprotect of the rewind page", protected));
    }
    Ok(())
}

/// Writes `bytes` into the scratch page and returns their address.
pub fn put_scratch(task: &Task, bytes: &[u8]) -> Result<u64, TraceeError> {
    if bytes.len() > REWIND_SCRATCH_LEN {
        return Err(TraceeError::Memory {
            tid: task.tid,
            addr: REWIND_SCRATCH,
            len: bytes.len(),
            write: true,
            source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
        });
    }
    task.write_bytes(RemoteAddr(REWIND_SCRATCH), bytes)?;
    Ok(REWIND_SCRATCH)
}
