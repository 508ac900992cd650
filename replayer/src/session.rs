//! The replay loop: follows the trace event by event, driving the tracee
//! to each recorded stop, verifying it, and applying what was recorded.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use trace_format::{
    Event, EventRecord, ExecEvent, ExitStatus, RdtscEvent, SyscallAction, SyscallEvent, TraceReader,
};
use tracee::spawn::{self, FirstExec, SpawnSpec};
use tracee::{PtraceEvent, Resume, Stop, SyscallStopKind, Task};

use crate::error::ReplayError;
use crate::{exec, memory, output, verify};

/// A replayed thread and what the kernel will report when it resumes.
struct ReplayTask {
    task: Task,
    recorded_tid: i32,
    /// Stopped at the entry of a syscall that SYSEMU skipped: resuming with
    /// PTRACE_SYSCALL first reports that syscall's exit.
    at_emulated_entry: bool,
    /// Reported PTRACE_EVENT_EXIT.
    exiting: bool,
    gone: bool,
}

impl Drop for ReplayTask {
    /// A replay that stops early (divergence, error) ends its tracee.
    fn drop(&mut self) {
        if !self.gone {
            tracee::kill_process(self.task.tid, libc::SIGKILL);
            tracee::reap(self.task.tid);
        }
    }
}

pub struct ReplaySession {
    reader: TraceReader,
    stub: PathBuf,
    echo_output: bool,
    task: Option<ReplayTask>,
}

impl ReplaySession {
    pub fn new(reader: TraceReader, stub: PathBuf, echo_output: bool) -> ReplaySession {
        ReplaySession {
            reader,
            stub,
            echo_output,
            task: None,
        }
    }

    pub fn reader(&self) -> &TraceReader {
        &self.reader
    }

    /// Replays every event; returns how the program ended.
    pub fn run_to_end(&mut self) -> Result<ExitStatus, ReplayError> {
        for item in self.reader.events() {
            let (number, record) = item?;
            if let Some(status) = self.replay_event(number, &record)? {
                return Ok(status);
            }
        }
        let last = self.reader.event_count();
        Err(ReplayError::BadTrace {
            event: last,
            reason: match self.reader.early_end() {
                Some(early) => format!("{early}; the replay stopped there"),
                None => "the trace ends before the program did".into(),
            },
        })
    }

    fn replay_event(
        &mut self,
        number: u64,
        record: &EventRecord,
    ) -> Result<Option<ExitStatus>, ReplayError> {
        if let Some(task) = &self.task {
            if task.recorded_tid != record.tid {
                return Err(ReplayError::BadTrace {
                    event: number,
                    reason: format!(
                        "thread {} is not replayable yet (only one thread is)",
                        record.tid
                    ),
                });
            }
        }
        match &record.event {
            Event::Exec(e) => self.replay_exec(number, record.tid, e).map(|()| None),
            Event::Syscall(e) => self.replay_syscall(number, e).map(|()| None),
            Event::Rdtsc(e) => self.replay_rdtsc(number, e).map(|()| None),
            Event::Exit(e) => self.replay_exit(number, e.status).map(Some),
            other => Err(ReplayError::BadTrace {
                event: number,
                reason: format!("{} events cannot be replayed yet", other.kind_name()),
            }),
        }
    }

    fn replay_exec(&mut self, number: u64, tid: i32, exec: &ExecEvent) -> Result<(), ReplayError> {
        if self.task.is_none() {
            let stub = CString::new(self.stub.as_os_str().as_bytes()).map_err(|_| {
                ReplayError::BadTrace {
                    event: number,
                    reason: "the path of this rewind binary contains a NUL byte".into(),
                }
            })?;
            let spec = SpawnSpec {
                program: stub,
                argv: vec![c"rewind-replay-stub".to_owned()],
                envp: Vec::new(),
                null_stdio: true,
            };
            let mut task = spawn::spawn_stopped(&spec)?;
            let mut replay_task = ReplayTask {
                task: Task::new(task.tid)?,
                recorded_tid: tid,
                at_emulated_entry: false,
                exiting: false,
                gone: false,
            };
            if let FirstExec::Failed(errno) = spawn::run_to_first_exec(&mut task)? {
                replay_task.gone = true;
                tracee::kill_process(task.tid, libc::SIGKILL);
                tracee::reap(task.tid);
                return Err(ReplayError::Tracee(tracee::TraceeError::Spawn {
                    what: format!("cannot start the replay stub {}", self.stub.display()),
                    source: std::io::Error::from_raw_os_error(errno),
                }));
            }
            replay_task.task = task;
            self.task = Some(replay_task);
        }
        let Some(task) = self.task.as_mut() else {
            return Ok(());
        };
        exec::rebuild(&mut task.task, &mut self.reader, exec)
    }

