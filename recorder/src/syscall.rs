//! Recording one syscall: what to capture at entry, and at exit the event
//! that tells replay what to do (ARCHITECTURE.md principle 2).

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use trace_format::{
    MapAction, MappingSource, OutputStream, Registers, SharedInit, SyscallAction, SyscallEvent,
    TraceWriter,
};
use tracee::syscalls::{self, commands, Handling, Output, Special, SyscallSpec};
use tracee::{maps, syscallbuf_abi, Task};

use crate::error::RecordError;
use crate::files::FileCapture;
use crate::outputs;
use crate::shared::{Backing, FileKey, FileNames, NewMapping, SharedFiles, SharedWrite};

/// What happens to the syscall, decided at entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    Emulate,
    Execute,
    Mmap,
    Brk,
    Mremap,
    Execve,
    /// The recorder made it fail with ENOSYS (rseq, numbers no kernel
    /// rewind knows implements).
    Refused,
    /// clone, fork, vfork, clone3.
    Clone,
    /// Recorded as emulated if the kernel refused it (it then wrote
    /// nothing); a success stops the recording, naming `what`.
    OnlyIfRefused {
        what: String,
    },
    /// shmat: a mapping of a shared object.
    Shmat,
    /// shmdt of the segment mapped at these (start, length) ranges.
    Shmdt {
        ranges: Vec<(u64, u64)>,
    },
}

/// A syscall between its entry and exit stops.
pub struct PendingSyscall {
    pub regs: Registers,
    pub spec: &'static SyscallSpec,
    plan: Plan,
    outputs: Vec<Output>,
    entry_lengths: Vec<Option<u32>>,
    /// Set when the kernel reported PTRACE_EVENT_EXEC during this execve.
    pub exec_happened: bool,
    /// Output buffers moved to the thread's scratch area.
    pub redirects: Vec<crate::scratch::Redirect>,
    /// What it changes in the file of a shared object.
    pub shared_write: Option<SharedWrite>,
}

impl PendingSyscall {
    /// exit and exit_group have no exit stop; their event is written when
    /// the thread reports PTRACE_EVENT_EXIT.
    pub fn is_exit(&self) -> bool {
        matches!(self.spec.name, "exit" | "exit_group")
    }

    /// Whether replay runs this syscall (rather than emulating it).
    pub fn is_executed(&self) -> bool {
        matches!(
            self.plan,
            Plan::Execute | Plan::Mremap | Plan::Execve | Plan::Clone
        )
    }

    pub fn is_execve(&self) -> bool {
        self.plan == Plan::Execve
    }

    /// Whether the kernel was made to skip it (its number set to -1).
    pub fn is_refused(&self) -> bool {
        matches!(self.plan, Plan::Refused)
    }

    /// Whether replay emulates it (its outputs come from the trace).
    pub fn is_emulated(&self) -> bool {
        matches!(self.plan, Plan::Emulate | Plan::OnlyIfRefused { .. })
    }

    /// Whether, blocked, it may write the program's memory (not a scratch
    /// area) at any moment, while other threads run: in the replay those
    /// writes land only at its exit event.
    pub fn writes_in_place(&self) -> bool {
        !self.outputs.is_empty() && self.redirects.is_empty()
    }

    /// Whether it adds, removes or changes mappings of the address space.
    pub fn changes_mappings(&self) -> bool {
        matches!(
            self.plan,
            Plan::Mmap | Plan::Brk | Plan::Mremap | Plan::Shmat | Plan::Shmdt { .. }
        ) || matches!(
            self.spec.name,
            "munmap" | "mprotect" | "pkey_mprotect" | "madvise" | "remap_file_pages" | "mseal"
        )
    }

    /// Where in the program's memory it may write (start, length), at
    /// most: see `outputs::write_bounds`.
    pub fn write_bounds(&self, task: &Task) -> Vec<(u64, u64)> {
        outputs::write_bounds(task, &self.outputs, self.regs.syscall_args())
    }

    /// Whether it is the preload library handing over a thread's buffer.
    pub fn is_register_buffer(&self) -> bool {
        std::ptr::eq(self.spec, &REGISTER_BUFFER)
    }

    /// Whether it is the preload library naming its stub area and entry.
    pub fn is_library_ready(&self) -> bool {
        std::ptr::eq(self.spec, &LIBRARY_READY)
    }

