//! Reproducing the tracee's writes to stdout and stderr on the replayer's.

use std::io::Write;

use trace_format::{OutputStream, SyscallEvent};
use tracee::{RemoteAddr, Task};

use crate::error::ReplayError;

const MAX_IOVECS: u64 = 1024;

/// The bytes a recorded write/writev/pwrite* wrote, read back from the
/// replayed tracee (its memory equals the recording's at this point).
fn written_bytes(task: &Task, event: &SyscallEvent) -> Result<Vec<u8>, ReplayError> {
    let args = event.regs.syscall_args();
    let total = u64::try_from(event.result).unwrap_or(0);
    let mut out = Vec::with_capacity(total.min(1 << 20) as usize);
    match tracee::syscalls::name(event.number()).as_str() {
        "write" | "pwrite64" => {
            out.resize(total as usize, 0);
            task.read_bytes(RemoteAddr(args[1]), &mut out)?;
        }
        _ => {
            let count = args[2].min(MAX_IOVECS);
            let mut remaining = total;
            for i in 0..count {
                if remaining == 0 {
                    break;
                }
                let base = task.read_u64(RemoteAddr(args[1] + i * 16))?;
                let len = task.read_u64(RemoteAddr(args[1] + i * 16 + 8))?;
                let take = len.min(remaining);
                let start = out.len();
                out.resize(start + take as usize, 0);
                task.read_bytes(RemoteAddr(base), &mut out[start..])?;
                remaining -= take;
            }
        }
    }
    Ok(out)
}

pub fn echo(task: &Task, event: &SyscallEvent, stream: OutputStream) -> Result<(), ReplayError> {
    let bytes = written_bytes(task, event)?;
    let result = match stream {
        OutputStream::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes).and_then(|()| out.flush())
        }
        OutputStream::Stderr => std::io::stderr().lock().write_all(&bytes),
    };
    result.map_err(ReplayError::Output)
}
