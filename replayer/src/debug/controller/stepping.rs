//! Running a replayed thread with gdb's breakpoints, steps and watchpoints
//! in force, and telling the debugger's traps from the replay's own.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tracee::clock::Moment;

use gdb_remote::agent::{self, AgentContext};
use gdb_remote::{StopReason, ThreadId};
use tracee::{
    debugregs, extended_state, thread_state, PtraceEvent, RemoteAddr, Resume, Stop,
    SyscallStopKind, Task,
};

use super::{Debugger, Outcome};
use crate::debug::breakpoints::HardwareSlot;
use crate::debug::plan::{Plan, Seen};
use crate::debug::position::Trigger;
use crate::debug::registers;
use crate::error::ReplayError;
use crate::point::REPLAY_SLOT;

/// How often a thread running user code is checked for a Ctrl-C.
const INTERRUPT_PERIOD: Duration = Duration::from_millis(50);
/// si_code of a SIGTRAP raised by int3.
const SI_KERNEL: i32 = 0x80;
const SYSCALL_INSTRUCTION: [u8; 2] = [0x0f, 0x05];

impl Debugger {
    /// One resume of `thread` as the replay asked (`how`, `signal`), with
    /// the debugger's breakpoints, steps and watchpoints in force; `first`
    /// is the first of a resume of the replay's (`ReplayTask::resume`).
    pub fn resume_once(
        &mut self,
        thread: ThreadId,
        task: &Task,
        how: Resume,
        signal: i32,
        first: bool,
    ) -> Result<Outcome, ReplayError> {
        let debugged = thread.pid == self.debugged;
        // After a copy inside the event, the event goes on: this resume
        // is not its first.
        let first = first && !std::mem::take(&mut self.continuing);
        self.recount_if_pending(thread)?;
        if debugged && first {
            // A step that ended in a stop the replay handled (a syscall, a
            // signal handler's start) ends where the thread runs next.
            let step_ended = self.step_done == Some(thread);
            self.step_done = None;
            let reason = step_ended.then_some(StopReason::Signal {
                thread,
                signo: libc::SIGTRAP,
            });
            self.stop_for_gdb(&[Trigger::Resumed { thread }], reason)?;
            if step_ended {
                return Ok(Outcome::NotRun);
            }
        }
        self.give_up_if_interrupted()?;
        if self.interrupt_requested() && !self.following() {
            if let Some(reason) = self.interrupted(thread) {
                self.stop_unnamed(reason)?;
                return Ok(Outcome::NotRun);
            }
        }
        let stepping = debugged && self.step == Some(thread);
        let rip = if stepping || self.table.has_software() {
            task.regs()?.rip
        } else {
            0
        };
        let at_breakpoint = self.table.software_at(rip) && byte_at(task, rip) == Some(0xcc);
        let signal_due = self.signal_due == Some(thread);
        if at_breakpoint && debugged && self.shown_at != Some((thread, rip)) && !signal_due {
            // The thread stands on a breakpoint without having hit it:
            // the replay's own debug-register trap (an execution point at
            // that very address) stopped it first. It hits it now (but
            // after a signal that is delivered right here).
            let reason = self.software_stop(thread, task, rip);
            self.stop_for_gdb(&[Trigger::Arrival { thread, pc: rip }], reason)?;
            return Ok(Outcome::NotRun);
        }
        // Shown to gdb there already: its instruction is run past the int3.
        let over_breakpoint = at_breakpoint;
        // Only debug exceptions write the debug status (an int3 or a step
        // reported at a syscall's exit does not): cleared here, what it
        // says after the stop is about this stop.
        debugregs::clear_status(task.tid)?;
        if stepping || over_breakpoint {
            return self.step_one(thread, task, how, signal, rip, stepping, over_breakpoint);
        }
        let interrupt = Arc::clone(&self.interrupt);
        let following = self.following();
        let watched = !following || !self.giving_up;
        let sample_at = self.sample_at(thread);
        let stop = task.step_interruptible(how, signal, &self.waiter, INTERRUPT_PERIOD, &|| {
            (watched && interrupt.load(Ordering::SeqCst))
                || sample_at.is_some_and(|at| Moment::now() >= at)
        })?;
        self.ran(thread);
        let outcome = self.classify(thread, task, stop, debugged, following, watched);
        if let Ok(Outcome::Stop(stop)) = &outcome {
            // The replay looks at the thread now (a fault, a syscall, an
            // execution point): it must stand in the program's own code.
            let at_entry =
                *stop == Stop::Syscall && task.syscall_stop_kind()? == SyscallStopKind::Entry;
            if at_entry && self.counter_active() {
                // Taking the counter out runs a munmap, which cannot
                // start at a syscall's entry: the thread leaves it and
                // enters it again. What it counted is named first, with
                // the thread where it stands.
                self.end_counting()?;
                self.name_counted_so_far()?;
                let entry = thread_state::leave_entry(task)?;
                self.drop_counter()?;
                thread_state::enter_again_as(task, &entry, how)?;
            } else {
                self.counter_out()?;
            }
        }
        outcome
    }