    /// clone, fork, vfork, clone3: at its exit another task stands at the
    /// same instruction.
    pub fn is_clone(&self) -> bool {
        self.plan == Plan::Clone
    }

    /// Whether the recorder skipped it as a syscall no kernel it knows has.
    pub fn is_unknown(&self) -> bool {
        std::ptr::eq(self.spec, &UNKNOWN)
    }
}

/// What a syscall number the table does not name is recorded as: the
/// kernel is made to skip it (it returns ENOSYS, as an older kernel would),
/// and the replay emulates that.
static UNKNOWN: SyscallSpec = SyscallSpec {
    number: u32::MAX,
    name: "unknown",
    handling: Handling::Special(Special::Rseq),
};

/// The preload library's registration of a thread's buffer: skipped by the
/// kernel like an unknown number, answered 0 at its exit, and emulated so
/// in replay (`crate::syscallbuf`).
static REGISTER_BUFFER: SyscallSpec = SyscallSpec {
    number: syscallbuf_abi::REGISTER_BUFFER as u32,
    name: "rewind_register_buffer",
    handling: Handling::Special(Special::Rseq),
};

/// The preload library naming its stub area and entry
/// (`crate::patching`): skipped by the kernel like the registration, and
/// answered at its exit.
static LIBRARY_READY: SyscallSpec = SyscallSpec {
    number: syscallbuf_abi::LIBRARY_READY as u32,
    name: "rewind_library_ready",
    handling: Handling::Special(Special::Rseq),
};

fn syscall_label(spec: &SyscallSpec) -> String {
    format!("syscall {} ({})", spec.name, spec.number)
}

/// At a syscall-entry stop: looks the syscall up, refuses what cannot be
/// recorded, and reads what the exit will need.
pub fn on_entry(
    task: &Task,
    regs: Registers,
    shared: &SharedFiles,
) -> Result<PendingSyscall, RecordError> {
    let spec = match regs.orig_rax {
        syscallbuf_abi::REGISTER_BUFFER => &REGISTER_BUFFER,
        syscallbuf_abi::LIBRARY_READY => &LIBRARY_READY,
        number => syscalls::lookup(number).unwrap_or(&UNKNOWN),
    };
    let args = regs.syscall_args();
    let (plan, outputs) = match spec.handling {
        Handling::Unsupported(reason) => {
            return Err(RecordError::CannotRecord {
                what: syscall_label(spec),
                reason,
            })
        }
        Handling::OnlyFailing => (
            Plan::OnlyIfRefused {
                what: syscall_label(spec),
            },
            Vec::new(),
        ),
        Handling::Emulate(outputs) => (Plan::Emulate, outputs.to_vec()),
        Handling::Execute => (Plan::Execute, Vec::new()),
        Handling::Special(special) => plan_special(task, spec, special, args, regs)?,
    };
    syscalls::apply_rewrites(task, &regs)?;
    let entry_lengths = outputs::entry_lengths(task, &outputs, args);
    Ok(PendingSyscall {
        regs,
        spec,
        plan,
        outputs,
        entry_lengths,
        exec_happened: false,
        redirects: Vec::new(),
        shared_write: shared.write_at_entry(task, &regs),
    })
}

