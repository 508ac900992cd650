//! The replay loop when gdb drives it: the same events, with stops shown to
//! gdb where it asked for them and where the debugged process starts,
//! ends, or runs out of recording.

use gdb_remote::{StopReason, ThreadId};
use trace_format::{Event, EventRecord, ExitStatus, MappingSource, SyscallAction};

use super::copies::{Copies, MemoryCost};
use super::position::{BoundaryStop, Position, Trigger};
use super::timeline::{Resumed, Snapshot};
use super::{DebugLink, DebugStart};
use crate::error::ReplayError;
use crate::session::ReplaySession;
use crate::task::ReplayTask;

impl ReplaySession {
    /// Replays under gdb's control until gdb goes away (which is how this
    /// returns when all went well: `ReplayError::DebuggerGone`).
    pub(crate) fn run_debugger(
        &mut self,
        debugger: DebugLink,
        start: DebugStart,
        resumed: Option<Resumed>,
        copies: &mut Copies<Snapshot>,
    ) -> Result<(), ReplayError> {
        self.debugger = Some(debugger.clone());
        let Resumed {
            first_event,
            mut started,
            mut last,
            inside,
        } = resumed
            .clone()
            .unwrap_or(Resumed::at(1, (false, None), None));
        if resumed.is_some() {
            for task in self.tasks.values_mut() {
                task.debug = Some(debugger.clone());
            }
            self.update_threads(&debugger);
            debugger.borrow_mut().resumed_at(first_event);
            match &inside {
                Some(inside) => debugger.borrow_mut().resumed_inside(inside)?,
                None => debugger.borrow_mut().boundary(first_event)?,
            }
        } else {
            debugger.borrow_mut().boundary(0)?;
        }
        // A copy inside the first event stands past what comes before the
        // event's thread runs.
        let mut mid_event = inside.is_some();
        for item in self.reader.events_from(first_event)? {
            let (number, record) = item?;
            if !std::mem::take(&mut mid_event) {
                self.before_replaying(&debugger, number, &record, (started, last), copies)?;
                if !started
                    && start.goto_event.is_some_and(|goto| number >= goto)
                    && self.exists(start.pid)
                {
                    started = true;
                    self.update_threads(&debugger);
                    let thread = self.shown_thread(&debugger, start.pid);
                    debugger.borrow_mut().program_shown(
                        BoundaryStop::Start,
                        StopReason::Signal {
                            thread,
                            signo: libc::SIGTRAP,
                        },
                    )?;
                }
                if started {
                    self.before_event(&debugger, start.pid)?;
                    self.before_exit(&debugger, &record, start.pid)?;
                }
            }
            self.replay_event_copying(&debugger, number, &record, (started, last), copies)?;
            self.after_event(&debugger, &record);
            debugger.borrow_mut().boundary(number + 1)?;
            last = Some(record.tid);
            if let (true, Event::Exec(exec)) = (started, &record.event) {
                let process = self.tasks.get(&record.tid).map(|t| t.recorded_process);
                if process == Some(start.pid) {
                    // gdb loads the new program's symbols.
                    debugger.borrow_mut().program_shown(
                        BoundaryStop::Exec,
                        StopReason::Exec {
                            thread: ThreadId {
                                pid: start.pid,
                                tid: record.tid,
                            },
                            path: exec.exe.original_path.clone(),
                        },
                    )?;
                }
            }
            if !started && start.goto_event.is_none() && starts(&record, start) {
                started = true;
                debugger.borrow_mut().program_shown(
                    BoundaryStop::Start,
                    StopReason::Signal {
                        thread: ThreadId {
                            pid: start.pid,
                            tid: if start.on_creation {
                                start.pid
                            } else {
                                record.tid
                            },
                        },
                        signo: libc::SIGTRAP,
                    },
                )?;
            }
            if let Event::Exit(exit) = &record.event {
                let process = self.tasks.get(&record.tid).map(|t| t.recorded_process);
                if exit.process_exit && process == Some(start.pid) && started {
                    let reason = match exit.status {
                        ExitStatus::Exited(code) => StopReason::Exited {
                            pid: start.pid,
                            code,
                        },
                        ExitStatus::Killed { signal, .. } => StopReason::Killed {
                            pid: start.pid,
                            signo: signal,
                        },
                    };
                    debugger
                        .borrow_mut()
                        .program_ended(BoundaryStop::Exit, reason, None)?;
                }
            }
        }
        let thread = debugger.borrow().first_thread().unwrap_or(ThreadId {
            pid: start.pid,
            tid: last.unwrap_or(start.pid),
        });
        if !started {
            return Err(ReplayError::BadTrace {
                event: self.reader.event_count(),
                reason: format!("process {} never ran in this recording", start.pid),
            });
        }
        // Every later resume ends here again, until gdb leaves.
        let mut debugger = debugger.borrow_mut();
        loop {
            debugger.program_ended(
                BoundaryStop::End,
                StopReason::HistoryEnd {
                    thread,
                    at_start: false,
                },
                Some("rewind: the replay reached the end of the recording.\n".into()),
            )?;
            if debugger.following() {
                return Err(ReplayError::BadTrace {
                    event: self.reader.event_count(),
                    reason: "a replay started again ran to the end without finding the stop \
                             the debugger saw; please report this with the trace"
                        .into(),
                });
            }
        }
    }

