//! Agent expressions: the bytecode gdb sends with a breakpoint (`Z0` and
//! `Z1`, after `;X`) for the target to evaluate its condition where the
//! breakpoint is hit, so that a false condition costs no stop (gdb's
//! manual, "Agent Expressions"). A stack machine over 64-bit integers; the
//! floating-point, tracing, variable and printf bytecodes are not
//! evaluated (an expression using them is an error, and the target stops
//! for gdb to decide).

use crate::registers;
use crate::target::X86Registers;

/// Bytecodes, as gdb numbers them.
mod op {
    pub const ADD: u8 = 0x02;
    pub const SUB: u8 = 0x03;
    pub const MUL: u8 = 0x04;
    pub const DIV_SIGNED: u8 = 0x05;
    pub const DIV_UNSIGNED: u8 = 0x06;
    pub const REM_SIGNED: u8 = 0x07;
    pub const REM_UNSIGNED: u8 = 0x08;
    pub const LSH: u8 = 0x09;
    pub const RSH_SIGNED: u8 = 0x0a;
    pub const RSH_UNSIGNED: u8 = 0x0b;
    pub const LOG_NOT: u8 = 0x0e;
    pub const BIT_AND: u8 = 0x0f;
    pub const BIT_OR: u8 = 0x10;
    pub const BIT_XOR: u8 = 0x11;
    pub const BIT_NOT: u8 = 0x12;
    pub const EQUAL: u8 = 0x13;
    pub const LESS_SIGNED: u8 = 0x14;
    pub const LESS_UNSIGNED: u8 = 0x15;
    pub const EXT: u8 = 0x16;
    pub const REF8: u8 = 0x17;
    pub const REF16: u8 = 0x18;
    pub const REF32: u8 = 0x19;
    pub const REF64: u8 = 0x1a;
    pub const IF_GOTO: u8 = 0x20;
    pub const GOTO: u8 = 0x21;
    pub const CONST8: u8 = 0x22;
    pub const CONST16: u8 = 0x23;
    pub const CONST32: u8 = 0x24;
    pub const CONST64: u8 = 0x25;
    pub const REG: u8 = 0x26;
    pub const END: u8 = 0x27;
    pub const DUP: u8 = 0x28;
    pub const POP: u8 = 0x29;
    pub const ZERO_EXT: u8 = 0x2a;
    pub const SWAP: u8 = 0x2b;
    pub const PICK: u8 = 0x32;
    pub const ROT: u8 = 0x33;
}

/// Bytecodes run at most per evaluation: a condition with a backward
/// `goto` must not hang the replay.
const MOST_STEPS: usize = 100_000;
/// The deepest stack an expression may build.
const MOST_DEPTH: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentError {
    /// The bytecode ends inside an instruction, jumps outside itself,
    /// pops an empty stack or divides by zero.
    Malformed,
    /// A bytecode this evaluator does not run.
    Unsupported(u8),
    /// A register the target cannot give.
    Register(u16),
    /// Memory the target cannot read.
    Memory(u64),
    /// More than `MOST_STEPS` bytecodes or a stack deeper than `MOST_DEPTH`.
    TooLong,
}

/// What an expression reads: the stopped thread's registers and memory.
pub trait AgentContext {
    fn registers(&self) -> &X86Registers;
    /// Fills `buf` from `addr`; false if it cannot be read.
    fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> bool;
}

