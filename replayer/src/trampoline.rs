//! Stopping a thread at a recorded execution point without a ptrace stop
//! per pass (DESIGN.md "Ticks"). The instruction at the point is replaced by
//! a jump to a trampoline in the tracee that compares the general registers
//! with the recorded ones and traps only when all are equal; otherwise it
//! runs the displaced instruction and jumps back. A spin loop then runs at
//! nearly full speed in replay. Only the thread being replayed runs while a
//! trampoline exists, so one page serves as its code, data and stack.

use trace_format::Registers;
use tracee::maps;
use tracee::x86::{self, Instruction};
use tracee::{remote, RemoteAddr, Task};

use crate::error::ReplayError;

const PAGE: u64 = 4096;
/// jmp rel32 reaches ±2 GiB; stay well inside.
const REACH: u64 = 0x7000_0000;

/// A patched execution point.
pub struct Trampoline {
    /// The patched instruction.
    pub point: u64,
    original: Vec<u8>,
    page: u64,
    /// Address right after the trap (rip at the SIGTRAP stop).
    pub trap_return: u64,
    /// The displaced instruction's copy, where a false candidate resumes.
    pub displaced: u64,
    /// Starts of the covered instructions after the first, as offsets
    /// from `point`: a branch landing there would run the middle of the
    /// jump, so each is watched by a debug register and sent to its copy.
    pub interior: Vec<u64>,
}

/// Interior instructions a span may have: one debug register each, the
/// replay's own slot excluded.
pub const MAX_INTERIOR: usize = 3;

/// The instructions from `addr` on that the jump would cover, if the
/// trampoline can move them all (the recording chose the point so that no
/// branch it saw lands inside them).
pub fn span_at(task: &Task, addr: u64) -> Option<Vec<(usize, Instruction)>> {
    let mut bytes = [0u8; 32];
    let got = task.read_partial(RemoteAddr(addr), &mut bytes);
    x86::patchable_span(&bytes[..got])
}

/// GPR numbers in ModRM encoding order with their recorded values.
fn register_values(regs: &Registers) -> [u64; 16] {
    [
        regs.rax, regs.rcx, regs.rdx, regs.rbx, regs.rsp, regs.rbp, regs.rsi, regs.rdi, regs.r8,
        regs.r9, regs.r10, regs.r11, regs.r12, regs.r13, regs.r14, regs.r15,
    ]
}

/// Appends `opcode bytes` followed by a rip-relative disp32 to the data
/// slot at page offset `target`, fixed up once the code is complete.
struct Assembler {
    base: u64,
    code: Vec<u8>,
    /// (offset of a disp32 in `code`, page offset it refers to)
    fixups: Vec<(usize, usize)>,
}

impl Assembler {
    fn rip_relative(&mut self, opcode: &[u8], target: usize) {
        self.code.extend_from_slice(opcode);
        self.fixups.push((self.code.len(), target));
        self.code.extend_from_slice(&[0; 4]);
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.code.extend_from_slice(bytes);
    }

    /// jne to a code offset patched later; returns where its rel32 is.
    fn jne(&mut self) -> usize {
        self.code.extend_from_slice(&[0x0f, 0x85]);
        let at = self.code.len();
        self.code.extend_from_slice(&[0; 4]);
        at
    }

    fn link(&mut self) -> Option<()> {
        for &(at, target) in &self.fixups {
            let rel = i32::try_from(target as i64 - (at as i64 + 4)).ok()?;
            self.code[at..at + 4].copy_from_slice(&rel.to_le_bytes());
        }
        Some(())
    }
}

/// Page offsets of the trampoline's data.
const SAVED_RSP: usize = 0xe00;
const SAVED_RCX: usize = 0xe08;
const EXPECTED: usize = 0xe10;
/// The fingerprint's memory words, after the 16 registers.
const EXPECTED_MEMORY: usize = EXPECTED + 16 * 8;
const MAX_MEMORY_WORDS: usize = 16;
const STACK_TOP: usize = 0xff0;

