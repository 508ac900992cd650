//! rewind's preload library (ARCHITECTURE.md "syscallbuf"): runs common
//! syscalls of a recorded program without a ptrace stop and appends each
//! one's result and output to the running thread's buffer, which rewind
//! flushes into the trace at the thread's next stop.
//!
//! It links no libc, never allocates, and holds no panic code (a test
//! reads the built library's symbols): it runs inside any program, at any
//! instruction the program's syscalls happen to be at.
#![no_std]

pub mod abi;
mod calls;
mod kernel;
mod mem;

use abi::{THREAD_BUFFER, THREAD_BUFFER_LEN};

/// A syscall as the patched call site hands it over: its number and
/// arguments, and the result when the library ran it.
#[repr(C)]
pub struct Call {
    pub nr: i64,
    pub args: [u64; 6],
    pub result: i64,
}

/// Runs `call` through the running thread's buffer when the library
/// buffers that kind of call and the buffer has room, and says whether it
/// did. When it did not, the caller makes the syscall the traced way.
///
/// # Safety
/// `call` must point to a `Call`; the rewind page must be mapped, and
/// its thread slot must hold 0 or a buffer of the length it names.
#[no_mangle]
pub unsafe extern "C" fn rewind_syscall_hook(call: *mut Call) -> bool {
    // SAFETY: the caller passes a valid, exclusive `Call`.
    let call = unsafe { &mut *call };
    // SAFETY: the caller guarantees the slot's contract.
    let Some(buffer) = (unsafe { thread_buffer() }) else {
        return false;
    };
    // SAFETY: the slot's buffer is the running thread's alone.
    match unsafe { calls::buffered(buffer, call.nr, call.args) } {
        Some(result) => {
            call.result = result;
            true
        }
        None => false,
    }
}

/// The running thread's buffer, from the rewind page's thread slot, which
/// rewind points at each thread's buffer when it lets the thread run.
///
/// # Safety
/// The rewind page must be mapped and its slot hold 0 or a buffer of the
/// named length that no one else writes while this thread runs.
unsafe fn thread_buffer() -> Option<&'static mut [u8]> {
    // SAFETY: the page is mapped (caller); volatile because rewind writes
    // the slot from outside between this thread's runs.
    let (addr, len) = unsafe {
        (
            core::ptr::read_volatile(THREAD_BUFFER as *const u64),
            core::ptr::read_volatile(THREAD_BUFFER_LEN as *const u64),
        )
    };
    if addr == 0 || len == 0 {
        return None;
    }
    // SAFETY: the caller guarantees the buffer is mapped, this long, and
    // the running thread's alone.
    Some(unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, len as usize) })
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // Never reached: the test on the built library proves no code path
    // leads here. Should one appear, stop the program on the spot rather
    // than unwind through its frames.
    // SAFETY: ud2 only raises SIGILL.
    unsafe { core::arch::asm!("ud2", options(nomem, nostack, noreturn)) }
}