    /// At the boundary before event `number`: a copy if one is due, and
    /// the event's thread noted.
    fn before_replaying(
        &mut self,
        debugger: &DebugLink,
        number: u64,
        record: &EventRecord,
        (started, last): (bool, Option<tracee::Tid>),
        copies: &mut Copies<Snapshot>,
    ) -> Result<(), ReplayError> {
        let asked = debugger.borrow().copy_wanted_before(number);
        if copies.due(number, asked) {
            self.keep_copy(debugger, Resumed::at(number, (started, last), None), copies)?;
        }
        debugger.borrow_mut().note_event(number, record.tid);
        Ok(())
    }

    /// Replays event `number`. Where the debugger wants a copy inside it
    /// (at a counter's chunk, in a long stretch of computation), the
    /// replay has unwound to here: the copy is taken if one is due, and
    /// the event is replayed on from where its thread stands, as a
    /// replay from that copy replays it.
    fn replay_event_copying(
        &mut self,
        debugger: &DebugLink,
        number: u64,
        record: &EventRecord,
        (started, last): (bool, Option<tracee::Tid>),
        copies: &mut Copies<Snapshot>,
    ) -> Result<(), ReplayError> {
        loop {
            match self.replay_event(number, record) {
                Err(ReplayError::CopyWanted) => {
                    let inside = debugger.borrow_mut().take_copy_wanted();
                    if let Some(inside) = inside.filter(|i| i.asked || copies.due_inside()) {
                        let resumed = Resumed::at(number, (started, last), Some(inside));
                        self.keep_copy(debugger, resumed, copies)?;
                    }
                    debugger.borrow_mut().event_goes_on();
                }
                other => return other,
            }
        }
    }