    /// Resumes the tracee and returns its next stop, first consuming the
    /// exit stop the kernel reports for a SYSEMU-skipped syscall when the
    /// resume is PTRACE_SYSCALL.
    fn resume(&mut self, number: u64, how: Resume) -> Result<Stop, ReplayError> {
        let task = task_of(&mut self.task, number)?;
        if task.at_emulated_entry && how == Resume::Syscall {
            let stop = task.task.step(Resume::Syscall, 0)?;
            if stop != Stop::Syscall || task.task.syscall_stop_kind()? != SyscallStopKind::Exit {
                let tid = task.recorded_tid;
                return Err(verify::diverged(
                    number,
                    tid,
                    "finishing an emulated syscall",
                    format!("expected its exit stop, got {stop:?}"),
                ));
            }
        }
        task.at_emulated_entry = false;
        let stop = task.task.step(how, 0)?;
        if let Stop::Event(PtraceEvent::Exit, _) = stop {
            task.exiting = true;
        }
        if stop.is_death() {
            task.gone = true;
        }
        Ok(stop)
    }

    /// Finishes a SYSEMU-skipped syscall so that remote syscalls can run.
    fn leave_emulated_entry(&mut self, number: u64) -> Result<(), ReplayError> {
        let task = task_of(&mut self.task, number)?;
        let stop = task.task.step(Resume::Syscall, 0)?;
        task.at_emulated_entry = false;
        if stop == Stop::Syscall && task.task.syscall_stop_kind()? == SyscallStopKind::Exit {
            return Ok(());
        }
        Err(verify::diverged(
            number,
            task.recorded_tid,
            "leaving a syscall",
            format!("expected its exit stop, got {stop:?}"),
        ))
    }

    fn replay_syscall(&mut self, number: u64, event: &SyscallEvent) -> Result<(), ReplayError> {
        let name = tracee::syscalls::name(event.number());
        let at = format!("syscall {name}");
        let how = match event.action {
            SyscallAction::Emulate | SyscallAction::Map(_) | SyscallAction::Brk { .. } => {
                Resume::Sysemu
            }
            SyscallAction::Execute | SyscallAction::Remap { .. } | SyscallAction::Exec => {
                Resume::Syscall
            }
        };
        let stop = self.resume(number, how)?;
        let task = task_of(&mut self.task, number)?;
        let tid = task.recorded_tid;
        let is_entry =
            stop == Stop::Syscall && task.task.syscall_stop_kind()? == SyscallStopKind::Entry;
        if !is_entry {
            return Err(verify::diverged(
                number,
                tid,
                &at,
                format!("expected the syscall's entry, got {stop:?}"),
            ));
        }
        let regs = task.task.regs()?;
        verify::registers(number, tid, &at, &event.regs, &regs)?;
        if how == Resume::Sysemu {
            task.at_emulated_entry = true;
        }
        match &event.action {
            SyscallAction::Emulate => {
                memory::apply_writes(
                    &task_of(&mut self.task, number)?.task,
                    &mut self.reader,
                    &event.writes,
                )?;
                let task = &task_of(&mut self.task, number)?.task;
                if let (Some(stream), true) = (event.output, self.echo_output) {
                    output::echo(task, event, stream)?;
                }
                set_result(task, event)
            }
            SyscallAction::Map(map) => {
                self.leave_emulated_entry(number)?;
                let task = &task_of(&mut self.task, number)?.task;
                memory::map_region(
                    task,
                    &self.reader,
                    map.addr,
                    map.len,
                    map.prot,
                    map.flags,
                    &map.source,
                )?;
                set_result(task, event)
            }
            SyscallAction::Brk { old_end, new_end } => {
                self.leave_emulated_entry(number)?;
                let task = &task_of(&mut self.task, number)?.task;
                memory::move_break(task, *old_end, *new_end)?;
                set_result(task, event)
            }
            SyscallAction::Execute => self.finish_executed(number, &at, event, None),
            SyscallAction::Remap { new_addr } => {
                self.finish_executed(number, &at, event, Some(*new_addr))
            }
            SyscallAction::Exec => {
                let task = task_of(&mut self.task, number)?;
                exec::exec_stub(&mut task.task, &self.stub)
            }
        }
    }

