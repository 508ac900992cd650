//! Signals and other stops in user code: trapped rdtsc, signal delivery,
//! and preemption at an execution point.
//!
//! A signal is delivered where replay can find the same instant without a
//! tick counter: at a syscall boundary (the kernel delivers signals on the
//! way back from a syscall, which is where most asynchronous signals land),
//! for a fault at the faulting instruction, and for a signal that arrives
//! while the thread runs user code at an execution point a few
//! instructions on (point.rs), found in replay like a preemption.

use trace_format::{Event, ExecutionPoint, RdtscEvent, SignalDisposition, SignalEvent};
use tracee::signals::{self, Disposition};
use tracee::{x86, PtraceEvent, RemoteAddr, Resume, Stop, Tid};

use crate::error::RecordError;
use crate::point::Settled;
use crate::session::{internal, Session};
use crate::task::{DeferredSignal, TaskState};

/// si_code values at or below zero come from a process (kill, tgkill,
/// sigqueue), above zero from the kernel.
fn from_kernel(siginfo: &[u8; 128]) -> bool {
    i32::from_le_bytes([siginfo[8], siginfo[9], siginfo[10], siginfo[11]]) > 0
}

/// Signals an instruction raises by itself. Not SIGSYS: a seccomp filter
/// raises it at the end of a syscall the replay emulates (without the
/// filter), so the replay sends it there as it does asynchronous ones.
fn is_fault(signo: i32) -> bool {
    matches!(
        signo,
        libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE | libc::SIGTRAP
    )
}

