//! The library's entry into the kernel: the rewind page's untraced
//! `syscall`, which the recording's seccomp filter lets through without a
//! ptrace stop. Every call the library makes goes through here, so replay
//! has one instruction to stand in for the kernel.

use crate::abi::UNTRACED_SYSCALL;

/// Runs syscall `nr`, whose record is at `record`, from the untraced
/// instruction and returns the kernel's raw result (a negative errno on
/// failure); in replay, the recorded result.
///
/// # Safety
/// The rewind page must be mapped, and the call must be one whose memory
/// effects the caller accounts for (it writes only where `args` point).
pub unsafe fn untraced(nr: i64, args: [u64; 6], record: *const u8) -> i64 {
    let result: i64;
    // SAFETY: the caller guarantees the page is mapped; the entry is
    // `syscall` (in replay a load of the recorded result), then clears rcx,
    // r11 and the flags and returns; the call pushes one return address, so
    // the asm must not be `nostack`. rcx and r11 go in as 0: where the call
    // blocks, rewind puts the thread back before the `syscall` (which
    // overwrote both) as an execution point replay must find, and every
    // other register is still the one it had there.
    unsafe {
        core::arch::asm!(
            "call {entry}",
            entry = in(reg) UNTRACED_SYSCALL,
            inlateout("rax") nr => result,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            in("r9") args[5],
            in("r12") record,
            inlateout("rcx") 0u64 => _,
            inlateout("r11") 0u64 => _,
        );
    }
    result
}

/// Runs syscall `nr` from the library's own instruction, which rewind
/// traces like any of the program's.
///
/// # Safety
/// As for the syscall itself: whatever it does to memory is the caller's.
pub unsafe fn traced(nr: u64, args: [u64; 6]) -> i64 {
    let result: i64;
    // SAFETY: a syscall clobbers rcx and r11 only; its effects are the
    // caller's to account for.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr => result,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            in("r9") args[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    result
}
