//! The events of a trace. Each record in the `events` stream is one
//! `EventRecord`; its event number is its position in the stream (the first
//! event is number 1).

use crate::registers::Registers;

/// A span of the uncompressed `data` stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataRef {
    pub offset: u64,
    pub len: u64,
}

impl DataRef {
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.len)
    }
}

/// Bytes the kernel (or the recorder, standing in for it) wrote into the
/// tracee's memory at `addr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryWrite {
    pub addr: u64,
    pub data: DataRef,
}

/// A file the tracee executed or mapped, captured under the trace's
/// `files/` directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedFile {
    /// The path the tracee used, for display and for the debugger.
    pub original_path: String,
    /// The name of the copy (or hard link) inside `files/`.
    pub stored_name: String,
}

/// What backs a mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingSource {
    /// Anonymous memory; `name` is the kernel's label, such as `[stack]`,
    /// `[heap]`, or empty.
    Anonymous { name: String },
    /// A file, from `offset` on.
    File { file: CapturedFile, offset: u64 },
    /// A kernel-provided mapping (`[vdso]`, `[vvar]`, `[vsyscall]`).
    Special { name: String },
    /// Pages of an object the recorded processes share: a file mapped
    /// `MAP_SHARED` (and any mapping of it made while it was), or a System
    /// V segment. Replay backs each object with one memory file of its own,
    /// so that its mappings share pages as they did and the recorded
    /// writes through file descriptors (`FileChange`) reach them. `init`
    /// comes with the object's first mapping.
    Shared {
        object: u32,
        offset: u64,
        init: Option<SharedInit>,
    },
}

/// What a shared object holds when it is first mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedInit {
    /// The contents of this file at that time.
    File(CapturedFile),
    /// `size` bytes, zero but for `contents`, whose addresses are offsets
    /// into the object.
    Memory {
        size: u64,
        contents: Vec<MemoryWrite>,
    },
}

/// A syscall changed the file behind a shared object through a file
/// descriptor (write, truncate, fallocate...): the object's size is now
/// `size`, and `data` is what the file holds at `offset` afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileChange {
    pub object: u32,
    pub size: u64,
    pub offset: u64,
    pub data: DataRef,
}

/// One mapping of an address space, as `/proc/PID/maps` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    /// `PROT_*` bits.
    pub prot: u32,
    /// `MAP_*` bits (`MAP_SHARED` or `MAP_PRIVATE`, `MAP_GROWSDOWN`).
    pub flags: u32,
    pub source: MappingSource,
    /// Bytes to write over the mapping once it exists, where the contents
    /// are not those of its file (writable data, the stack, the vDSO).
    /// Pages that are all zero are left out.
    pub contents: Vec<MemoryWrite>,
}

/// A successful execve: what the new program's address space and registers
/// were right after the kernel loaded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecEvent {
    pub exe: CapturedFile,
    pub argv: Vec<String>,
    pub regs: Registers,
    pub mappings: Vec<Mapping>,
    /// The auxiliary vector as (type, value) pairs, ending before AT_NULL.
    pub auxv: Vec<(u64, u64)>,
}

/// What the replayer does at a syscall (ARCHITECTURE.md principle 2: the recorder
/// decides, the replayer follows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyscallAction {
    /// Skip the syscall, set the recorded result and memory writes.
    Emulate,
    /// Run the syscall as the tracee issued it; its result must match.
    Execute,
    /// Create a mapping at the recorded address instead of running the
    /// tracee's mmap; the result is the address.
    Map(MapAction),
    /// Move the program break: map or unmap the pages between the old and
    /// the new break, then return the recorded result.
    Brk { old_end: u64, new_end: u64 },
    /// Run mremap, forced to land at `new_addr` when it moved.
    Remap { new_addr: u64 },
    /// A successful execve; the next event of this thread is its `Exec`.
    Exec,
    /// The exit of a clone, fork or vfork whose `Clone` event came
    /// earlier: run it to its end; the result is the recorded child id.
    Clone,
    /// A signal interrupted the syscall and ran no handler, so the kernel
    /// ran it again: replay skips this attempt and rewinds the thread to
    /// the syscall instruction.
    Restart,
    /// A wait that installs a temporary signal mask (pselect6, ppoll,
    /// epoll_pwait, rt_sigsuspend) was interrupted by `signo`, whose
    /// handler ran under that mask: replay sends the signal and runs
    /// rt_sigsuspend with the recorded mask in its place, so that the
    /// kernel delivers it exactly so.
    MaskedWait { signo: i32 },
    /// The syscall removed these mappings, (start, length) each (shmdt,
    /// whose segment the replay maps as a memory file): replay unmaps them
    /// and sets the result.
    Unmap { ranges: Vec<(u64, u64)> },
}

/// The mapping an mmap created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapAction {
    pub addr: u64,
    pub len: u64,
    pub prot: u32,
    pub flags: u32,
    pub source: MappingSource,
}

