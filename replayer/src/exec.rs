//! Replaying an exec: the tracee execs a stub (this very binary), whose
//! address space is then torn down and rebuilt from the recorded mappings,
//! contents and registers. Nothing of the host's files is used.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use trace_format::{ExecEvent, MappingSource, TraceReader};
use tracee::remote::{self, REWIND_PAGE, REWIND_REGION_LEN, REWIND_SCRATCH};
use tracee::{maps, syscallbuf_abi, RemoteAddr};
use tracee::{PtraceEvent, Resume, Stop, SyscallStopKind, Task, Tid, TraceeError};

use crate::error::ReplayError;
use crate::memory;
use crate::shared::SharedObjects;

fn in_rewind_region(start: u64) -> bool {
    (REWIND_PAGE..REWIND_PAGE + REWIND_REGION_LEN).contains(&start)
}

fn is_vsyscall(source: &MappingSource) -> bool {
    matches!(source, MappingSource::Special { name } if name == "[vsyscall]")
}

/// What happened while the stub was exec'd.
pub struct StubExec {
    /// The exec'ing thread's id afterwards (the leader's, when another
    /// thread exec'd).
    pub tid: Tid,
    /// Replayed threads that died meanwhile (the process's other threads).
    pub died: Vec<Tid>,
}

/// At the entry stop of a recorded execve: makes the tracee exec `stub`
/// instead, and runs it to the exit stop of that execve.
pub fn exec_stub(task: &mut Task, stub: &Path) -> Result<StubExec, ReplayError> {
    let mut regs = task.regs()?;
    let mut path = stub.as_os_str().as_bytes().to_vec();
    path.push(0);
    // Scratch layout: argv[0] pointer, NULL, then the path.
    let path_addr = REWIND_SCRATCH + 16;
    let mut scratch = Vec::with_capacity(16 + path.len());
    scratch.extend_from_slice(&path_addr.to_le_bytes());
    scratch.extend_from_slice(&0u64.to_le_bytes());
    scratch.extend_from_slice(&path);
    remote::put_scratch(task, &scratch)?;
    regs.orig_rax = libc::SYS_execve as u64;
    regs.rdi = path_addr;
    regs.rsi = REWIND_SCRATCH;
    regs.rdx = REWIND_SCRATCH + 8;
    task.set_regs(&regs)?;
    task.resume(Resume::Syscall, 0)?;
    // The other threads of the process die first; the exec is then
    // reported on the leader's id.
    let mut died = Vec::new();
    let exec_tid = loop {
        let (tid, stop) = tracee::wait_any()?;
        match stop {
            Stop::Event(PtraceEvent::Exec, _) => break tid,
            Stop::Event(PtraceEvent::Exit, _) => Task::new(tid)?.resume(Resume::Continue, 0)?,
            Stop::Exited(_) | Stop::Killed { .. } => died.push(tid),
            _ => Task::new(tid)?.resume(Resume::Syscall, 0)?,
        }
    };
    if exec_tid != task.tid {
        *task = Task::new(exec_tid)?;
    }
    let stop = task.step(Resume::Syscall, 0)?;
    if stop != Stop::Syscall || task.syscall_stop_kind()? != SyscallStopKind::Exit {
        return Err(TraceeError::UnexpectedStop {
            tid: task.tid,
            expected: "the exit of the stub's execve",
            got: format!("{stop:?}"),
        }
        .into());
    }
    task.reopen_memory()?;
    Ok(StubExec {
        tid: exec_tid,
        died,
    })
}

/// At the exit stop of the stub's execve: replaces its address space with
/// the recorded one and sets the recorded registers.
pub fn rebuild(
    task: &mut Task,
    reader: &mut TraceReader,
    objects: &mut SharedObjects,
    exec: &ExecEvent,
) -> Result<(), ReplayError> {
    remote::install_rewind_page(task)?;
    // Buffered calls get their recorded results, not the kernel's.
    task.write_bytes(
        RemoteAddr(syscallbuf_abi::UNTRACED_SYSCALL),
        &syscallbuf_abi::REPLAY_ENTRY,
    )?;
    for entry in maps::read_maps(task.tid)? {
        if in_rewind_region(entry.start) || entry.name == "[vsyscall]" {
            continue;
        }
        memory::unmap(task, entry.start, entry.len())?;
    }
    for mapping in &exec.mappings {
        if in_rewind_region(mapping.start) || is_vsyscall(&mapping.source) {
            continue;
        }
        memory::map_region(
            task,
            reader,
            objects,
            (mapping.start, mapping.end - mapping.start),
            mapping.prot,
            mapping.flags,
            &mapping.source,
        )?;
    }
    for mapping in &exec.mappings {
        if !in_rewind_region(mapping.start) {
            memory::apply_writes(task, reader, &mapping.contents)?;
        }
    }
    name_thread(task, &exec.exe.original_path)?;
    task.set_regs(&exec.regs)?;
    Ok(())
}

/// Gives the thread the name the kernel gave it at the recorded exec (the
/// program's file name, cut to 15 bytes), not the stub's: gdb, `ps` and
/// the program's own reads of its name see the recorded one.
fn name_thread(task: &Task, exe: &str) -> Result<(), ReplayError> {
    let file_name = Path::new(exe)
        .file_name()
        .map(|n| n.as_bytes())
        .unwrap_or_default();
    let mut name = file_name[..file_name.len().min(15)].to_vec();
    name.push(0);
    let at = remote::put_scratch(task, &name)?;
    remote::syscall_at(
        task,
        remote::REWIND_SYSCALL,
        libc::SYS_prctl,
        [libc::PR_SET_NAME as u64, at, 0, 0, 0, 0],
    )?;
    Ok(())
}
