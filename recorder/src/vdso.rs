//! Patching the vDSO so that its time functions become real syscalls,
//! which the recorder sees and records. Unpatched, `clock_gettime` and
//! friends read the clock in user space and replay could not reproduce
//! their results.

use goblin::elf::Elf;
use tracee::{RemoteAddr, Task};

use crate::error::RecordError;

/// `mov eax, NR; syscall; ret`
fn syscall_stub(nr: u32) -> [u8; 8] {
    let n = nr.to_le_bytes();
    [0xb8, n[0], n[1], n[2], n[3], 0x0f, 0x05, 0xc3]
}

/// `mov rax, -ENOSYS; ret`: callers fall back to the real syscall.
const ENOSYS_STUB: [u8; 8] = [0x48, 0xc7, 0xc0, 0xda, 0xff, 0xff, 0xff, 0xc3];

fn replacement(symbol: &str) -> Option<[u8; 8]> {
    let name = symbol.strip_prefix("__vdso_").unwrap_or(symbol);
    let nr = match name {
        "clock_gettime" => libc::SYS_clock_gettime,
        "gettimeofday" => libc::SYS_gettimeofday,
        "time" => libc::SYS_time,
        "clock_getres" => libc::SYS_clock_getres,
        "getcpu" => libc::SYS_getcpu,
        // The vgetrandom interface keeps state in user memory; answering
        // ENOSYS makes libc use the getrandom syscall instead.
        "getrandom" => return Some(ENOSYS_STUB),
        _ => return None,
    };
    Some(syscall_stub(nr as u32))
}

/// Rewrites every time function of the vDSO mapped at `start..end`.
pub fn patch(task: &Task, start: u64, end: u64) -> Result<(), RecordError> {
    let mut image = vec![0u8; (end - start) as usize];
    task.read_bytes(RemoteAddr(start), &mut image)?;
    let bad = |reason: String| RecordError::Capture {
        path: "[vdso]".into(),
        reason,
    };
    let elf = Elf::parse(&image).map_err(|e| bad(format!("it is not a valid ELF image: {e}")))?;
    let load_base = elf
        .program_headers
        .iter()
        .find(|p| p.p_type == goblin::elf::program_header::PT_LOAD)
        .map_or(0, |p| p.p_vaddr & !0xfff);
    for sym in elf.dynsyms.iter() {
        if !sym.is_function() || sym.st_value == 0 {
            continue;
        }
        let Some(name) = elf.dynstrtab.get_at(sym.st_name) else {
            continue;
        };
        let Some(code) = replacement(name) else {
            continue;
        };
        if sym.st_size != 0 && sym.st_size < code.len() as u64 {
            return Err(bad(format!("{name} is too small to patch")));
        }
        let addr = start + (sym.st_value - load_base);
        if addr + code.len() as u64 > end {
            return Err(bad(format!("{name} lies outside the vDSO")));
        }
        task.write_bytes(RemoteAddr(addr), &code)?;
    }
    Ok(())
}