impl Session {
    /// Whether a signal about to be delivered to `tid` acts: runs a
    /// handler, kills the process or stops it (rather than being ignored).
    pub(crate) fn signal_will_run(&mut self, tid: Tid, signo: i32) -> Result<bool, RecordError> {
        let tgid = self.task(tid)?.tgid;
        Ok(match signals::disposition(tgid, signo)? {
            Disposition::Caught => true,
            Disposition::Ignored => false,
            Disposition::Default => !signals::default_is_ignore(signo),
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
        let redelivered = match record.take_resent(signo) {
            Some(deferred) => {
                siginfo = deferred.siginfo;
                signals::set_siginfo(tid, &siginfo)?;
                true
            }
            None => false,
        };
        let synchronous = !redelivered && is_fault(signo) && from_kernel(&siginfo);
        let disposition = signals::disposition(record.tgid, signo)?;
        let ignored = match disposition {
            Disposition::Ignored => true,
            Disposition::Default => signals::default_is_ignore(signo),
            Disposition::Caught => false,
        };
        if ignored && !synchronous {
            // Delivering it would change nothing; neither does dropping it.
            return self.resume_as_before(tid);
        }
        if !synchronous
            && self.task(tid)?.state == TaskState::Running
            && self.desched_if_blocked(tid)?
        {
            // It cut short a call through the buffer that blocked: the
            // call is made again traced, and the signal goes in at its
            // boundary, sent again while it sleeps, as for any traced call.
            let signal = DeferredSignal { signo, siginfo };
            self.task(tid)?.deferred.push(signal);
            return self.keep_running(tid);
        }
        if !synchronous && !at_boundary {
            return self.deliver_in_user_code(tid, DeferredSignal { signo, siginfo });
        }
        let point = None;
        self.deliver(tid, signo, siginfo, regs, point, disposition)
    }

    fn deliver(
        &mut self,
        tid: Tid,
        signo: i32,
        siginfo: [u8; 128],
        regs: trace_format::Registers,
        point: Option<ExecutionPoint>,
        disposition: Disposition,
    ) -> Result<(), RecordError> {
        let synchronous = point.is_none() && is_fault(signo) && from_kernel(&siginfo);
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
            if record.interrupted.len() == crate::task::MAX_INTERRUPTED {
                record.interrupted.remove(0);
            }
            record.interrupted.push(regs.rip);
            SignalDisposition::Handler {
                frame: Vec::new(),
                regs: Box::new(record.task.regs()?),
            }
        } else if signals::default_is_stop(signo) {
            SignalDisposition::Stopped
        } else {
            SignalDisposition::Fatal {
                core_dumped: core_dumping(signo),
            }
        };
        let fatal = matches!(outcome, SignalDisposition::Fatal { .. });
        let stops = outcome == SignalDisposition::Stopped;
        self.emit(
            tid,
            Event::Signal(SignalEvent {
                signo,
                siginfo: siginfo.to_vec(),
                regs,
                synchronous,
                point,
                disposition: outcome,
            }),
        )?;
        let record = self.task(tid)?;
        if fatal {
            record.task.resume(Resume::Continue, signo)?;
            record.state = TaskState::Exiting;
            return Ok(());
        }
        if stops {
            // Into the kernel, which stops the whole process (its threads
            // report their part in the group stop one by one), or, for
            // SIGTSTP and kin in an orphaned process group, discards it.
            record.resume_signal = signo;
            let tgid = record.tgid;
            self.stopping.insert(tgid);
            return self.keep_running(tid);
        }
        record.state = TaskState::Stopped;
        Ok(())
    }

    /// At a syscall exit: sends the first held-back signal again, so that
    /// it is delivered right at this boundary.
    pub(crate) fn redeliver_deferred(&mut self, tid: Tid) -> Result<(), RecordError> {
        let record = self.task(tid)?;
        if !record.redelivering.is_empty() || record.deferred.is_empty() {
            return Ok(());
        }
        // Blocked since (the syscall was rt_sigprocmask, say): sent now it
        // would wait pending, or be taken by sigtimedwait without its
        // siginfo. It waits here until the thread unblocks it.
        if signals::blocked(tid, record.deferred[0].signo)? {
            return Ok(());
        }
        let deferred = record.deferred.remove(0);
        Ok(record.resend(deferred)?)
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
            [0x0f, 0x31, _] => (tracee::clock::read_tsc(), None),
            [0x0f, 0x01, 0xf9] => {
                let (tsc, aux) = tracee::clock::read_tscp();
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
        match step_to_patchable(&self.task(tid)?.task)? {
            Stepped::Patchable => {}
            // Try again at the end of a later slice.
            Stepped::StopsByItself | Stepped::GaveUp => return self.keep_running(tid),
            Stepped::Stopped(stop) => return self.dispatch(tid, stop),
        }
        match self.settle(tid)? {
            Settled::At(point) => {
                self.task(tid)?.state = TaskState::Stopped;
                self.scheduler.slice_ended(tid, counted);
                self.emit(tid, Event::Preemption(*point))
            }
            Settled::Elsewhere(stop) => {
                if matches!(stop, Stop::Event(PtraceEvent::Stop, _)) {
                    // The thread never came back to the point in time:
                    // preempt it wherever it is now.
                    self.task(tid)?.interrupt_requested = true;
                }
                // Handled by the main loop, not from in here: a thread
                // that keeps missing its point must not deepen the stack.
                self.requeue(tid, stop);
                Ok(())
            }
        }
    }

    /// An asynchronous signal that came while the thread ran user code: it
    /// is held, the thread moves on (by single steps) to an execution point
    /// replay can find, and the signal is delivered there. Signals that
    /// come meanwhile are held with it.
    fn deliver_in_user_code(&mut self, tid: Tid, first: DeferredSignal) -> Result<(), RecordError> {
        let mut held = vec![first];
        for _ in 0..MAX_ATTEMPTS {
            match self.reach_point(tid)? {
                Reached::At(point) => return self.deliver_held(tid, held, *point),
                Reached::Boundary => {
                    // A syscall (or trap) is next: the signals go in at its
                    // boundary instead.
                    self.task(tid)?.deferred.extend(held);
                    return self.resume_as_before(tid);
                }
                Reached::Elsewhere(Stop::Signal(signo)) => {
                    let record = self.task(tid)?;
                    // One of ours, sent again: it keeps its own siginfo.
                    let siginfo = match record.take_resent(signo) {
                        Some(signal) => signal.siginfo,
                        None => record.task.siginfo()?,
                    };
                    let asynchronous = !(is_fault(signo) && from_kernel(&siginfo));
                    if !asynchronous {
                        return self.retry_signals(tid, held, Stop::Signal(signo));
                    }
                    let merged = signo < libc::SIGRTMIN() && held.iter().any(|h| h.signo == signo);
                    if self.signal_will_run(tid, signo)? && !merged {
                        held.push(DeferredSignal { signo, siginfo });
                    }
                }
                Reached::Elsewhere(stop) => return self.retry_signals(tid, held, stop),
            }
        }
        // Signals keep coming: send them again and let the thread run; the
        // next one to stop it starts over.
        let record = self.task(tid)?;
        for signal in held {
            record.resend(signal)?;
        }
        self.resume_as_before(tid)
    }

    /// Single steps to an instruction replay can patch, then settles there.
    fn reach_point(&mut self, tid: Tid) -> Result<Reached, RecordError> {
        match step_to_patchable(&self.task(tid)?.task)? {
            Stepped::Patchable => {}
            // Delivered at the next syscall boundary instead.
            Stepped::StopsByItself | Stepped::GaveUp => return Ok(Reached::Boundary),
            Stepped::Stopped(stop) => return Ok(Reached::Elsewhere(stop)),
        }
        Ok(match self.settle(tid)? {
            Settled::At(point) => Reached::At(point),
            Settled::Elsewhere(stop) => Reached::Elsewhere(stop),
        })
    }

    /// Delivers the first held signal at `point`; the others follow at
    /// once, each at the next point the thread reaches.
    fn deliver_held(
        &mut self,
        tid: Tid,
        mut held: Vec<DeferredSignal>,
        point: ExecutionPoint,
    ) -> Result<(), RecordError> {
        let first = held.remove(0);
        signals::set_siginfo(tid, &first.siginfo)?;
        let tgid = self.task(tid)?.tgid;
        let disposition = signals::disposition(tgid, first.signo)?;
        let regs = point.regs;
        self.deliver(
            tid,
            first.signo,
            first.siginfo,
            regs,
            Some(point),
            disposition,
        )?;
        if !held.is_empty() {
            // Sent only now: pending while the thread entered the first
            // handler, they would have stopped that step.
            let record = self.task(tid)?;
            for other in held {
                record.resend(other)?;
            }
        }
        Ok(())
    }

    /// The thread stopped for something else before the held signals went
    /// in: they are sent again (the first keeping its siginfo), and the
    /// stop is handled next by the main loop.
    fn retry_signals(
        &mut self,
        tid: Tid,
        held: Vec<DeferredSignal>,
        stop: Stop,
    ) -> Result<(), RecordError> {
        let record = self.task(tid)?;
        for signal in held {
            record.resend(signal)?;
        }
        self.requeue(tid, stop);
        Ok(())
    }
}

/// Single steps a preemption may take to reach a patchable instruction.
const MAX_STEPS: usize = 64;

/// Where `step_to_patchable` left the thread.
enum Stepped {
    /// Before instructions a trampoline can replace.
    Patchable,
    /// Before one the recorder must see run (a syscall): no step past it.
    StopsByItself,
    /// No patchable place within `MAX_STEPS`.
    GaveUp,
    Stopped(Stop),
}

/// Single steps the thread to instructions replay can patch with a jump:
/// one of 5 bytes or more, or consecutive ones spanning 5 that start where
/// a branch landed and that no branch seen on the way lands inside (the
/// jump would overwrite that instruction's start).
fn step_to_patchable(task: &tracee::Task) -> Result<Stepped, RecordError> {
    let mut branch_targets: Vec<u64> = Vec::new();
    // A span is the second choice: replay keeps debug registers on its
    // inner instructions, which slows the program down (several times, on
    // this VM). One is taken only when the loop comes back to it without
    // offering a single long instruction.
    let mut span_start = None;
    for _ in 0..MAX_STEPS {
        let regs = task.regs()?;
        if restart_pending(&regs) {
            return Ok(Stepped::StopsByItself);
        }
        let rip = regs.rip;
        let mut bytes = [0u8; 32];
        let got = task.read_partial(RemoteAddr(rip), &mut bytes);
        let bytes = &bytes[..got];
        if let Some(span) = x86::patchable_span(bytes) {
            let end = rip + x86::span_len(&span) as u64;
            // Several instructions only from where a branch landed (a
            // loop's head): a basic block, which no branch enters midway.
            let single = span.len() == 1;
            let block_start = branch_targets.contains(&rip);
            let entered_midway = branch_targets.iter().any(|&t| t > rip && t < end);
            if single && !entered_midway {
                return Ok(Stepped::Patchable);
            }
            if block_start && !entered_midway {
                if span_start == Some(rip) {
                    return Ok(Stepped::Patchable);
                }
                span_start.get_or_insert(rip);
            }
        }
        if let Some(len) = run_whole(bytes) {
            // A step would stop a rep-prefixed copy midway, or push the
            // trap flag: run it to its end under a breakpoint instead.
            let after = rip + len as u64;
            tracee::debugregs::set_exec_breakpoint(task.tid, 0, after)?;
            let stop = task.step(Resume::Syscall, 0);
            tracee::debugregs::clear_slot(task.tid, 0)?;
            let stop = stop?;
            if stop != Stop::Signal(libc::SIGTRAP) || task.regs()?.rip != after {
                return Ok(Stepped::Stopped(stop));
            }
            continue;
        }
        if stops_by_itself(bytes) {
            return Ok(Stepped::StopsByItself);
        }
        let next = rip + x86::decode(bytes).map_or(0, |i| i.len as u64);
        let stop = task.step(Resume::SingleStep, 0)?;
        if stop != Stop::Signal(libc::SIGTRAP) {
            return Ok(Stepped::Stopped(stop));
        }
        let landed = task.regs()?.rip;
        if landed != next {
            branch_targets.push(landed);
        }
    }
    Ok(Stepped::GaveUp)
}
/// The length of an instruction to run whole rather than single-step: a
/// rep-prefixed string instruction or pushf.
fn run_whole(bytes: &[u8]) -> Option<usize> {
    let (prefixes, rep) = legacy_prefixes(bytes);
    match bytes.get(prefixes)? {
        0xa4..=0xa7 | 0xaa..=0xaf if rep => Some(prefixes + 1),
        0x9c => Some(prefixes + 1),
        _ => None,
    }
}

/// How many prefix bytes (legacy prefixes and REX) start `bytes`, and
/// whether a REP/REPNE is among them.
fn legacy_prefixes(bytes: &[u8]) -> (usize, bool) {
    let count = bytes
        .iter()
        .take_while(|&&b| {
            matches!(
                b,
                0x66 | 0xf2 | 0xf3 | 0x2e | 0x3e | 0x26 | 0x36 | 0x64 | 0x65 | 0x40..=0x4f
            )
        })
        .count();
    let rep = bytes[..count].iter().any(|&b| matches!(b, 0xf2 | 0xf3));
    (count, rep)
}

/// Tries to reach an execution point while other signals keep coming.
const MAX_ATTEMPTS: usize = 16;

/// Where `reach_point` got the thread.
enum Reached {
    At(Box<ExecutionPoint>),
    /// Before an instruction that stops by itself (a syscall).
    Boundary,
    Elsewhere(Stop),
}

/// Whether the thread stands after a syscall that was interrupted and
/// that the kernel restarts as the thread resumes: a single step would run
/// the restarted syscall unseen.
pub(crate) fn restart_pending(regs: &trace_format::Registers) -> bool {
    regs.orig_rax != u64::MAX && crate::handlers::RESTART_CODES.contains(&(regs.rax as i64))
}

/// Instructions that must not be single-stepped: those whose execution
/// the recorder must see as a stop of its own (syscall, rdtsc, rdtscp,
/// int3, int n, ud2), which a step would run unseen; pushf, which would
/// push the trap flag the step sets into the program's memory; and
/// rep-prefixed string instructions, which a step (or an interrupt) stops
/// between iterations, at a state no breakpoint in replay can find.
pub(crate) fn stops_by_itself(bytes: &[u8]) -> bool {
    let (at, rep) = legacy_prefixes(bytes);
    let rest = &bytes[at..];
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