    /// Takes a copy of the replay where it stands, unless gdb has changed
    /// it or it cannot be copied here.
    fn keep_copy(
        &mut self,
        debugger: &DebugLink,
        resumed: Resumed,
        copies: &mut Copies<Snapshot>,
    ) -> Result<(), ReplayError> {
        let d = debugger.borrow();
        if d.diverted() {
            copies.declined();
            return Ok(());
        }
        let reader = self.reader.try_clone()?;
        let scrub = |original: &ReplayTask, copy: &tracee::Task| {
            if original.recorded_process == d.debugged {
                d.forked(copy);
            }
        };
        let copy = match self.fork_copy(reader, &scrub) {
            Ok(copy) => copy,
            // A copy the kernel refused (a process limit, say): moves back
            // start from an earlier one.
            Err(e @ (ReplayError::Tracee(_) | ReplayError::CopyMemory(_))) => {
                if !copies.warned() {
                    eprintln!("rewind: no copy of the replay could be made here ({e}); moves back replay from an earlier one.");
                }
                None
            }
            Err(e) => return Err(e),
        };
        drop(d);
        match (copy, resumed.inside.as_ref().map(|i| i.at.clone())) {
            (Some(session), None) => {
                copies.keep(resumed.first_event, Snapshot { session, resumed })
            }
            (Some(session), Some(at)) => copies.keep_inside(at, Snapshot { session, resumed }),
            (None, _) => copies.declined(),
        }
        let replayed = self.processes();
        let measure = copies.measure_due();
        let kept = loop {
            let kept: Vec<(Position, Vec<tracee::Tid>)> = copies
                .iter()
                .map(|(at, copy)| (at, copy.session.processes()))
                .collect();
            if !measure {
                break kept;
            }
            let cost = MemoryCost::of(kept.iter().map(|(_, pids)| pids.as_slice()), &replayed);
            if !cost.over_budget() || !copies.drop_one() {
                break kept;
            }
        };
        debugger.borrow_mut().set_copies(kept);
        Ok(())
    }

    fn exists(&self, pid: i32) -> bool {
        self.tasks
            .values()
            .any(|t| t.recorded_process == pid && !t.gone)
    }

    fn shown_thread(&self, debugger: &DebugLink, pid: i32) -> ThreadId {
        debugger
            .borrow()
            .first_thread()
            .unwrap_or(ThreadId { pid, tid: pid })
    }

    /// Between events: gdb's Ctrl-C.
    fn before_event(&mut self, debugger: &DebugLink, pid: i32) -> Result<(), ReplayError> {
        debugger.borrow_mut().give_up_if_interrupted()?;
        let thread = self.shown_thread(debugger, pid);
        let interrupted = {
            let d = debugger.borrow();
            !d.following() && d.interrupt_requested()
        };
        if interrupted {
            debugger.borrow_mut().stop_here(
                &[Trigger::Boundary(BoundaryStop::Interrupt)],
                Some(StopReason::Interrupted { thread }),
            )?;
        }
        Ok(())
    }

    /// The debugged process is about to end: gdb sees it first as rr shows
    /// it, stopped by a SIGKILL in its last thread, whose registers and
    /// stack are still there (it stands at its exit); the next resume shows
    /// the recorded end.
    fn before_exit(
        &mut self,
        debugger: &DebugLink,
        record: &EventRecord,
        pid: i32,
    ) -> Result<(), ReplayError> {
        let Event::Exit(exit) = &record.event else {
            return Ok(());
        };
        let Some(task) = self.tasks.get(&record.tid) else {
            return Ok(());
        };
        let last = exit.process_exit && task.recorded_process == pid;
        if last && task.exiting && !task.gone {
            let thread = task.thread_id();
            debugger.borrow_mut().about_to_exit(thread)?;
        }
        Ok(())
    }