fn plan_special(
    task: &Task,
    spec: &SyscallSpec,
    special: Special,
    args: [u64; 6],
    regs: Registers,
) -> Result<(Plan, Vec<Output>), RecordError> {
    let emulate = |outputs: &[Output]| Ok((Plan::Emulate, outputs.to_vec()));
    let only_if_refused = |what: String| Ok((Plan::OnlyIfRefused { what }, Vec::new()));
    match special {
        Special::Mmap => Ok((Plan::Mmap, Vec::new())),
        Special::Brk => Ok((Plan::Brk, Vec::new())),
        Special::Mremap => Ok((Plan::Mremap, Vec::new())),
        Special::Execve => Ok((Plan::Execve, Vec::new())),
        Special::Clone => Ok((Plan::Clone, Vec::new())),
        Special::Rseq => {
            // Number -1 makes the kernel skip the call and return ENOSYS.
            let mut refused = regs;
            refused.orig_rax = u64::MAX;
            task.set_regs(&refused)?;
            Ok((Plan::Refused, Vec::new()))
        }
        Special::Ioctl => match syscalls::ioctl::lookup(args[1] as u32) {
            Some(ioctl) => emulate(ioctl.outputs),
            None => only_if_refused(format!("ioctl request {:#x}", args[1] as u32)),
        },
        Special::Fcntl => match args[1] as i32 {
            libc::F_GETLK | libc::F_OFD_GETLK => emulate(&[Output::Fixed { arg: 2, len: 32 }]),
            F_GETOWN_EX => emulate(&[Output::Fixed { arg: 2, len: 8 }]),
            _ => emulate(&[]),
        },
        Special::Prctl => match args[0] as i32 {
            // Harmless to repeat, and gdb shows thread names from the
            // replay's own.
            libc::PR_SET_NAME => Ok((Plan::Execute, Vec::new())),
            libc::PR_GET_NAME => emulate(&[Output::Fixed { arg: 1, len: 16 }]),
            libc::PR_GET_PDEATHSIG | libc::PR_GET_CHILD_SUBREAPER | libc::PR_GET_TSC => {
                emulate(&[Output::Fixed { arg: 1, len: 4 }])
            }
            libc::PR_GET_TID_ADDRESS => emulate(&[Output::Fixed { arg: 1, len: 8 }]),
            libc::PR_SET_TSC => Err(RecordError::CannotRecord {
                what: "prctl(PR_SET_TSC)".into(),
                reason: "rewind itself traps rdtsc to record the values it reads",
            }),
            // The program's own filter acts in the recording; the replay
            // emulates every syscall it filtered and delivers its SIGSYS
            // as recorded, so it installs none.
            _ => emulate(&[]),
        },
        Special::Seccomp => match args[0] as u32 {
            SECCOMP_GET_NOTIF_SIZES => emulate(&[Output::Fixed { arg: 2, len: 6 }]),
            _ => emulate(&[]),
        },
        Special::ArchPrctl => match args[0] as i32 {
            ARCH_SET_FS | ARCH_SET_GS | ARCH_SET_CPUID => Ok((Plan::Execute, Vec::new())),
            ARCH_GET_FS | ARCH_GET_GS => emulate(&[Output::Fixed { arg: 1, len: 8 }]),
            ARCH_CET_STATUS => emulate(&[Output::Fixed { arg: 1, len: 24 }]),
            ARCH_MAP_VDSO_X32 | ARCH_MAP_VDSO_32 | ARCH_MAP_VDSO_64 => {
                Err(RecordError::CannotRecord {
                    what: format!("{} with code {:#x}", spec.name, args[0]),
                    reason: "it maps a vDSO whose time functions rewind has not patched",
                })
            }
            _ => emulate(&[]),
        },
        Special::IpcControl => {
            let semaphores = commands::is_semctl_getall(spec.number, args)
                .then(|| commands::semaphore_count(args[0]))
                .flatten();
            match commands::control_outputs(spec.number, args, semaphores) {
                Some(outputs) => Ok((Plan::Emulate, outputs)),
                None => only_if_refused(format!(
                    "{} command {}",
                    spec.name,
                    commands::command(spec.number, args)
                )),
            }
        }
        Special::Quotactl => match commands::quotactl_outputs(spec.number, args) {
            Some(outputs) => Ok((Plan::Emulate, outputs)),
            None => only_if_refused(format!(
                "{} command {:#x}",
                spec.name,
                commands::quota_command(spec.number, args)
            )),
        },
        Special::Keyctl => match commands::keyctl_outputs(args[0]) {
            Some(outputs) => emulate(outputs),
            None => only_if_refused(format!("keyctl command {}", args[0] as i64)),
        },
        Special::Bpf => match syscalls::bpf::outputs(task, args) {
            Some(outputs) => Ok((Plan::Emulate, outputs)),
            None => only_if_refused(format!("bpf command {}", args[0] as i64)),
        },
        Special::ProcessVmWritev => Ok((Plan::Emulate, Vec::new())),
        Special::Rlimit => Ok(rlimit_plan(spec, args)),
        Special::Shmat => Ok((Plan::Shmat, Vec::new())),
        Special::Shmdt => Ok((
            Plan::Shmdt {
                ranges: segment_at(task, args[0])?,
            },
            Vec::new(),
        )),
    }
}

