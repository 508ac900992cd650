//! Signals and other stops in user code: trapped rdtsc, signal delivery,
//! and preemption at an execution point.
//!
//! A signal is delivered where replay can find the same instant without a
//! tick counter: at a syscall boundary (the kernel delivers signals on the
//! way back from a syscall, which is where most asynchronous signals land),
//! or, for a fault, at the faulting instruction. A signal that arrives
//! while the thread runs user code is held back and sent again at the
//! thread's next syscall exit; a thread that never makes a syscall again
//! never receives it (see the note in DESIGN.md "Ticks").

use trace_format::{Event, ExecutionPoint, RdtscEvent, SignalDisposition, SignalEvent};
use tracee::signals::{self, Disposition};
use tracee::{fingerprint, x86, RemoteAddr, Resume, Stop, Tid};

use crate::error::RecordError;
use crate::session::{internal, Session};
use crate::task::{DeferredSignal, TaskState};

/// si_code values at or below zero come from a process (kill, tgkill,
/// sigqueue), above zero from the kernel.
fn from_kernel(siginfo: &[u8; 128]) -> bool {
    i32::from_le_bytes([siginfo[8], siginfo[9], siginfo[10], siginfo[11]]) > 0
}

/// Signals an instruction raises by itself.
fn is_fault(signo: i32) -> bool {
    matches!(
        signo,
        libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE | libc::SIGTRAP | libc::SIGSYS
    )
}

impl Session {
    /// Whether a signal about to be delivered to `tid` runs a handler or
    /// kills it (rather than being ignored or held back).
    pub(crate) fn signal_will_run(&mut self, tid: Tid, signo: i32) -> Result<bool, RecordError> {
        let tgid = self.task(tid)?.tgid;
        Ok(match signals::disposition(tgid, signo)? {
            Disposition::Caught => true,
            Disposition::Ignored => false,
            Disposition::Default => {
                !(signals::default_is_ignore(signo) || signals::default_is_stop(signo))
            }
        })
    }

    pub(crate) fn on_signal(&mut self, tid: Tid, signo: i32) -> Result<(), RecordError> {
        if signo == libc::SIGSEGV && self.try_rdtsc(tid)? {
            return self.keep_running(tid);
        }
        let record = self.task(tid)?;
        let regs = record.task.regs()?;
        let mut siginfo = record.task.siginfo()?;
        let at_boundary = record.boundary_regs.take() == Some(regs);
        let redelivered = match record.redelivering.take() {
            Some(deferred) if deferred.signo == signo => {
                siginfo = deferred.siginfo;
                signals::set_siginfo(tid, &siginfo)?;
                true
            }
            other => {
                record.redelivering = other;
                false
            }
        };
        let synchronous = !redelivered && is_fault(signo) && from_kernel(&siginfo);
        let disposition = signals::disposition(record.tgid, signo)?;
        let ignored = match disposition {
            Disposition::Ignored => true,
            Disposition::Default => {
                signals::default_is_ignore(signo) || signals::default_is_stop(signo)
            }
            Disposition::Caught => false,
        };
        if ignored && !synchronous {
            // Delivering it would change nothing; neither does dropping it.
            return self.resume_as_before(tid);
        }
        if !synchronous && !at_boundary && !redelivered {
            record.deferred.push(DeferredSignal { signo, siginfo });
            return self.resume_as_before(tid);
        }
        self.deliver(tid, signo, siginfo, regs, synchronous, disposition)
    }

    fn deliver(
        &mut self,
        tid: Tid,
        signo: i32,
        siginfo: [u8; 128],
        regs: trace_format::Registers,
        synchronous: bool,
        disposition: Disposition,
    ) -> Result<(), RecordError> {
        let record = self.task(tid)?;
        let outcome = if disposition == Disposition::Caught {
            // One step with the signal stops at the handler's first
            // instruction, which replay checks.
            let stop = record.task.step(Resume::SingleStep, signo)?;
            if stop != Stop::Signal(libc::SIGTRAP) {
                return Err(internal(format!(
                    "thread {tid} stopped with {stop:?} entering a signal handler"
                )));
            }
            SignalDisposition::Handler {
                frame: Vec::new(),
                regs: Box::new(record.task.regs()?),
            }
        } else {
            SignalDisposition::Fatal {
                core_dumped: core_dumping(signo),
            }
        };
        let fatal = matches!(outcome, SignalDisposition::Fatal { .. });
        self.emit(
            tid,
            Event::Signal(SignalEvent {
                signo,
                siginfo: siginfo.to_vec(),
                regs,
                synchronous,
                point: None,
                disposition: outcome,
            }),
        )?;
        let record = self.task(tid)?;
        if fatal {
            record.task.resume(Resume::Continue, signo)?;
            record.state = TaskState::Exiting;
            return Ok(());
        }
        record.state = TaskState::Stopped;
        Ok(())
    }