    /// Keeps what gdb asks about current: the debugged process's threads,
    /// its program and auxiliary vector, and the files the trace holds.
    fn after_event(&mut self, debugger: &DebugLink, record: &EventRecord) {
        match &record.event {
            Event::Exec(exec) => {
                let mut d = debugger.borrow_mut();
                let files =
                    std::iter::once(&exec.exe).chain(exec.mappings.iter().filter_map(|m| {
                        match &m.source {
                            MappingSource::File { file, .. } => Some(file),
                            _ => None,
                        }
                    }));
                for file in files {
                    let stored = self.reader.captured_file_path(&file.stored_name);
                    d.note_file(&file.original_path, stored);
                }
                let process = self
                    .tasks
                    .get(&record.tid)
                    .map_or(record.tid, |t| t.recorded_process);
                let mut auxv = Vec::with_capacity(16 * (exec.auxv.len() + 1));
                for (key, value) in exec.auxv.iter().chain([(0, 0)].iter()) {
                    auxv.extend_from_slice(&key.to_le_bytes());
                    auxv.extend_from_slice(&value.to_le_bytes());
                }
                d.exec(process, exec.exe.original_path.clone(), auxv);
                drop(d);
                self.update_threads(debugger);
            }
            Event::Syscall(syscall) if changes_mappings(syscall) => {
                let process = self.tasks.get(&record.tid).map(|t| t.recorded_process);
                if let SyscallAction::Map(map) = &syscall.action {
                    if let MappingSource::File { file, .. } = &map.source {
                        let stored = self.reader.captured_file_path(&file.stored_name);
                        debugger.borrow_mut().note_file(&file.original_path, stored);
                    }
                }
                let mut d = debugger.borrow_mut();
                if process == Some(d.debugged) {
                    d.mappings_changed();
                }
            }
            Event::Syscall(syscall) => match &syscall.action {
                SyscallAction::Map(map) => {
                    if let MappingSource::File { file, .. } = &map.source {
                        let stored = self.reader.captured_file_path(&file.stored_name);
                        debugger.borrow_mut().note_file(&file.original_path, stored);
                    }
                }
                SyscallAction::Exec | SyscallAction::Clone => self.update_threads(debugger),
                _ => {}
            },
            Event::Clone(clone) => {
                if clone.flags & libc::CLONE_THREAD as u64 == 0 {
                    let parent = self
                        .tasks
                        .get(&record.tid)
                        .map_or(record.tid, |t| t.recorded_process);
                    debugger
                        .borrow_mut()
                        .forked_program(parent, clone.child_tid);
                }
                self.update_threads(debugger);
            }
            Event::Exit(_) => self.update_threads(debugger),
            // A patch may have overwritten gdb's int3s (a vfork child's
            // too, in its parent's memory).
            Event::Patch(patch) => {
                let memory = self.tasks.get(&record.tid).map(|t| t.memory_of);
                let mut d = debugger.borrow_mut();
                if memory == Some(d.debugged) {
                    d.patched(patch.replaced.addr, patch.replaced.data.len);
                }
            }
            _ => {}
        }
    }

    fn update_threads(&self, debugger: &DebugLink) {
        let mut d = debugger.borrow_mut();
        let mut threads: Vec<_> = self
            .tasks
            .values()
            .filter(|t| t.recorded_process == d.debugged && !t.gone)
            .map(|t| (t.serial, t.thread_id(), t.tid()))
            .collect();
        threads.sort_by_key(|&(serial, _, _)| serial);
        d.set_threads(threads.into_iter().map(|(_, id, tid)| (id, tid)).collect());
        d.set_replayed(self.processes());
    }
}

/// Whether the syscall maps, unmaps or remaps memory.
fn changes_mappings(syscall: &trace_format::SyscallEvent) -> bool {
    let number = syscall.number() as i64;
    matches!(
        syscall.action,
        SyscallAction::Map(_)
            | SyscallAction::Remap { .. }
            | SyscallAction::Unmap { .. }
            | SyscallAction::Brk { .. }
    ) || [
        libc::SYS_mmap,
        libc::SYS_munmap,
        libc::SYS_mprotect,
        libc::SYS_mremap,
        libc::SYS_shmat,
        libc::SYS_shmdt,
    ]
    .contains(&number)
}

/// Whether `record` is where gdb first sees the debugged process: its first
/// exec, or its creation if it is a forked copy that never execs.
fn starts(record: &EventRecord, start: DebugStart) -> bool {
    match &record.event {
        Event::Exec(_) => !start.on_creation && record.tid == start.pid,
        Event::Clone(clone) => start.on_creation && clone.child_tid == start.pid,
        _ => false,
    }
}