/// Machine code of a trampoline placed at `base` for `insn` (whose bytes
/// are `original`) at `point`. Returns the code and the offsets of the
/// byte after its int3 and of the displaced instruction. It switches to a
/// stack of its own inside the page, so that it writes nothing to the
/// program's stack: the fingerprint hashes stack memory, and a replay
/// must leave none of its own traces there.
fn assemble(
    base: u64,
    point: u64,
    span: &[(usize, Instruction)],
    original: &[u8],
    regs: &Registers,
    memory: &[(u64, u64)],
    quick: Option<u8>,
) -> Option<(Vec<u8>, usize, usize)> {
    if memory.len() > MAX_MEMORY_WORDS {
        return None;
    }
    let mut asm = Assembler {
        base,
        code: Vec::with_capacity(512),
        fixups: Vec::new(),
    };
    // The quick check: one register, the one most likely to differ, tested
    // without touching flags or the stack (lea and jrcxz), so that most
    // passes of a hot loop cost a handful of instructions.
    let mut quick_exit = None;
    if let Some(reg) = quick.filter(|&r| r != 1 && r < 16) {
        let value = register_values(regs)[usize::from(reg)];
        asm.rip_relative(&[0x48, 0x89, 0x0d], SAVED_RCX); // mov [saved_rcx], rcx
        asm.bytes(&[0x48, 0xb9]); // mov rcx, -value
        asm.bytes(&value.wrapping_neg().to_le_bytes());
        let rex = 0x48 | if reg >= 8 { 0x01 } else { 0 };
        // lea rcx, [reg + rcx*1 + 0]: rcx = reg - value
        asm.bytes(&[rex, 0x8d, 0x4c, (0b001 << 3) | (reg & 7), 0x00]);
        // jrcxz over the exit: equal, go on to the full comparison
        let exit_len = 7 + 5; // mov rcx, [rip+disp32]; jmp rel32
        asm.bytes(&[0xe3, exit_len]);
        asm.rip_relative(&[0x48, 0x8b, 0x0d], SAVED_RCX); // mov rcx, [saved_rcx]
        asm.bytes(&[0xe9]); // jmp displaced (patched below)
        quick_exit = Some(asm.code.len());
        asm.bytes(&[0; 4]);
        asm.rip_relative(&[0x48, 0x8b, 0x0d], SAVED_RCX); // mov rcx, [saved_rcx]
    }
    asm.rip_relative(&[0x48, 0x89, 0x25], SAVED_RSP); // mov [saved_rsp], rsp
    asm.rip_relative(&[0x48, 0x8d, 0x25], STACK_TOP); // lea rsp, [stack_top]
    asm.bytes(&[0x9c]); // pushfq
    asm.bytes(&[0x50]); // push rax
    asm.rip_relative(&[0x48, 0x8b, 0x05], SAVED_RSP); // mov rax, [saved_rsp]
    asm.rip_relative(&[0x48, 0x3b, 0x05], EXPECTED + 8 * 4); // cmp rax, [expected rsp]
    asm.bytes(&[0x58]); // pop rax (flags untouched)
    let mut mismatch_jumps = vec![asm.jne()];
    for reg in (0..16u8).filter(|&r| r != 4) {
        let rex = 0x48 | if reg >= 8 { 0x04 } else { 0 };
        asm.rip_relative(
            &[rex, 0x3b, ((reg & 7) << 3) | 0x05],
            EXPECTED + 8 * usize::from(reg),
        );
        mismatch_jumps.push(asm.jne());
    }
    // Registers alone do not tell the passes of some loops apart: the
    // memory words the recording chose must match too.
    for (i, &(addr, _)) in memory.iter().enumerate() {
        asm.bytes(&[0x50]); // push rax (onto the trampoline's stack)
        asm.bytes(&[0x48, 0xb8]); // mov rax, imm64
        asm.bytes(&addr.to_le_bytes());
        asm.bytes(&[0x48, 0x8b, 0x00]); // mov rax, [rax]
        asm.rip_relative(&[0x48, 0x3b, 0x05], EXPECTED_MEMORY + 8 * i); // cmp rax, [word]
        asm.bytes(&[0x58]); // pop rax (flags untouched)
        mismatch_jumps.push(asm.jne());
    }
    asm.bytes(&[0x9d]); // popfq
    asm.rip_relative(&[0x48, 0x8b, 0x25], SAVED_RSP); // mov rsp, [saved_rsp]
    asm.bytes(&[0xcc]); // int3
    let trap_return = asm.code.len();
    let mismatch = asm.code.len();
    asm.bytes(&[0x9d]);
    asm.rip_relative(&[0x48, 0x8b, 0x25], SAVED_RSP);
    let displaced = asm.code.len();
    let total = x86::span_len(span);
    let mut moved = original.get(..total)?.to_vec();
    // Copied together, every instruction moves by the same distance.
    let delta = point as i64 - (asm.base + displaced as u64) as i64;
    for (offset, insn) in span {
        if let Some(disp) = insn.rip_disp_offset {
            let at = offset + disp;
            let old = i32::from_le_bytes(moved.get(at..at + 4)?.try_into().ok()?);
            let new = i32::try_from(i64::from(old) + delta).ok()?;
            moved[at..at + 4].copy_from_slice(&new.to_le_bytes());
        }
    }
    asm.bytes(&moved);
    if let Some(at) = quick_exit {
        let rel = i32::try_from(displaced as i64 - (at as i64 + 4)).ok()?;
        asm.code[at..at + 4].copy_from_slice(&rel.to_le_bytes());
    }
    asm.bytes(&[0xe9]); // jmp back after the point
    let back = (point + total as u64) as i64 - (asm.base + asm.code.len() as u64 + 4) as i64;
    asm.bytes(&i32::try_from(back).ok()?.to_le_bytes());
    if asm.code.len() > SAVED_RSP {
        return None;
    }
    for at in mismatch_jumps {
        let rel = mismatch as i64 - (at as i64 + 4);
        asm.code[at..at + 4].copy_from_slice(&(rel as i32).to_le_bytes());
    }
    asm.link()?;
    let mut page = asm.code;
    page.resize(EXPECTED, 0xcc);
    for value in register_values(regs) {
        page.extend_from_slice(&value.to_le_bytes());
    }
    for &(_, value) in memory {
        page.extend_from_slice(&value.to_le_bytes());
    }
    Some((page, trap_return, displaced))
}