    /// Lets a syscall run in the tracee and checks its result. `remap_to`
    /// forces an mremap that moved in the recording to the same place.
    fn finish_executed(
        &mut self,
        number: u64,
        at: &str,
        event: &SyscallEvent,
        remap_to: Option<u64>,
    ) -> Result<(), ReplayError> {
        let task = task_of(&mut self.task, number)?;
        let tid = task.recorded_tid;
        if let Some(new_addr) = remap_to.filter(|&a| a != event.regs.rdi) {
            let mut forced = event.regs;
            forced.r10 |= (libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED) as u64;
            forced.r8 = new_addr;
            task.task.set_regs(&forced)?;
        }
        let stop = task.task.step(Resume::Syscall, 0)?;
        match stop {
            Stop::Event(PtraceEvent::Exit, _)
                if matches!(at, "syscall exit" | "syscall exit_group") =>
            {
                task.exiting = true;
                return Ok(());
            }
            Stop::Syscall if task.task.syscall_stop_kind()? == SyscallStopKind::Exit => {}
            other => {
                return Err(verify::diverged(
                    number,
                    tid,
                    at,
                    format!("expected the syscall's exit, got {other:?}"),
                ));
            }
        }
        let mut regs = task.task.regs()?;
        let result = regs.rax as i64;
        if result != event.result {
            return Err(verify::diverged(
                number,
                tid,
                at,
                format!(
                    "it returned {} in the recording, {result} in the replay",
                    event.result
                ),
            ));
        }
        if remap_to.is_some() {
            regs.r10 = event.regs.r10;
            regs.r8 = event.regs.r8;
            task.task.set_regs(&regs)?;
        }
        Ok(())
    }

    fn replay_rdtsc(&mut self, number: u64, event: &RdtscEvent) -> Result<(), ReplayError> {
        let stop = self.resume(number, Resume::Sysemu)?;
        let task = task_of(&mut self.task, number)?;
        let tid = task.recorded_tid;
        if stop != Stop::Signal(libc::SIGSEGV) {
            return Err(verify::diverged(
                number,
                tid,
                "rdtsc",
                format!("expected the rdtsc trap, got {stop:?}"),
            ));
        }
        let regs = task.task.regs()?;
        verify::registers(number, tid, "rdtsc", &event.regs, &regs)?;
        task.task.set_regs(&event.regs_after())?;
        Ok(())
    }

    fn replay_exit(
        &mut self,
        number: u64,
        recorded: ExitStatus,
    ) -> Result<ExitStatus, ReplayError> {
        let mut stop = self.resume(number, Resume::Continue)?;
        while let Stop::Event(PtraceEvent::Exit, _) = stop {
            stop = self.resume(number, Resume::Continue)?;
        }
        let task = task_of(&mut self.task, number)?;
        let replayed = match stop {
            Stop::Exited(code) => ExitStatus::Exited(code),
            Stop::Killed {
                signal,
                core_dumped,
            } => ExitStatus::Killed {
                signal,
                core_dumped,
            },
            other => {
                return Err(verify::diverged(
                    number,
                    task.recorded_tid,
                    "exit",
                    format!("expected the exit, got {other:?}"),
                ));
            }
        };
        if replayed != recorded {
            return Err(verify::diverged(
                number,
                task.recorded_tid,
                "exit",
                format!("the recording ended with {recorded:?}, the replay with {replayed:?}"),
            ));
        }
        Ok(replayed)
    }
}

/// Sets the recorded result as the syscall's return value.
fn set_result(task: &Task, event: &SyscallEvent) -> Result<(), ReplayError> {
    let mut regs = event.regs;
    regs.rax = event.result as u64;
    task.set_regs(&regs)?;
    Ok(())
}

/// The replayed task; a borrow of the field alone, so that the rest of the
/// session stays usable.
fn task_of(slot: &mut Option<ReplayTask>, number: u64) -> Result<&mut ReplayTask, ReplayError> {
    slot.as_mut().ok_or(ReplayError::BadTrace {
        event: number,
        reason: "the trace does not start with an exec".into(),
    })
}
