//! Copies of the replay (ARCHITECTURE.md "Copies of the replay"): a
//! session forked at an event boundary, its processes made by injected
//! `fork` calls, their further threads by injected `clone` calls, and its
//! bookkeeping copied. A copy starts where the original stands and
//! replays the same events the same way.

use std::collections::HashMap;

use trace_format::{Registers, TraceReader};
use tracee::thread_state::{self, ThreadState};
use tracee::{Task, Tid};

use crate::error::ReplayError;
use crate::session::ReplaySession;
use crate::task::ReplayTask;
use crate::unshare;
use crate::verify;

/// The kernel's "restart the interrupted syscall" results.
const RESTART_RESULTS: std::ops::RangeInclusive<i64> = -516..=-512;

impl ReplaySession {
    /// A copy of this session that replays on from the boundary where it
    /// stands, reading `reader`; None where a copy cannot be the same
    /// replay (see `copyable`). `fresh` sees each copied thread and its
    /// original, for memory the copy must not keep (gdb's int3s).
    pub(crate) fn fork_copy(
        &mut self,
        reader: TraceReader,
        fresh: &dyn Fn(&ReplayTask, &Task),
    ) -> Result<Option<ReplaySession>, ReplayError> {
        if !self.copyable()? {
            return Ok(None);
        }
        let mut by_process: HashMap<Tid, Vec<&mut ReplayTask>> = HashMap::new();
        for task in self.tasks.values_mut().filter(|t| !t.gone) {
            by_process
                .entry(task.recorded_process)
                .or_default()
                .push(task);
        }
        let mut processes: Vec<Vec<&mut ReplayTask>> = by_process.into_values().collect();
        processes.sort_by_key(|threads| threads.iter().map(|t| t.serial).min());
        let mut copied = Vec::new();
        let mut made = Ok(());
        for mut threads in processes {
            // The process's first thread forks; the copy of each other
            // thread is cloned by the copy of the first.
            threads.sort_by_key(|t| (t.recorded_tid != t.recorded_process, t.serial));
            match copy_process(&mut threads, fresh) {
                Ok(threads) => copied.extend(threads),
                Err(e) => {
                    made = Err(e);
                    break;
                }
            }
        }
        let objects = made.and_then(|()| {
            let firsts: Vec<&Task> = copied
                .iter()
                .filter(|(t, _)| t.recorded_tid == t.recorded_process)
                .map(|(t, _)| &t.task)
                .collect();
            unshare::unshare(&self.objects, &firsts)
        });
        let objects = match objects {
            Ok(objects) => objects,
            Err(e) => {
                discard(copied);
                return Err(e);
            }
        };
        let mut tasks = HashMap::new();
        for (mut task, entry) in copied {
            if let Some(entry) = entry {
                enter_again(&mut task, &entry)?;
            }
            tasks.insert(task.recorded_tid, task);
        }
        let mut copy = ReplaySession::new(reader, self.stub.clone(), self.echo_output);
        copy.tasks = tasks;
        copy.objects = objects;
        copy.main_status = self.main_status;
        copy.main_tid = self.main_tid;
        copy.created = self.created;
        // Threads the copy creates keep the slot, as in the original.
        copy.flushes = self.flushes.clone();
        copy.slot_used = self.slot_used;
        Ok(Some(copy))
    }

    /// The replayed processes alive, by their ids here.
    pub(crate) fn processes(&self) -> Vec<Tid> {
        self.tasks
            .values()
            .filter(|t| !t.gone && t.recorded_tid == t.recorded_process)
            .map(ReplayTask::tid)
            .collect()
    }

    /// Whether copying each process makes the same replay: each has its
    /// first thread alive (the one that forks), no thread is in the middle
    /// of a syscall the replay runs, a clone, a signal or its exit (a
    /// thread waiting at the entry of a syscall the replay skips is copied
    /// waiting there), each process has the rewind page the fork runs from
    /// (not so between an exec and its `Exec` event), and the shared memory
    /// can be copied (`unshare`: no private mapping of a shared object, and
    /// not too much of it).
    fn copyable(&self) -> Result<bool, ReplayError> {
        let mut processes: HashMap<Tid, bool> = HashMap::new();
        for task in self.tasks.values().filter(|t| !t.gone) {
            let busy = (task.entered && !task.at_emulated_entry)
                || task.in_clone
                || task.exiting
                || task.doomed
                || task.resume_signal != 0
                || task.signal_sent.is_some()
                || task.replay_pidfd.is_some()
                || task.cpu_limit.is_some();
            if busy {
                return Ok(false);
            }
            let regs = task.task.regs()?;
            if regs.orig_rax as i64 >= 0 && RESTART_RESULTS.contains(&(regs.rax as i64)) {
                return Ok(false);
            }
            let first = task.recorded_tid == task.recorded_process;
            *processes.entry(task.recorded_process).or_default() |= first;
        }
        if processes.is_empty() || processes.values().any(|&first_alive| !first_alive) {
            return Ok(false);
        }
        let threaded = self.tasks.values().filter(|t| !t.gone).count() > processes.len();
        if threaded && !thread_state::clear_tid_readable() {
            return Ok(false);
        }
        // A thread waiting at a skipped syscall's entry goes back to its
        // `syscall` instruction after copying: an int3 of gdb's there
        // would run instead.
        for task in self.tasks.values().filter(|t| !t.gone && t.entered) {
            if !thread_state::before_syscall_instruction(&task.task)? {
                return Ok(false);
            }
        }
        let mut mappings = Vec::new();
        for task in self
            .tasks
            .values()
            .filter(|t| !t.gone && t.recorded_tid == t.recorded_process)
        {
            let maps = tracee::maps::read_with_flags(task.tid())?;
            if !maps
                .iter()
                .any(|(m, _)| m.start == tracee::remote::REWIND_PAGE)
            {
                return Ok(false);
            }
            mappings.extend(maps);
        }
        let shared = unshare::shared_bytes(&self.objects, &mappings)?;
        Ok(shared.is_some_and(|bytes| bytes <= unshare::MOST_SHARED_BYTES))
    }
}

