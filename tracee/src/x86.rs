//! A small x86-64 instruction decoder: the length of an instruction and
//! whether it can be copied elsewhere and run there (ARCHITECTURE.md "Ticks": the
//! replayer patches a recorded execution point with a jump to a trampoline
//! that runs the displaced instruction). It knows the common integer and
//! SSE forms; anything else, and every control transfer, is refused, and
//! the recorder steps on to an instruction it accepts.

/// A decoded instruction that may be relocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instruction {
    pub len: usize,
    /// Offset of a rip-relative 32-bit displacement, which must be
    /// adjusted when the instruction moves.
    pub rip_disp_offset: Option<usize>,
    /// What it does with the arithmetic status flags.
    pub flags: FlagUse,
}

/// How an instruction uses the six arithmetic status flags (CF, PF, AF,
/// ZF, SF, OF), for telling whether code patched in before it may
/// clobber them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagUse {
    /// Neither reads nor writes them.
    Untouched,
    /// Sets all six without reading any: their earlier values are dead.
    Overwrites,
    /// Reads some, writes only some, or leaves some undefined.
    Other,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Imm {
    None,
    Byte,
    /// 2 bytes with an operand-size prefix, else 4.
    Z,
    /// mov r, imm: 8 bytes with REX.W, else like Z.
    V,
    /// F6/F7: an immediate only for TEST (ModRM reg 0 or 1).
    TestByte,
    TestZ,
}

/// (has ModRM, immediate) of a one-byte opcode; None refuses it.
fn one_byte(op: u8) -> Option<(bool, Imm)> {
    use Imm::*;
    Some(match op {
        0x00..=0x3f => match op & 7 {
            0..=3 if !matches!(op, 0x26 | 0x2e | 0x36 | 0x3e) => (true, None),
            4 => (false, Byte),
            5 => (false, Z),
            _ => return Option::None,
        },
        0x50..=0x5f | 0x90..=0x99 | 0x9b..=0x9f | 0xf5 | 0xf8..=0xfd => (false, None),
        0x63 | 0x84..=0x8b | 0x8c | 0x8d | 0x8e | 0x8f | 0xd0..=0xd3 | 0xd8..=0xdf | 0xfe => {
            (true, None)
        }
        0x68 => (false, Z),
        0x6a => (false, Byte),
        0x69 | 0x81 | 0xc7 => (true, Z),
        0x6b | 0x80 | 0x83 | 0xc0 | 0xc1 | 0xc6 => (true, Byte),
        0xa8 | 0xb0..=0xb7 => (false, Byte),
        0xa9 => (false, Z),
        0xb8..=0xbf => (false, V),
        0xf6 => (true, TestByte),
        0xf7 => (true, TestZ),
        0xff => (true, None),
        _ => return Option::None,
    })
}

/// (has ModRM, immediate) of 0F xx; None refuses it.
fn two_byte(op: u8) -> Option<(bool, Imm)> {
    use Imm::*;
    Some(match op {
        0x0d | 0x10..=0x17 | 0x18..=0x1f | 0x28..=0x2f | 0x40..=0x4f | 0x50..=0x6f => (true, None),
        0x70..=0x73 | 0xc2 | 0xc4..=0xc6 | 0xa4 | 0xac | 0xba => (true, Byte),
        0x74..=0x76 | 0x7e | 0x7f | 0x90..=0x9f | 0xa3 | 0xa5 | 0xab | 0xad | 0xaf => (true, None),
        0xb0 | 0xb1 | 0xb3 | 0xb6 | 0xb7 | 0xbb..=0xbf | 0xc0 | 0xc1 | 0xc3 | 0xc7 => (true, None),
        0xd0..=0xfe => (true, None),
        0xc8..=0xcf | 0x77 | 0xa0 | 0xa1 | 0xa8 | 0xa9 => (false, None),
        _ => return Option::None,
    })
}

/// Bytes a jump to a trampoline takes (jmp rel32).
pub const JUMP_LEN: usize = 5;

/// The instructions at the start of `bytes` that a jump to a trampoline
/// would cover: consecutive relocatable ones, as (offset, instruction),
/// until they span `JUMP_LEN` bytes. None if one of them cannot move.
pub fn patchable_span(bytes: &[u8]) -> Option<Vec<(usize, Instruction)>> {
    let mut span = Vec::new();
    let mut at = 0;
    while at < JUMP_LEN {
        let insn = decode(bytes.get(at..)?)?;
        span.push((at, insn));
        at += insn.len;
    }
    Some(span)
}

