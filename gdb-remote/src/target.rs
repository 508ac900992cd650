//! What a debugged program looks like to the server. The base [`Target`] is
//! small; breakpoints, reverse execution and host files are optional
//! extensions a target opts into, and the server advertises in qSupported
//! only what the target supports.

use std::fs::File;

/// A thread as gdb names it (multiprocess syntax `p<pid>.<tid>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ThreadId {
    pub pid: i32,
    pub tid: i32,
}

/// A target error that becomes an `Exx` reply; the session goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetError {
    /// An errno value (EFAULT for unreadable memory, ESRCH for a thread
    /// that does not exist, ...).
    Errno(i32),
    /// The target cannot do this at all (empty reply where the protocol
    /// allows one, E01 otherwise).
    Unsupported,
    /// Something the user should read: sent to gdb as an error message
    /// (`E.text`) where the protocol allows it.
    Message(String),
}

pub type TargetResult<T> = Result<T, TargetError>;

/// The x86-64 register state in the units gdb's target description uses.
/// The server lays it out in `g` packets and serves `p`/`P` from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X86Registers {
    /// rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp, r8..r15, rip: gdb's order,
    /// not the kernel's `user_regs_struct` order.
    pub general: [u64; 17],
    pub eflags: u32,
    /// cs, ss, ds, es, fs, gs.
    pub segments: [u32; 6],
    pub fs_base: u64,
    pub gs_base: u64,
    /// The syscall number at a syscall stop, -1 otherwise (gdb's
    /// `org.gnu.gdb.i386.linux` feature; it restarts syscalls with it).
    pub orig_rax: u64,
    /// The x87/SSE state exactly as FXSAVE lays it out (512 bytes).
    pub fxsave: [u8; 512],
    /// Upper 128 bits of ymm0..ymm15; zero on a machine without AVX.
    pub ymm_high: [[u8; 16]; 16],
}

impl Default for X86Registers {
    fn default() -> X86Registers {
        X86Registers {
            general: [0; 17],
            eflags: 0,
            segments: [0; 6],
            fs_base: 0,
            gs_base: 0,
            orig_rax: u64::MAX,
            fxsave: [0; 512],
            ymm_high: [[0; 16]; 16],
        }
    }
}

/// Why the target stopped, as a stop reply reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// A signal (SIGTRAP after a completed single step, or the signal the
    /// program received).
    Signal { thread: ThreadId, signo: i32 },
    /// A software or hardware breakpoint at the thread's pc.
    Breakpoint { thread: ThreadId, hardware: bool },
    /// A watchpoint triggered by an access to `addr`.
    Watchpoint {
        thread: ThreadId,
        kind: WatchKind,
        addr: u64,
    },
    /// The process exited with `code`.
    Exited { pid: i32, code: i32 },
    /// The process was killed by signal `signo`.
    Killed { pid: i32, signo: i32 },
    /// Execution reached an end of the recording (`replaylog:end` going
    /// forward, `replaylog:begin` going backward); gdb says "No more
    /// reverse-execution history".
    HistoryEnd { thread: ThreadId, at_start: bool },
    /// The client interrupted the target (Ctrl-C).
    Interrupted { thread: ThreadId },
    /// The thread's process replaced its program with the one at `path`
    /// (gdb then loads that program's symbols).
    Exec { thread: ThreadId, path: String },
}

impl StopReason {
    /// The thread the stop happened in, if it names one.
    pub fn thread(&self) -> Option<ThreadId> {
        match *self {
            StopReason::Signal { thread, .. }
            | StopReason::Breakpoint { thread, .. }
            | StopReason::Watchpoint { thread, .. }
            | StopReason::HistoryEnd { thread, .. }
            | StopReason::Interrupted { thread }
            | StopReason::Exec { thread, .. } => Some(thread),
            StopReason::Exited { .. } | StopReason::Killed { .. } => None,
        }
    }
}

/// How gdb asked the target to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResumeAction {
    /// Run until something stops it.
    Continue,
    /// Execute one instruction of `thread` (other threads may run before
    /// it, as the target schedules them).
    Step(ThreadId),
}

/// Lets a long resume notice the client's Ctrl-C.
pub trait Interrupt {
    /// True once the client asked to stop; cheap enough to call between
    /// any two events of the target.
    fn requested(&self) -> bool;
}

pub trait Target {
    /// The stop gdb sees when it connects (the reply to `?`).
    fn current_stop(&mut self) -> StopReason;

    /// Threads that exist now, in creation order; the first thread of the
    /// list is the one gdb selects by default.
    fn threads(&mut self) -> Vec<ThreadId>;

    fn read_registers(&mut self, thread: ThreadId) -> TargetResult<X86Registers>;
    fn write_registers(&mut self, thread: ThreadId, regs: &X86Registers) -> TargetResult<()>;

