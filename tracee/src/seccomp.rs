//! The recording's seccomp filter (ARCHITECTURE.md "syscallbuf"): it lets
//! through, without a stop, the syscalls made from the two instructions on
//! the rewind page that rewind accounts for itself (the preload library's
//! untraced entry, whose calls the buffer records, and the injected-syscall
//! instruction), and makes every other syscall a ptrace stop, so that the
//! recorder can resume running code with PTRACE_CONT.
//!
//! Seccomp's ordering puts the ptrace syscall-entry stop before the filter
//! runs: a thread resumed with PTRACE_SYSCALL still stops at every syscall
//! entry, and then once more at the filter's trace stop.

use crate::syscallbuf_abi::{INJECTED_SYSCALL_END, UNTRACED_SYSCALL_END};

/// The `data` of the filter's trace action, which PTRACE_GETEVENTMSG
/// reports at its stop (a program's own filter may trace with another).
pub const TRACE_DATA: u32 = 0x5257;

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_RET_K: u16 = 0x06;
const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
/// Offsets in `struct seccomp_data`: the instruction pointer's two halves.
const IP_LOW: u32 = 8;
const IP_HIGH: u32 = 12;

const fn statement(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

const fn jump_if_equal(k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: BPF_JEQ_K,
        jt,
        jf,
        k,
    }
}

/// The filter's program. Both allowed addresses lie below 4 GiB.
pub const FILTER: [libc::sock_filter; 7] = [
    statement(BPF_LD_W_ABS, IP_HIGH),
    jump_if_equal(0, 0, 3),
    statement(BPF_LD_W_ABS, IP_LOW),
    jump_if_equal(UNTRACED_SYSCALL_END as u32, 2, 0),
    jump_if_equal(INJECTED_SYSCALL_END as u32, 1, 0),
    statement(BPF_RET_K, SECCOMP_RET_TRACE | TRACE_DATA),
    statement(BPF_RET_K, SECCOMP_RET_ALLOW),
];

/// Whether this process already runs under a seccomp filter (a
/// container's, a service manager's), which its children inherit: its
/// errno, trap or kill answers would outrank the recording filter's trace
/// rule, and such calls would never stop.
pub fn inherited() -> bool {
    // SAFETY: PR_GET_SECCOMP reads nothing and writes nothing.
    unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) != 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscallbuf_abi::{INJECTED_SYSCALL, UNTRACED_SYSCALL};

    /// What the filter does with a syscall made from `ip`: true for a stop.
    /// The classic-BPF interpreter in a few lines.
    fn traces(ip: u64) -> bool {
        let mut accumulator = 0u32;
        let mut pc = 0usize;
        while let Some(insn) = FILTER.get(pc) {
            pc += 1;
            match insn.code {
                BPF_LD_W_ABS => {
                    accumulator = match insn.k {
                        IP_LOW => ip as u32,
                        IP_HIGH => (ip >> 32) as u32,
                        _ => return true,
                    }
                }
                BPF_JEQ_K => {
                    pc += usize::from(if accumulator == insn.k {
                        insn.jt
                    } else {
                        insn.jf
                    })
                }
                BPF_RET_K => return insn.k != SECCOMP_RET_ALLOW,
                _ => return true,
            }
        }
        true
    }

    #[test]
    fn only_the_two_rewind_instructions_pass_untraced() {
        assert!(!traces(UNTRACED_SYSCALL_END));
        assert!(!traces(INJECTED_SYSCALL_END));
        for ip in [
            0,
            UNTRACED_SYSCALL,
            INJECTED_SYSCALL,
            UNTRACED_SYSCALL_END + 1,
            UNTRACED_SYSCALL_END | 1 << 32,
            INJECTED_SYSCALL_END | 0x7fff << 32,
            0x7fff_f7e5_1234,
        ] {
            assert!(traces(ip), "{ip:#x}");
        }
    }
}