    /// At a syscall exit: sends the first held-back signal again, so that
    /// it is delivered right at this boundary.
    pub(crate) fn redeliver_deferred(&mut self, tid: Tid) -> Result<(), RecordError> {
        let record = self.task(tid)?;
        if record.redelivering.is_some() || record.deferred.is_empty() {
            return Ok(());
        }
        let deferred = record.deferred.remove(0);
        signals::tgkill(record.tgid, tid, deferred.signo)?;
        record.redelivering = Some(deferred);
        Ok(())
    }

    /// A SIGSEGV from rdtsc or rdtscp (PR_TSC_SIGSEGV): run it on the
    /// tracee's behalf, record the value, and suppress the signal. Returns
    /// false for any other SIGSEGV.
    fn try_rdtsc(&mut self, tid: Tid) -> Result<bool, RecordError> {
        let record = self.task(tid)?;
        let regs = record.task.regs()?;
        let mut insn = [0u8; 3];
        if record.task.read_partial(RemoteAddr(regs.rip), &mut insn) < 2 {
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
        record.task.set_regs(&event.regs_after())?;
        self.emit(tid, Event::Rdtsc(event))?;
        Ok(true)
    }

    /// The running thread reached the end of its slice: record where it is
    /// so that replay can stop it at the same instant, and let others run.
    /// The point is moved a few instructions on, by single steps, to one
    /// that replay can patch with a jump (5 bytes or longer); a syscall or
    /// trap on the way is a natural switch point instead.
    pub(crate) fn preempt(&mut self, tid: Tid, counted: bool) -> Result<(), RecordError> {
        let record = self.task(tid)?;
        for _ in 0..MAX_STEPS {
            let regs = record.task.regs()?;
            let mut bytes = [0u8; 16];
            let got = record.task.read_partial(RemoteAddr(regs.rip), &mut bytes);
            let insn = x86::decode(&bytes[..got]);
            if insn.is_some_and(|i| i.len >= 5) {
                break;
            }
            if insn.is_none() && stops_by_itself(&bytes[..got]) {
                // Try again at the end of a later slice.
                return self.keep_running(tid);
            }
            let stop = record.task.step(Resume::SingleStep, 0)?;
            if stop != Stop::Signal(libc::SIGTRAP) {
                return self.dispatch(tid, stop);
            }
        }
        let regs = record.task.regs()?;
        let fingerprint = fingerprint::capture(&record.task, &regs, Vec::new());
        record.state = TaskState::Stopped;
        self.scheduler.slice_ended(tid, counted);
        self.emit(
            tid,
            Event::Preemption(ExecutionPoint {
                regs,
                ticks: None,
                fingerprint: Some(fingerprint),
            }),
        )
    }
}

/// Single steps a preemption may take to reach a patchable instruction.
const MAX_STEPS: usize = 32;

/// Instructions that must not be single-stepped: those whose execution
/// the recorder must see as a stop of its own (syscall, rdtsc, rdtscp,
/// int3, int n, ud2), which a step would run unseen; pushf, which would
/// push the trap flag the step sets into the program's memory; and
/// rep-prefixed string instructions, which a step (or an interrupt) stops
/// between iterations, at a state no breakpoint in replay can find.
pub(crate) fn stops_by_itself(bytes: &[u8]) -> bool {
    let mut at = 0;
    let mut rep = false;
    while at < bytes.len()
        && matches!(
            bytes[at],
            0x66 | 0xf2 | 0xf3 | 0x2e | 0x3e | 0x26 | 0x36 | 0x64 | 0x65 | 0x40..=0x4f
        )
    {
        rep |= matches!(bytes[at], 0xf2 | 0xf3);
        at += 1;
    }
    let rest = &bytes[at.min(bytes.len())..];
    let string_op = matches!(rest, [0xa4..=0xa7, ..] | [0xaa..=0xaf, ..]);
    (rep && string_op)
        || matches!(
            rest,
            [0x0f, 0x05, ..]
                | [0x0f, 0x31, ..]
                | [0x0f, 0x01, 0xf9, ..]
                | [0x0f, 0x0b, ..]
                | [0xcc, ..]
                | [0xcd, ..]
                | [0x9c, ..]
        )
}

fn core_dumping(signo: i32) -> bool {
    matches!(
        signo,
        libc::SIGQUIT
            | libc::SIGILL
            | libc::SIGTRAP
            | libc::SIGABRT
            | libc::SIGBUS
            | libc::SIGFPE
            | libc::SIGSEGV
            | libc::SIGXCPU
            | libc::SIGXFSZ
            | libc::SIGSYS
    )
}
