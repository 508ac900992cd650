//! The way in from a patched syscall site (ARCHITECTURE.md "syscallbuf",
//! "Patching"): rewind rewrites a library's syscall site into a jump to a
//! stub it writes into this library's stub area; the stub lowers the stack
//! pointer past the red zone and calls `rewind_patched_entry`, which hands
//! the call to the hook with every register the kernel would have kept.
//!
//! The entry's contract with the stubs (`recorder/src/patch.rs` writes
//! them):
//! - a stub lowers rsp past the red zone by 128 bytes, pushes the address
//!   it returns to in the site's function, and calls the entry with rax
//!   holding the syscall number and rdi, rsi, rdx, r10, r8, r9 its
//!   arguments, as at a `syscall` instruction;
//! - on return, those six and xmm0-15 are as they were (the library's
//!   code uses no other vector state); rcx and r11, which a `syscall`
//!   clobbers, are 0; the flags are those of `cmp code, 1` for a code of
//!   2 (the library ran the call: rax holds its result), 1 (it did not:
//!   rax holds the number again, and the stub makes the syscall itself,
//!   with its stack as it is) or 0 (it did not, and the call must be made
//!   on the site's own stack: clone and clone3, whose child starts on the
//!   stack pointer it was given, and rt_sigreturn, which reads its frame
//!   there);
//! - while a stub's frame is in place (between its push and the `lea`
//!   that undoes it), the address it pushed sits at rsp and the site's
//!   stack pointer is rsp + 136: the stub area's call-frame information
//!   says so, so that an unwinder (gdb's backtrace, a thread cancelled
//!   while blocked in a stub's syscall, C++ destructors) goes on into the
//!   site's function.
//!
//! The library tells rewind where the area and the entry are once the
//! loader has relocated it (`LIBRARY_READY`, from its initializer): rewind
//! patches no site before that, and none in a process without the library.

use crate::abi::{LIBRARY_READY, STUB_AREA_LEN};
use crate::{kernel, Call};

