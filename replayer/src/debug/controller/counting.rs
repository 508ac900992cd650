//! Arrivals counted inside the tracee (`trampoline::Counter`) instead of
//! by a ptrace stop each (ARCHITECTURE.md "Reverse execution"): a
//! follower passes a mark of millions of arrivals at one address at once,
//! and a step back that would single-step too long learns how often its
//! thread came by an instruction. Where a copy of the replay can be
//! taken, a counter traps every so many arrivals (a chunk), and the
//! replay takes one there (ARCHITECTURE.md "Copies of the replay").

use std::time::Duration;

use tracee::clock::Moment;

use gdb_remote::{StopReason, ThreadId};
use tracee::{debugregs, Task, Tid};

use super::travel::Mode;
use super::{thread_of, Debugger, Outcome};
use crate::debug::position::Trigger;
use crate::debug::timeline::Inside;
use crate::error::ReplayError;
use crate::point::REPLAY_SLOT;
use crate::trampoline::Counter;

/// Fewer arrivals than this are counted by an int3 each: cheaper than
/// mapping a counter.
const FEWEST_COUNTED: u64 = 8;
/// A chunk's arrivals to begin with (about a millisecond in a tight
/// loop), and at least.
const FIRST_CHUNK: u64 = 1 << 20;
const SMALLEST_CHUNK: u64 = 1 << 16;
/// A chunk takes about the copy interval, and at least this long: each
/// costs a counter taken out and put in again.
const SHORTEST_CHUNK: Duration = Duration::from_millis(20);

/// How many arrivals a counter counts before it traps for a copy: grown
/// or shrunk after each chunk so that one takes about the copy interval.
pub(crate) struct Chunks {
    arrivals: u64,
    target: Duration,
}

impl Chunks {
    pub(crate) fn new(copy_interval: Duration) -> Chunks {
        Chunks {
            arrivals: FIRST_CHUNK,
            target: copy_interval.max(SHORTEST_CHUNK),
        }
    }

    /// How long a chunk is to take.
    pub(crate) fn target(&self) -> Duration {
        self.target
    }

    /// A chunk of `arrivals` took `took`.
    fn took(&mut self, arrivals: u64, took: Duration) {
        let scaled = arrivals as f64 * self.target.as_secs_f64() / took.as_secs_f64().max(1e-6);
        let lowest = (arrivals / 2).max(SMALLEST_CHUNK);
        self.arrivals = (scaled as u64).clamp(lowest, arrivals.saturating_mul(8).max(lowest));
    }
}

/// A step back's count that a copy interrupted: the counter goes in again
/// at `pc` when the thread runs on.
pub(crate) struct Recount {
    tid: Tid,
    pc: u64,
    counted: u64,
}

/// Who a counter counts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A follower's mark, or a step back's count.
    Follower,
    /// A scan's hits of a breakpoint of gdb's no follower waits for.
    Hits,
    /// The event's hot arrivals, for copies inside it (hot.rs).
    Hot,
}

pub(crate) struct ArmedCounter {
    counter: Counter,
    tid: Tid,
    purpose: Purpose,
    kind: Kind,
    /// Arrivals already named (before another stop named meanwhile).
    reported: u64,
    /// The counter traps at the end of a chunk of this many arrivals, not
    /// at its purpose's end: a copy can be taken there.
    chunk: Option<u64>,
    /// A step back's passes counted before this counter went in (by
    /// counters a chunk's end took out), less the one this counter's
    /// first pass counts again.
    earlier: u64,
    installed: Moment,
    /// gdb's int3 at the counted instruction is out of memory while the
    /// counter's jump is there.
    hides_gdb: bool,
}

enum Purpose {
    /// A follower's mark: the counter traps at the arrival that passes it.
    /// Each arrival is a stop gdb would see, `shown`, where it is the hit
    /// of a breakpoint of gdb's a scan notes.
    Mark {
        trigger: Trigger,
        times: u64,
        shown: Option<StopReason>,
    },
    /// A step back counts the thread's passes (travel.rs).
    Count,
}

impl Debugger {
    /// The thread's task, if a counter may go in now: none is in, and no
    /// point trampoline runs.
    fn counter_task(&self, thread: ThreadId) -> Option<Task> {
        let free = self.counter.is_none() && !self.trampoline_running;
        let tid = thread_of(&self.threads, thread).ok().filter(|_| free)?;
        Task::new(tid).ok()
    }

