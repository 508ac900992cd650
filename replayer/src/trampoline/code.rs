//! The trampoline's machine code. Layout of its page:
//!
//! ```text
//! zero     (a counter's) restore rcx; int3
//! head     copy of the loop head before the point (falls into entry)
//! entry    quick check of one register: on a match, go to `full`; or a
//!          counter's: decrement the count, to `zero` when it is 0
//! body     copy of the code from the point on; jumps back to the point go
//!          to entry, other jumps and the end go to the original code
//! full     compare every register and memory word; int3 on a match
//! mismatch restore rsp and flags, go to body
//! data     saved rsp and rcx, expected values (a counter's count), the
//!          trampoline's stack
//! ```
//!
//! A counter's check uses only mov, lea and jrcxz (flags untouched), and
//! its trap lies before the head so that a pass takes no jump of its own:
//! a taken jump costs more than the count.
//!
//! It switches to a stack of its own inside the page, so that it writes
//! nothing to the program's stack: the fingerprint hashes stack memory,
//! and a replay must leave none of its own traces there.

use trace_format::Registers;

use super::region::{Piece, Region};

/// Page offsets of the trampoline's data.
const SAVED_RSP: usize = 0xe00;
pub(super) const SAVED_RCX: usize = 0xe08;
const EXPECTED: usize = 0xe10;
/// A counter's count, where a fingerprint's registers would be.
pub(super) const COUNT: usize = EXPECTED;
/// The fingerprint's memory words, after the 16 registers.
const EXPECTED_MEMORY: usize = EXPECTED + 16 * 8;
pub const MAX_MEMORY_WORDS: usize = 16;
const STACK_TOP: usize = 0xff0;
const RSP: u8 = 4;
const RCX: u8 = 1;

/// What a trampoline checks for.
pub struct Wanted<'a> {
    pub regs: &'a Registers,
    pub memory: &'a [(u64, u64)],
    /// The register checked first: one that differs now from its value
    /// at the point, likely one the loop changes every pass.
    pub quick: Option<u8>,
    /// The status flags are dead at the point, so the quick check may
    /// compare with `cmp`.
    pub flags_dead: bool,
}

/// When a trampoline traps.
pub enum Check<'a> {
    /// Where the thread's state equals the recorded one.
    Fingerprint(&'a Wanted<'a>),
    /// At the pass that brings the count in its page to zero.
    Count(u64),
}

/// Offsets in the assembled page that the replayer needs.
pub struct Assembled {
    pub page: Vec<u8>,
    /// Where the jump at the point leads.
    pub entry: usize,
    /// The byte after the int3.
    pub trap_return: usize,
    /// The copy of the instruction at the point, where a false candidate
    /// resumes; the covered instructions follow it at their own offsets.
    pub body: usize,
    /// (original address, page offset) of every copied instruction.
    pub copies: Vec<(u64, usize)>,
    /// Where a counter's count is checked: a thread inside (after the
    /// entry, before the body, or at the trap's restore) has rcx saved.
    pub counting: std::ops::Range<usize>,
    /// A counter's trap: its rcx restore.
    pub zero: usize,
}

/// A jump destination not known until the code is complete.
#[derive(Clone, Copy)]
enum Target {
    Offset(usize),
    Label(Label),
    Original(u64),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Label {
    Entry,
    Body,
    Full,
    Mismatch,
}

struct Assembler {
    base: u64,
    code: Vec<u8>,
    /// (offset of a rip-relative disp32 in `code`, page offset it refers to)
    data_refs: Vec<(usize, usize)>,
    /// (offset of a jump's rel32, its destination)
    jumps: Vec<(usize, Target)>,
    labels: Vec<(Label, usize)>,
}

impl Assembler {
    /// An empty piece of code to be placed at `base`.
    fn new(base: u64) -> Assembler {
        Assembler {
            base,
            code: Vec::with_capacity(1024),
            data_refs: Vec::new(),
            jumps: Vec::new(),
            labels: Vec::new(),
        }
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.code.extend_from_slice(bytes);
    }

    /// `opcode` followed by a rip-relative disp32 to page offset `data`.
    fn data(&mut self, opcode: &[u8], data: usize) {
        self.bytes(opcode);
        self.data_refs.push((self.code.len(), data));
        self.bytes(&[0; 4]);
    }

