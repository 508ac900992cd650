//! What the recorder does right after an execve: prepare the new address
//! space (rewind page, vDSO patch) and capture it whole, so that replay can
//! rebuild it without the host's files (ARCHITECTURE.md "Replay").

use std::path::PathBuf;

use trace_format::{CapturedFile, ExecEvent, Mapping, MappingSource, MemoryWrite, TraceWriter};
use tracee::maps::{self, MapEntry};
use tracee::{remote, RemoteAddr, Task};

use crate::error::RecordError;
use crate::files::FileCapture;
use crate::vdso;

const PAGE: usize = 4096;

/// The captured address space, and the program break found in it.
pub struct ExecCapture {
    pub event: ExecEvent,
    pub brk_end: u64,
}

/// Called at the syscall-exit stop of a successful execve.
pub fn capture_exec(
    task: &mut Task,
    writer: &mut TraceWriter,
    files: &mut FileCapture,
) -> Result<ExecCapture, RecordError> {
    task.reopen_memory()?;
    remote::install_rewind_page(task)?;
    let entries = maps::read_maps(task.tid)?;
    if let Some(vdso) = entries.iter().find(|m| m.name == "[vdso]") {
        vdso::patch(task, vdso.start, vdso.end)?;
    }
    let brk_end = remote::syscall(task, "brk", libc::SYS_brk, [0; 6])?;
    let regs = task.regs()?;
    let exe_link = PathBuf::from(format!("/proc/{}/exe", task.tid));
    let exe_path = std::fs::read_link(&exe_link)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let exe = files.capture(&exe_link, &exe_path)?;
    let mut mappings = Vec::with_capacity(entries.len());
    for entry in &entries {
        mappings.push(capture_mapping(task, writer, files, entry)?);
    }
    Ok(ExecCapture {
        event: ExecEvent {
            exe,
            argv: read_cmdline(task.tid),
            regs,
            mappings,
            auxv: maps::read_auxv(task.tid)?,
        },
        brk_end,
    })
}

fn read_cmdline(tid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{tid}/cmdline"))
        .map(|bytes| {
            bytes
                .split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn capture_mapping(
    task: &Task,
    writer: &mut TraceWriter,
    files: &mut FileCapture,
    entry: &MapEntry,
) -> Result<Mapping, RecordError> {
    let mut flags = if entry.shared {
        libc::MAP_SHARED
    } else {
        libc::MAP_PRIVATE
    } as u32;
    if entry.name == "[stack]" {
        flags |= libc::MAP_GROWSDOWN as u32;
    }
    let source = if entry.is_file() {
        MappingSource::File {
            file: capture_mapped_file(task.tid, files, entry)?,
            offset: entry.offset,
        }
    } else if entry.is_special() {
        MappingSource::Special {
            name: entry.name.clone(),
        }
    } else {
        MappingSource::Anonymous {
            name: entry.name.clone(),
        }
    };
    let wants_contents = (entry.prot & libc::PROT_WRITE as u32 != 0 && !entry.is_special())
        || entry.name == "[vdso]";
    let contents = if wants_contents {
        capture_nonzero_pages(task, writer, entry.start, entry.end)?
    } else {
        Vec::new()
    };
    Ok(Mapping {
        start: entry.start,
        end: entry.end,
        prot: entry.prot,
        flags,
        source,
        contents,
    })
}

/// Opens a mapped file through `/proc/PID/map_files` (which reaches it
/// even if it was deleted or replaced) and falls back to its path.
fn capture_mapped_file(
    pid: i32,
    files: &mut FileCapture,
    entry: &MapEntry,
) -> Result<CapturedFile, RecordError> {
    let by_mapping = PathBuf::from(format!(
        "/proc/{pid}/map_files/{:x}-{:x}",
        entry.start, entry.end
    ));
    let original = entry.name.trim_end_matches(" (deleted)").to_string();
    if by_mapping.exists() {
        files.capture(&by_mapping, &original)
    } else {
        files.capture(&PathBuf::from(&entry.name), &original)
    }
}

/// The mapping's contents as runs of pages that are not all zero.
pub fn capture_nonzero_pages(
    task: &Task,
    writer: &mut TraceWriter,
    start: u64,
    end: u64,
) -> Result<Vec<MemoryWrite>, RecordError> {
    let mut writes: Vec<MemoryWrite> = Vec::new();
    let mut page = vec![0u8; PAGE];
    let mut addr = start;
    while addr < end {
        let got = task.read_partial(RemoteAddr(addr), &mut page);
        if got == PAGE && page.iter().any(|&b| b != 0) {
            let data = writer.append_data(&page)?;
            match writes.last_mut() {
                Some(last)
                    if last.addr + last.data.len == addr && last.data.end() == data.offset =>
                {
                    last.data.len += data.len;
                }
                _ => writes.push(MemoryWrite { addr, data }),
            }
        }
        addr += PAGE as u64;
    }
    Ok(writes)
}