    /// A counter at `pc` that traps at the `arrivals`-th pass, if the code
    /// it copies holds no breakpoint of gdb's or the replay's: the copy
    /// would run instead of them.
    fn install_counter(
        &self,
        task: &Task,
        pc: u64,
        arrivals: u64,
        except: Option<u64>,
    ) -> Result<Option<Counter>, ReplayError> {
        let table = &self.table;
        // The replay's own breakpoint at an execution point (point.rs)
        // is in a debug register the table does not hold.
        let point = debugregs::armed_at(task.tid, REPLAY_SLOT)?;
        // Guards for a jump over several instructions take debug
        // registers 0-2: only while gdb and the followers use none.
        let guards = !table.has_hardware() && point.is_none();
        Counter::install(
            task,
            pc,
            arrivals,
            |start, end| {
                // gdb's int3 at the counted instruction, if `except`, is
                // out while the counter counts its hits.
                let software = match except {
                    Some(at) => {
                        table.software_within(start, at) || table.software_within(at + 1, end)
                    }
                    None => table.software_within(start, end),
                };
                !software
                    && !table.hardware_breakpoint_within(start, end)
                    && !point.is_some_and(|at| (start..end).contains(&at))
            },
            guards,
        )
    }

    /// `thread` arrived at `pc`, where the replay's int3 stopped it for
    /// the followers: if their marks need many more arrivals there, a
    /// counter counts them (up to the fewest any needs) instead of the
    /// int3. It goes in now, at a
    /// trap, where the thread can run the counter's mmap (at the boundary
    /// where the mark's event begins, it may stand in a syscall stop).
    pub(super) fn count_rest(
        &mut self,
        thread: ThreadId,
        task: &Task,
        pc: u64,
    ) -> Result<(), ReplayError> {
        let trigger = Trigger::Arrival { thread, pc };
        let gdb_here = self.table.gdb_software_at(pc);
        // gdb's breakpoint hits: a scan notes each (unless gdb has a
        // condition, which the replay evaluates at each); other moves show
        // gdb nothing before their goal.
        let scanning = matches!(self.mode, Mode::Scan { .. });
        let shown = (gdb_here && scanning).then_some(StopReason::Breakpoint {
            thread,
            hardware: false,
        });
        let (kind, times) = match self.mode.fewest_remaining(&trigger) {
            Some(times) => (Kind::Follower, times),
            None if shown.is_some() && !self.hits_blocked => (Kind::Hits, super::hot::HOT_ARRIVALS),
            None if self.hot_trigger() == Some(trigger) => (Kind::Hot, super::hot::HOT_ARRIVALS),
            None => return Ok(()),
        };
        let armed_here = self.internal.contains(&trigger) || gdb_here;
        // A counter that a step of the thread would take out at once
        // costs more than it saves.
        let stepped = self.mode.wants(&Trigger::Step { thread });
        if times < FEWEST_COUNTED
            || !armed_here
            || stepped
            || (gdb_here && self.conditions.contains_key(&(false, pc)))
        {
            return Ok(());
        }
        if kind == Kind::Hot && self.chunk_for(times).is_none() {
            // No copy can be taken here: counting would only slow the
            // thread.
            return self.block_background(Kind::Hot);
        }
        // A follower's count comes first, then a scan's hits; counting
        // hot arrivals gives way to both.
        if let Some(running) = self.counter.as_ref().map(|armed| armed.kind) {
            match (kind, running) {
                (Kind::Hot, _) => return self.block_background(Kind::Hot),
                (_, Kind::Hot) => self.block_background(Kind::Hot)?,
                (Kind::Follower, Kind::Hits) => self.block_background(Kind::Hits)?,
                _ => {}
            }
        }
        if kind == Kind::Hits && self.hot_trigger().is_some() {
            // The hot int3 could lie in the code this counter copies.
            self.block_background(Kind::Hot)?;
        }
        let Ok((memory, _)) = self.memory_and_threads() else {
            return Ok(());
        };
        let internal = self.internal.contains(&trigger);
        if internal {
            self.table.remove_internal_software(&memory, pc);
        }
        if gdb_here {
            self.table.disarm_software(&memory, pc)?;
        }
        let chunk = self.chunk_for(times);
        let free = self.counter_task(thread).is_some();
        let installed = match free {
            // The thread stands at `pc`: its pass through the jump is
            // the arrival just counted.
            true => {
                let except = gdb_here.then_some(pc);
                self.install_counter(task, pc, chunk.unwrap_or(times) + 1, except)
            }
            false => Ok(None),
        };
        let installed = match installed {
            Ok(installed) => installed,
            Err(e) => {
                if gdb_here {
                    let _ = self.table.rearm_software(&memory, pc);
                }
                return Err(e);
            }
        };
        let Some(counter) = installed else {
            if gdb_here {
                self.table.rearm_software(&memory, pc)?;
            }
            if internal && kind != Kind::Hot {
                self.table.insert_internal_software(&memory, pc)?;
            }
            return match kind {
                // Counted by an int3 each, it would cost a stop a pass.
                Kind::Hot => {
                    self.internal.retain(|armed| *armed != trigger);
                    self.block_background(Kind::Hot)
                }
                // Refused here: no use trying at each hit.
                Kind::Hits if free => self.block_background(Kind::Hits),
                Kind::Hits | Kind::Follower => Ok(()),
            };
        };
        self.counter = Some(ArmedCounter {
            counter,
            tid: task.tid,
            purpose: Purpose::Mark {
                trigger,
                times,
                shown,
            },
            kind,
            reported: 0,
            chunk,
            earlier: 0,
            installed: Moment::now(),
            hides_gdb: gdb_here,
        });
        Ok(())
    }
}