    /// What a stop of a thread resumed freely is.
    fn classify(
        &mut self,
        thread: ThreadId,
        task: &Task,
        stop: Stop,
        debugged: bool,
        following: bool,
        watched: bool,
    ) -> Result<Outcome, ReplayError> {
        match stop {
            Stop::Event(PtraceEvent::Stop, _)
                if following && watched && self.interrupt.load(Ordering::SeqCst) =>
            {
                self.give_up_if_interrupted()?;
                Ok(Outcome::Consumed)
            }
            Stop::Event(PtraceEvent::Stop, _) if !following && self.interrupt_requested() => {
                if let Some(reason) = self.interrupted(thread) {
                    self.stop_unnamed(reason)?;
                }
                Ok(Outcome::Consumed)
            }
            Stop::Event(PtraceEvent::Stop, _)
                if self.sample_at(thread).is_some_and(|at| Moment::now() >= at) =>
            {
                self.learn_hot(thread, task);
                Ok(Outcome::Consumed)
            }
            Stop::Signal(libc::SIGTRAP) => self.classify_trap(thread, task, stop, debugged),
            other => Ok(Outcome::Stop(other)),
        }
    }

    /// `thread` ran since gdb saw it stopped: a breakpoint it stands on
    /// now is one it has not hit yet.
    fn ran(&mut self, thread: ThreadId) {
        if self.shown_at.is_some_and(|(shown, _)| shown == thread) {
            self.shown_at = None;
        }
    }

    /// gdb's Ctrl-C during a move back (a scan, travel or step back that
    /// takes long): the move is given up, and the replay goes back to the
    /// stop gdb saw before it, shown as stopped by the interrupt. A move
    /// cannot stop halfway: the instant it stands at has no name.
    pub(crate) fn give_up_if_interrupted(&mut self) -> Result<(), ReplayError> {
        if !self.following() || self.giving_up || !self.interrupt.load(Ordering::SeqCst) {
            return Ok(());
        }
        let Some(shown) = self.shown.clone() else {
            return Ok(());
        };
        let Some(thread) = shown.reason.thread() else {
            return Ok(());
        };
        self.interrupt.store(false, Ordering::SeqCst);
        self.giving_up = true;
        let (position, thread, message) = match self.scanned_back_to() {
            // A scan that found no hit after an earlier copy went back
            // that far: it stops there, in the process's first thread
            // (alive already), as an interrupted reverse-continue stops in
            // the past.
            Some(earlier) if earlier != shown.position => (
                earlier,
                ThreadId {
                    pid: thread.pid,
                    tid: thread.pid,
                },
                "rewind: reverse execution interrupted; no stop gdb asked for lies between \
                 here and where it began.\n",
            ),
            _ => (
                shown.position,
                thread,
                "rewind: the move was interrupted; back where it began.\n",
            ),
        };
        self.message = Some(message.into());
        Err(self.travel(Plan::Travel(Seen {
            position,
            reason: StopReason::Interrupted { thread },
        })))
    }

