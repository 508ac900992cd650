//! Replaying the recorder's patch of a syscall site (ARCHITECTURE.md
//! "syscallbuf", "Patching"): the site must still hold what the patch
//! replaced, then the recorded stub and jump go in, and a thread the
//! patch moved into its stub goes on there.

use trace_format::{PatchEvent, TraceReader};
use tracee::{RemoteAddr, Task};

use crate::error::ReplayError;
use crate::memory;
use crate::verify;

/// The most bytes a patch replaces at a site; a longer span is corrupt.
const MAX_REPLACED: u64 = 64;

/// Applies `patch`, event `number` of thread `tid`. `shadow` puts back
/// the bytes of the debugger's breakpoints into what was read.
pub fn apply(
    task: &Task,
    reader: &mut TraceReader,
    number: u64,
    patch: &PatchEvent,
    shadow: &dyn Fn(u64, &mut [u8]),
) -> Result<(), ReplayError> {
    if patch.replaced.data.len > MAX_REPLACED {
        return Err(ReplayError::BadTrace {
            event: number,
            reason: format!(
                "the patch of the syscall site at {:#x} replaces {} bytes",
                patch.site, patch.replaced.data.len
            ),
        });
    }
    let expected = reader.data().read(patch.replaced.data)?;
    let mut found = vec![0u8; expected.len()];
    task.read_bytes(RemoteAddr(patch.replaced.addr), &mut found)?;
    shadow(patch.replaced.addr, &mut found);
    if found != expected {
        return Err(verify::diverged(
            number,
            task.tid,
            "the patch of a syscall site",
            format!(
                "at {:#x} the recording replaced {} but the replay holds {}",
                patch.replaced.addr,
                hex(&expected),
                hex(&found)
            ),
        ));
    }
    memory::apply_writes(task, reader, &patch.writes)?;
    if let Some(at) = patch.resume_at {
        let mut regs = task.regs()?;
        regs.rip = at;
        task.set_regs(&regs)?;
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}
