//! Running a thread to a recorded execution point (ARCHITECTURE.md "Ticks",
//! software tick source): the first instant after its previous event where
//! its state equals the recorded fingerprint. Where the instruction there
//! can be moved, a trampoline filters passes inside the tracee; otherwise a
//! hardware breakpoint stops every pass.

use std::time::Duration;

use trace_format::{ExecutionPoint, Fingerprint, Registers};
use tracee::{debugregs, fingerprint, syscallbuf_abi, RemoteAddr, Resume, Stop};

use crate::debug::DebugLink;
use crate::error::ReplayError;
use crate::task::{CpuLimit, ReplayTask};
use crate::trampoline::Trampoline;
use crate::verify;

/// Stops before the replay gives up; a replay that never matches has
/// diverged.
const MAX_STOPS: u64 = 10_000_000;
/// Stops between two looks at the thread's CPU time.
const CPU_CHECK_STOPS: u64 = 256;

/// The debug register the replay's own breakpoints use; a debugger gets
/// the other three.
pub(crate) const REPLAY_SLOT: usize = 3;

/// The point's fingerprint (`missing` says why one without it cannot be
/// reached), and whether the thread stands at the point already.
fn arrival<'a>(
    task: &mut ReplayTask,
    number: u64,
    point: &'a ExecutionPoint,
    missing: &str,
) -> Result<(&'a Fingerprint, bool), ReplayError> {
    let Some(want) = &point.fingerprint else {
        return Err(ReplayError::BadTrace {
            event: number,
            reason: missing.into(),
        });
    };
    if task.at_emulated_entry {
        task.leave_emulated_entry(number)?;
    }
    let regs = task.task.regs()?;
    Ok((
        want,
        fingerprint::matches(&task.task, &regs, &point.regs, want),
    ))
}

pub fn run_to(
    task: &mut ReplayTask,
    number: u64,
    point: &ExecutionPoint,
) -> Result<(), ReplayError> {
    let missing = "this execution point needs a hardware tick counter";
    let (want, there) = arrival(task, number, point, missing)?;
    if there {
        return Ok(());
    }
    if let Some(debugger) = task.debug.clone() {
        return run_to_debugged(task, number, point, want, &debugger);
    }
    task.cpu_limit = Some(CpuLimit::for_recorded(Duration::from_nanos(
        want.user_time_ns,
    )));
    let outcome = run_to_undebugged(task, number, point, want);
    task.cpu_limit = None;
    outcome
}

fn run_to_undebugged(
    task: &mut ReplayTask,
    number: u64,
    point: &ExecutionPoint,
    want: &Fingerprint,
) -> Result<(), ReplayError> {
    if first_pass(task, number, point, want)? {
        return Ok(());
    }
    match Trampoline::install(&task.task, &point.regs, &want.memory)? {
        Some(trampoline) => {
            let outcome = run_through_trampoline(task, number, point, want, &trampoline);
            // A replay that went past the point has diverged; that is the
            // error to report, not a failure to clean up after it.
            let removed = trampoline.remove(&task.task);
            outcome.and(removed)?;
            trap_like_the_recording(task, number, point)
        }
        None => run_with_breakpoint(task, number, point, want),
    }
}

/// The recording reached the point with a debug-register trap, and the
/// kernel keeps the last trap's number: a signal delivered here writes it
/// into the handler's frame (and the handler may read it). The
/// trampoline's int3 would leave another; trap the same way once more,
/// where the thread stands.
fn trap_like_the_recording(
    task: &mut ReplayTask,
    number: u64,
    point: &ExecutionPoint,
) -> Result<(), ReplayError> {
    let regs = pass_by_breakpoint(task, number, point)?;
    // The thread stood at the point, so the breakpoint fires before it
    // runs anything: every register is still the recorded one.
    if !fingerprint::same_registers(&regs, &point.regs) {
        return Err(not_recurring(number, task.recorded_tid, &point.regs));
    }
    Ok(())
}

/// Runs the thread to its first pass through the point's address, with a
/// single stop; returns whether that pass is the recorded instant. The
/// registers there, against the recorded ones, show which one the loop
/// changes: the trampoline's quick check.
fn first_pass(
    task: &mut ReplayTask,
    number: u64,
    point: &ExecutionPoint,
    want: &Fingerprint,
) -> Result<bool, ReplayError> {
    let regs = pass_by_breakpoint(task, number, point)?;
    Ok(fingerprint::matches(&task.task, &regs, &point.regs, want))
}