/// The value of the expression `code` (gdb's condition: true when not 0).
pub fn evaluate(code: &[u8], context: &mut dyn AgentContext) -> Result<u64, AgentError> {
    let mut stack: Vec<u64> = Vec::new();
    let mut pc = 0usize;
    for _ in 0..MOST_STEPS {
        let &opcode = code.get(pc).ok_or(AgentError::Malformed)?;
        pc += 1;
        let operand = |len: usize| -> Result<u64, AgentError> {
            let bytes = code.get(pc..pc + len).ok_or(AgentError::Malformed)?;
            Ok(bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b)))
        };
        let pop = |stack: &mut Vec<u64>| stack.pop().ok_or(AgentError::Malformed);
        match opcode {
            op::END => return pop(&mut stack),
            op::CONST8 | op::CONST16 | op::CONST32 | op::CONST64 => {
                let len = 1 << (opcode - op::CONST8);
                stack.push(operand(len)?);
                pc += len;
            }
            op::REG => {
                let regnum = operand(2)? as u16;
                pc += 2;
                let value = registers::value(context.registers(), usize::from(regnum))
                    .ok_or(AgentError::Register(regnum))?;
                stack.push(value);
            }
            op::EXT | op::ZERO_EXT => {
                let bits = operand(1)? as u32;
                pc += 1;
                let value = pop(&mut stack)?;
                stack.push(extend(value, bits, opcode == op::EXT));
            }
            op::REF8 | op::REF16 | op::REF32 | op::REF64 => {
                let len = 1 << (opcode - op::REF8);
                let addr = pop(&mut stack)?;
                let mut buf = [0u8; 8];
                if !context.read_memory(addr, &mut buf[..len]) {
                    return Err(AgentError::Memory(addr));
                }
                stack.push(u64::from_le_bytes(buf));
            }
            op::IF_GOTO | op::GOTO => {
                let target = operand(2)? as usize;
                pc += 2;
                let taken = opcode == op::GOTO || pop(&mut stack)? != 0;
                if taken {
                    if target >= code.len() {
                        return Err(AgentError::Malformed);
                    }
                    pc = target;
                }
            }
            op::LOG_NOT => {
                let a = pop(&mut stack)?;
                stack.push(u64::from(a == 0));
            }
            op::BIT_NOT => {
                let a = pop(&mut stack)?;
                stack.push(!a);
            }
            op::DUP => {
                let a = *stack.last().ok_or(AgentError::Malformed)?;
                stack.push(a);
            }
            op::POP => {
                pop(&mut stack)?;
            }
            op::SWAP => {
                let b = pop(&mut stack)?;
                let a = pop(&mut stack)?;
                stack.extend([b, a]);
            }
            op::PICK => {
                let depth = operand(1)? as usize;
                pc += 1;
                let at = stack
                    .len()
                    .checked_sub(depth + 1)
                    .ok_or(AgentError::Malformed)?;
                stack.push(stack[at]);
            }
            op::ROT => {
                // a b c => c a b
                let c = pop(&mut stack)?;
                let b = pop(&mut stack)?;
                let a = pop(&mut stack)?;
                stack.extend([c, a, b]);
            }
            _ if is_binary(opcode) => {
                let b = pop(&mut stack)?;
                let a = pop(&mut stack)?;
                stack.push(binary(opcode, a, b)?);
            }
            other => return Err(AgentError::Unsupported(other)),
        }
        if stack.len() > MOST_DEPTH {
            return Err(AgentError::TooLong);
        }
    }
    Err(AgentError::TooLong)
}

fn is_binary(opcode: u8) -> bool {
    matches!(
        opcode,
        op::ADD..=op::RSH_UNSIGNED | op::BIT_AND..=op::BIT_XOR | op::EQUAL..=op::LESS_UNSIGNED
    )
}

/// `a op b`, with `b` the top of the stack.
fn binary(opcode: u8, a: u64, b: u64) -> Result<u64, AgentError> {
    let (sa, sb) = (a as i64, b as i64);
    Ok(match opcode {
        op::ADD => a.wrapping_add(b),
        op::SUB => a.wrapping_sub(b),
        op::MUL => a.wrapping_mul(b),
        // Division by zero is an error; the one overflow (MIN / -1) wraps.
        op::DIV_SIGNED if b != 0 => sa.wrapping_div(sb) as u64,
        op::DIV_UNSIGNED if b != 0 => a / b,
        op::REM_SIGNED if b != 0 => sa.wrapping_rem(sb) as u64,
        op::REM_UNSIGNED if b != 0 => a % b,
        op::DIV_SIGNED | op::DIV_UNSIGNED | op::REM_SIGNED | op::REM_UNSIGNED => {
            return Err(AgentError::Malformed)
        }
        op::LSH if b < 64 => a << b,
        op::RSH_UNSIGNED if b < 64 => a >> b,
        op::LSH | op::RSH_UNSIGNED => 0,
        op::RSH_SIGNED => (sa >> b.min(63)) as u64,
        op::BIT_AND => a & b,
        op::BIT_OR => a | b,
        op::BIT_XOR => a ^ b,
        op::EQUAL => u64::from(a == b),
        op::LESS_SIGNED => u64::from(sa < sb),
        op::LESS_UNSIGNED => u64::from(a < b),
        other => return Err(AgentError::Unsupported(other)),
    })
}