/// A free page within jump range of `point`.
fn free_page_near(task: &Task, point: u64) -> Result<Option<u64>, ReplayError> {
    let mappings = maps::read_maps(task.tid)?;
    let low = point.saturating_sub(REACH).max(0x10000);
    let high = point.saturating_add(REACH);
    let mut candidate = low & !(PAGE - 1);
    for m in &mappings {
        if m.start >= candidate + PAGE && candidate + PAGE <= high && candidate >= low {
            return Ok(Some(candidate));
        }
        candidate = candidate.max(m.end);
    }
    Ok((candidate + PAGE <= high).then_some(candidate))
}

impl Trampoline {
    /// Installs the trampoline for the point at `regs.rip`. None when the
    /// instruction there cannot be moved or no page is near enough.
    /// The trampoline also checks the fingerprint's `memory` words.
    pub fn install(
        task: &Task,
        regs: &Registers,
        memory: &[(u64, u64)],
    ) -> Result<Option<Trampoline>, ReplayError> {
        // A register that differs now from its value at the point is
        // likely one the loop changes every pass: checked first.
        let now = register_values(&task.regs()?);
        let wanted = register_values(regs);
        let quick = (0..16u8)
            .filter(|&r| r != 1 && r != 4)
            .find(|&r| now[usize::from(r)] != wanted[usize::from(r)]);
        let point = regs.rip;
        let Some(span) = span_at(task, point).filter(|s| s.len() <= MAX_INTERIOR + 1) else {
            return Ok(None);
        };
        let interior: Vec<u64> = span.iter().skip(1).map(|&(at, _)| at as u64).collect();
        let mut original = vec![0u8; 32];
        let got = task.read_partial(RemoteAddr(point), &mut original);
        original.truncate(got);
        let Some(page) = free_page_near(task, point)? else {
            return Ok(None);
        };
        let Some((code, trap_return, displaced)) =
            assemble(page, point, &span, &original, regs, memory, quick)
        else {
            return Ok(None);
        };
        let mapped = remote::syscall(
            task,
            "mmap of a trampoline",
            libc::SYS_mmap,
            [
                page,
                PAGE,
                (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC) as u64,
                (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE) as u64,
                u64::MAX,
                0,
            ],
        )?;
        if mapped != page {
            return Ok(None);
        }
        task.write_bytes(RemoteAddr(page), &code)?;
        let jump = (page as i64 - (point + 5) as i64) as i32;
        let mut patch = vec![0xe9];
        patch.extend_from_slice(&jump.to_le_bytes());
        task.write_bytes(RemoteAddr(point), &patch)?;
        original.truncate(5);
        Ok(Some(Trampoline {
            point,
            original,
            page,
            trap_return: page + trap_return as u64,
            displaced: page + displaced as u64,
            interior,
        }))
    }

    /// Restores the instruction and unmaps the trampoline.
    pub fn remove(self, task: &Task) -> Result<(), ReplayError> {
        task.write_bytes(RemoteAddr(self.point), &self.original)?;
        remote::syscall(
            task,
            "munmap of a trampoline",
            libc::SYS_munmap,
            [self.page, PAGE, 0, 0, 0, 0],
        )?;
        Ok(())
    }
}