    /// A jump with rel32: `opcode` is E9 or 0F 8x.
    fn jump(&mut self, opcode: &[u8], to: Target) {
        self.bytes(opcode);
        self.jumps.push((self.code.len(), to));
        self.bytes(&[0; 4]);
    }

    fn jne(&mut self, to: Target) {
        self.jump(&[0x0f, 0x85], to);
    }

    fn label(&mut self, label: Label) {
        self.labels.push((label, self.code.len()));
    }

    /// Copies the instruction at `addr` with its rip-relative operand
    /// still reaching the same address.
    fn moved(&mut self, addr: u64, bytes: &[u8], disp_at: Option<usize>) -> Option<()> {
        let mut moved = bytes.to_vec();
        if let Some(at) = disp_at {
            let delta = addr as i64 - (self.base + self.code.len() as u64) as i64;
            let old = i32::from_le_bytes(moved.get(at..at + 4)?.try_into().ok()?);
            let new = i32::try_from(i64::from(old) + delta).ok()?;
            moved[at..at + 4].copy_from_slice(&new.to_le_bytes());
        }
        self.bytes(&moved);
        Some(())
    }

    fn link(mut self) -> Option<Vec<u8>> {
        for &(at, data) in &self.data_refs {
            let rel = i32::try_from(data as i64 - (at as i64 + 4)).ok()?;
            self.code[at..at + 4].copy_from_slice(&rel.to_le_bytes());
        }
        for &(at, to) in &self.jumps {
            let from = self.base + at as u64 + 4;
            let dest = match to {
                Target::Offset(offset) => self.base + offset as u64,
                Target::Label(label) => {
                    let &(_, offset) = self.labels.iter().find(|(l, _)| *l == label)?;
                    self.base + offset as u64
                }
                Target::Original(addr) => addr,
            };
            let rel = i32::try_from(dest as i64 - from as i64).ok()?;
            self.code[at..at + 4].copy_from_slice(&rel.to_le_bytes());
        }
        Some(self.code)
    }
}

/// GPR numbers in ModRM encoding order with their values in `regs`.
pub fn register_values(regs: &Registers) -> [u64; 16] {
    [
        regs.rax, regs.rcx, regs.rdx, regs.rbx, regs.rsp, regs.rbp, regs.rsi, regs.rdi, regs.r8,
        regs.r9, regs.r10, regs.r11, regs.r12, regs.r13, regs.r14, regs.r15,
    ]
}

/// `cmp reg, [expected reg]`
fn compare_with_expected(asm: &mut Assembler, reg: u8) {
    let rex = 0x48 | if reg >= 8 { 0x04 } else { 0 };
    asm.data(
        &[rex, 0x3b, ((reg & 7) << 3) | 0x05],
        EXPECTED + 8 * usize::from(reg),
    );
}

/// The trampoline for `region` (whose bytes are `bytes_at(addr, len)`)
/// placed at `base`, or None when it does not fit or cannot reach.
pub fn assemble(
    base: u64,
    point: u64,
    region: &Region,
    bytes_at: impl Fn(u64, usize) -> Option<Vec<u8>>,
    check: &Check,
) -> Option<Assembled> {
    if let Check::Fingerprint(wanted) = check {
        if wanted.memory.len() > MAX_MEMORY_WORDS {
            return None;
        }
    }
    let mut asm = Assembler::new(base);
    let mut copies = Vec::new();
    let zero = asm.code.len();
    let mut trap_return = 0;
    if let Check::Count(_) = check {
        asm.data(&[0x48, 0x8b, 0x0d], SAVED_RCX); // mov rcx, [saved_rcx]
        asm.bytes(&[0xcc]); // int3
        trap_return = asm.code.len();
        // Never run: a thread standing after the trap is told from one
        // at the head's first instruction.
        asm.bytes(&[0xcc]);
    }
    for &(addr, insn) in &region.head {
        copies.push((addr, asm.code.len()));
        asm.moved(addr, &bytes_at(addr, insn.len)?, insn.rip_disp_offset)?;
    }
    asm.label(Label::Entry);
    let check_start = asm.code.len();
    match check {
        Check::Fingerprint(wanted) => quick_check(&mut asm, wanted),
        Check::Count(_) => count_check(&mut asm, zero)?,
    }
    let counting = check_start + 1..asm.code.len();
    asm.label(Label::Body);
    let mut pending = Vec::new();
    for piece in &region.body {
        copies.push((piece.addr(), asm.code.len()));
        match *piece {
            Piece::Copy { addr, insn } => {
                asm.moved(addr, &bytes_at(addr, insn.len)?, insn.rip_disp_offset)?;
            }
            Piece::Jump {
                condition, target, ..
            } => {
                let opcode = match condition {
                    Some(cc) => vec![0x0f, 0x80 | cc],
                    None => vec![0xe9],
                };
                pending.push((asm.code.len() + opcode.len(), target));
                asm.jump(&opcode, Target::Original(target));
            }
        }
    }
    if let Some(exit) = region.exit {
        // A thread stopped on this jump stands, in the original code, at
        // the exit: it is that instruction's copy.
        copies.push((exit, asm.code.len()));
        asm.jump(&[0xe9], Target::Original(exit));
    }
    // Jumps within the copy stay in it; one to the point itself goes
    // through the check.
    for (at, target) in pending {
        let to = if target == point {
            Target::Label(Label::Entry)
        } else if let Some(&(_, offset)) = copies.iter().find(|&&(addr, _)| addr == target) {
            Target::Offset(offset)
        } else {
            continue;
        };
        if let Some(jump) = asm.jumps.iter_mut().find(|(j, _)| *j == at) {
            jump.1 = to;
        }
    }
    if let Check::Fingerprint(wanted) = check {
        asm.label(Label::Full);
        full_check(&mut asm, wanted);
        asm.bytes(&[0xcc]); // int3
        trap_return = asm.code.len();
        asm.label(Label::Mismatch);
        asm.bytes(&[0x9d]); // popfq
        asm.data(&[0x48, 0x8b, 0x25], SAVED_RSP); // mov rsp, [saved_rsp]
        asm.jump(&[0xe9], Target::Label(Label::Body));
    }
    if asm.code.len() > SAVED_RSP {
        return None;
    }
    let find = |label| {
        asm.labels
            .iter()
            .find(|(l, _)| *l == label)
            .map(|&(_, o)| o)
    };
    let (entry, body) = (find(Label::Entry)?, find(Label::Body)?);
    let mut page = asm.link()?;
    page.resize(EXPECTED, 0xcc);
    match check {
        Check::Fingerprint(wanted) => {
            for value in register_values(wanted.regs) {
                page.extend_from_slice(&value.to_le_bytes());
            }
            for &(_, value) in wanted.memory {
                page.extend_from_slice(&value.to_le_bytes());
            }
        }
        Check::Count(passes) => page.extend_from_slice(&passes.to_le_bytes()),
    }
    Some(Assembled {
        page,
        entry,
        trap_return,
        body,
        copies,
        counting,
        zero,
    })
}

/// A counter's check: the count goes down by one; at zero, to the trap
/// at `zero` (before the head) with rcx still to restore.
fn count_check(asm: &mut Assembler, zero: usize) -> Option<()> {
    asm.data(&[0x48, 0x89, 0x0d], SAVED_RCX); // mov [saved_rcx], rcx
    asm.data(&[0x48, 0x8b, 0x0d], COUNT); // mov rcx, [count]
    asm.bytes(&[0x48, 0x8d, 0x49, 0xff]); // lea rcx, [rcx - 1]
    asm.data(&[0x48, 0x89, 0x0d], COUNT); // mov [count], rcx
    let back = i8::try_from(zero as i64 - (asm.code.len() as i64 + 2)).ok()?;
    asm.bytes(&[0xe3, back as u8]); // jrcxz zero
    asm.data(&[0x48, 0x8b, 0x0d], SAVED_RCX); // mov rcx, [saved_rcx]
    Some(())
}

/// One register compared before anything else, so that most passes of a
/// hot loop cost a handful of instructions. Where the flags are dead it is
/// a plain compare; otherwise it uses only lea and jrcxz, which touch
/// neither flags nor the program's stack.
fn quick_check(asm: &mut Assembler, wanted: &Wanted) {
    let value = |reg: u8| register_values(wanted.regs)[usize::from(reg)];
    match wanted.quick.filter(|&r| r < 16) {
        Some(reg) if wanted.flags_dead => {
            compare_with_expected(asm, reg);
            asm.jump(&[0x0f, 0x84], Target::Label(Label::Full)); // je full
        }
        Some(RCX) => match i32::try_from(value(RCX)).ok().and_then(i32::checked_neg) {
            Some(minus) => {
                // lea rcx, [rcx - value]; zero exactly when equal
                asm.bytes(&[0x48, 0x8d, 0x89]);
                asm.bytes(&minus.to_le_bytes());
                let way_out = 7 + 5; // lea rcx, [rcx + value]; jmp rel32
                asm.bytes(&[0xe3, way_out]); // jrcxz
                for to in [Label::Body, Label::Full] {
                    asm.bytes(&[0x48, 0x8d, 0x89]); // lea rcx, [rcx + value]
                    asm.bytes(&minus.wrapping_neg().to_le_bytes());
                    asm.jump(&[0xe9], Target::Label(to));
                }
            }
            None => asm.jump(&[0xe9], Target::Label(Label::Full)),
        },
        Some(reg) => {
            let value = value(reg);
            asm.data(&[0x48, 0x89, 0x0d], SAVED_RCX); // mov [saved_rcx], rcx
            asm.bytes(&[0x48, 0xb9]); // mov rcx, -value
            asm.bytes(&value.wrapping_neg().to_le_bytes());
            let rex = 0x48 | if reg >= 8 { 0x01 } else { 0 };
            // lea rcx, [reg + rcx*1 + 0]: rcx = reg - value (rsp as a
            // SIB base is fine)
            asm.bytes(&[rex, 0x8d, 0x4c, (RCX << 3) | (reg & 7), 0x00]);
            // jrcxz over the way out: equal, go on to the full comparison
            let way_out = 7 + 5; // mov rcx, [rip+disp32]; jmp rel32
            asm.bytes(&[0xe3, way_out]);
            asm.data(&[0x48, 0x8b, 0x0d], SAVED_RCX); // mov rcx, [saved_rcx]
            asm.jump(&[0xe9], Target::Label(Label::Body));
            asm.data(&[0x48, 0x8b, 0x0d], SAVED_RCX); // mov rcx, [saved_rcx]
            asm.jump(&[0xe9], Target::Label(Label::Full));
        }
        _ => asm.jump(&[0xe9], Target::Label(Label::Full)),
    }
}

/// Every register and memory word, on the trampoline's own stack; falls
/// through (to the int3) with the program's rsp and flags back in place
/// when all match.
fn full_check(asm: &mut Assembler, wanted: &Wanted) {
    let mismatch = Target::Label(Label::Mismatch);
    asm.data(&[0x48, 0x89, 0x25], SAVED_RSP); // mov [saved_rsp], rsp
    asm.data(&[0x48, 0x8d, 0x25], STACK_TOP); // lea rsp, [stack_top]
    asm.bytes(&[0x9c]); // pushfq
    asm.bytes(&[0x50]); // push rax
    asm.data(&[0x48, 0x8b, 0x05], SAVED_RSP); // mov rax, [saved_rsp]
    asm.data(&[0x48, 0x3b, 0x05], EXPECTED + 8 * usize::from(RSP)); // cmp rax, [expected rsp]
    asm.bytes(&[0x58]); // pop rax (flags untouched)
    asm.jne(mismatch);
    for reg in (0..16u8).filter(|&r| r != RSP) {
        compare_with_expected(asm, reg);
        asm.jne(mismatch);
    }
    // Registers alone do not tell the passes of some loops apart: the
    // memory words the recording chose must match too.
    for (i, &(addr, _)) in wanted.memory.iter().enumerate() {
        asm.bytes(&[0x50]); // push rax (onto the trampoline's stack)
        asm.bytes(&[0x48, 0xb8]); // mov rax, imm64
        asm.bytes(&addr.to_le_bytes());
        asm.bytes(&[0x48, 0x8b, 0x00]); // mov rax, [rax]
        asm.data(&[0x48, 0x3b, 0x05], EXPECTED_MEMORY + 8 * i); // cmp rax, [word]
        asm.bytes(&[0x58]); // pop rax (flags untouched)
        asm.jne(mismatch);
    }
    asm.bytes(&[0x9d]); // popfq
    asm.data(&[0x48, 0x8b, 0x25], SAVED_RSP); // mov rsp, [saved_rsp]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trampoline::region;

    #[test]
    fn a_counter_counts_each_pass_of_the_loop_copy_and_traps_before_its_head() {
        // The spin loop of the test below: add rax, 1 (head); mov edx,
        // [rip+x] (the point); test edx, edx; je back to the head.
        let point = 0x5555_5555_1224;
        let mut code = vec![0x48, 0x83, 0xc0, 0x01];
        code.extend_from_slice(&[
            0x8b, 0x15, 0x22, 0x2e, 0, 0, 0x85, 0xd2, 0x74, 0xf2, 0x0f, 0x0b,
        ]);
        let head_start = point - 4;
        let region = region::build(point, &code[4..], head_start, &code[..4]);
        assert_eq!(region.head.len(), 1);
        let bytes_at = |addr: u64, len: usize| {
            let at = usize::try_from(addr - head_start).ok()?;
            code.get(at..at + len).map(<[u8]>::to_vec)
        };
        let base = 0x5555_5556_0000;
        let got = assemble(base, point, &region, bytes_at, &Check::Count(7)).expect("assembles");
        // The trap comes first: restore rcx, int3.
        assert_eq!(got.zero, 0);
        assert_eq!(&got.page[..3], &[0x48, 0x8b, 0x0d]);
        assert_eq!(got.page[got.trap_return - 1], 0xcc);
        // The head's copy falls into the check, whose jrcxz goes back to
        // the trap; the point's copy follows the check.
        let &(_, head) = got
            .copies
            .iter()
            .find(|&&(a, _)| a == head_start)
            .expect("head");
        assert_eq!(head + 4, got.entry);
        assert!(head > got.trap_return);
        let jrcxz = got.page[got.entry..got.body]
            .iter()
            .position(|&b| b == 0xe3)
            .map(|at| got.entry + at)
            .expect("a jrcxz");
        let lands = (jrcxz as i64 + 2 + i64::from(got.page[jrcxz + 1] as i8)) as usize;
        assert_eq!(lands, got.zero);
        assert!(got.counting.contains(&jrcxz));
        let &(_, body) = got
            .copies
            .iter()
            .find(|&&(a, _)| a == point)
            .expect("point");
        assert_eq!(body, got.body);
        // The loop's branch back leads to the head's copy, inside the page.
        let je = body + 6 + 2;
        assert_eq!(&got.page[je..je + 2], &[0x0f, 0x84]);
        let rel = i32::from_le_bytes(got.page[je + 2..je + 6].try_into().expect("4 bytes"));
        assert_eq!((je as i64 + 6 + i64::from(rel)) as usize, head);
        // The count is where the check reads it.
        assert_eq!(&got.page[COUNT..COUNT + 8], &7u64.to_le_bytes());
    }

    #[test]
    fn the_jump_out_of_the_copy_counts_as_the_instruction_it_leads_to() {
        // mov edx, [rip+x]; test edx, edx; je back; then a byte the
        // decoder refuses: the body leaves to the original code there.
        let point = 0x5555_5555_1224;
        let body = [
            0x8b, 0x15, 0x22, 0x2e, 0, 0, 0x85, 0xd2, 0x74, 0xf2, 0x0f, 0x0b,
        ];
        let region = region::build(point, &body, point, &[]);
        let exit = region.exit.expect("the body has an exit");
        let base = 0x5555_5556_0000;
        let regs = Registers::default();
        let wanted = Wanted {
            regs: &regs,
            memory: &[],
            quick: Some(0),
            flags_dead: true,
        };
        let bytes_at = |addr: u64, len: usize| {
            let at = usize::try_from(addr - point).ok()?;
            body.get(at..at + len).map(<[u8]>::to_vec)
        };
        let code = assemble(base, point, &region, bytes_at, &Check::Fingerprint(&wanted))
            .expect("assembles");
        let &(_, offset) = code
            .copies
            .iter()
            .find(|&&(original, _)| original == exit)
            .expect("the exit jump is in the copy map");
        assert_eq!(code.page[offset], 0xe9);
        let rel = i32::from_le_bytes(
            code.page[offset + 1..offset + 5]
                .try_into()
                .expect("4 bytes"),
        );
        let lands = (base + offset as u64 + 5).wrapping_add_signed(i64::from(rel));
        assert_eq!(lands, exit);
    }
}