/// Length in bytes of a span from `patchable_span`.
pub fn span_len(span: &[(usize, Instruction)]) -> usize {
    span.last().map_or(0, |(at, insn)| at + insn.len)
}

/// Decodes the instruction at the start of `bytes` (at least 15 bytes
/// should be given). Returns None for anything it does not accept.
pub fn decode(bytes: &[u8]) -> Option<Instruction> {
    let mut at = 0;
    let mut operand_size_16 = false;
    // Legacy prefixes (no address-size override: it changes addressing).
    while let Some(&b) = bytes.get(at) {
        match b {
            0x66 => operand_size_16 = true,
            0xf0 | 0xf2 | 0xf3 | 0x2e | 0x3e | 0x26 | 0x36 | 0x64 | 0x65 => {}
            _ => break,
        }
        at += 1;
    }
    let mut rex_w = false;
    if let Some(&b) = bytes.get(at) {
        if (0x40..=0x4f).contains(&b) {
            rex_w = b & 8 != 0;
            at += 1;
        }
    }
    let op = *bytes.get(at)?;
    at += 1;
    let mut op2 = None;
    let (has_modrm, imm) = if op == 0x0f {
        let second = *bytes.get(at)?;
        op2 = Some(second);
        at += 1;
        match second {
            0x38 => {
                at += 1;
                (true, Imm::None)
            }
            0x3a => {
                at += 1;
                (true, Imm::Byte)
            }
            _ => two_byte(second)?,
        }
    } else {
        one_byte(op)?
    };
    let mut rip_disp_offset = None;
    let mut modrm_reg = 0;
    if has_modrm {
        let modrm = *bytes.get(at)?;
        at += 1;
        let (mode, reg, rm) = (modrm >> 6, (modrm >> 3) & 7, modrm & 7);
        modrm_reg = reg;
        // FF /2../5 are calls and jumps; C6/C7 other than /0 are XABORT
        // and XBEGIN (a relative branch).
        let one_byte_op = op2.is_none();
        if one_byte_op && op == 0xff && (2..=5).contains(&reg) {
            return None;
        }
        if one_byte_op && matches!(op, 0xc6 | 0xc7) && reg != 0 {
            return None;
        }
        if mode != 3 {
            if rm == 4 {
                let sib = *bytes.get(at)?;
                at += 1;
                if sib & 7 == 5 && mode == 0 {
                    at += 4;
                }
            } else if rm == 5 && mode == 0 {
                rip_disp_offset = Some(at);
                at += 4;
            }
            at += match mode {
                1 => 1,
                2 => 4,
                _ => 0,
            };
        }
    }
    let z = if operand_size_16 { 2 } else { 4 };
    at += match imm {
        Imm::None => 0,
        Imm::Byte => 1,
        Imm::Z => z,
        Imm::V => {
            if rex_w {
                8
            } else {
                z
            }
        }
        Imm::TestByte => usize::from(modrm_reg <= 1),
        Imm::TestZ => {
            if modrm_reg <= 1 {
                z
            } else {
                0
            }
        }
    };
    (at <= 15 && at <= bytes.len()).then_some(Instruction {
        len: at,
        rip_disp_offset,
        flags: flag_use(op, op2, modrm_reg),
    })
}

/// The flag use of an accepted instruction, from its opcode and ModRM reg
/// field. Anything not known for sure is `Other`.
fn flag_use(op: u8, op2: Option<u8>, modrm_reg: u8) -> FlagUse {
    use FlagUse::*;
    match op2 {
        None => match op {
            // ALU rows: ADC (2) and SBB (3) read CF.
            0x00..=0x3f if op & 7 <= 5 => {
                if matches!(op >> 3, 2 | 3) {
                    Other
                } else {
                    Overwrites
                }
            }
            0x80 | 0x81 | 0x83 if matches!(modrm_reg, 2 | 3) => Other,
            0x80 | 0x81 | 0x83 | 0x84 | 0x85 | 0xa8 | 0xa9 => Overwrites,
            // TEST and NEG; NOT leaves flags alone; MUL/DIV leave some undefined.
            0xf6 | 0xf7 => match modrm_reg {
                0 | 1 | 3 => Overwrites,
                2 => Untouched,
                _ => Other,
            },
            0x9d => Overwrites, // popf
            0x50..=0x5f | 0x63 | 0x68 | 0x6a | 0x86..=0x8f | 0x90..=0x99 | 0x9b => Untouched,
            0xb0..=0xbf | 0xc6 | 0xc7 => Untouched,
            // push r/m; FF /0 and /1 (INC, DEC) keep CF.
            0xff if modrm_reg == 6 => Untouched,
            _ => Other,
        },
        Some(second) => match second {
            0x2e | 0x2f => Overwrites,               // (u)comiss/sd
            0xb0 | 0xb1 | 0xc0 | 0xc1 => Overwrites, // cmpxchg, xadd
            0x0d | 0x10..=0x1f | 0x28..=0x2d | 0x50..=0x7f => Untouched,
            0xa0 | 0xa1 | 0xa8 | 0xa9 | 0xb6 | 0xb7 | 0xbe | 0xbf => Untouched,
            0xc2..=0xc6 | 0xc8..=0xcf | 0xd0..=0xfe => Untouched,
            _ => Other,
        },
    }
}