/// Runs the thread to its next pass through the point's address, stopped
/// by a debug register; returns its registers there.
fn pass_by_breakpoint(
    task: &mut ReplayTask,
    number: u64,
    point: &ExecutionPoint,
) -> Result<Registers, ReplayError> {
    debugregs::set_exec_breakpoint(task.tid(), REPLAY_SLOT, point.regs.rip)?;
    let outcome = task.resume(number, Resume::Sysemu, Some(libc::SIGTRAP));
    debugregs::clear_slot(task.tid(), REPLAY_SLOT)?;
    let stop = outcome?;
    if stop != Stop::Signal(libc::SIGTRAP) {
        return Err(never_reached(task, number, point.regs.rip, stop));
    }
    // The breakpoint is gone; its RF has nothing left to do.
    let mut regs = task.task.regs()?;
    regs.eflags &= !fingerprint::RESUME_FLAG;
    task.task.set_regs(&regs)?;
    Ok(regs)
}

/// Under gdb, a trampoline would move an instruction gdb may step through
/// or set a breakpoint on, and gdb would read its jump: it is used only
/// while nothing of gdb's can meet it (no breakpoint near it, no
/// watchpoint, no step of this thread), and taken out before gdb is shown
/// any stop. Otherwise every pass stops instead.
fn run_to_debugged(
    task: &mut ReplayTask,
    number: u64,
    point: &ExecutionPoint,
    want: &Fingerprint,
    debugger: &DebugLink,
) -> Result<(), ReplayError> {
    if first_pass(task, number, point, want)? {
        return Ok(());
    }
    loop {
        if !debugger
            .borrow()
            .trampoline_allowed(task.thread_id(), point.regs.rip)
        {
            return run_with_breakpoint(task, number, point, want);
        }
        let Some(trampoline) = Trampoline::install(&task.task, &point.regs, &want.memory)? else {
            return run_with_breakpoint(task, number, point, want);
        };
        debugger.borrow_mut().trampoline_running = true;
        let outcome = run_through_trampoline(task, number, point, want, &trampoline);
        debugger.borrow_mut().trampoline_running = false;
        let left = match outcome {
            Err(ReplayError::Interrupted) => trampoline.leave(&task.task),
            _ => Ok(()),
        };
        // The trampoline goes whatever happened, or the program's code
        // keeps its jump.
        let removed = trampoline.remove(&task.task);
        left?;
        match outcome {
            Err(ReplayError::Interrupted) => {
                removed?;
                // `stop_for_gdb` kept the stop it unwound for.
                let mut debugger = debugger.borrow_mut();
                if let Some(reason) = debugger.take_deferred_stop() {
                    debugger.park(reason)?;
                }
            }
            Ok(()) => {
                removed?;
                return trap_like_the_recording(task, number, point);
            }
            other => return other.and(removed),
        }
    }
}

fn never_reached(task: &ReplayTask, number: u64, rip: u64, stop: Stop) -> ReplayError {
    let at = match (stop, task.task.regs()) {
        (Stop::Syscall, Ok(regs)) => format!(
            " (syscall {} at rip {:#x})",
            tracee::syscalls::name(regs.orig_rax),
            regs.rip
        ),
        _ => String::new(),
    };
    verify::diverged(
        number,
        task.recorded_tid,
        "preemption point",
        format!("the thread stopped with {stop:?}{at} before reaching rip {rip:#x}"),
    )
}

fn run_through_trampoline(
    task: &mut ReplayTask,
    number: u64,
    point: &ExecutionPoint,
    want: &Fingerprint,
    trampoline: &Trampoline,
) -> Result<(), ReplayError> {
    for (slot, offset) in trampoline.interior.iter().enumerate() {
        debugregs::set_exec_breakpoint(task.tid(), slot, trampoline.point + offset)?;
    }
    let outcome = run_trampolined(task, number, point, want, trampoline);
    for slot in 0..trampoline.interior.len() {
        debugregs::clear_slot(task.tid(), slot)?;
    }
    outcome
}