/// Copies one process, its first thread first: returns the copied
/// threads' bookkeeping, each with the registers at the entry of the
/// skipped syscall it must enter again, if any (after the shared memory is
/// copied: the copy's first thread runs those syscalls). A thread waiting
/// at such an entry leaves it for the syscalls copying runs; the original
/// enters it again here.
fn copy_process(
    threads: &mut [&mut ReplayTask],
    fresh: &dyn Fn(&ReplayTask, &Task),
) -> Result<Vec<(ReplayTask, Option<Registers>)>, ReplayError> {
    let mut waiting = Vec::new();
    let mut states = Vec::new();
    let read = (|| -> Result<(), ReplayError> {
        for original in threads.iter_mut() {
            let entry = if original.entered {
                Some(original.task.regs()?)
            } else {
                None
            };
            waiting.push(entry);
            if original.at_emulated_entry {
                original.leave_emulated_entry(0)?;
            }
            states.push(ThreadState::read(&original.task)?);
        }
        Ok(())
    })();
    let made = read.and_then(|()| copy_threads(threads, &states, &waiting, fresh));
    // The originals go back to their syscalls' entries whether or not the
    // copy could be made (a fork refused for a process limit, say); one
    // that cannot makes the replay impossible to go on.
    for (original, entry) in threads.iter_mut().zip(&waiting) {
        if let Some(entry) = entry {
            if let Err(e) = enter_again(original, entry) {
                if let Ok(copies) = made {
                    discard(copies);
                }
                return Err(verify::diverged(
                    0,
                    original.recorded_tid,
                    "putting the thread back at its syscall after copying the replay",
                    e.to_string(),
                ));
            }
        }
    }
    made
}

/// Ends copies made only in part, and reaps the ones that are children
/// of rewind (each process's first copy may be), so that none stays a
/// zombie.
fn discard(copies: Vec<(ReplayTask, Option<Registers>)>) {
    let firsts: Vec<Tid> = copies
        .iter()
        .filter(|(t, _)| t.recorded_tid == t.recorded_process)
        .map(|(t, _)| t.tid())
        .collect();
    drop(copies);
    for pid in firsts {
        tracee::reap(pid);
    }
}

/// The copy of each thread, the first by a fork and the others by clones
/// it runs; a copy made only in part ends with the error.
fn copy_threads(
    threads: &[&mut ReplayTask],
    states: &[ThreadState],
    waiting: &[Option<Registers>],
    fresh: &dyn Fn(&ReplayTask, &Task),
) -> Result<Vec<(ReplayTask, Option<Registers>)>, ReplayError> {
    let mut copies: Vec<(ReplayTask, Option<Registers>)> = Vec::new();
    for (i, original) in threads.iter().enumerate() {
        let made = match copies.first() {
            None => tracee::fork::fork(&original.task),
            Some((first, _)) => tracee::fork::clone_thread(&first.task),
        };
        let task = match made {
            Ok(task) => task,
            Err(e) => {
                discard(copies);
                return Err(e.into());
            }
        };
        let mut copied = ReplayTask::new(task, original.recorded_tid, original.recorded_process);
        copied.serial = original.serial;
        copied.buffers = original.buffers.clone();
        let given = states[i].give(&copied.task, i > 0);
        copies.push((copied, waiting[i]));
        if let Err(e) = given {
            discard(copies);
            return Err(e.into());
        }
        fresh(original, &copies[i].0.task);
    }
    Ok(copies)
}

/// Puts a thread back at the entry of the skipped syscall it waited at.
fn enter_again(task: &mut ReplayTask, entry: &Registers) -> Result<(), ReplayError> {
    thread_state::enter_again(&task.task, entry)?;
    task.at_emulated_entry = true;
    task.entered = true;
    Ok(())
}
