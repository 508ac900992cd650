//! The gdb server's view of the replay: a `gdb_remote::Target` that
//! forwards every request to the replay thread and waits for its answer.

use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use gdb_remote::{
    BreakpointKind, Breakpoints, HostFiles, Interrupt, Restart, ResumeAction, ReverseExecution,
    Signals, StopReason, Target, TargetError, TargetResult, ThreadId, X86Registers,
};

use super::protocol::{Answer, Reply, Request};
use crate::error::ReplayError;

/// How often a waiting resume looks for the client's Ctrl-C.
const INTERRUPT_POLL: Duration = Duration::from_millis(20);

pub struct ReplayTarget {
    requests: Option<Sender<Request>>,
    answers: Receiver<Reply>,
    interrupt: Arc<AtomicBool>,
    replay: Option<JoinHandle<Result<(), ReplayError>>>,
    stop: StopReason,
    /// Printed in gdb's console before the next stop reply.
    message: Option<String>,
    /// Why the replay ended, once it has.
    ended: Option<String>,
}

impl ReplayTarget {
    pub(super) fn new(
        requests: Sender<Request>,
        answers: Receiver<Reply>,
        interrupt: Arc<AtomicBool>,
        replay: JoinHandle<Result<(), ReplayError>>,
    ) -> ReplayTarget {
        ReplayTarget {
            requests: Some(requests),
            answers,
            interrupt,
            replay: Some(replay),
            stop: StopReason::Interrupted {
                thread: ThreadId { pid: 0, tid: 0 },
            },
            message: None,
            ended: None,
        }
    }

    /// Waits for the replay to reach the first stop gdb sees.
    pub(super) fn wait_for_start(&mut self) -> Result<(), ReplayError> {
        match self.answers.recv() {
            Ok(Ok(Answer::Stopped { reason, message })) => {
                self.stop = reason;
                self.message = message;
                Ok(())
            }
            _ => Err(self.finish().unwrap_or(ReplayError::DebuggerGone)),
        }
    }

    /// Ends the replay thread and returns its error, if it failed.
    pub fn finish(&mut self) -> Option<ReplayError> {
        self.requests = None;
        let handle = self.replay.take()?;
        match handle.join() {
            Ok(Ok(())) | Ok(Err(ReplayError::DebuggerGone)) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some(ReplayError::BadTrace {
                event: 0,
                reason: "the replay thread panicked".into(),
            }),
        }
    }

    /// The replay thread is gone: remember why, for every later request.
    fn ended(&mut self) -> TargetError {
        if self.ended.is_none() {
            let why = match self.finish() {
                Some(e) => e.to_string(),
                None => "the replay has ended".to_owned(),
            };
            eprintln!("rewind: {why}");
            self.ended = Some(why);
        }
        TargetError::Message(self.ended.clone().unwrap_or_default())
    }

    fn ask(&mut self, request: Request) -> TargetResult<Answer> {
        let sent = match &self.requests {
            Some(requests) => requests.send(request).is_ok(),
            None => false,
        };
        if !sent {
            return Err(self.ended());
        }
        match self.answers.recv() {
            Ok(reply) => reply,
            Err(_) => Err(self.ended()),
        }
    }
}

