//! A small x86-64 instruction decoder: the length of an instruction and
//! whether it can be copied elsewhere and run there (DESIGN.md "Ticks": the
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

/// Decodes the instruction at the start of `bytes` (at least 15 bytes
/// should be given). Returns None for anything it does not accept.
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
    let (has_modrm, imm) = if op == 0x0f {
        let op2 = *bytes.get(at)?;
        at += 1;
        match op2 {
            0x38 => {
                at += 1;
                (true, Imm::None)
            }
            0x3a => {
                at += 1;
                (true, Imm::Byte)
            }
            _ => two_byte(op2)?,
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
        // FF /2../5 are calls and jumps.
        if op == 0xff && (2..=5).contains(&reg) {
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
    })
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
                rip_disp_offset: Some(3)
            })
        );
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
        ] {
            assert_eq!(len(bytes), None, "{bytes:02x?}");
        }
    }
}