/// The stack limit decides where the stack stops growing, so a program
/// that changes its own is replayed doing the same; other limits are only
/// numbers the program reads back. Only a call naming the caller as pid 0
/// (as libc's setrlimit does) can run again: the replayed process has
/// another pid than the recorded one in its arguments.
fn rlimit_plan(spec: &SyscallSpec, args: [u64; 6]) -> (Plan, Vec<Output>) {
    let (target, resource, new_limit, old_limit) = if spec.number as i64 == libc::SYS_prlimit64 {
        (args[0] as i32, args[1] as u32, args[2], Some(3))
    } else {
        (0, args[0] as u32, args[1], None)
    };
    let outputs = old_limit
        .map(|arg| vec![Output::Fixed { arg, len: 16 }])
        .unwrap_or_default();
    if target == 0 && resource == libc::RLIMIT_STACK && new_limit != 0 {
        (Plan::Execute, outputs)
    } else {
        (Plan::Emulate, outputs)
    }
}

/// fcntl command missing from libc for this target.
const F_GETOWN_EX: i32 = 16;
/// seccomp(2) operation that fills a `struct seccomp_notif_sizes`.
const SECCOMP_GET_NOTIF_SIZES: u32 = 3;
const ARCH_SET_GS: i32 = 0x1001;
const ARCH_SET_FS: i32 = 0x1002;
const ARCH_GET_FS: i32 = 0x1003;
const ARCH_GET_GS: i32 = 0x1004;
const ARCH_SET_CPUID: i32 = 0x1012;
const ARCH_MAP_VDSO_X32: i32 = 0x2001;
const ARCH_MAP_VDSO_32: i32 = 0x2002;
const ARCH_MAP_VDSO_64: i32 = 0x2003;
const ARCH_CET_STATUS: i32 = 0x3001;

/// The (device, inode) of the recorder's stdout and stderr, to recognize
/// tracee writes that replay should reproduce.
pub struct OutputIds {
    stdout: Option<(u64, u64)>,
    stderr: Option<(u64, u64)>,
}

impl OutputIds {
    pub fn of_this_process() -> OutputIds {
        let id = |fd: i32| {
            std::fs::metadata(format!("/proc/self/fd/{fd}"))
                .ok()
                .map(|m| (m.dev(), m.ino()))
        };
        OutputIds {
            stdout: id(1),
            stderr: id(2),
        }
    }

    /// The files (st_dev, st_ino) of the recorder's standard output and
    /// error.
    pub fn files(&self) -> [Option<(u64, u64)>; 2] {
        [self.stdout, self.stderr]
    }

    fn stream_of(&self, tid: i32, fd: u64) -> Option<OutputStream> {
        let meta = std::fs::metadata(format!("/proc/{tid}/fd/{fd}")).ok()?;
        let id = Some((meta.dev(), meta.ino()));
        match (id == self.stdout, id == self.stderr) {
            (true, true) if fd == 2 => Some(OutputStream::Stderr),
            (true, _) => Some(OutputStream::Stdout),
            (false, true) => Some(OutputStream::Stderr),
            (false, false) => None,
        }
    }
}

/// Everything the exit handler needs besides the syscall itself.
pub struct ExitContext<'a> {
    pub writer: &'a mut TraceWriter,
    pub files: &'a mut FileCapture,
    pub output_ids: &'a OutputIds,
    pub brk_end: &'a std::cell::Cell<u64>,
    pub shared: &'a mut SharedFiles,
    /// The recorded processes alive now.
    pub processes: &'a [tracee::Tid],
}

