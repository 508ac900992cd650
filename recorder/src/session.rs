//! The record event loop: runs the tracee from stop to stop and turns each
//! stop into trace events.

use trace_format::{
    Event, EventRecord, ExitEvent, ExitStatus, RdtscEvent, SyscallAction, TraceWriter,
};
use tracee::{PtraceEvent, RemoteAddr, Resume, Stop, SyscallStopKind, Task, TraceeError};

use crate::error::RecordError;
use crate::exec;
use crate::files::FileCapture;
use crate::syscall::{self, ExitContext, OutputIds, PendingSyscall};

pub struct Session {
    task: Task,
    writer: TraceWriter,
    files: FileCapture,
    output_ids: OutputIds,
    brk_end: u64,
    pending: Option<PendingSyscall>,
}

impl Session {
    pub fn new(task: Task, writer: TraceWriter, files: FileCapture) -> Session {
        Session {
            task,
            writer,
            files,
            output_ids: OutputIds::of_this_process(),
            brk_end: 0,
            pending: None,
        }
    }

    /// Hands the writer back so the caller can finish the trace.
    pub fn into_writer(self) -> TraceWriter {
        self.writer
    }

    fn emit(&mut self, event: Event) -> Result<(), RecordError> {
        self.writer.append_event(&EventRecord {
            tid: self.task.tid,
            event,
        })?;
        Ok(())
    }

    /// Captures the address space at the exit stop of an execve.
    pub fn record_exec(&mut self) -> Result<(), RecordError> {
        let capture = exec::capture_exec(&mut self.task, &mut self.writer, &mut self.files)?;
        self.brk_end = capture.brk_end;
        self.emit(Event::Exec(capture.event))
    }

    /// Runs the tracee to its end; returns how it ended.
    pub fn run(&mut self) -> Result<ExitStatus, RecordError> {
        loop {
            let stop = self.task.step(Resume::Syscall, 0)?;
            match stop {
                Stop::Syscall => self.on_syscall_stop()?,
                Stop::Event(PtraceEvent::Exec, _) => {
                    if let Some(pending) = &mut self.pending {
                        pending.exec_happened = true;
                    }
                }
                Stop::Event(PtraceEvent::Exit, _) => self.on_exit_event()?,
                Stop::Event(PtraceEvent::Stop, _) => {}
                Stop::Exited(code) => return self.finish(ExitStatus::Exited(code)),
                Stop::Killed {
                    signal,
                    core_dumped,
                } => {
                    return self.finish(ExitStatus::Killed {
                        signal,
                        core_dumped,
                    })
                }
                Stop::Signal(libc::SIGSEGV) if self.try_rdtsc()? => {}
                Stop::Signal(signal) => {
                    return Err(RecordError::Unsupported {
                        what: format!(
                            "delivering signal {} ({signal})",
                            tracee::signal_name(signal)
                        ),
                    })
                }
                Stop::Event(event, _) => {
                    return Err(TraceeError::UnexpectedStop {
                        tid: self.task.tid,
                        expected: "a stop this recorder handles",
                        got: format!("{event:?}"),
                    }
                    .into())
                }
            }
        }
    }

    fn on_syscall_stop(&mut self) -> Result<(), RecordError> {
        match self.task.syscall_stop_kind()? {
            SyscallStopKind::Entry => {
                let regs = self.task.regs()?;
                self.pending = Some(syscall::on_entry(&self.task, regs)?);
                Ok(())
            }
            SyscallStopKind::Exit => {
                let Some(pending) = self.pending.take() else {
                    return Err(TraceeError::UnexpectedStop {
                        tid: self.task.tid,
                        expected: "a syscall entry",
                        got: "a syscall exit".into(),
                    }
                    .into());
                };
                let result = self.task.regs()?.rax as i64;
                let event = self.exit_event(&pending, result)?;
                let is_exec = event.action == SyscallAction::Exec;
                self.emit(Event::Syscall(event))?;
                if is_exec {
                    self.record_exec()?;
                }
                Ok(())
            }
            SyscallStopKind::Seccomp => Err(TraceeError::UnexpectedStop {
                tid: self.task.tid,
                expected: "a syscall entry or exit",
                got: "a seccomp stop".into(),
            }
            .into()),
        }
    }

    fn exit_event(
        &mut self,
        pending: &PendingSyscall,
        result: i64,
    ) -> Result<trace_format::SyscallEvent, RecordError> {
        syscall::on_exit(
            &self.task,
            pending,
            result,
            ExitContext {
                writer: &mut self.writer,
                files: &mut self.files,
                output_ids: &self.output_ids,
                brk_end: &mut self.brk_end,
            },
        )
    }

    /// The thread is exiting. An exit syscall in flight never returns, so
    /// its event is written now.
    fn on_exit_event(&mut self) -> Result<(), RecordError> {
        if let Some(pending) = self.pending.take() {
            if pending.is_exit() {
                let event = self.exit_event(&pending, 0)?;
                self.emit(Event::Syscall(event))?;
            }
        }
        Ok(())
    }

    fn finish(&mut self, status: ExitStatus) -> Result<ExitStatus, RecordError> {
        self.emit(Event::Exit(ExitEvent {
            status,
            process_exit: true,
        }))?;
        Ok(status)
    }

    /// A SIGSEGV from rdtsc or rdtscp (PR_TSC_SIGSEGV): run it on the
    /// tracee's behalf, record the value, and suppress the signal. Returns
    /// false for any other SIGSEGV.
    fn try_rdtsc(&mut self) -> Result<bool, RecordError> {
        let regs = self.task.regs()?;
        let mut insn = [0u8; 3];
        if self.task.read_partial(RemoteAddr(regs.rip), &mut insn) < 2 {
            return Ok(false);
        }
        let (value, aux) = match insn {
            [0x0f, 0x31, _] => (tracee::cpu::read_tsc(), None),
            [0x0f, 0x01, 0xf9] => {
                let (tsc, aux) = tracee::cpu::read_tscp();
                (tsc, Some(aux))
            }
            _ => return Ok(false),
        };
        let event = RdtscEvent { regs, value, aux };
        self.task.set_regs(&event.regs_after())?;
        self.emit(Event::Rdtsc(event))?;
        Ok(true)
    }
}
