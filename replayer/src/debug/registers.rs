//! gdb's view of a thread's registers, from ptrace's.

use gdb_remote::X86Registers;
use trace_format::Registers;
use tracee::extended_state::ExtendedState;

pub fn to_gdb(regs: &Registers, extended: &ExtendedState) -> X86Registers {
    X86Registers {
        general: [
            regs.rax, regs.rbx, regs.rcx, regs.rdx, regs.rsi, regs.rdi, regs.rbp, regs.rsp,
            regs.r8, regs.r9, regs.r10, regs.r11, regs.r12, regs.r13, regs.r14, regs.r15, regs.rip,
        ],
        eflags: regs.eflags as u32,
        segments: [
            regs.cs as u32,
            regs.ss as u32,
            regs.ds as u32,
            regs.es as u32,
            regs.fs as u32,
            regs.gs as u32,
        ],
        fs_base: regs.fs_base,
        gs_base: regs.gs_base,
        orig_rax: regs.orig_rax,
        fxsave: extended.fxsave,
        ymm_high: extended.ymm_high,
    }
}

/// The registers gdb asks a thread to have.
pub fn from_gdb(gdb: &X86Registers) -> (Registers, ExtendedState) {
    let g = &gdb.general;
    let regs = Registers {
        rax: g[0],
        rbx: g[1],
        rcx: g[2],
        rdx: g[3],
        rsi: g[4],
        rdi: g[5],
        rbp: g[6],
        rsp: g[7],
        r8: g[8],
        r9: g[9],
        r10: g[10],
        r11: g[11],
        r12: g[12],
        r13: g[13],
        r14: g[14],
        r15: g[15],
        rip: g[16],
        eflags: u64::from(gdb.eflags),
        cs: u64::from(gdb.segments[0]),
        ss: u64::from(gdb.segments[1]),
        ds: u64::from(gdb.segments[2]),
        es: u64::from(gdb.segments[3]),
        fs: u64::from(gdb.segments[4]),
        gs: u64::from(gdb.segments[5]),
        fs_base: gdb.fs_base,
        gs_base: gdb.gs_base,
        orig_rax: gdb.orig_rax,
    };
    let extended = ExtendedState {
        fxsave: gdb.fxsave,
        ymm_high: gdb.ymm_high,
    };
    (regs, extended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_survive_a_round_trip_through_gdb_order() {
        let regs = Registers {
            rax: 1,
            rbx: 2,
            rsp: 3,
            r15: 4,
            rip: 5,
            eflags: 0x246,
            cs: 0x33,
            fs_base: 6,
            orig_rax: 7,
            ..Registers::default()
        };
        let extended = ExtendedState {
            fxsave: [9; 512],
            ymm_high: [[8; 16]; 16],
        };
        let gdb = to_gdb(&regs, &extended);
        assert_eq!(gdb.general[7], 3);
        assert_eq!(gdb.general[16], 5);
        let (back, ext) = from_gdb(&gdb);
        assert_eq!(back, regs);
        assert_eq!(ext.fxsave, extended.fxsave);
    }
}
