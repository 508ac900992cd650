//! Copies of the replay (ARCHITECTURE.md "Copies of the replay"): a
//! session forked at an event boundary, its processes made by injected
//! `fork` calls, their further threads by injected `clone` calls, and its
//! bookkeeping copied. A copy starts where the original stands and
//! replays the same events the same way.

use std::collections::HashMap;

use trace_format::TraceReader;
use tracee::thread_state::{self, ThreadState};
use tracee::{Task, Tid};

use crate::error::ReplayError;
use crate::session::ReplaySession;
use crate::task::ReplayTask;

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
        let mut tasks = HashMap::new();
        for mut threads in processes {
            // The process's first thread forks; the copy of each other
            // thread is cloned by the copy of the first.
            threads.sort_by_key(|t| (t.recorded_tid != t.recorded_process, t.serial));
            for copied in copy_process(&mut threads, fresh)? {
                tasks.insert(copied.recorded_tid, copied);
            }
        }
        let mut copy = ReplaySession::new(reader, self.stub.clone(), self.echo_output);
        copy.tasks = tasks;
        copy.main_status = self.main_status;
        copy.main_tid = self.main_tid;
        copy.created = self.created;
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
    /// (not so between an exec and its `Exec` event), and no memory is
    /// shared (a fork would share it between copy and original).
    fn copyable(&self) -> Result<bool, ReplayError> {
        if !self.objects.is_empty() {
            return Ok(false);
        }
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
        for task in self.tasks.values().filter(|t| !t.gone) {
            let maps = tracee::maps::read_maps(task.tid())?;
            let injectable = maps.iter().any(|m| m.start == tracee::remote::REWIND_PAGE);
            if !injectable || maps.iter().any(|m| m.shared) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Copies one process, its first thread first: returns the copied
/// threads' bookkeeping. Threads waiting at the entry of a skipped syscall
/// leave it for the syscalls copying runs and enter it again after, in the
/// original and in the copy.
fn copy_process(
    threads: &mut [&mut ReplayTask],
    fresh: &dyn Fn(&ReplayTask, &Task),
) -> Result<Vec<ReplayTask>, ReplayError> {
    let mut waiting = Vec::new();
    let mut states = Vec::new();
    for original in threads.iter_mut() {
        let entry = if original.entered {
            Some(original.task.regs()?)
        } else {
            None
        };
        if original.at_emulated_entry {
            original.leave_emulated_entry(0)?;
        }
        waiting.push(entry);
        states.push(ThreadState::read(&original.task)?);
    }
    let mut copies: Vec<ReplayTask> = Vec::new();
    for (i, original) in threads.iter().enumerate() {
        let task = match copies.first() {
            None => tracee::fork::fork(&original.task)?,
            Some(first) => tracee::fork::clone_thread(&first.task)?,
        };
        let mut copied = ReplayTask::new(task, original.recorded_tid, original.recorded_process);
        copied.serial = original.serial;
        copies.push(copied);
        states[i].give(&copies[i].task, i > 0)?;
        fresh(original, &copies[i].task);
    }
    for ((original, copied), entry) in threads.iter_mut().zip(&mut copies).zip(&waiting) {
        if let Some(entry) = entry {
            for task in [&mut **original, copied] {
                thread_state::enter_again(&task.task, entry)?;
                task.at_emulated_entry = true;
                task.entered = true;
            }
        }
    }
    Ok(copies)
}
