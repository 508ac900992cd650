//! Raw ptrace requests, each turned into a `Result` where it is made.

use std::io;

use libc::{c_long, c_uint, c_void};

use crate::error::TraceeError;
use crate::Tid;

/// glibc's headers lack these on x86-64; the values are the kernel's
/// (arch/x86/include/uapi/asm/ptrace-abi.h, include/uapi/linux/ptrace.h).
pub(crate) const PTRACE_SYSEMU: c_uint = 31;
pub(crate) const PTRACE_SYSEMU_SINGLESTEP: c_uint = 32;
pub(crate) const PTRACE_GET_SYSCALL_INFO: c_uint = 0x420e;
pub(crate) const PTRACE_SYSCALL_INFO_NONE: u8 = 0;
pub(crate) const PTRACE_SYSCALL_INFO_ENTRY: u8 = 1;
pub(crate) const PTRACE_SYSCALL_INFO_EXIT: u8 = 2;
pub(crate) const PTRACE_SYSCALL_INFO_SECCOMP: u8 = 3;

/// Options for every tracee: syscall stops marked with 0x80, stops at
/// exec, exit, clone/fork/vfork and seccomp, and tracees killed if the
/// tracer dies (so a crashed recorder leaves no orphans running).
pub const PTRACE_OPTIONS: c_long = (libc::PTRACE_O_TRACESYSGOOD
    | libc::PTRACE_O_TRACEEXEC
    | libc::PTRACE_O_TRACEEXIT
    | libc::PTRACE_O_TRACECLONE
    | libc::PTRACE_O_TRACEFORK
    | libc::PTRACE_O_TRACEVFORK
    | libc::PTRACE_O_TRACESECCOMP
    | libc::PTRACE_O_EXITKILL) as c_long;

/// How to resume a stopped tracee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Run until a signal or ptrace event.
    Continue,
    /// Also stop at syscall entry and exit.
    Syscall,
    /// Stop at syscall entry and skip the syscall (replay).
    Sysemu,
    /// Execute one instruction.
    SingleStep,
    /// One instruction, and stop at (and skip) a syscall.
    SysemuSingleStep,
    /// Leave a tracee in a group-stop stopped, but report when the stop
    /// ends (SIGCONT) or changes: PTRACE_LISTEN. No signal can be given.
    Listen,
}

impl Resume {
    fn request(self) -> (c_uint, &'static str) {
        match self {
            Resume::Continue => (libc::PTRACE_CONT, "CONT"),
            Resume::Syscall => (libc::PTRACE_SYSCALL, "SYSCALL"),
            Resume::Sysemu => (PTRACE_SYSEMU, "SYSEMU"),
            Resume::SingleStep => (libc::PTRACE_SINGLESTEP, "SINGLESTEP"),
            Resume::SysemuSingleStep => (PTRACE_SYSEMU_SINGLESTEP, "SYSEMU_SINGLESTEP"),
            Resume::Listen => (libc::PTRACE_LISTEN, "LISTEN"),
        }
    }
}

/// Makes one ptrace request. `addr` and `data` are passed as the kernel's
/// untyped words; callers that pass pointers guarantee them.
///
/// # Safety
/// For requests that read or write through `addr` or `data`, those must
/// point to memory valid for the size the request uses.
pub(crate) unsafe fn raw(
    request: c_uint,
    name: &'static str,
    tid: Tid,
    addr: *mut c_void,
    data: *mut c_void,
) -> Result<c_long, TraceeError> {
    // SAFETY: the caller guarantees addr/data for this request.
    let result = unsafe { libc::ptrace(request, tid, addr, data) };
    if result == -1 {
        let source = io::Error::last_os_error();
        if source.raw_os_error() != Some(0) {
            return Err(TraceeError::Ptrace {
                request: name,
                tid,
                source,
            });
        }
    }
    Ok(result)
}

pub(crate) fn resume(tid: Tid, how: Resume, signal: i32) -> Result<(), TraceeError> {
    let (request, name) = how.request();
    // SAFETY: resume requests take a signal number as data and no pointer.
    unsafe {
        raw(
            request,
            name,
            tid,
            std::ptr::null_mut(),
            signal as usize as *mut c_void,
        )
    }
    .map(drop)
}

pub(crate) fn seize(tid: Tid) -> Result<(), TraceeError> {
    // SAFETY: SEIZE takes the options word as data and no pointer.
    unsafe {
        raw(
            libc::PTRACE_SEIZE,
            "SEIZE",
            tid,
            std::ptr::null_mut(),
            PTRACE_OPTIONS as *mut c_void,
        )
    }
    .map(drop)
}

pub(crate) fn interrupt(tid: Tid) -> Result<(), TraceeError> {
    // SAFETY: INTERRUPT takes no pointers.
    unsafe {
        raw(
            libc::PTRACE_INTERRUPT,
            "INTERRUPT",
            tid,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    }
    .map(drop)
}

pub(crate) fn get_regs(tid: Tid) -> Result<libc::user_regs_struct, TraceeError> {
    // SAFETY: user_regs_struct is plain integers; all-zero is valid.
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    // SAFETY: GETREGS writes exactly one user_regs_struct to data.
    unsafe {
        raw(
            libc::PTRACE_GETREGS,
            "GETREGS",
            tid,
            std::ptr::null_mut(),
            (&mut regs as *mut libc::user_regs_struct).cast(),
        )
    }?;
    Ok(regs)
}

pub(crate) fn set_regs(tid: Tid, regs: &libc::user_regs_struct) -> Result<(), TraceeError> {
    // SAFETY: SETREGS reads exactly one user_regs_struct from data.
    unsafe {
        raw(
            libc::PTRACE_SETREGS,
            "SETREGS",
            tid,
            std::ptr::null_mut(),
            (regs as *const libc::user_regs_struct).cast_mut().cast(),
        )
    }
    .map(drop)
}

pub(crate) fn get_event_msg(tid: Tid) -> Result<u64, TraceeError> {
    let mut msg: libc::c_ulong = 0;
    // SAFETY: GETEVENTMSG writes one unsigned long to data.
    unsafe {
        raw(
            libc::PTRACE_GETEVENTMSG,
            "GETEVENTMSG",
            tid,
            std::ptr::null_mut(),
            (&mut msg as *mut libc::c_ulong).cast(),
        )
    }?;
    Ok(msg)
}

pub(crate) fn get_siginfo(tid: Tid) -> Result<[u8; 128], TraceeError> {
    let mut info = [0u8; 128];
    // SAFETY: GETSIGINFO writes one 128-byte siginfo_t to data.
    unsafe {
        raw(
            libc::PTRACE_GETSIGINFO,
            "GETSIGINFO",
            tid,
            std::ptr::null_mut(),
            info.as_mut_ptr().cast(),
        )
    }?;
    Ok(info)
}

/// The `op` byte of `struct ptrace_syscall_info`: whether a syscall stop
/// is an entry, an exit or a seccomp stop.
pub(crate) fn syscall_info_op(tid: Tid) -> Result<u8, TraceeError> {
    let mut info = [0u8; 88];
    // SAFETY: GET_SYSCALL_INFO writes at most `addr` (the buffer size)
    // bytes to data.
    unsafe {
        raw(
            PTRACE_GET_SYSCALL_INFO,
            "GET_SYSCALL_INFO",
            tid,
            info.len() as *mut c_void,
            info.as_mut_ptr().cast(),
        )
    }?;
    Ok(info[0])
}