/// The low `bits` of `value`, sign- or zero-extended to 64.
fn extend(value: u64, bits: u32, signed: bool) -> u64 {
    if bits == 0 || bits >= 64 {
        return value;
    }
    let shift = 64 - bits;
    if signed {
        (((value << shift) as i64) >> shift) as u64
    } else {
        (value << shift) >> shift
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Stopped {
        regs: X86Registers,
        memory: Vec<(u64, Vec<u8>)>,
    }

    impl AgentContext for Stopped {
        fn registers(&self) -> &X86Registers {
            &self.regs
        }

        fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> bool {
            self.memory.iter().any(|(start, bytes)| {
                let Some(offset) = addr.checked_sub(*start) else {
                    return false;
                };
                let offset = offset as usize;
                match bytes.get(offset..offset + buf.len()) {
                    Some(slice) => {
                        buf.copy_from_slice(slice);
                        true
                    }
                    None => false,
                }
            })
        }
    }

    fn stopped() -> Stopped {
        let mut regs = X86Registers::default();
        regs.general[5] = 40; // rdi
        regs.general[7] = 0x1000; // rsp
        Stopped {
            regs,
            memory: vec![(0x1000, vec![0xfe, 0xff, 0xff, 0xff, 7, 0, 0, 0])],
        }
    }

    #[test]
    fn a_register_compared_with_a_constant() {
        // What gdb sends for `round == 40` with round in rdi.
        let code = [
            op::REG,
            0,
            5,
            op::EXT,
            64,
            op::CONST8,
            40,
            op::EQUAL,
            op::END,
        ];
        assert_eq!(evaluate(&code, &mut stopped()), Ok(1));
        let mut other = stopped();
        other.regs.general[5] = 39;
        assert_eq!(evaluate(&code, &mut other), Ok(0));
    }

    #[test]
    fn memory_is_read_little_endian_and_extended() {
        // *(int *)$rsp < 0, signed: -2.
        let code = [
            op::REG,
            0,
            7,
            op::REF32,
            op::EXT,
            32,
            op::CONST8,
            0,
            op::LESS_SIGNED,
            op::END,
        ];
        assert_eq!(evaluate(&code, &mut stopped()), Ok(1));
        let unsigned = [op::REG, 0, 7, op::REF32, op::ZERO_EXT, 32, op::END];
        assert_eq!(evaluate(&unsigned, &mut stopped()), Ok(0xffff_fffe));
        let wide = [op::REG, 0, 7, op::CONST8, 4, op::ADD, op::REF16, op::END];
        assert_eq!(evaluate(&wide, &mut stopped()), Ok(7));
    }

    #[test]
    fn jumps_and_the_stack_bytecodes() {
        // rdi ? 10 : 20, then a b c => c a b and pick.
        let code = [
            op::REG,
            0,
            5,
            op::IF_GOTO,
            0,
            9,
            op::CONST8,
            20,
            op::END,
            op::CONST8,
            10,
            op::END,
        ];
        assert_eq!(evaluate(&code, &mut stopped()), Ok(10));
        let shuffle = [
            op::CONST8,
            1,
            op::CONST8,
            2,
            op::CONST8,
            3,
            op::ROT,
            op::PICK,
            2,
            op::SWAP,
            op::POP,
            op::END,
        ];
        // After rot: 3 1 2; pick 2 copies the 3: 3 1 2 3; swap, pop: 3 1 3.
        assert_eq!(evaluate(&shuffle, &mut stopped()), Ok(3));
    }

    #[test]
    fn bad_expressions_are_errors_not_panics() {
        let mut s = stopped();
        assert_eq!(evaluate(&[], &mut s), Err(AgentError::Malformed));
        assert_eq!(
            evaluate(&[op::ADD, op::END], &mut s),
            Err(AgentError::Malformed)
        );
        assert_eq!(
            evaluate(&[op::CONST16, 1], &mut s),
            Err(AgentError::Malformed)
        );
        assert_eq!(
            evaluate(
                &[op::CONST8, 1, op::CONST8, 0, op::DIV_SIGNED, op::END],
                &mut s
            ),
            Err(AgentError::Malformed)
        );
        // i64::MIN / -1 wraps; a shift by 2^32 + 1 is no shift by 1.
        let min_by_minus_one = [
            op::CONST64,
            0x80,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            op::CONST8,
            1,
            op::CONST8,
            0,
            op::SWAP,
            op::SUB,
            op::DIV_SIGNED,
            op::END,
        ];
        assert_eq!(evaluate(&min_by_minus_one, &mut s), Ok(i64::MIN as u64));
        let far_shift = [
            op::CONST8,
            1,
            op::CONST64,
            0,
            0,
            0,
            1,
            0,
            0,
            0,
            1,
            op::LSH,
            op::END,
        ];
        assert_eq!(evaluate(&far_shift, &mut s), Ok(0));
        assert_eq!(
            evaluate(&[op::CONST8, 9, op::REF8, op::END], &mut s),
            Err(AgentError::Memory(9))
        );
        assert_eq!(
            evaluate(&[op::REG, 0x10, 0, op::END], &mut s),
            Err(AgentError::Register(0x1000))
        );
        assert_eq!(
            evaluate(&[op::GOTO, 0, 0], &mut s),
            Err(AgentError::TooLong)
        );
        // float
        assert_eq!(
            evaluate(&[op::CONST8, 1, op::CONST8, 1, 0x01, op::END], &mut s),
            Err(AgentError::Unsupported(0x01))
        );
        assert_eq!(
            evaluate(&[op::CONST8, 1, op::GOTO, 0, 200], &mut s),
            Err(AgentError::Malformed)
        );
    }
}