/// At the syscall-exit stop (or at PTRACE_EVENT_EXIT for exit calls):
/// captures results and decides the replay action.
pub fn on_exit(
    task: &Task,
    pending: &PendingSyscall,
    result: i64,
    mut cx: ExitContext<'_>,
) -> Result<SyscallEvent, RecordError> {
    let args = pending.regs.syscall_args();
    let failed = (-4095..0).contains(&result);
    if let Plan::OnlyIfRefused { what } = &pending.plan {
        let errno = -result as i32;
        if !failed || !syscalls::ioctl::refusal_wrote_nothing(errno) {
            let outcome = if failed {
                format!("failed with {}", std::io::Error::from_raw_os_error(errno))
            } else {
                "succeeded".to_string()
            };
            return Err(RecordError::CannotDescribe {
                what: what.clone(),
                outcome,
            });
        }
    }
    let writes = outputs::capture(
        task,
        cx.writer,
        &pending.outputs,
        args,
        result,
        &pending.entry_lengths,
    )?;
    let action = match &pending.plan {
        Plan::Emulate | Plan::Refused | Plan::OnlyIfRefused { .. } => SyscallAction::Emulate,
        Plan::Execute => SyscallAction::Execute,
        Plan::Mmap if failed => SyscallAction::Emulate,
        Plan::Mmap => SyscallAction::Map(map_action(task, &mut cx, args, result as u64)?),
        Plan::Shmat if failed => SyscallAction::Emulate,
        Plan::Shmat => SyscallAction::Map(attach_action(task, &mut cx, result as u64)?),
        Plan::Shmdt { .. } if failed => SyscallAction::Emulate,
        Plan::Shmdt { ranges } => SyscallAction::Unmap {
            ranges: ranges.clone(),
        },
        Plan::Brk => {
            let old_end = cx.brk_end.replace(result as u64);
            SyscallAction::Brk {
                old_end,
                new_end: result as u64,
            }
        }
        Plan::Mremap if failed => SyscallAction::Emulate,
        Plan::Mremap => SyscallAction::Remap {
            new_addr: result as u64,
        },
        Plan::Execve if pending.exec_happened => SyscallAction::Exec,
        Plan::Execve => SyscallAction::Emulate,
        Plan::Clone if failed => SyscallAction::Emulate,
        Plan::Clone => SyscallAction::Clone,
    };
    let output = match pending.spec.name {
        "write" | "writev" | "pwrite64" | "pwritev" | "pwritev2" if result > 0 => {
            cx.output_ids.stream_of(task.tid, args[0])
        }
        _ => None,
    };
    Ok(SyscallEvent {
        regs: pending.regs,
        result,
        writes,
        action,
        output,
        file_changes: cx.shared.changes(
            task.tid,
            &pending.regs,
            pending.shared_write.as_ref(),
            result,
            cx.writer,
        )?,
    })
}

fn map_action(
    task: &Task,
    cx: &mut ExitContext<'_>,
    args: [u64; 6],
    addr: u64,
) -> Result<MapAction, RecordError> {
    let [_, len, prot, flags, fd, offset] = args;
    let anonymous = flags & libc::MAP_ANONYMOUS as u64 != 0;
    let action = |source| MapAction {
        addr,
        len,
        prot: prot as u32,
        flags: flags as u32,
        source,
    };
    if anonymous {
        return Ok(action(MappingSource::Anonymous {
            name: String::new(),
        }));
    }
    let fd_path = PathBuf::from(format!("/proc/{}/fd/{}", task.tid, fd as i32));
    let original = std::fs::read_link(&fd_path)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let meta = std::fs::metadata(&fd_path).map_err(|e| RecordError::Capture {
        path: original.clone(),
        reason: e.to_string(),
    })?;
    if !meta.is_file() {
        if original == "/dev/zero" {
            return Ok(MapAction {
                flags: (flags | libc::MAP_ANONYMOUS as u64) as u32,
                ..action(MappingSource::Anonymous {
                    name: String::new(),
                })
            });
        }
        return Err(RecordError::Unsupported {
            what: format!("mapping {original}, which is not a regular file,"),
        });
    }
    let shared = flags & libc::MAP_SHARED as u64 != 0;
    let opened = FileKey::of_metadata(&meta);
    let mapped = maps::read_maps(task.tid)?
        .iter()
        .find(|e| e.start == addr)
        .map_or(opened, FileKey::of_mapping);
    let new = new_mapping(task, addr, len);
    let backing = cx
        .shared
        .backing(FileNames { opened, mapped }, shared, cx.processes, new);
    let name = original.trim_end_matches(" (deleted)");
    Ok(action(match backing {
        Backing::Captured => MappingSource::File {
            file: cx.files.capture(&fd_path, name)?,
            offset,
        },
        Backing::Existing(object) => MappingSource::Shared {
            object,
            offset,
            init: None,
        },
        // The file as it is now: a copy made earlier of the same size and
        // time may predate writes through a mapping, which need not
        // change its time.
        Backing::New(object) => MappingSource::Shared {
            object,
            offset,
            init: Some(SharedInit::File(cx.files.capture_fresh(&fd_path, name)?)),
        },
    }))
}

/// The mapping `task`'s syscall just made at `addr`.
fn new_mapping(task: &Task, addr: u64, len: u64) -> NewMapping {
    NewMapping {
        pid: tracee::signals::thread_group(task.tid).unwrap_or(task.tid),
        start: addr,
        end: addr.saturating_add(len),
    }
}