impl ReplayTarget {
    /// Sends a request that runs the replay and waits for its stop.
    fn run_until_stop(
        &mut self,
        request: Request,
        interrupt: &dyn Interrupt,
    ) -> TargetResult<StopReason> {
        let sent = match &self.requests {
            Some(requests) => requests.send(request).is_ok(),
            None => false,
        };
        if !sent {
            return Err(self.ended());
        }
        loop {
            match self.answers.recv_timeout(INTERRUPT_POLL) {
                Ok(Ok(Answer::Stopped { reason, message })) => {
                    // A Ctrl-C that came as the replay stopped for another
                    // reason must not stop the next resume.
                    self.interrupt.store(false, Ordering::SeqCst);
                    self.stop = reason.clone();
                    self.message = message;
                    return Ok(reason);
                }
                Ok(Ok(_)) => return Err(unexpected()),
                Ok(Err(e)) => return Err(e),
                Err(RecvTimeoutError::Timeout) => {
                    if interrupt.requested() {
                        self.interrupt.store(true, Ordering::SeqCst);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return Err(self.ended()),
            }
        }
    }
}

/// An `Interrupt` nobody can trigger: `run` answers with the first stop.
struct NoInterrupt;

impl Interrupt for NoInterrupt {
    fn requested(&self) -> bool {
        false
    }
}

fn unexpected() -> TargetError {
    TargetError::Message("internal error: the replay answered another request".into())
}

impl Target for ReplayTarget {
    fn current_stop(&mut self) -> StopReason {
        self.stop.clone()
    }

    fn threads(&mut self) -> Vec<ThreadId> {
        match self.ask(Request::Threads) {
            Ok(Answer::Threads(threads)) => threads,
            _ => Vec::new(),
        }
    }

    fn read_registers(&mut self, thread: ThreadId) -> TargetResult<X86Registers> {
        match self.ask(Request::ReadRegisters(thread))? {
            Answer::Registers(regs) => Ok(*regs),
            _ => Err(unexpected()),
        }
    }

    fn write_registers(&mut self, thread: ThreadId, regs: &X86Registers) -> TargetResult<()> {
        self.ask(Request::WriteRegisters(thread, Box::new(regs.clone())))
            .map(drop)
    }

    fn read_memory(&mut self, thread: ThreadId, addr: u64, len: usize) -> TargetResult<Vec<u8>> {
        match self.ask(Request::ReadMemory(thread, addr, len))? {
            Answer::Bytes(bytes) => Ok(bytes),
            _ => Err(unexpected()),
        }
    }

    fn write_memory(&mut self, thread: ThreadId, addr: u64, data: &[u8]) -> TargetResult<()> {
        self.ask(Request::WriteMemory(thread, addr, data.to_vec()))
            .map(drop)
    }

    fn resume(
        &mut self,
        action: ResumeAction,
        signal: Option<i32>,
        interrupt: &dyn Interrupt,
    ) -> TargetResult<StopReason> {
        self.run_until_stop(Request::Resume(action, signal), interrupt)
    }

    fn auxv(&mut self, _pid: i32) -> TargetResult<Vec<u8>> {
        match self.ask(Request::Auxv)? {
            Answer::Bytes(bytes) => Ok(bytes),
            _ => Err(unexpected()),
        }
    }

    fn exec_file(&mut self, _pid: i32) -> TargetResult<String> {
        match self.ask(Request::ExecFile)? {
            Answer::Text(path) => Ok(path),
            _ => Err(unexpected()),
        }
    }

    fn thread_name(&mut self, thread: ThreadId) -> Option<String> {
        match self.ask(Request::ThreadName(thread)) {
            Ok(Answer::Name(name)) => name,
            _ => None,
        }
    }

    fn monitor(&mut self, command: &str) -> TargetResult<String> {
        match self.ask(Request::Monitor(command.to_owned()))? {
            Answer::Text(text) => Ok(text),
            // `goto` moved the replay; gdb learns of it by flushing its
            // register cache (the `goto` command rewind defines does).
            Answer::Stopped { reason, message } => {
                self.stop = reason;
                Ok(message.unwrap_or_else(|| "rewind: the replay moved.\n".into()))
            }
            _ => Err(unexpected()),
        }
    }

    fn stop_message(&mut self) -> Option<String> {
        self.message.take()
    }

    fn breakpoints(&mut self) -> Option<&mut dyn Breakpoints> {
        Some(self)
    }

    fn host_files(&mut self) -> Option<&mut dyn HostFiles> {
        Some(self)
    }

    fn signals(&mut self) -> Option<&mut dyn Signals> {
        Some(self)
    }

    fn reverse(&mut self) -> Option<&mut dyn ReverseExecution> {
        Some(self)
    }

    fn restart(&mut self) -> Option<&mut dyn Restart> {
        Some(self)
    }
}

impl ReverseExecution for ReplayTarget {
    fn resume_reverse(
        &mut self,
        action: ResumeAction,
        interrupt: &dyn Interrupt,
    ) -> TargetResult<StopReason> {
        self.run_until_stop(Request::Reverse(action), interrupt)
    }
}

impl Restart for ReplayTarget {
    fn kill(&mut self) {
        // The replay stays where it is until `run` moves it.
        let _ = self.ask(Request::Kill);
    }

    fn run(&mut self, args: &[String]) -> TargetResult<StopReason> {
        let argument = match args {
            [] => None,
            [one] => Some(one.clone()),
            _ => {
                return Err(TargetError::Message(
                    "rewind replays the recorded run: `run` takes at most one argument, \
                     cN for checkpoint N or an event number"
                        .into(),
                ))
            }
        };
        self.run_until_stop(Request::Run(argument), &NoInterrupt)
    }
}

impl Signals for ReplayTarget {
    fn pass(&mut self, signals: &[i32]) {
        // Without the replay thread there is nothing left to filter.
        let _ = self.ask(Request::PassSignals(signals.to_vec()));
    }
}

impl Breakpoints for ReplayTarget {
    fn insert(&mut self, kind: BreakpointKind, addr: u64, len: u64) -> TargetResult<()> {
        self.ask(Request::InsertBreakpoint(kind, addr, len))
            .map(drop)
    }

    fn remove(&mut self, kind: BreakpointKind, addr: u64, len: u64) -> TargetResult<()> {
        self.ask(Request::RemoveBreakpoint(kind, addr, len))
            .map(drop)
    }

    /// Conditions are evaluated where the replay hits the breakpoint: a
    /// false one costs no stop, and no travel going back.
    fn evaluates_conditions(&self) -> bool {
        true
    }

    fn set_conditions(
        &mut self,
        kind: BreakpointKind,
        addr: u64,
        conditions: Vec<Vec<u8>>,
    ) -> TargetResult<()> {
        let hardware = kind == BreakpointKind::Hardware;
        self.ask(Request::BreakpointConditions(hardware, addr, conditions))
            .map(drop)
    }
}

impl HostFiles for ReplayTarget {
    /// Only files the trace captured: the program's executable and what
    /// it mapped. Anything else would be the host's, not the recording's.
    fn open(&mut self, path: &str) -> TargetResult<File> {
        match self.ask(Request::CapturedFile(path.to_owned()))? {
            Answer::Path(stored) => File::open(stored)
                .map_err(|e| TargetError::Errno(e.raw_os_error().unwrap_or(libc::EIO))),
            _ => Err(unexpected()),
        }
    }
}

impl Drop for ReplayTarget {
    fn drop(&mut self) {
        if let Some(e) = self.finish() {
            eprintln!("rewind: {e}");
        }
    }
}