impl ArmedCounter {
    pub(super) fn kind(&self) -> Kind {
        self.kind
    }
}

impl Debugger {
    /// The mark a counter counts now, if one does.
    pub(super) fn counted_mark(&self) -> Option<Trigger> {
        match self.counter.as_ref()?.purpose {
            Purpose::Mark { trigger, .. } => Some(trigger),
            Purpose::Count => None,
        }
    }

    /// The chunk a counter for `times` arrivals traps after, where a copy
    /// could be taken at its end: the replay is resumed where it can be
    /// replayed on from a stop (`ReplayError::CopyWanted`), and the
    /// purpose needs more arrivals than a chunk.
    fn chunk_for(&self, times: u64) -> Option<u64> {
        let chunk = self.chunks.arrivals;
        (self.restartable && self.past_history_start && times > chunk).then_some(chunk)
    }

    /// Starts counting the passes of `thread`, which stands at `pc`, by
    /// the instruction there: whether a counter could go in. `earlier`
    /// passes were counted before (and the counter's first pass is one
    /// of them).
    pub(super) fn start_counting(
        &mut self,
        thread: ThreadId,
        pc: u64,
    ) -> Result<bool, ReplayError> {
        self.count_from(thread, pc, 0)
    }

    fn count_from(&mut self, thread: ThreadId, pc: u64, earlier: u64) -> Result<bool, ReplayError> {
        let Some(task) = self.counter_task(thread) else {
            return Ok(false);
        };
        let chunk = self.chunk_for(u64::MAX);
        let Some(counter) = self.install_counter(&task, pc, chunk.unwrap_or(u64::MAX), None)?
        else {
            return Ok(false);
        };
        self.counter = Some(ArmedCounter {
            counter,
            tid: task.tid,
            purpose: Purpose::Count,
            kind: Kind::Follower,
            reported: 0,
            chunk,
            earlier,
            installed: Moment::now(),
            hides_gdb: false,
        });
        Ok(true)
    }

    /// Takes the counter out of the tracee: the passes it counted, if it
    /// was counting for a step back.
    pub(super) fn drop_counter(&mut self) -> Result<Option<u64>, ReplayError> {
        if let Some(recount) = self.recount.take() {
            return Ok(Some(recount.counted));
        }
        let Some(armed) = self.counter.take() else {
            return Ok(None);
        };
        // A thread gone (its exit ends the event) has nothing to take
        // out. Unread, the count is taken as none: a step back then steps
        // from an earlier instant, which is still before its goal.
        let Ok(task) = Task::new(armed.tid) else {
            return Ok(matches!(armed.purpose, Purpose::Count).then_some(armed.earlier));
        };
        let counted = match armed.purpose {
            Purpose::Count => Some(armed.earlier + armed.counter.arrivals(&task).unwrap_or(0)),
            Purpose::Mark { .. } => None,
        };
        let point = armed.counter.point;
        // A thread that cannot be written to any more has exited (an
        // exit ends the event); one that still runs with the jump in its
        // code diverges at its next event, where verification says so.
        let _ = armed.counter.remove(&task, &task);
        if armed.hides_gdb {
            let _ = self.table.rearm_software(&task, point);
        }
        Ok(counted)
    }