    /// Whether gdb's breakpoint (a hardware one if `hardware`) at `pc`
    /// stops the thread `task` stands there with: no condition, or one of
    /// gdb's agent expressions for it is true (or cannot be evaluated: gdb
    /// then sees the stop, rather than the replay miss one).
    pub(super) fn condition_holds(&self, task: &Task, hardware: bool, pc: u64) -> bool {
        let Some(conditions) = self.conditions.get(&(hardware, pc)) else {
            return true;
        };
        let (Ok(regs), Ok(extended)) = (task.regs(), extended_state::read(task.tid)) else {
            return true;
        };
        let mut stopped = Stopped {
            registers: registers::to_gdb(&regs, &extended),
            task,
        };
        conditions.iter().any(|code| {
            agent::evaluate(code, &mut stopped)
                .ok()
                .is_none_or(|value| value != 0)
        })
    }

    /// The stop gdb sees where `thread` arrives at an int3 at `pc`: one of
    /// gdb's breakpoints whose condition holds, or none (the replay's own).
    fn software_stop(&self, thread: ThreadId, task: &Task, pc: u64) -> Option<StopReason> {
        (self.table.gdb_software_at(pc) && self.condition_holds(task, false, pc)).then_some(
            StopReason::Breakpoint {
                thread,
                hardware: false,
            },
        )
    }

    /// Whether a debug register that triggered is a stop for gdb: one of
    /// gdb's, and its condition holds if it is an instruction breakpoint.
    fn gdb_slot_holds(&self, task: &Task, slot: HardwareSlot) -> bool {
        slot.gdb && (slot.watch.is_some() || self.condition_holds(task, true, slot.addr))
    }

    /// The stop a Ctrl-C shows gdb while `thread` runs: that thread, or
    /// one of the debugged process's if it belongs to another process.
    fn interrupted(&self, thread: ThreadId) -> Option<StopReason> {
        let shown = if thread.pid == self.debugged {
            Some(thread)
        } else {
            self.first_thread()
        };
        shown.map(|thread| StopReason::Interrupted { thread })
    }

    /// Executes one instruction: for gdb's step, or to get past an int3
    /// gdb left at the thread's pc.
    #[allow(clippy::too_many_arguments)]
    fn step_one(
        &mut self,
        thread: ThreadId,
        task: &Task,
        how: Resume,
        signal: i32,
        rip: u64,
        stepping: bool,
        over_breakpoint: bool,
    ) -> Result<Outcome, ReplayError> {
        // A step runs the program's own code, never a counter's copy
        // (taking the counter out may move the thread there).
        let (rip, over_breakpoint) = if stepping && self.counter_active() {
            self.counter_out()?;
            // The counter's jump hid an int3 there (gdb's, the counter
            // counting its hits): it is back in.
            let rip = task.regs()?.rip;
            let int3 = self.table.software_at(rip) && byte_at(task, rip) == Some(0xcc);
            (rip, over_breakpoint || int3)
        } else {
            (rip, over_breakpoint)
        };
        if over_breakpoint {
            self.table.disarm_software(task, rip)?;
        }
        let mut code = [0u8; 16];
        let got = task.read_partial(RemoteAddr(rip), &mut code);
        let at_syscall = code[..got].starts_with(&SYSCALL_INSTRUCTION);
        if stepping {
            self.before_step(thread, task, &code[..got], signal)?;
        }
        let stop = if at_syscall {
            // A syscall instruction is the replay's to run: the step ends
            // with the syscall, and gdb hears of it when the thread runs
            // again.
            task.step(how, signal)
        } else if how == Resume::Sysemu {
            // From the entry of a syscall the replay emulated, a plain
            // single step stops at that syscall's exit without running an
            // instruction; the SYSEMU variant runs one.
            task.step(Resume::SysemuSingleStep, signal)
        } else {
            task.step(Resume::SingleStep, signal)
        };
        if over_breakpoint {
            self.table.rearm_software(task, rip)?;
        }
        let stop = stop?;
        self.ran(thread);
        if matches!(stop, Stop::Signal(signo) if signo != libc::SIGTRAP) {
            // A signal came before the instruction ran: the replay takes it
            // (and gdb may see it); the step is still to do.
            return Ok(Outcome::Stop(stop));
        }
        if at_syscall || stop != Stop::Signal(libc::SIGTRAP) {
            if stepping {
                self.step = None;
                self.step_done = Some(thread);
            }
            return Ok(Outcome::Stop(stop));
        }
        let status = debugregs::status(task.tid)?;
        if status & (1 << REPLAY_SLOT) != 0 {
            // The replay's own breakpoint at this instruction fired before
            // it ran: the replay must see it; the step is still to do.
            return Ok(Outcome::Stop(stop));
        }
        let step = Trigger::Step { thread };
        let step_stop = StopReason::Signal {
            thread,
            signo: libc::SIGTRAP,
        };
        if let Some(slot) = self.table.triggered(status) {
            if thread.pid == self.debugged {
                // One instant: named by the step if there was one.
                let watch = slot_trigger(thread, slot);
                let holds = self.gdb_slot_holds(task, slot);
                if stepping {
                    self.step = None;
                    let reason = if holds {
                        slot_stop(thread, slot)
                    } else {
                        step_stop
                    };
                    self.stop_for_gdb(&[step, watch], Some(reason))?;
                } else {
                    let reason = holds.then(|| slot_stop(thread, slot));
                    self.stop_for_gdb(&[watch], reason)?;
                }
                return Ok(Outcome::Consumed);
            }
        }
        if stepping {
            self.step = None;
            self.stop_for_gdb(&[step], Some(step_stop))?;
        }
        Ok(Outcome::Consumed)
    }