// SAFETY: the stub area is plain int3 bytes that rewind overwrites with
// stubs; the entry saves and restores what its contract names, keeps the
// stack 16-byte aligned at the call, and writes memory only below the
// stack pointer it was called with (its frame).
core::arch::global_asm!(
    ".pushsection .text.rewind_stubs,\"ax\",@progbits",
    ".balign 4096",
    ".globl rewind_stub_area",
    ".hidden rewind_stub_area",
    "rewind_stub_area:",
    ".cfi_startproc simple",
    ".cfi_def_cfa rsp, 136",
    ".cfi_offset rip, -136",
    ".fill {area_len}, 1, 0xcc",
    ".cfi_endproc",
    ".popsection",
    ".pushsection .text.rewind_entry,\"ax\",@progbits",
    ".balign 16",
    ".globl rewind_patched_entry",
    ".hidden rewind_patched_entry",
    ".type rewind_patched_entry,@function",
    "rewind_patched_entry:",
    ".cfi_startproc",
    "    push rbp",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset rbp, -16",
    "    mov rbp, rsp",
    ".cfi_def_cfa_register rbp",
    "    push rax",
    "    push rdi",
    "    push rsi",
    "    push rdx",
    "    push r10",
    "    push r8",
    "    push r9",
    "    and rsp, -16",
    "    sub rsp, 320",
    "    movdqa [rsp + 64], xmm0",
    "    movdqa [rsp + 80], xmm1",
    "    movdqa [rsp + 96], xmm2",
    "    movdqa [rsp + 112], xmm3",
    "    movdqa [rsp + 128], xmm4",
    "    movdqa [rsp + 144], xmm5",
    "    movdqa [rsp + 160], xmm6",
    "    movdqa [rsp + 176], xmm7",
    "    movdqa [rsp + 192], xmm8",
    "    movdqa [rsp + 208], xmm9",
    "    movdqa [rsp + 224], xmm10",
    "    movdqa [rsp + 240], xmm11",
    "    movdqa [rsp + 256], xmm12",
    "    movdqa [rsp + 272], xmm13",
    "    movdqa [rsp + 288], xmm14",
    "    movdqa [rsp + 304], xmm15",
    // The `Call`: number, six arguments, result.
    "    mov [rsp], rax",
    "    mov [rsp + 8], rdi",
    "    mov [rsp + 16], rsi",
    "    mov [rsp + 24], rdx",
    "    mov [rsp + 32], r10",
    "    mov [rsp + 40], r8",
    "    mov [rsp + 48], r9",
    "    mov qword ptr [rsp + 56], 0",
    "    mov rdi, rsp",
    "    call {hook}",
    "    movzx r11d, al",
    "    movdqa xmm0, [rsp + 64]",
    "    movdqa xmm1, [rsp + 80]",
    "    movdqa xmm2, [rsp + 96]",
    "    movdqa xmm3, [rsp + 112]",
    "    movdqa xmm4, [rsp + 128]",
    "    movdqa xmm5, [rsp + 144]",
    "    movdqa xmm6, [rsp + 160]",
    "    movdqa xmm7, [rsp + 176]",
    "    movdqa xmm8, [rsp + 192]",
    "    movdqa xmm9, [rsp + 208]",
    "    movdqa xmm10, [rsp + 224]",
    "    movdqa xmm11, [rsp + 240]",
    "    movdqa xmm12, [rsp + 256]",
    "    movdqa xmm13, [rsp + 272]",
    "    movdqa xmm14, [rsp + 288]",
    "    movdqa xmm15, [rsp + 304]",
    "    mov rax, [rbp - 8]",
    // The code: 2 ran, 1 not, 0 not and on the site's stack.
    "    test r11d, r11d",
    "    jz 2f",
    "    mov rax, [rsp + 56]",
    "    mov r11d, 2",
    "    jmp 4f",
    "2:  mov r11d, 1",
    "    cmp rax, {clone}",
    "    je 3f",
    "    cmp rax, {clone3}",
    "    je 3f",
    "    cmp rax, {sigreturn}",
    "    jne 4f",
    "3:  xor r11d, r11d",
    "4:  mov rdi, [rbp - 16]",
    "    mov rsi, [rbp - 24]",
    "    mov rdx, [rbp - 32]",
    "    mov r10, [rbp - 40]",
    "    mov r8, [rbp - 48]",
    "    mov r9, [rbp - 56]",
    "    mov rsp, rbp",
    "    pop rbp",
    ".cfi_def_cfa rsp, 8",
    // From here on nothing changes the flags this sets.
    "    cmp r11d, 1",
    "    mov ecx, 0",
    "    mov r11d, 0",
    "    ret",
    ".cfi_endproc",
    ".size rewind_patched_entry, .-rewind_patched_entry",
    ".popsection",
    area_len = const STUB_AREA_LEN,
    clone = const 56,
    clone3 = const 435,
    sigreturn = const 15,
    hook = sym patched_call,
);

/// The hook, as the entry calls it.
///
/// # Safety
/// `call` points to the `Call` the entry built on its stack.
unsafe extern "C" fn patched_call(call: *mut Call) -> bool {
    // SAFETY: the entry passes its own `Call`; the hook's other
    // requirements (the rewind page, the slot) hold in a recorded or
    // replayed process, the only kind rewind patches.
    unsafe { crate::hook(call) }
}

/// Tells rewind where the stub area and the entry are, once the loader
/// has relocated the library. Without rewind the call fails with ENOSYS
/// and nothing is patched.
unsafe extern "C" fn announce() {
    let area: u64;
    let entry: u64;
    // SAFETY: two address computations, no memory access.
    unsafe {
        core::arch::asm!(
            "lea {area}, [rip + rewind_stub_area]",
            "lea {entry}, [rip + rewind_patched_entry]",
            area = out(reg) area,
            entry = out(reg) entry,
            options(nomem, nostack, preserves_flags),
        );
    }
    // SAFETY: rewind's call reads and writes none of the program's memory.
    unsafe { kernel::traced(LIBRARY_READY, [area, STUB_AREA_LEN as u64, entry, 0, 0, 0]) };
}

/// The loader runs `announce` with the library's other initializers.
#[used]
#[link_section = ".init_array"]
static ANNOUNCE: unsafe extern "C" fn() = announce;
