//! Scratch buffers (ARCHITECTURE.md "Recording", rr's scratch memory). A
//! blocking syscall writes its results whenever the kernel gets them, while
//! another thread of the process may be running user code: the recording
//! would then not say when that thread could have seen them. So the output
//! buffers of blocking syscalls are redirected to a per-thread scratch area
//! the program never looks at, and copied into place when the recorder
//! handles the syscall's exit, with no user code running: the moment the
//! trace records, and replay reproduces.

use trace_format::Registers;
use tracee::{remote, RemoteAddr, Task};

use crate::error::RecordError;

/// Scratch area per thread.
pub const SCRATCH_LEN: u64 = 256 << 10;

/// How much of a redirected buffer the kernel filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filled {
    /// As many bytes as the syscall's (non-negative) result.
    Result,
    /// The result times this many bytes.
    ResultTimes(u64),
    /// All of it (fixed-size structs and in/out arrays).
    All,
}

#[derive(Debug, Clone, Copy)]
struct Buffer {
    arg: usize,
    len: u64,
    filled: Filled,
}

/// One redirected buffer.
#[derive(Debug, Clone, Copy)]
pub struct Redirect {
    arg: usize,
    original: u64,
    scratch: u64,
    len: u64,
    filled: Filled,
}

/// The buffers the kernel writes while a blocking syscall waits. Syscalls
/// with structures that hold further pointers (recvmsg, readv) are left
/// alone.
fn blocking_buffers(task: &Task, regs: &Registers) -> Option<Vec<Buffer>> {
    let a = regs.syscall_args();
    let fixed = |arg: usize, len: u64| Buffer {
        arg,
        len,
        filled: Filled::All,
    };
    let fd_set_len = a[0].div_ceil(64) * 8;
    let buffers = match regs.orig_rax as i64 {
        libc::SYS_read | libc::SYS_pread64 => vec![Buffer {
            arg: 1,
            len: a[2],
            filled: Filled::Result,
        }],
        libc::SYS_recvfrom if a[4] == 0 => vec![Buffer {
            arg: 1,
            len: a[2],
            filled: Filled::Result,
        }],
        libc::SYS_wait4 => vec![fixed(1, 4), fixed(3, 144)],
        libc::SYS_waitid => vec![fixed(2, 128), fixed(4, 144)],
        libc::SYS_epoll_wait | libc::SYS_epoll_pwait | libc::SYS_epoll_pwait2 => vec![Buffer {
            arg: 1,
            len: a[2].saturating_mul(12),
            filled: Filled::ResultTimes(12),
        }],
        libc::SYS_poll => vec![fixed(0, a[1].saturating_mul(8))],
        libc::SYS_ppoll => vec![fixed(0, a[1].saturating_mul(8)), fixed(2, 16)],
        libc::SYS_select | libc::SYS_pselect6 => vec![
            fixed(1, fd_set_len),
            fixed(2, fd_set_len),
            fixed(3, fd_set_len),
            fixed(4, 16),
        ],
        libc::SYS_nanosleep => vec![fixed(1, 16)],
        libc::SYS_clock_nanosleep => vec![fixed(3, 16)],
        libc::SYS_accept | libc::SYS_accept4 => {
            let len = if a[2] == 0 {
                0
            } else {
                u64::from(task.read_u32(RemoteAddr(a[2])).ok()?)
            };
            vec![fixed(1, len), fixed(2, 4)]
        }
        _ => return None,
    };
    Some(
        buffers
            .into_iter()
            .filter(|b| a[b.arg] != 0 && b.len > 0)
            .collect(),
    )
}

/// Maps a scratch area for `task` (at a stop where it could run user
/// code next). Returns its address.
pub fn allocate(task: &Task) -> Result<u64, RecordError> {
    Ok(remote::syscall(
        task,
        "mmap of a scratch buffer",
        libc::SYS_mmap,
        [
            0,
            SCRATCH_LEN,
            (libc::PROT_READ | libc::PROT_WRITE) as u64,
            (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64,
            u64::MAX,
            0,
        ],
    )?)
}

/// At a syscall entry: points the syscall's output buffers into
/// `scratch` (copying their contents there first, for in/out buffers).
/// Returns nothing when the syscall does not block or does not fit.
pub fn redirect(task: &Task, regs: &Registers, scratch: u64) -> Result<Vec<Redirect>, RecordError> {
    let Some(buffers) = blocking_buffers(task, regs) else {
        return Ok(Vec::new());
    };
    let total: u64 = buffers.iter().map(|b| b.len.next_multiple_of(16)).sum();
    if buffers.is_empty() || total > SCRATCH_LEN {
        return Ok(Vec::new());
    }
    let args = regs.syscall_args();
    let mut redirects = Vec::with_capacity(buffers.len());
    let mut at = scratch;
    let mut contents = Vec::new();
    for buffer in buffers {
        contents.resize(buffer.len as usize, 0);
        let got = task.read_partial(RemoteAddr(args[buffer.arg]), &mut contents);
        task.write_bytes(RemoteAddr(at), &contents[..got])?;
        redirects.push(Redirect {
            arg: buffer.arg,
            original: args[buffer.arg],
            scratch: at,
            len: buffer.len,
            filled: buffer.filled,
        });
        at += buffer.len.next_multiple_of(16);
    }
    let mut redirected = *regs;
    for r in &redirects {
        set_arg(&mut redirected, r.arg, r.scratch);
    }
    task.set_regs(&redirected)?;
    Ok(redirects)
}

/// At the syscall's exit: copies what the kernel wrote into the program's
/// buffers and gives the registers back their original pointers.
pub fn restore(task: &Task, redirects: &[Redirect], result: i64) -> Result<(), RecordError> {
    if redirects.is_empty() {
        return Ok(());
    }
    let mut regs = task.regs()?;
    let mut bytes = Vec::new();
    for r in redirects {
        set_arg(&mut regs, r.arg, r.original);
        let filled = match (r.filled, u64::try_from(result)) {
            (Filled::All, _) => r.len,
            (Filled::Result, Ok(n)) => n.min(r.len),
            (Filled::ResultTimes(size), Ok(n)) => n.saturating_mul(size).min(r.len),
            (_, Err(_)) => 0,
        };
        if filled > 0 {
            bytes.resize(filled as usize, 0);
            task.read_bytes(RemoteAddr(r.scratch), &mut bytes)?;
            task.write_bytes(RemoteAddr(r.original), &bytes)?;
        }
    }
    task.set_regs(&regs)?;
    Ok(())
}

fn set_arg(regs: &mut Registers, arg: usize, value: u64) {
    match arg {
        0 => regs.rdi = value,
        1 => regs.rsi = value,
        2 => regs.rdx = value,
        3 => regs.r10 = value,
        4 => regs.r8 = value,
        _ => regs.r9 = value,
    }
}