    /// Reads `len` bytes at `addr` of the thread's address space. A read
    /// that fails part way returns the readable prefix; no byte at all is
    /// an error.
    fn read_memory(&mut self, thread: ThreadId, addr: u64, len: usize) -> TargetResult<Vec<u8>>;
    fn write_memory(&mut self, thread: ThreadId, addr: u64, data: &[u8]) -> TargetResult<()>;

    /// Runs until the next stop. `signal` is the one gdb gives with the
    /// resume (`C`, `S`): usually the signal the last stop reported, for
    /// the target to deliver. `interrupt` reports the client's Ctrl-C.
    fn resume(
        &mut self,
        action: ResumeAction,
        signal: Option<i32>,
        interrupt: &dyn Interrupt,
    ) -> TargetResult<StopReason>;

    /// The process's auxiliary vector as the kernel laid it out (for
    /// `qXfer:auxv:read`; gdb finds a PIE's load address in it).
    fn auxv(&mut self, pid: i32) -> TargetResult<Vec<u8>>;

    /// The path of the process's executable as gdb should open it (through
    /// vFile when the target supports [`HostFiles`]).
    fn exec_file(&mut self, pid: i32) -> TargetResult<String>;

    /// A thread's name for `info threads`, when it has one.
    fn thread_name(&mut self, _thread: ThreadId) -> Option<String> {
        None
    }

    /// Runs a `monitor` command; returns the text to print.
    fn monitor(&mut self, command: &str) -> TargetResult<String>;

    /// Text for gdb's console that belongs with the latest stop (why the
    /// target stopped where it did); the server sends it before the stop
    /// reply.
    fn stop_message(&mut self) -> Option<String> {
        None
    }

    fn breakpoints(&mut self) -> Option<&mut dyn Breakpoints> {
        None
    }

    fn reverse(&mut self) -> Option<&mut dyn ReverseExecution> {
        None
    }

    fn host_files(&mut self) -> Option<&mut dyn HostFiles> {
        None
    }

    fn signals(&mut self) -> Option<&mut dyn Signals> {
        None
    }

    fn restart(&mut self) -> Option<&mut dyn Restart> {
        None
    }
}

/// Extended mode (`target extended-remote`): `kill` and `run` again.
pub trait Restart {
    /// `vKill`: the process is to end; a `run` follows, or the session
    /// ends.
    fn kill(&mut self);
    /// `vRun`: starts the program again with `args` (after the file, as
    /// gdb's `run` gives them) and returns its first stop.
    fn run(&mut self, args: &[String]) -> TargetResult<StopReason>;
}

/// `QPassSignals`: gdb's `handle SIG nostop noprint pass`.
pub trait Signals {
    /// The signals the target may deliver without reporting a stop; any
    /// other stops the program before it is delivered. Replaces the last
    /// list.
    fn pass(&mut self, signals: &[i32]);
}

/// What a `Z`/`z` packet asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakpointKind {
    /// Z0: an instruction breakpoint the target may implement in memory.
    Software,
    /// Z1: an instruction breakpoint in a debug register.
    Hardware,
    /// Z2..Z4.
    Watch(WatchKind),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchKind {
    Write,
    Read,
    Access,
}

/// Breakpoints and watchpoints (`Z0`..`Z4`, `z0`..`z4`). They apply to the
/// process gdb debugs.
pub trait Breakpoints {
    /// `len` is the packet's kind field: 1 for x86 software breakpoints,
    /// the watched length (1, 2, 4 or 8) for watchpoints.
    fn insert(&mut self, kind: BreakpointKind, addr: u64, len: u64) -> TargetResult<()>;
    fn remove(&mut self, kind: BreakpointKind, addr: u64, len: u64) -> TargetResult<()>;

    /// Whether the target evaluates the conditions gdb sends with a
    /// breakpoint (`ConditionalBreakpoints+` in qSupported).
    fn evaluates_conditions(&self) -> bool {
        false
    }

    /// After each insertion of an instruction breakpoint: the agent
    /// expressions (`agent::evaluate`) of its condition, empty for none.
    /// The breakpoint then stops only where one of them is true; one the
    /// target cannot evaluate counts as true. gdb inserts the breakpoint
    /// again whenever its condition changes.
    fn set_conditions(
        &mut self,
        _kind: BreakpointKind,
        _addr: u64,
        _conditions: Vec<Vec<u8>>,
    ) -> TargetResult<()> {
        Ok(())
    }
}

/// `bc` and `bs`: running backwards.
pub trait ReverseExecution {
    fn resume_reverse(
        &mut self,
        action: ResumeAction,
        interrupt: &dyn Interrupt,
    ) -> TargetResult<StopReason>;
}

/// `vFile:` packets: gdb reads the executable and libraries through the
/// target, so it works after the original files are gone.
pub trait HostFiles {
    /// Opens `path` (as the program named it) read-only.
    fn open(&mut self, path: &str) -> TargetResult<File>;
    /// The target of a symbolic link, as `readlink` returns it.
    fn readlink(&mut self, _path: &str) -> TargetResult<String> {
        Err(TargetError::Unsupported)
    }
}
