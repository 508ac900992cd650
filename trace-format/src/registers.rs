//! The x86-64 general registers as the trace stores them.

use crate::codec::{Decode, DecodeError, Decoder, Encode, Encoder};

/// The general registers of one thread, in the order and meaning of the
/// kernel's `struct user_regs_struct` (what `PTRACE_GETREGS` fills in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Registers {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub orig_rax: u64,
    pub rip: u64,
    pub cs: u64,
    pub eflags: u64,
    pub rsp: u64,
    pub ss: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    pub ds: u64,
    pub es: u64,
    pub fs: u64,
    pub gs: u64,
}

/// Register names in `Registers::to_array` order, for messages.
pub const REGISTER_NAMES: [&str; 27] = [
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi",
    "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs",
    "gs",
];

impl Registers {
    pub fn to_array(&self) -> [u64; 27] {
        [
            self.r15,
            self.r14,
            self.r13,
            self.r12,
            self.rbp,
            self.rbx,
            self.r11,
            self.r10,
            self.r9,
            self.r8,
            self.rax,
            self.rcx,
            self.rdx,
            self.rsi,
            self.rdi,
            self.orig_rax,
            self.rip,
            self.cs,
            self.eflags,
            self.rsp,
            self.ss,
            self.fs_base,
            self.gs_base,
            self.ds,
            self.es,
            self.fs,
            self.gs,
        ]
    }

    pub fn from_array(a: [u64; 27]) -> Self {
        Registers {
            r15: a[0],
            r14: a[1],
            r13: a[2],
            r12: a[3],
            rbp: a[4],
            rbx: a[5],
            r11: a[6],
            r10: a[7],
            r9: a[8],
            r8: a[9],
            rax: a[10],
            rcx: a[11],
            rdx: a[12],
            rsi: a[13],
            rdi: a[14],
            orig_rax: a[15],
            rip: a[16],
            cs: a[17],
            eflags: a[18],
            rsp: a[19],
            ss: a[20],
            fs_base: a[21],
            gs_base: a[22],
            ds: a[23],
            es: a[24],
            fs: a[25],
            gs: a[26],
        }
    }

    /// The six syscall arguments in calling-convention order.
    pub fn syscall_args(&self) -> [u64; 6] {
        [self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9]
    }

    /// The registers that differ, as (name, self, other), for divergence
    /// messages.
    pub fn differences(&self, other: &Registers) -> Vec<(&'static str, u64, u64)> {
        let (mine, theirs) = (self.to_array(), other.to_array());
        REGISTER_NAMES
            .iter()
            .zip(mine.iter().zip(theirs.iter()))
            .filter(|(_, (a, b))| a != b)
            .map(|(name, (a, b))| (*name, *a, *b))
            .collect()
    }
}

impl Encode for Registers {
    fn encode(&self, enc: &mut Encoder<'_>) {
        for value in self.to_array() {
            enc.u64(value);
        }
    }
}

impl Decode for Registers {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let mut values = [0u64; 27];
        for value in &mut values {
            *value = dec.u64()?;
        }
        Ok(Registers::from_array(values))
    }
}
