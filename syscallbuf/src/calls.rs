//! Which syscalls the library buffers, and how each one's output reaches
//! the program: the kernel writes into the record, and the library copies
//! it out afterwards, so no other thread sees the call's writes before the
//! recorder could record them (the scratch-buffer rule).

use crate::abi;
use crate::kernel;

/// Where a call writes its output, at most how much, and which argument
/// carries the pointer (replaced by the record's output area).
struct Output {
    pointer_arg: usize,
    max: usize,
}

enum Plan {
    /// The call writes no memory: only its result is recorded.
    ResultOnly,
    Writes(Output),
}

fn plan(nr: i64, args: &[u64; 6]) -> Option<Plan> {
    match nr {
        libc_nr::READ | libc_nr::PREAD64 => Some(Plan::Writes(Output {
            pointer_arg: 1,
            max: usize::try_from(args[2]).ok()?,
        })),
        // Output to the standard streams stays traced: replay echoes it
        // from the syscall's event.
        libc_nr::WRITE | libc_nr::PWRITE64 if args[0] <= 2 => None,
        libc_nr::WRITE
        | libc_nr::PWRITE64
        | libc_nr::LSEEK
        | libc_nr::GETPID
        | libc_nr::GETPPID
        | libc_nr::GETTID
        | libc_nr::GETUID
        | libc_nr::GETEUID
        | libc_nr::GETGID
        | libc_nr::GETEGID => Some(Plan::ResultOnly),
        _ => None,
    }
}

/// Runs the call through `buffer` when it is one the library buffers and
/// fits, and returns its result.
///
/// # Safety
/// `buffer` must be the running thread's alone; the call's pointers are
/// the program's, as the kernel would have used them.
pub unsafe fn buffered(buffer: &mut [u8], nr: i64, args: [u64; 6]) -> Option<i64> {
    // A call from a signal handler that interrupted another inside the
    // library would reserve the same record: it takes the traced way.
    if abi::busy(buffer) {
        return None;
    }
    let plan = plan(nr, &args)?;
    let nr32 = u32::try_from(nr).ok()?;
    let max = match &plan {
        Plan::ResultOnly => 0,
        Plan::Writes(out) => out.max,
    };
    let out_at = abi::reserve(buffer, nr32, args, max)?;
    let out_area = buffer.get_mut(out_at..)?.as_mut_ptr();
    let mut kernel_args = args;
    if let Plan::Writes(out) = &plan {
        *kernel_args.get_mut(out.pointer_arg)? = out_area as u64;
    }
    let record = out_area.wrapping_sub(abi::RECORD_HEADER_LEN);
    // SAFETY: the only pointer the kernel may write through is the
    // record's output area, `max` bytes reserved in the buffer.
    let result = unsafe { kernel::untraced(nr, kernel_args, record) };
    let kept = match &plan {
        Plan::Writes(out) if result > 0 => {
            let kept = usize::try_from(result).unwrap_or(0).min(out.max);
            let to = *args.get(out.pointer_arg)? as *mut u8;
            // SAFETY: the program asked the kernel to write `kept` bytes
            // at `to`; the record's area holds them and does not overlap.
            unsafe { core::ptr::copy_nonoverlapping(out_area, to, kept) };
            kept
        }
        _ => 0,
    };
    abi::commit(buffer, out_at, result, kept);
    Some(result)
}

/// Syscall numbers of x86-64 (the library has no libc crate to name them).
mod libc_nr {
    pub const READ: i64 = 0;
    pub const WRITE: i64 = 1;
    pub const LSEEK: i64 = 8;
    pub const PREAD64: i64 = 17;
    pub const PWRITE64: i64 = 18;
    pub const GETPID: i64 = 39;
    pub const GETUID: i64 = 102;
    pub const GETGID: i64 = 104;
    pub const GETEUID: i64 = 107;
    pub const GETEGID: i64 = 108;
    pub const GETPPID: i64 = 110;
    pub const GETTID: i64 = 186;
}