    /// A SIGTRAP while running: gdb's breakpoint or watchpoint, or the
    /// replay's own.
    fn classify_trap(
        &mut self,
        thread: ThreadId,
        task: &Task,
        stop: Stop,
        debugged: bool,
    ) -> Result<Outcome, ReplayError> {
        if let Some(outcome) = self.counter_trap(thread, task)? {
            return Ok(outcome);
        }
        let status = debugregs::status(task.tid)?;
        if let Some(slot) = self.table.triggered(status) {
            if debugged {
                let reason = self
                    .gdb_slot_holds(task, slot)
                    .then(|| slot_stop(thread, slot));
                self.stop_for_gdb(&[slot_trigger(thread, slot)], reason)?;
            }
            if status & (1 << REPLAY_SLOT) != 0 {
                return Ok(Outcome::Stop(stop));
            }
            return Ok(Outcome::Consumed);
        }
        if status != 0 || !self.table.has_software() {
            return Ok(Outcome::Stop(stop));
        }
        let info = task.siginfo()?;
        let code = i32::from_le_bytes([info[8], info[9], info[10], info[11]]);
        let mut regs = task.regs()?;
        let at = regs.rip.wrapping_sub(1);
        if code != SI_KERNEL || !self.table.software_at(at) {
            return Ok(Outcome::Stop(stop));
        }
        regs.rip = at;
        task.set_regs(&regs)?;
        if debugged {
            let reason = self.software_stop(thread, task, at);
            self.stop_for_gdb(&[Trigger::Arrival { thread, pc: at }], reason)?;
            self.count_rest(thread, task, at)?;
        }
        Ok(Outcome::Consumed)
    }
}

/// What a condition reads: the stopped thread's registers and memory.
struct Stopped<'a> {
    registers: gdb_remote::X86Registers,
    task: &'a Task,
}

impl AgentContext for Stopped<'_> {
    fn registers(&self) -> &gdb_remote::X86Registers {
        &self.registers
    }

    fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> bool {
        self.task.read_bytes(RemoteAddr(addr), buf).is_ok()
    }
}

/// What a triggered debug register counts as.
fn slot_trigger(thread: ThreadId, slot: HardwareSlot) -> Trigger {
    match slot.watch {
        None => Trigger::Arrival {
            thread,
            pc: slot.addr,
        },
        Some(kind) => Trigger::Watch {
            thread,
            addr: slot.request.0,
            len: slot.request.1,
            kind,
        },
    }
}

/// The stop a triggered debug register means to gdb.
pub(super) fn slot_stop(thread: ThreadId, slot: HardwareSlot) -> StopReason {
    match slot.watch {
        None => StopReason::Breakpoint {
            thread,
            hardware: true,
        },
        Some(kind) => StopReason::Watchpoint {
            thread,
            kind,
            addr: slot.request.0,
        },
    }
}

fn byte_at(task: &Task, addr: u64) -> Option<u8> {
    let mut byte = [0u8];
    task.read_bytes(RemoteAddr(addr), &mut byte).ok()?;
    Some(byte[0])
}
