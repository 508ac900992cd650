//! gdb's inferior calls (`print f(x)`, `call f(x)`): rr's diversion
//! (ARCHITECTURE.md "Reverse execution"). gdb's first write to registers or
//! memory turns the replayed processes into a throw-away copy: from then on
//! its resumes run the thread for real (syscalls too), outside the replay,
//! and gdb sees where it stops. A resume once gdb has put the registers
//! back (the call is over) starts the replay again to the stop before the
//! first write and goes on from there, exactly as recorded.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use gdb_remote::{ResumeAction, StopReason, TargetError, ThreadId, X86Registers};
use tracee::{debugregs, extended_state, Resume, Stop, Task};

use super::{registers, thread_of, tracee_error, Debugger};
use crate::debug::plan::{Plan, Seen};
use crate::debug::protocol::{Answer, Reply};
use crate::error::ReplayError;

/// How often a diverted run looks for gdb's Ctrl-C.
const INTERRUPT_PERIOD: Duration = Duration::from_millis(50);
/// gdb builds a call's frame just below the stack pointer: its writes there
/// are the call's, not changes the user meant to keep.
const CALL_FRAME_SPAN: u64 = 64 * 1024;

pub(crate) struct Diversion {
    /// The stop before gdb's first write, where the replay goes back to.
    from: Option<Seen>,
    /// The thread gdb's call runs in, and its registers before the call.
    thread: ThreadId,
    registers: X86Registers,
    /// gdb wrote memory other than a call's frame: `set var`.
    changed_memory: bool,
    /// The process ended inside the diversion.
    ended: bool,
}

impl Debugger {
    /// gdb is about to change `thread`'s registers or memory at `addr`.
    pub(super) fn divert(
        &mut self,
        thread: ThreadId,
        addr: Option<u64>,
    ) -> Result<(), TargetError> {
        if self.diversion.is_none() {
            let real = thread_of(&self.threads, thread)?;
            let task = Task::new(real).map_err(tracee_error)?;
            let regs = task.regs().map_err(tracee_error)?;
            let extended = extended_state::read(real).map_err(tracee_error)?;
            if self.orig_rax_cleared {
                // What gdb asked before the copy began, it gets now.
                let mut cleared = regs;
                cleared.orig_rax = u64::MAX;
                task.set_regs(&cleared).map_err(tracee_error)?;
            }
            self.diversion = Some(Diversion {
                from: self.shown.clone(),
                thread,
                registers: registers::to_gdb(&regs, &extended),
                changed_memory: false,
                ended: false,
            });
        }
        if let (Some(diversion), Some(addr)) = (&mut self.diversion, addr) {
            let sp = diversion.registers.general[7];
            let in_call_frame = addr < sp && sp - addr <= CALL_FRAME_SPAN;
            diversion.changed_memory |= !in_call_frame;
        }
        Ok(())
    }

    /// A resume while gdb's changes are in force: runs the copy, or ends
    /// the diversion if the call is over. `Err` unwinds the replay.
    pub(super) fn resume_diverted(
        &mut self,
        action: ResumeAction,
        signal: Option<i32>,
    ) -> Result<Reply, ReplayError> {
        let Some(diversion) = &self.diversion else {
            return Ok(Err(TargetError::Unsupported));
        };
        let real = match thread_of(&self.threads, diversion.thread) {
            Ok(real) => real,
            Err(e) => return Ok(Err(e)),
        };
        let current = Task::new(real)
            .and_then(|task| {
                let regs = task.regs()?;
                Ok(registers::to_gdb(&regs, &extended_state::read(real)?))
            })
            .ok();
        let restored = current.as_ref() == Some(&diversion.registers);
        if restored || diversion.ended {
            let Some(from) = diversion.from.clone() else {
                return Ok(Err(TargetError::Message(
                    "rewind cannot go back to the recording from a stop made by \
                     interrupting a running thread; use `run`"
                        .into(),
                )));
            };
            if diversion.changed_memory {
                self.message = Some(
                    "rewind: the replay goes on as recorded, without the changes gdb made.\n"
                        .into(),
                );
            }
            self.pending_resume = Some((action, signal));
            return Err(self.travel(Plan::Travel(from)));
        }
        Ok(self.run_copy(action, signal))
    }

