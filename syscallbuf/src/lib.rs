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
mod entry;
mod kernel;
mod mem;

use abi::{
    BUFFERING_OFF, BUFFER_LEN, REFUSED_LEN, REGISTER_BUFFER, THREAD_BUFFER, THREAD_BUFFER_LEN,
};

/// A syscall as a patched call site hands it over: its number and
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
    // SAFETY: the caller's guarantees are the hook's.
    unsafe { hook(call) }
}

/// The hook's body, which the patched sites' entry calls directly (not
/// through the exported symbol, whose address the loader would have to
/// supply).
///
/// # Safety
/// As for `rewind_syscall_hook`.
unsafe fn hook(call: *mut Call) -> bool {
    // SAFETY: the caller passes a valid, exclusive `Call`.
    let call = unsafe { &mut *call };
    // SAFETY: the caller guarantees the page is mapped and the slot's
    // contract; a buffer the library maps and registers is the thread's
    // alone.
    let buffer = unsafe {
        if core::ptr::read_volatile(BUFFERING_OFF as *const u64) != 0 {
            return false;
        }
        match thread_slot() {
            Slot::Buffer(buffer) => buffer,
            Slot::Empty => match register_buffer() {
                Some(buffer) => buffer,
                None => return false,
            },
            Slot::Refused => return false,
        }
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

/// What the rewind page's thread slot says of the running thread.
enum Slot {
    Buffer(&'static mut [u8]),
    /// None yet: the library makes one.
    Empty,
    /// It may not have one (`abi::REFUSED_LEN`).
    Refused,
}

/// The running thread's buffer, from the rewind page's thread slot, which
/// rewind points at each thread's buffer when it lets the thread run.
///
/// # Safety
/// The rewind page must be mapped and its slot hold 0 or a buffer of the
/// named length that no one else writes while this thread runs.
unsafe fn thread_slot() -> Slot {
    // SAFETY: the page is mapped (caller); volatile because rewind writes
    // the slot from outside between this thread's runs.
    let (addr, len) = unsafe {
        (
            core::ptr::read_volatile(THREAD_BUFFER as *const u64),
            core::ptr::read_volatile(THREAD_BUFFER_LEN as *const u64),
        )
    };
    match (addr, len) {
        (0, REFUSED_LEN) => Slot::Refused,
        (0, _) | (_, 0) => Slot::Empty,
        _ => {
            // SAFETY: the caller guarantees the buffer is mapped, this
            // long, and the running thread's alone.
            let buffer = unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, len as usize) };
            Slot::Buffer(buffer)
        }
    }
}

/// Maps a buffer for the running thread and hands it to rewind, which
/// keeps it as that thread's; both are traced syscalls, so replay maps the
/// same buffer at the same address. Refused (ENOSYS without rewind), the
/// buffer is unmapped again and the call takes the traced way.
///
/// # Safety
/// The rewind page must be mapped.
unsafe fn register_buffer() -> Option<&'static mut [u8]> {
    const PROT_READ_WRITE: u64 = 0x3;
    const MAP_PRIVATE_ANONYMOUS: u64 = 0x22;
    // SAFETY: a new anonymous mapping touches no existing memory.
    let addr = unsafe {
        kernel::traced(
            SYS_MMAP,
            [
                0,
                BUFFER_LEN,
                PROT_READ_WRITE,
                MAP_PRIVATE_ANONYMOUS,
                u64::MAX,
                0,
            ],
        )
    };
    if !(0..=0x7fff_ffff_ffff).contains(&addr) {
        return None;
    }
    // SAFETY: the mapping is new, BUFFER_LEN long and the thread's alone.
    let buffer = unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, BUFFER_LEN as usize) };
    abi::init(buffer);
    // SAFETY: rewind's call reads nothing of the program's memory. Without
    // rewind the kernel has no such call; rewind refuses (EEXIST) a second
    // buffer for a thread, which a signal handler's call registered while
    // this one was between its mmap and here.
    let registered =
        unsafe { kernel::traced(REGISTER_BUFFER, [addr as u64, BUFFER_LEN, 0, 0, 0, 0]) };
    if !abi::is_registered(registered) {
        // SAFETY: the mapping is the library's own, no longer used.
        unsafe { kernel::traced(SYS_MUNMAP, [addr as u64, BUFFER_LEN, 0, 0, 0, 0]) };
        return None;
    }
    // SAFETY: the page is mapped (caller); rewind points the slot at each
    // thread's buffer when it switches threads, the library at its own.
    unsafe {
        core::ptr::write_volatile(THREAD_BUFFER as *mut u64, addr as u64);
        core::ptr::write_volatile(THREAD_BUFFER_LEN as *mut u64, BUFFER_LEN);
    }
    abi::set_blocking(buffer, registered == abi::REGISTERED_BLOCKING);
    Some(buffer)
}

const SYS_MMAP: u64 = 9;
const SYS_MUNMAP: u64 = 11;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // Never reached: the test on the built library proves no code path
    // leads here. Should one appear, stop the program on the spot rather
    // than unwind through its frames.
    // SAFETY: ud2 only raises SIGILL.
    unsafe { core::arch::asm!("ud2", options(nomem, nostack, noreturn)) }
}