    /// `thread` runs again after a copy interrupted a step back's count:
    /// the counter goes in again where it stands (its first pass there is
    /// the arrival counted last), or, if it cannot, the count ends.
    pub(super) fn recount_if_pending(&mut self, thread: ThreadId) -> Result<(), ReplayError> {
        let Some(recount) = self.recount.take() else {
            return Ok(());
        };
        let ours = thread_of(&self.threads, thread).ok() == Some(recount.tid);
        let counting = ours && self.count_from(thread, recount.pc, recount.counted - 1)?;
        if !counting {
            self.recount = Some(recount);
            self.end_counting()?;
        }
        Ok(())
    }

    /// A SIGTRAP of `task`: the counter's? A guard's (a branch into the
    /// middle of the counter's jump) sends the thread on in the copy of
    /// the instruction it led to. The trap at the arrival that passes a
    /// mark puts the thread at the instruction and counts the mark's
    /// arrivals at once.
    pub(super) fn counter_trap(
        &mut self,
        thread: ThreadId,
        task: &Task,
    ) -> Result<Option<Outcome>, ReplayError> {
        let Some(armed) = self.counter.as_ref().filter(|a| a.tid == task.tid) else {
            return Ok(None);
        };
        let mut regs = task.regs()?;
        if armed.counter.guards() {
            let status = debugregs::status(task.tid)?;
            if let Some(copy) = armed.counter.guarded(status, regs.rip) {
                regs.rip = copy;
                task.set_regs(&regs)?;
                debugregs::clear_status(task.tid)?;
                return Ok(Some(Outcome::Consumed));
            }
        }
        let mark = match &armed.purpose {
            Purpose::Mark {
                trigger,
                times,
                shown,
            } => Some((*trigger, *times, shown.clone())),
            Purpose::Count if armed.chunk.is_some() => None,
            Purpose::Count => return Ok(None),
        };
        if regs.rip != armed.counter.trap_return {
            return Ok(None);
        }
        let Some(armed) = self.counter.take() else {
            return Ok(None);
        };
        let pc = armed.counter.point;
        armed.counter.remove(task, task)?;
        if armed.hides_gdb {
            self.table.rearm_software(task, pc)?;
        }
        if let Some(chunk) = armed.chunk {
            self.chunks.took(chunk, armed.installed.elapsed());
        }
        let Some((trigger, times, shown)) = mark else {
            // A chunk of a step back's count: the thread stands at its
            // latest pass.
            let counted = armed.earlier + armed.chunk.unwrap_or(0);
            self.recount = Some(Recount {
                tid: task.tid,
                pc,
                counted,
            });
            self.copy_at_count(thread, pc, counted)?;
            self.recount_if_pending(thread)?;
            return Ok(Some(Outcome::Consumed));
        };
        // Counted: not one of the int3s `arm_wanted` takes out.
        self.internal.retain(|armed| *armed != trigger);
        let arrived = armed.chunk.unwrap_or(times);
        self.stop_here_times(&[trigger], shown, arrived - armed.reported)?;
        if armed.chunk.is_some() {
            // The end of a chunk, not of the mark: the int3 there is back
            // in, and a counter counts on from it.
            self.copy_at_stop(thread, pc)?;
            self.count_rest(thread, task, pc)?;
        }
        Ok(Some(Outcome::Consumed))
    }

    /// A copy of the replay is wanted here, at a chunk's end, where
    /// `thread` has just arrived at `pc` and the current instant is named:
    /// the replay unwinds to take it, if it can be taken (no step of gdb's
    /// to end or report, a follower's replay).
    fn copy_at_stop(&mut self, thread: ThreadId, pc: u64) -> Result<(), ReplayError> {
        let Some(at) = self.trail.clone() else {
            return Ok(());
        };
        self.want_copy(thread, pc, at, false)
    }

    /// A step back's window is reached inside an event, where `thread`
    /// has just arrived at `pc`: where the replay has run long in the
    /// event, a copy is taken here whether one is due or not (the next
    /// step backs and the travels after them begin at or just after
    /// this instant).
    pub(super) fn copy_at_window(&mut self, thread: ThreadId, pc: u64) -> Result<(), ReplayError> {
        // The replay ran long in the event, or began from a copy in it.
        let long = self.event_began.elapsed() >= self.chunks.target()
            || (self.replay_from.event == self.event && !self.replay_from.marks.is_empty());
        match self.trail.clone() {
            Some(at) if long && !at.marks.is_empty() => self.want_copy(thread, pc, at, true),
            _ => Ok(()),
        }
    }