/// Which of the recorder's own output streams a syscall wrote to, so that
/// replay can reproduce the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// A syscall: the registers at entry (the number is `regs.orig_rax`), its
/// result, what it wrote, and what replay must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallEvent {
    pub regs: Registers,
    pub result: i64,
    pub writes: Vec<MemoryWrite>,
    pub action: SyscallAction,
    pub output: Option<OutputStream>,
    /// What it changed in files behind shared objects.
    pub file_changes: Vec<FileChange>,
}

impl SyscallEvent {
    pub fn number(&self) -> u64 {
        self.regs.orig_rax
    }
}

/// The entry of a syscall whose end is recorded by a later event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyscallEntryEvent {
    pub regs: Registers,
    /// Replay runs the syscall (rather than emulating it).
    pub executed: bool,
}

/// What kind of task a clone created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloneKind {
    Thread,
    Fork,
    Vfork,
}

/// A new task, reported in the parent's thread when the kernel created
/// it; the parent's syscall ends in a later `Syscall` event with action
/// `Clone`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloneEvent {
    pub kind: CloneKind,
    pub flags: u64,
    /// The parent's registers at the entry of clone, fork, vfork or clone3.
    pub regs: Registers,
    /// The new task's id as the recording saw it.
    pub child_tid: i32,
    /// The new task's registers when it first stopped.
    pub child_regs: Registers,
    /// What the kernel wrote into the parent's memory: the child's id
    /// (CLONE_PARENT_SETTID, as the parent's namespace numbers it) or a
    /// pidfd (CLONE_PIDFD).
    pub parent_writes: Vec<MemoryWrite>,
    /// What it wrote into the child's: its id as its own namespace numbers
    /// it (CLONE_CHILD_SETTID).
    pub child_writes: Vec<MemoryWrite>,
}

/// Where an asynchronous event happened in user code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionPoint {
    pub regs: Registers,
    /// Retired conditional branches since the thread's previous event, when
    /// a hardware tick counter was used.
    pub ticks: Option<u64>,
    /// The state fingerprint of the software tick source.
    pub fingerprint: Option<Fingerprint>,
}

/// State beyond the registers that tells apart two passes through the same
/// address with the same registers (ARCHITECTURE.md "Ticks").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// Hash of the top of the stack.
    pub stack_hash: u64,
    /// Memory words (address, value) that differed between two passes with
    /// identical registers.
    pub memory: Vec<(u64, u64)>,
    /// Ranges (start, length) of the program's small writable data (data
    /// and bss segments, small heaps) and a hash of their contents: an
    /// outer loop's counter kept there tells apart passes of an inner loop
    /// whose registers repeat from one outer pass to the next.
    pub data_ranges: Vec<(u64, u64)>,
    pub data_hash: u64,
    /// The thread's user CPU time when it reached the point, in
    /// nanoseconds, as the kernel accounts it (to its clock tick). Nothing
    /// else tells a replay how long to look for the point: one whose
    /// thread has run several times longer has diverged.
    pub user_time_ns: u64,
}

/// How a delivered signal was handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalDisposition {
    /// A handler ran: the kernel wrote `frame` and set `regs`.
    Handler {
        frame: Vec<MemoryWrite>,
        regs: Box<Registers>,
    },
    /// The signal was ignored.
    Ignored,
    /// The signal killed the process.
    Fatal { core_dumped: bool },
    /// A stop signal stopped the process until a SIGCONT. Nothing in the
    /// process changes, so the replay only takes it where it came.
    Stopped,
}

/// A signal delivered to a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalEvent {
    pub signo: i32,
    /// The kernel's 128-byte siginfo.
    pub siginfo: Vec<u8>,
    /// The thread's registers when the signal was about to be delivered.
    pub regs: Registers,
    /// Raised by the thread's own instruction (a fault, int3, ud2): replay
    /// reaches it by running. Otherwise replay sends it.
    pub synchronous: bool,
    /// Where an asynchronous signal arrived in user code; `None` when it
    /// arrived at a syscall boundary (or was synchronous).
    pub point: Option<ExecutionPoint>,
    pub disposition: SignalDisposition,
}

/// A trapped rdtsc or rdtscp and the value the recording read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RdtscEvent {
    pub regs: Registers,
    pub value: u64,
    /// TSC_AUX, present for rdtscp.
    pub aux: Option<u32>,
}

impl RdtscEvent {
    /// The registers after the instruction: the value in edx:eax, TSC_AUX
    /// in ecx for rdtscp, and rip past the 2-byte rdtsc or 3-byte rdtscp.
    pub fn regs_after(&self) -> Registers {
        let mut after = self.regs;
        after.rax = self.value & 0xffff_ffff;
        after.rdx = self.value >> 32;
        after.rip += 2;
        if let Some(aux) = self.aux {
            after.rcx = u64::from(aux);
            after.rip += 1;
        }
        after
    }
}