fn run_trampolined(
    task: &mut ReplayTask,
    number: u64,
    point: &ExecutionPoint,
    want: &Fingerprint,
    trampoline: &Trampoline,
) -> Result<(), ReplayError> {
    let tid = task.recorded_tid;
    for stops in 0..MAX_STOPS {
        if stops % CPU_CHECK_STOPS == CPU_CHECK_STOPS - 1 {
            task.check_cpu_limit(number)?;
        }
        let stop = task.resume(number, Resume::Sysemu, Some(libc::SIGTRAP))?;
        let mut regs = task.task.regs()?;
        let interior = trampoline
            .interior
            .iter()
            .find(|&&offset| regs.rip == trampoline.point + offset);
        if let (Stop::Signal(libc::SIGTRAP), Some(offset)) = (stop, interior) {
            // A branch into the middle of the covered instructions: on
            // in their copy.
            regs.rip = trampoline.displaced + offset;
            task.task.set_regs(&regs)?;
            continue;
        }
        if stop != Stop::Signal(libc::SIGTRAP) || regs.rip != trampoline.trap_return {
            return Err(never_reached(task, number, point.regs.rip, stop));
        }
        // All general registers matched; the trampoline restored the stack
        // pointer and flags before trapping.
        regs.rip = point.regs.rip;
        if trampoline.flags_dead {
            regs.eflags = (regs.eflags & !fingerprint::STATUS_FLAGS)
                | (point.regs.eflags & fingerprint::STATUS_FLAGS);
        }
        if fingerprint::matches(&task.task, &regs, &point.regs, want) {
            task.task.set_regs(&regs)?;
            return Ok(());
        }
        regs.rip = trampoline.displaced;
        task.task.set_regs(&regs)?;
    }
    Err(not_recurring(number, tid, &point.regs))
}

/// Runs the thread to a point at the preload library's untraced entry (a
/// `Desched` event), which it passes once per buffered call since its last
/// event. The replay entry traps at the pass whose record address (r12)
/// `REPLAY_STOP_AT` names, where the call blocked in the recording: record
/// addresses grow between two flushes, and flushes happen only at events,
/// so that pass is the one. Every other pass runs on without a stop.
pub fn run_to_entry_call(
    task: &mut ReplayTask,
    number: u64,
    point: &ExecutionPoint,
) -> Result<(), ReplayError> {
    let (want, there) = arrival(task, number, point, "a desched point without a fingerprint")?;
    if there {
        return Ok(());
    }
    if point.regs.rip != syscallbuf_abi::UNTRACED_SYSCALL || point.regs.r12 == 0 {
        return Err(ReplayError::BadTrace {
            event: number,
            reason: format!(
                "a desched point at rip {:#x}, record {:#x}: not a call of the untraced entry",
                point.regs.rip, point.regs.r12
            ),
        });
    }
    let stop_at = RemoteAddr(syscallbuf_abi::REPLAY_STOP_AT);
    task.task
        .write_bytes(stop_at, &point.regs.r12.to_le_bytes())?;
    let outcome = (|| {
        let stop = task.resume(number, Resume::Sysemu, Some(libc::SIGTRAP))?;
        let mut regs = task.task.regs()?;
        if stop != Stop::Signal(libc::SIGTRAP) || regs.rip != syscallbuf_abi::REPLAY_TRAPPED {
            return Err(never_reached(task, number, point.regs.rip, stop));
        }
        // The entry's comparison set the flags; the recording's thread had
        // run none of it.
        regs.rip = point.regs.rip;
        regs.eflags = point.regs.eflags;
        if !fingerprint::matches(&task.task, &regs, &point.regs, want) {
            return Err(not_recurring(number, task.recorded_tid, &point.regs));
        }
        Ok(task.task.set_regs(&regs)?)
    })();
    let cleared = task.task.write_bytes(stop_at, &0u64.to_le_bytes());
    outcome.and(cleared.map_err(ReplayError::from))
}

fn run_with_breakpoint(
    task: &mut ReplayTask,
    number: u64,
    point: &ExecutionPoint,
    want: &Fingerprint,
) -> Result<(), ReplayError> {
    let tid = task.recorded_tid;
    debugregs::set_exec_breakpoint(task.tid(), REPLAY_SLOT, point.regs.rip)?;
    let outcome = (|| {
        for stops in 0..MAX_STOPS {
            if stops % CPU_CHECK_STOPS == CPU_CHECK_STOPS - 1 {
                task.check_cpu_limit(number)?;
            }
            let stop = task.resume(number, Resume::Sysemu, Some(libc::SIGTRAP))?;
            if stop != Stop::Signal(libc::SIGTRAP) {
                return Err(never_reached(task, number, point.regs.rip, stop));
            }
            let regs = task.task.regs()?;
            if fingerprint::matches(&task.task, &regs, &point.regs, want) {
                return Ok(());
            }
        }
        Err(not_recurring(number, tid, &point.regs))
    })();
    debugregs::clear_slot(task.tid(), REPLAY_SLOT)?;
    if outcome.is_ok() {
        // As the recording left it: without the RF the breakpoint set.
        let mut regs = task.task.regs()?;
        regs.eflags &= !fingerprint::RESUME_FLAG;
        task.task.set_regs(&regs)?;
    }
    outcome
}

fn not_recurring(number: u64, tid: i32, regs: &Registers) -> ReplayError {
    verify::diverged(
        number,
        tid,
        "preemption point",
        format!("the recorded state at rip {:#x} never recurred", regs.rip),
    )
}