    /// `copy_at_stop` for a step back's count: the instant is named as the
    /// step back will name its window (`StepBack::counted_at`).
    fn copy_at_count(
        &mut self,
        thread: ThreadId,
        pc: u64,
        counted: u64,
    ) -> Result<(), ReplayError> {
        let at = match &self.mode {
            Mode::StepBack(back) => back.counted_at(counted),
            _ => None,
        };
        match at {
            Some(at) => self.want_copy(thread, pc, at, false),
            None => Ok(()),
        }
    }

    /// Asks for a copy at `at` (if `asked`, whether one is due or not):
    /// where the replay can be replayed on from here and follows names
    /// (the followers say who steps; no step of gdb's is to end or to be
    /// reported).
    fn want_copy(
        &mut self,
        thread: ThreadId,
        pc: u64,
        at: crate::debug::position::Position,
        asked: bool,
    ) -> Result<(), ReplayError> {
        // The copy's instant is the thread's arrival at `pc` (a replay
        // from it does not count that arrival again), not another stop
        // made at the same instant.
        let arrived = at.last().map(|m| m.trigger) == Some(Trigger::Arrival { thread, pc });
        let possible = arrived
            && self.restartable
            && self.following()
            && self.step_done.is_none()
            && self.counter.is_none()
            && !self.trampoline_running;
        if !possible {
            return Ok(());
        }
        self.copy_wanted = Some(Inside {
            at,
            followers: self.mode.followers(),
            thread,
            pc,
            asked,
        });
        Err(ReplayError::CopyWanted)
    }

    /// The copy the replay unwound for (`ReplayError::CopyWanted`).
    pub fn take_copy_wanted(&mut self) -> Option<Inside> {
        self.copy_wanted.take()
    }

    /// The event is replayed on from where its thread stands, after a copy
    /// was taken there: its next resume is not the event's first.
    pub fn event_goes_on(&mut self) {
        self.continuing = true;
    }

    /// Whether the replay resumes the event's thread where its event can
    /// be replayed on from any stop (see `restartable`).
    pub fn set_restartable(&mut self, restartable: bool) {
        self.restartable = restartable;
    }

    /// The thread is to be single-stepped, or stopped where the replay
    /// looks at its registers (a fault in the copied loop, a syscall, an
    /// execution point): no counter may run on or hold it in its page.
    /// A follower's arrivals counted so far are named, and a step back's
    /// count ends it.
    pub(super) fn counter_out(&mut self) -> Result<(), ReplayError> {
        if self.counter.is_none() {
            return Ok(());
        }
        self.end_counting()?;
        self.name_counted_so_far()?;
        self.drop_counter().map(drop)
    }

    pub(super) fn counter_active(&self) -> bool {
        self.counter.is_some()
    }

    /// Whether the counter's guards hold debug registers, which a
    /// follower's watchpoint would need.
    pub(super) fn counter_guards(&self) -> bool {
        self.counter.as_ref().is_some_and(|a| a.counter.guards())
    }

    /// Whether a breakpoint at `addr` would lie in the code the counter
    /// copies, where it would never be hit.
    pub(super) fn counter_covers(&self, addr: u64) -> bool {
        self.counter
            .as_ref()
            .is_some_and(|armed| armed.counter.covers(addr))
    }

    /// Another stop is named while a counter counts a follower's mark (a
    /// watchpoint fires, gdb's breakpoint is hit): the arrivals counted
    /// so far come before it, in the name and for the followers, as an
    /// int3 would have named each.
    pub(super) fn name_counted_so_far(&mut self) -> Result<(), ReplayError> {
        let Some(armed) = &mut self.counter else {
            return Ok(());
        };
        let Purpose::Mark { trigger, shown, .. } = &armed.purpose else {
            return Ok(());
        };
        let (trigger, shown) = (*trigger, shown.clone());
        let task = Task::new(armed.tid)?;
        // The counter's first pass is the arrival its int3 counted.
        let arrived = armed.counter.arrivals(&task)?.saturating_sub(1);
        let new = arrived.saturating_sub(armed.reported);
        if new == 0 {
            return Ok(());
        }
        armed.reported += new;
        self.stop_here_times(&[trigger], shown, new)
    }
}