/// A flushed syscall buffer: syscalls the preload library ran without a
/// ptrace stop, with their results and out-bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferedSyscalls {
    pub records: DataRef,
    pub count: u32,
}

/// The recorder redirected a syscall site of a library into the preload
/// library (ARCHITECTURE.md "syscallbuf", "Patching"), at the exit of a
/// syscall made there, so that the site's later calls go through the
/// library's hook. Replay checks that the site still holds the bytes the
/// patch replaced, then writes the same bytes at the same moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchEvent {
    /// The address of the site's `syscall` instruction.
    pub site: u64,
    /// What the patch replaced at the site: the address of its first byte
    /// and the bytes that were there.
    pub replaced: MemoryWrite,
    /// The bytes written: the stub in the library's stub area, then the
    /// jump at the site.
    pub writes: Vec<MemoryWrite>,
    /// Where the thread, stopped right after the site's `syscall`, goes on
    /// in the stub, when the patch replaced the instruction after it.
    pub resume_at: Option<u64>,
}

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Killed { signal: i32, core_dumped: bool },
}

impl ExitStatus {
    /// The status a shell reports: the exit code, or 128 plus the signal.
    pub fn shell_code(&self) -> i32 {
        match *self {
            ExitStatus::Exited(code) => code & 0xff,
            ExitStatus::Killed { signal, .. } => 128 + signal,
        }
    }
}

/// The end of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitEvent {
    pub status: ExitStatus,
    /// Whether this was the last task of its process.
    pub process_exit: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Exec(ExecEvent),
    /// A thread entered a syscall that did not return before other
    /// events; its `Syscall` event follows later.
    SyscallEntry(SyscallEntryEvent),
    Syscall(SyscallEvent),
    Clone(CloneEvent),
    Signal(SignalEvent),
    Preemption(ExecutionPoint),
    Rdtsc(RdtscEvent),
    BufferedSyscalls(BufferedSyscalls),
    Exit(ExitEvent),
    /// Another thread's syscall wrote this thread's memory
    /// (process_vm_writev); the event comes right after that syscall's.
    MemoryWrites(Vec<MemoryWrite>),
    Patch(PatchEvent),
    /// A call through the preload library's untraced entry blocked: the
    /// thread stands before that entry's `syscall` (the point), and goes on
    /// from the entry's end with the answer that has the library give the
    /// call up, which the traced way then makes (ARCHITECTURE.md
    /// "syscallbuf", "Blocking calls").
    Desched(ExecutionPoint),
}

impl Event {
    /// A short lowercase name of the event's kind.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Event::Exec(_) => "exec",
            Event::SyscallEntry(_) => "syscall-entry",
            Event::Syscall(_) => "syscall",
            Event::Clone(_) => "clone",
            Event::Signal(_) => "signal",
            Event::Preemption(_) => "preemption",
            Event::Rdtsc(_) => "rdtsc",
            Event::BufferedSyscalls(_) => "buffered-syscalls",
            Event::Exit(_) => "exit",
            Event::MemoryWrites(_) => "memory-writes",
            Event::Patch(_) => "patch",
            Event::Desched(_) => "desched",
        }
    }

    /// Every span of the data stream this event refers to.
    pub fn data_refs(&self) -> Vec<DataRef> {
        fn writes(w: &[MemoryWrite]) -> impl Iterator<Item = DataRef> + '_ {
            w.iter().map(|w| w.data)
        }
        match self {
            Event::Exec(e) => e
                .mappings
                .iter()
                .flat_map(|m| writes(&m.contents))
                .collect(),
            Event::Syscall(e) => {
                let mut refs: Vec<DataRef> = writes(&e.writes).collect();
                refs.extend(e.file_changes.iter().map(|c| c.data));
                if let SyscallAction::Map(MapAction {
                    source:
                        MappingSource::Shared {
                            init: Some(SharedInit::Memory { contents, .. }),
                            ..
                        },
                    ..
                }) = &e.action
                {
                    refs.extend(writes(contents));
                }
                refs
            }
            Event::Clone(e) => writes(&e.parent_writes)
                .chain(writes(&e.child_writes))
                .collect(),
            Event::MemoryWrites(w) => writes(w).collect(),
            Event::Patch(p) => std::iter::once(p.replaced.data)
                .chain(writes(&p.writes))
                .collect(),
            Event::Signal(e) => match &e.disposition {
                SignalDisposition::Handler { frame, .. } => writes(frame).collect(),
                _ => Vec::new(),
            },
            Event::BufferedSyscalls(b) => vec![b.records],
            Event::SyscallEntry(_)
            | Event::Preemption(_)
            | Event::Desched(_)
            | Event::Rdtsc(_)
            | Event::Exit(_) => Vec::new(),
        }
    }
}

/// One entry of the events stream: an event and the recorded id of the
/// thread it happened in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub tid: i32,
    pub event: Event,
}
