//! Copies of the replay (ARCHITECTURE.md "Copies of the replay"): a
//! session forked at an event boundary, its processes made by injected
//! `fork` calls and its bookkeeping copied. A copy starts where the
//! original stands and replays the same events the same way.

use std::collections::HashMap;

use trace_format::TraceReader;
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
        let mut originals: Vec<&mut ReplayTask> =
            self.tasks.values_mut().filter(|t| !t.gone).collect();
        originals.sort_by_key(|t| t.serial);
        let mut tasks = HashMap::new();
        for original in originals {
            if original.at_emulated_entry {
                // Injection needs a thread that runs user code next.
                original.leave_emulated_entry(0)?;
            }
            let task = tracee::fork::fork(&original.task)?;
            fresh(original, &task);
            let mut copied =
                ReplayTask::new(task, original.recorded_tid, original.recorded_process);
            copied.serial = original.serial;
            tasks.insert(original.recorded_tid, copied);
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

    /// Whether forking each process makes the same replay: every process
    /// has one thread (fork copies only the thread that calls it), none is
    /// in the middle of a syscall, a clone, a signal or its exit, each has
    /// the rewind page the fork runs from (not so between an exec and its
    /// `Exec` event), and no memory is shared (a fork would share it
    /// between copy and original).
    fn copyable(&self) -> Result<bool, ReplayError> {
        if !self.objects.is_empty() {
            return Ok(false);
        }
        let mut processes: HashMap<Tid, usize> = HashMap::new();
        for task in self.tasks.values().filter(|t| !t.gone) {
            let busy = task.entered
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
            *processes.entry(task.recorded_process).or_default() += 1;
        }
        if processes.is_empty() || processes.values().any(|&threads| threads != 1) {
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