    /// Runs the diverted thread for real until it stops.
    fn run_copy(&mut self, action: ResumeAction, signal: Option<i32>) -> Reply {
        let Some(diversion) = &self.diversion else {
            return Err(TargetError::Unsupported);
        };
        let thread = match action {
            ResumeAction::Step(thread) => thread,
            ResumeAction::Continue => diversion.thread,
        };
        let real = thread_of(&self.threads, thread)?;
        let task = Task::new(real).map_err(tracee_error)?;
        let signal = signal.unwrap_or(0);
        let stepping = matches!(action, ResumeAction::Step(_));
        let rip = task.regs().map_err(tracee_error)?.rip;
        debugregs::clear_status(real).map_err(tracee_error)?;
        let mut stop = None;
        if stepping || self.table.software_at(rip) {
            // Past gdb's own int3 under the thread first.
            self.table
                .disarm_software(&task, rip)
                .map_err(tracee_error)?;
            let stepped = task.step(Resume::SingleStep, signal);
            self.table
                .rearm_software(&task, rip)
                .map_err(tracee_error)?;
            let stepped = stepped.map_err(tracee_error)?;
            if stepping || stepped != Stop::Signal(libc::SIGTRAP) {
                stop = Some(stepped);
            }
        }
        let stop = match stop {
            Some(stop) => stop,
            None => {
                let interrupt = Arc::clone(&self.interrupt);
                task.step_interruptible(
                    Resume::Continue,
                    if stepping { 0 } else { signal },
                    &self.waiter,
                    INTERRUPT_PERIOD,
                    &|| interrupt.load(Ordering::SeqCst),
                )
                .map_err(tracee_error)?
            }
        };
        let reason = self.diverted_stop(thread, &task, stop, stepping)?;
        Ok(Answer::Stopped {
            reason,
            message: None,
        })
    }

    /// What a stop of the copy means to gdb.
    fn diverted_stop(
        &mut self,
        thread: ThreadId,
        task: &Task,
        stop: Stop,
        stepping: bool,
    ) -> Result<StopReason, TargetError> {
        match stop {
            Stop::Signal(libc::SIGTRAP) => {
                let status = debugregs::status(task.tid).map_err(tracee_error)?;
                if let Some(slot) = self.table.triggered(status).filter(|s| s.gdb) {
                    return Ok(super::stepping::slot_stop(thread, slot));
                }
                let mut regs = task.regs().map_err(tracee_error)?;
                let at = regs.rip.wrapping_sub(1);
                if !stepping && self.table.gdb_software_at(at) {
                    regs.rip = at;
                    task.set_regs(&regs).map_err(tracee_error)?;
                    return Ok(StopReason::Breakpoint {
                        thread,
                        hardware: false,
                    });
                }
                Ok(StopReason::Signal {
                    thread,
                    signo: libc::SIGTRAP,
                })
            }
            Stop::Event(tracee::PtraceEvent::Stop, _) if self.interrupt_requested() => {
                Ok(StopReason::Interrupted { thread })
            }
            Stop::Signal(signo) => Ok(StopReason::Signal { thread, signo }),
            Stop::Exited(code) => {
                self.end_diversion_process();
                Ok(StopReason::Exited {
                    pid: thread.pid,
                    code,
                })
            }
            Stop::Killed { signal, .. } => {
                self.end_diversion_process();
                Ok(StopReason::Killed {
                    pid: thread.pid,
                    signo: signal,
                })
            }
            other => Err(TargetError::Message(format!(
                "the function gdb called stopped in a way rewind cannot show ({other:?}); \
                 `run` or a reverse move goes back to the recording"
            ))),
        }
    }

    fn end_diversion_process(&mut self) {
        if let Some(diversion) = &mut self.diversion {
            diversion.ended = true;
        }
    }
}
