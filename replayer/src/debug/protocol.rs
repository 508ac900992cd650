//! Messages between the gdb server's thread and the replay thread. Every
//! ptrace request must come from the thread that traces, so the server's
//! `Target` forwards each request and waits for its answer.

use std::path::PathBuf;

use gdb_remote::{BreakpointKind, ResumeAction, StopReason, TargetError, ThreadId, X86Registers};

pub enum Request {
    Threads,
    ThreadName(ThreadId),
    ReadRegisters(ThreadId),
    WriteRegisters(ThreadId, Box<X86Registers>),
    ReadMemory(ThreadId, u64, usize),
    WriteMemory(ThreadId, u64, Vec<u8>),
    InsertBreakpoint(BreakpointKind, u64, u64),
    /// The agent expressions of the breakpoint at an address (a hardware
    /// one if true).
    BreakpointConditions(bool, u64, Vec<Vec<u8>>),
    RemoveBreakpoint(BreakpointKind, u64, u64),
    /// Of the debugged process (the only one gdb sees).
    Auxv,
    ExecFile,
    /// Where the trace keeps the file the program knew as this path.
    CapturedFile(String),
    Monitor(String),
    /// The signals gdb lets pass without a stop (`handle SIG nostop`).
    PassSignals(Vec<i32>),
    /// Run, with the signal gdb gave; the answer is `Answer::Stopped`
    /// once the replay stops again, or an error if the replay refuses.
    Resume(ResumeAction, Option<i32>),
    /// Run backwards; answered as `Resume` is.
    Reverse(ResumeAction),
    /// gdb's `kill`: the replay stays, for a `run`.
    Kill,
    /// gdb's `run` with its argument: back to the first stop gdb saw, a
    /// checkpoint (`cN`) or an event (`N`); answered as `Resume`.
    Run(Option<String>),
}

pub enum Answer {
    Threads(Vec<ThreadId>),
    Name(Option<String>),
    Registers(Box<X86Registers>),
    Bytes(Vec<u8>),
    Text(String),
    Path(PathBuf),
    Done,
    /// The replay stopped; `message` is printed in gdb's console first.
    Stopped {
        reason: StopReason,
        message: Option<String>,
    },
}

pub type Reply = Result<Answer, TargetError>;