/// A relative jump (jmp or jcc with an 8- or 32-bit displacement), which
/// a copy must re-encode rather than move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jump {
    pub len: usize,
    /// The condition code (low nibble of the jcc opcode); None for jmp.
    pub condition: Option<u8>,
    /// Target relative to the end of the instruction.
    pub displacement: i64,
}

/// Decodes a relative jump at the start of `bytes`; None for anything
/// else (prefixed forms included).
pub fn decode_jump(bytes: &[u8]) -> Option<Jump> {
    let rel8 = |at: usize| bytes.get(at).map(|&b| i64::from(b as i8));
    let rel32 = |at: usize| {
        let raw: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(i64::from(i32::from_le_bytes(raw)))
    };
    let (len, condition, displacement) = match *bytes.first()? {
        op @ 0x70..=0x7f => (2, Some(op & 0xf), rel8(1)?),
        0xeb => (2, None, rel8(1)?),
        0xe9 => (5, None, rel32(1)?),
        0x0f => match *bytes.get(1)? {
            op @ 0x80..=0x8f => (6, Some(op & 0xf), rel32(2)?),
            _ => return None,
        },
        _ => return None,
    };
    Some(Jump {
        len,
        condition,
        displacement,
    })
}

/// Whether the status flags are dead at the start of `bytes`: running
/// straight on, an instruction overwrites them all before any reads them.
/// Unknown instructions and control transfers count as reading them.
pub fn flags_dead(bytes: &[u8]) -> bool {
    let mut at = 0;
    for _ in 0..8 {
        let Some(insn) = bytes.get(at..).and_then(decode) else {
            return false;
        };
        match insn.flags {
            FlagUse::Overwrites => return true,
            FlagUse::Other => return false,
            FlagUse::Untouched => at += insn.len,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len(bytes: &[u8]) -> Option<usize> {
        let mut padded = bytes.to_vec();
        padded.resize(16, 0x90);
        decode(&padded).map(|i| i.len)
    }

    #[test]
    fn lengths_of_common_instructions() {
        assert_eq!(len(&[0x48, 0x89, 0xe5]), Some(3)); // mov rbp, rsp
        assert_eq!(len(&[0x48, 0x83, 0xec, 0x10]), Some(4)); // sub rsp, 16
        assert_eq!(len(&[0x48, 0x81, 0xec, 0, 1, 0, 0]), Some(7)); // sub rsp, 256
        assert_eq!(len(&[0x8b, 0x05, 1, 2, 3, 4]), Some(6)); // mov eax, [rip+x]
        assert_eq!(len(&[0x48, 0x8b, 0x44, 0x24, 0x08]), Some(5)); // mov rax, [rsp+8]
        assert_eq!(len(&[0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8]), Some(10)); // movabs
        assert_eq!(len(&[0xb8, 1, 0, 0, 0]), Some(5)); // mov eax, 1
        assert_eq!(len(&[0x66, 0xb8, 1, 0]), Some(4)); // mov ax, 1
        assert_eq!(len(&[0xc7, 0x45, 0xfc, 1, 0, 0, 0]), Some(7)); // mov dword [rbp-4], 1
        assert_eq!(len(&[0xf6, 0xc1, 0x01]), Some(3)); // test cl, 1
        assert_eq!(len(&[0xf7, 0xd8]), Some(2)); // neg eax
        assert_eq!(len(&[0x0f, 0xb6, 0x04, 0x07]), Some(4)); // movzx eax, byte [rdi+rax]
        assert_eq!(len(&[0x66, 0x0f, 0x6f, 0x05, 1, 2, 3, 4]), Some(8)); // movdqa xmm0, [rip+x]
        assert_eq!(len(&[0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x08]), Some(6)); // palignr
        assert_eq!(len(&[0x48, 0x8d, 0x04, 0x85, 0, 0, 0, 0]), Some(8)); // lea rax, [rax*4+0]
        assert_eq!(len(&[0xf0, 0x48, 0x0f, 0xb1, 0x17]), Some(5)); // lock cmpxchg [rdi], rdx
    }

    #[test]
    fn rip_relative_displacement_is_located() {
        let mut bytes = vec![0x48, 0x8b, 0x05, 1, 2, 3, 4];
        bytes.resize(16, 0x90);
        assert_eq!(
            decode(&bytes),
            Some(Instruction {
                len: 7,
                rip_disp_offset: Some(3),
                flags: FlagUse::Untouched,
            })
        );
    }

    fn dead(bytes: &[u8]) -> bool {
        let mut padded = bytes.to_vec();
        padded.resize(32, 0x90);
        flags_dead(&padded[..bytes.len()])
    }

    #[test]
    fn flags_are_dead_only_before_a_full_overwrite() {
        // mov edx, [rip+x]; test edx, edx; je: the spin loop's head
        assert!(dead(&[0x8b, 0x15, 1, 2, 3, 4, 0x85, 0xd2, 0x74, 0xf2]));
        // mov; cmp rax, 5; jne
        assert!(dead(&[
            0x48, 0x89, 0xc1, 0x48, 0x83, 0xf8, 0x05, 0x75, 0x00
        ]));
        // mov; jne: read before written
        assert!(!dead(&[0x48, 0x89, 0xc1, 0x75, 0x00]));
        // adc reads CF
        assert!(!dead(&[0x48, 0x11, 0xc1]));
        // inc keeps CF; then setc reads it
        assert!(!dead(&[0x48, 0xff, 0xc0, 0x0f, 0x92, 0xc0]));
        // cmovz reads ZF
        assert!(!dead(&[0x48, 0x0f, 0x44, 0xc1, 0x48, 0x85, 0xc0]));
        // the bytes end before anything decides
        assert!(!dead(&[0x48, 0x89, 0xc1]));
        // sub rsp, 16 overwrites
        assert!(dead(&[0x48, 0x83, 0xec, 0x10]));
        // sbb reads CF
        assert!(!dead(&[0x48, 0x83, 0xd8, 0x01]));
    }

    #[test]
    fn relative_jumps_decode_with_their_targets() {
        let jump = |b: &[u8]| decode_jump(b).map(|j| (j.len, j.condition, j.displacement));
        assert_eq!(jump(&[0x74, 0xf2]), Some((2, Some(4), -14))); // je -14
        assert_eq!(jump(&[0xeb, 0x05]), Some((2, None, 5)));
        assert_eq!(jump(&[0xe9, 0, 1, 0, 0]), Some((5, None, 256)));
        assert_eq!(
            jump(&[0x0f, 0x85, 0xfc, 0xff, 0xff, 0xff]),
            Some((6, Some(5), -4))
        );
        assert_eq!(jump(&[0x0f, 0x85, 0xfc]), None); // cut short
        assert_eq!(jump(&[0xe8, 0, 0, 0, 0]), None); // call
        assert_eq!(jump(&[0x48, 0x89, 0xc1]), None);
    }

    #[test]
    fn control_transfers_and_traps_are_refused() {
        for bytes in [
            &[0xe8, 0, 0, 0, 0][..],   // call
            &[0xe9, 0, 0, 0, 0],       // jmp
            &[0x74, 0x05],             // je
            &[0x0f, 0x84, 0, 0, 0, 0], // je rel32
            &[0xc3],                   // ret
            &[0xff, 0xd0],             // call rax
            &[0xff, 0x25, 0, 0, 0, 0], // jmp [rip]
            &[0x0f, 0x05],             // syscall
            &[0x0f, 0x31],             // rdtsc
            &[0xcc],                   // int3
            &[0xc5, 0xf9, 0x6f, 0xc1], // VEX
            &[0x67, 0x8b, 0x00],       // address-size override
            &[0xc7, 0xf8, 0, 0, 0, 0], // xbegin
            &[0xc6, 0xf8, 0x01],       // xabort
        ] {
            assert_eq!(len(bytes), None, "{bytes:02x?}");
        }
    }
}