/// The mapping shmat made at `addr`: of the segment's object, with the
/// segment's contents the first time (a segment made outside the
/// recording may hold anything).
fn attach_action(
    task: &Task,
    cx: &mut ExitContext<'_>,
    addr: u64,
) -> Result<MapAction, RecordError> {
    let entries = maps::read_maps(task.tid)?;
    let Some(entry) = entries.iter().find(|e| e.start == addr) else {
        return Err(crate::session::internal(format!(
            "shmat returned {addr:#x}, where thread {} has no mapping",
            task.tid
        )));
    };
    // A new attach is one mapping of the whole segment.
    let len = entry.len();
    let key = FileKey::of_mapping(entry);
    let names = FileNames {
        opened: key,
        mapped: key,
    };
    let new = new_mapping(task, addr, len);
    let source = match cx.shared.backing(names, true, cx.processes, new) {
        Backing::Existing(object) => MappingSource::Shared {
            object,
            offset: 0,
            init: None,
        },
        Backing::New(object) => MappingSource::Shared {
            object,
            offset: 0,
            init: Some(SharedInit::Memory {
                size: len,
                contents: segment_contents(task, cx.writer, entry)?,
            }),
        },
        Backing::Captured => {
            return Err(crate::session::internal(
                "a System V segment got no shared object".into(),
            ))
        }
    };
    Ok(MapAction {
        addr,
        len,
        prot: entry.prot,
        flags: libc::MAP_SHARED as u32,
        source,
    })
}

/// What a segment mapped at `entry` holds, at offsets into it: read from
/// the segment's file where `/proc/PID/map_files` reaches it, stretch by
/// stretch of data (an untouched page of a large segment is never
/// allocated), else page by page through the process's memory.
fn segment_contents(
    task: &Task,
    writer: &mut TraceWriter,
    entry: &maps::MapEntry,
) -> Result<Vec<trace_format::MemoryWrite>, RecordError> {
    let path = format!(
        "/proc/{}/map_files/{:x}-{:x}",
        task.tid, entry.start, entry.end
    );
    let Ok(file) = std::fs::File::open(&path) else {
        let pages = crate::exec::capture_nonzero_pages(task, writer, entry.start, entry.end)?;
        return Ok(pages
            .into_iter()
            .map(|w| trace_format::MemoryWrite {
                addr: w.addr - entry.start,
                data: w.data,
            })
            .collect());
    };
    let failed = |e: std::io::Error| RecordError::Capture {
        path: entry.name.clone(),
        reason: format!("reading the System V segment failed: {e}"),
    };
    let mut contents = Vec::new();
    for (offset, len) in tracee::memfd::data_extents(&file).map_err(failed)? {
        let len = len.min(entry.len().saturating_sub(offset));
        if len > 0 {
            let data = crate::shared::copy_from(&file, offset, len, writer, failed)?;
            contents.push(trace_format::MemoryWrite { addr: offset, data });
        }
    }
    Ok(contents)
}

/// The (start, length) of the mappings shmdt removes at `addr`, as the
/// kernel finds them: the first segment mapping from `addr` on whose
/// offset into its segment equals its distance from `addr`, then every
/// mapping of that segment so placed within the segment's size (pieces
/// that mprotect or munmap split off included).
fn segment_at(task: &Task, addr: u64) -> Result<Vec<(u64, u64)>, RecordError> {
    let entries = maps::read_maps(task.tid)?;
    let placed = |e: &maps::MapEntry| {
        e.start >= addr && e.offset == e.start - addr && e.name.starts_with("/SYSV")
    };
    let Some(at) = entries.iter().position(|e| e.end > addr && placed(e)) else {
        return Ok(Vec::new());
    };
    let first = &entries[at];
    let key = FileKey::of_mapping(first);
    let size = std::fs::metadata(format!(
        "/proc/{}/map_files/{:x}-{:x}",
        task.tid, first.start, first.end
    ))
    .map_or(u64::MAX, |m| m.len().next_multiple_of(4096));
    Ok(entries[at..]
        .iter()
        .take_while(|e| e.end - addr <= size)
        .filter(|e| placed(e) && FileKey::of_mapping(e) == key)
        .map(|e| (e.start, e.len()))
        .collect())
}
