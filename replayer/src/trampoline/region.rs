//! The code a trampoline runs in place of the original: the instructions
//! from the point on, and the loop head before it, copied so that a hot
//! loop goes round inside the trampoline. Each pass through the original
//! would take two extra jumps (to the trampoline and back); inside the copy
//! the loop's own back edge leads to the check directly.

use tracee::x86::{self, Instruction};
use tracee::{RemoteAddr, Task};

/// One instruction of the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// Moved as is, its rip-relative displacement adjusted.
    Copy { addr: u64, insn: Instruction },
    /// A relative jump, re-encoded with a 32-bit displacement; `len` is
    /// its original length.
    Jump {
        addr: u64,
        len: u8,
        condition: Option<u8>,
        target: u64,
    },
}

impl Piece {
    pub fn addr(&self) -> u64 {
        match *self {
            Piece::Copy { addr, .. } | Piece::Jump { addr, .. } => addr,
        }
    }
}

/// Straight-line code around an execution point.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Region {
    /// Instructions before the point that fall through into it and that a
    /// backward jump of the body leads to: the head of the loop.
    pub head: Vec<Copied>,
    /// From the point on, until an unconditional jump, an instruction the
    /// decoder refuses, or the size limit.
    pub body: Vec<Piece>,
    /// Where the original code continues after the body; None when the
    /// body ends in an unconditional jump.
    pub exit: Option<u64>,
}

/// A straight instruction of the head.
pub type Copied = (u64, Instruction);

/// Bytes looked at before the point for a loop head.
const HEAD_BYTES: u64 = 64;
/// Bytes and instructions the body may cover.
const BODY_BYTES: usize = 160;
const BODY_PIECES: usize = 24;

/// The region at `point` as the tracee's memory holds it now.
pub fn region_at(task: &Task, point: u64) -> Region {
    let mut body = [0u8; BODY_BYTES];
    let got = task.read_partial(RemoteAddr(point), &mut body);
    let mut head = [0u8; HEAD_BYTES as usize];
    let head_start = point.saturating_sub(HEAD_BYTES);
    let head_got = task.read_partial(RemoteAddr(head_start), &mut head);
    // Only bytes that reach the point are usable.
    let head = if head_got == head.len() {
        &head[..]
    } else {
        &[][..]
    };
    build(point, &body[..got], head_start, head)
}

/// The region from `body` (the bytes at `point`) and `head` (the bytes
/// just before it, starting at `head_start`).
pub fn build(point: u64, body: &[u8], head_start: u64, head: &[u8]) -> Region {
    let mut region = Region::default();
    let mut at = 0usize;
    region.exit = loop {
        let addr = point + at as u64;
        let rest = &body[at.min(body.len())..];
        if region.body.len() == BODY_PIECES {
            break Some(addr);
        }
        if let Some(jump) = x86::decode_jump(rest) {
            let target = (addr + jump.len as u64).wrapping_add_signed(jump.displacement);
            region.body.push(Piece::Jump {
                addr,
                len: jump.len as u8,
                condition: jump.condition,
                target,
            });
            at += jump.len;
            if jump.condition.is_none() {
                break None;
            }
        } else if let Some(insn) = x86::decode(rest) {
            region.body.push(Piece::Copy { addr, insn });
            at += insn.len;
        } else {
            break Some(addr);
        }
    };
    region.head = loop_head(point, &region.body, head_start, head).unwrap_or_default();
    region
}

/// The straight instructions from the first backward jump's target up to
/// the point, if they decode to end exactly there.
fn loop_head(point: u64, body: &[Piece], head_start: u64, head: &[u8]) -> Option<Vec<Copied>> {
    let target = body.iter().find_map(|piece| match *piece {
        Piece::Jump { target, .. } if target < point && target >= head_start => Some(target),
        _ => None,
    })?;
    let mut at = usize::try_from(target - head_start).ok()?;
    let mut copied = Vec::new();
    while (at as u64) + head_start < point {
        let insn = x86::decode(head.get(at..)?)?;
        copied.push((head_start + at as u64, insn));
        at += insn.len;
    }
    ((at as u64) + head_start == point).then_some(copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POINT: u64 = 0x1224;

    /// spinner() of the spin-on-flag program at -O1:
    /// 1220: add rax, 1; 1224: mov edx, [rip+x]; 122a: test edx, edx;
    /// 122c: je 1220; 122e: mov [rip+y], rax; 1235: xor eax, eax; 1237: ret
    fn spin_loop() -> (Vec<u8>, Vec<u8>) {
        let mut head = vec![0x90; 60];
        head.extend_from_slice(&[0x48, 0x83, 0xc0, 0x01]);
        let body = vec![
            0x8b, 0x15, 0x22, 0x2e, 0, 0, 0x85, 0xd2, 0x74, 0xf2, 0x48, 0x89, 0x05, 0x0b, 0x2e, 0,
            0, 0x31, 0xc0, 0xc3,
        ];
        (head, body)
    }

    #[test]
    fn a_spin_loop_is_copied_with_its_head() {
        let (head, body) = spin_loop();
        let region = build(POINT, &body, POINT - 64, &head);
        let addrs: Vec<u64> = region.body.iter().map(Piece::addr).collect();
        assert_eq!(addrs, [0x1224, 0x122a, 0x122c, 0x122e, 0x1235]);
        assert_eq!(
            region.body[2],
            Piece::Jump {
                addr: 0x122c,
                len: 2,
                condition: Some(4),
                target: 0x1220
            }
        );
        // ret is refused: the body leaves there.
        assert_eq!(region.exit, Some(0x1237));
        let head_addrs: Vec<u64> = region.head.iter().map(|&(a, _)| a).collect();
        assert_eq!(head_addrs, [0x1220]);
    }

    #[test]
    fn no_head_when_the_bytes_before_do_not_decode_to_the_point() {
        let (mut head, body) = spin_loop();
        // 1220 now starts a 5-byte instruction that runs past the point.
        head[60] = 0xb8;
        let region = build(POINT, &body, POINT - 64, &head);
        assert!(region.head.is_empty());
        // Unreadable bytes before the point: no head either.
        assert!(build(POINT, &body, POINT - 64, &[]).head.is_empty());
    }

    #[test]
    fn an_unconditional_jump_ends_the_body() {
        // mov eax, [rip+x]; jmp -8
        let body = [0x8b, 0x05, 0, 0, 0, 0, 0xeb, 0xf8, 0x90];
        let region = build(POINT, &body, POINT, &[]);
        assert_eq!(region.body.len(), 2);
        assert_eq!(region.exit, None);
        assert_eq!(
            region.body[1],
            Piece::Jump {
                addr: POINT + 6,
                len: 2,
                condition: None,
                target: POINT
            }
        );
    }

    #[test]
    fn the_body_stops_at_its_size_limit_and_at_the_end_of_the_bytes() {
        let nops = [0x90u8; 40];
        let region = build(POINT, &nops, POINT, &[]);
        assert_eq!(region.body.len(), BODY_PIECES);
        assert_eq!(region.exit, Some(POINT + BODY_PIECES as u64));
        let region = build(POINT, &nops[..3], POINT, &[]);
        assert_eq!(region.body.len(), 3);
        assert_eq!(region.exit, Some(POINT + 3));
    }
}
