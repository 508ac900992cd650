//! Choosing the execution point where a thread is recorded as stopped
//! (preemption, a signal in user code), so that replay can find that very
//! instant again with the software tick source (ARCHITECTURE.md "Ticks").
//!
//! Registers and the top of the stack tell apart the passes of most loops.
//! In a loop whose registers do not change from one pass to the next (a
//! counter kept in memory, a spin on a flag), they do not: the replay would
//! stop at the first pass. So the thread is run on to its next pass through
//! the point: if the state differs there, that pass is recorded; if it is
//! the same, one more pass is run, and the memory words that changed
//! between the two join the fingerprint.

use std::rc::Rc;
use std::time::Duration;

use tracee::clock::Moment;

use trace_format::{ExecutionPoint, Registers};
use tracee::{debugregs, fingerprint, maps, remote, x86, RemoteAddr, Resume, Stop, Task};

use crate::error::RecordError;
use crate::session::Session;
use crate::syscall::PendingSyscall;
use crate::task::TaskState;

/// How long the thread may run looking for its next pass through the
/// point before the attempt is given up (and made again later).
const NEXT_PASS_WAIT: Duration = Duration::from_millis(50);
/// Memory words kept in a fingerprint from the two passes' difference;
/// one changing word (a counter) already tells the passes apart. With the
/// syscall buffer's counts word, they fill the replay trampoline's 16.
const MAX_WORDS: usize = 15;
/// Writable memory compared between two passes, at most.
const MAX_SNAPSHOT: u64 = 256 << 20;
/// Data mappings the fingerprint hashes: each at most this long, and this
/// much in all. Larger ones are buffers, heaps and stacks, costly to hash
/// at every point and every candidate pass.
const MAX_DATA_MAPPING: u64 = 1 << 20;
const MAX_DATA: u64 = 4 << 20;

/// Where the thread stands after `settle`.
pub(crate) enum Settled {
    /// At a recordable execution point.
    At(Box<ExecutionPoint>),
    /// It stopped for another reason before reaching one (a syscall, a
    /// signal, the time limit): that stop is to be handled instead.
    Elsewhere(Stop),
}

impl Session {
    /// The thread is stopped before an instruction replay can patch: runs
    /// it to a pass of that instruction replay can tell from all others.
    pub(crate) fn settle(&mut self, tid: tracee::Tid) -> Result<Settled, RecordError> {
        let record = self
            .tasks
            .get(&tid)
            .ok_or_else(|| crate::session::internal(format!("thread {tid} is not tracked")))?;
        let task = &record.task;
        let resume = record.user_resume();
        // Passes that buffered calls separate can look the same in
        // registers and the top of the stack (a loop around libc calls with
        // no event in between): the buffer's count of calls tells them apart.
        let counts_word = record
            .buffer
            .map(|(addr, _)| addr + tracee::syscallbuf_abi::COUNTS_WORD);
        let counts = || -> Result<Vec<(u64, u64)>, RecordError> {
            counts_word
                .map(|addr| Ok((addr, task.read_u64(RemoteAddr(addr))?)))
                .into_iter()
                .collect()
        };
        let first = task.regs()?;
        let first_hash = fingerprint::stack_hash(task, &first);
        // Scratch areas: written by other threads' blocking syscalls while
        // this one runs, and absent from the replay. Syscall buffers: the
        // replay lays in a flush's records before the calls are made.
        let skipped: Vec<(u64, u64)> = record
            .space
            .scratch_areas
            .borrow()
            .iter()
            .map(|&at| (at, at + crate::scratch::SCRATCH_LEN))
            .chain(
                record
                    .space
                    .buffers
                    .borrow()
                    .iter()
                    .map(|&(at, len)| (at, at.saturating_add(len))),
            )
            .collect();
        // Other threads of this address space inside syscalls that the
        // replay completes only at their exit events.
        let blocked: Vec<&PendingSyscall> = self
            .tasks
            .values()
            .filter(|other| {
                other.tid() != tid
                    && Rc::ptr_eq(&other.space, &record.space)
                    && other.state == TaskState::InKernel
            })
            .filter_map(|other| other.pending.as_ref())
            .collect();
        // One that writes in place may change any data mapping before the
        // replay has it do so, and one that changes mappings (mmap, brk,
        // munmap...) changes which there are: hashing them would make the
        // point unreachable.
        let hash_data = !blocked
            .iter()
            .any(|p| p.writes_in_place() || p.changes_mappings());
        // Nor may the words that tell passes apart lie where such a
        // syscall writes.
        let in_place: Vec<(u64, u64)> = blocked
            .iter()
            .filter(|p| p.writes_in_place())
            .flat_map(|p| p.write_bounds(task))
            .collect();
        let context = PointContext {
            skipped: &skipped,
            hash_data,
        };
        // Where the code at the point overwrites the status flags before
        // reading them, the replay's trampoline clobbers them: passes that
        // differ only there are the same pass to it.
        let mut code = [0u8; 32];
        let got = task.read_partial(RemoteAddr(first.rip), &mut code);
        let ignored_flags = if x86::flags_dead(&code[..got]) {
            fingerprint::STATUS_FLAGS
        } else {
            0
        };
        let same = |a: &Registers, b: &Registers| {
            let (mut a, mut b) = (*a, *b);
            a.eflags &= !ignored_flags;
            b.eflags &= !ignored_flags;
            fingerprint::same_registers(&a, &b)
        };
        debugregs::set_exec_breakpoint(tid, 0, first.rip)?;
        // RF: the breakpoint must not fire before the instruction runs
        // once; the next pass is wanted, not this one.
        let mut leaving = first;
        leaving.eflags |= fingerprint::RESUME_FLAG;
        task.set_regs(&leaving)?;
        let first_counts = counts()?;
        let outcome = (|| -> Result<Settled, RecordError> {
            if let Pass::Stopped(stop) = next_pass(task, resume, &self.waiter, first.rip)? {
                return Ok(Settled::Elsewhere(stop));
            }
            let second = task.regs()?;
            let second_counts = counts()?;
            if !same(&second, &first)
                || fingerprint::stack_hash(task, &second) != first_hash
                || second_counts != first_counts
            {
                let point = point_here(task, &second, second_counts, &context)?;
                return Ok(Settled::At(Box::new(point)));
            }
            let before = snapshot(task, &skipped)?;
            if let Pass::Stopped(stop) = next_pass(task, resume, &self.waiter, first.rip)? {
                return Ok(Settled::Elsewhere(stop));
            }
            let third = task.regs()?;
            let third_counts = counts()?;
            if !same(&third, &first) || third_counts != first_counts {
                let point = point_here(task, &third, third_counts, &context)?;
                return Ok(Settled::At(Box::new(point)));
            }
            let after = snapshot(task, &skipped)?;
            let mut words = third_counts;
            words.extend(changed_words(&before, &after));
            words.retain(|&(addr, _)| {
                !in_place
                    .iter()
                    .any(|&(start, len)| addr + 8 > start && addr < start.saturating_add(len))
            });
            let point = point_here(task, &third, words, &context)?;
            Ok(Settled::At(Box::new(point)))
        })();
        // A thread that died meanwhile cannot have its slot cleared; its
        // death (in `Elsewhere`) is what matters then.
        let cleared = debugregs::clear_slot(tid, 0);
        let settled = outcome?;
        if let Settled::At(point) = &settled {
            cleared?;
            // The breakpoint hit set RF, which replay reaching the point
            // through a trampoline would not have; the breakpoint is gone,
            // so the flag has nothing left to do.
            task.set_regs(&point.regs)?;
        }
        Ok(settled)
    }
}

impl Session {
    /// The execution point of `tid` with registers `regs`, at the library's
    /// call of the untraced entry (`crate::desched`): the buffer's count of
    /// calls, with its busy flag, tells this pass through the entry from
    /// every other since the thread's last event (each call reserves a
    /// record first), so no more of memory is compared, and no data is
    /// hashed, nor the CPU time read, which would cost more than the call.
    /// The replay finds it by a breakpoint at each pass, with no limit of
    /// time.
    pub(crate) fn point_in_entry(
        &self,
        tid: tracee::Tid,
        regs: &Registers,
        buffer: u64,
    ) -> Result<ExecutionPoint, RecordError> {
        let record = self
            .tasks
            .get(&tid)
            .ok_or_else(|| crate::session::internal(format!("thread {tid} is not tracked")))?;
        let task = &record.task;
        let counts_word = buffer + tracee::syscallbuf_abi::COUNTS_WORD;
        let counts = task.read_u64(RemoteAddr(counts_word))?;
        let mut regs = *regs;
        regs.eflags &= !fingerprint::DEBUG_FLAGS;
        Ok(ExecutionPoint {
            regs,
            ticks: None,
            fingerprint: Some(trace_format::Fingerprint {
                stack_hash: fingerprint::stack_hash(task, &regs),
                memory: vec![(counts_word, counts)],
                data_ranges: Vec::new(),
                data_hash: fingerprint::data_hash(task, &[]),
                user_time_ns: 0,
            }),
        })
    }
}

/// What the fingerprint must leave out.
struct PointContext<'a> {
    /// Scratch areas.
    skipped: &'a [(u64, u64)],
    /// Whether the data mappings can be hashed at all.
    hash_data: bool,
}

fn point_here(
    task: &Task,
    regs: &Registers,
    memory: Vec<(u64, u64)>,
    context: &PointContext,
) -> Result<ExecutionPoint, RecordError> {
    let mut regs = *regs;
    regs.eflags &= !fingerprint::DEBUG_FLAGS;
    let data = if context.hash_data {
        data_ranges(task, &regs, context.skipped)?
    } else {
        Vec::new()
    };
    Ok(ExecutionPoint {
        regs,
        ticks: None,
        fingerprint: Some(fingerprint::capture(task, &regs, memory, data)),
    })
}

/// Whether a mapping holds the program's own writable state: not the
/// recorder's page, not a scratch area, not the kernel's [vvar] and kin.
fn program_writable(entry: &maps::MapEntry, skipped: &[(u64, u64)]) -> bool {
    let writable = entry.prot & libc::PROT_WRITE as u32 != 0;
    let ours = (remote::REWIND_PAGE..remote::REWIND_PAGE + remote::REWIND_REGION_LEN)
        .contains(&entry.start);
    let scratch = skipped
        .iter()
        .any(|&(start, end)| start < entry.end && entry.start < end);
    writable && !ours && !scratch && !entry.name.starts_with("[v")
}

/// The small private data mappings the fingerprint hashes. Code that may
/// be patched (executable mappings), shared memory, and the thread's own
/// stack (its top is hashed on its own) stay out.
fn data_ranges(
    task: &Task,
    regs: &Registers,
    skipped: &[(u64, u64)],
) -> Result<Vec<(u64, u64)>, RecordError> {
    let mut total = 0;
    let mut ranges = Vec::new();
    for entry in maps::read_maps(task.tid)? {
        let len = entry.end - entry.start;
        let executable = entry.prot & libc::PROT_EXEC as u32 != 0;
        let stack = (entry.start..entry.end).contains(&regs.rsp) || entry.name == "[stack]";
        if !program_writable(&entry, skipped)
            || executable
            || entry.shared
            || stack
            || len > MAX_DATA_MAPPING
            || total + len > MAX_DATA
        {
            continue;
        }
        total += len;
        ranges.push((entry.start, len));
    }
    Ok(ranges)
}

enum Pass {
    Reached,
    Stopped(Stop),
}

/// Runs the thread to its next pass through `rip` (a debug register holds
/// the breakpoint), or to whatever stops it first.
fn next_pass(
    task: &Task,
    resume: Resume,
    waiter: &tracee::waiter::ChildWaiter,
    rip: u64,
) -> Result<Pass, RecordError> {
    let started = Moment::now();
    debugregs::clear_status(task.tid)?;
    let stop = task.step_interruptible(resume, 0, waiter, Duration::from_millis(10), &|| {
        started.elapsed() > NEXT_PASS_WAIT
    })?;
    if stop == Stop::Signal(libc::SIGTRAP)
        && debugregs::status(task.tid)? & 1 != 0
        && task.regs()?.rip == rip
    {
        return Ok(Pass::Reached);
    }
    Ok(Pass::Stopped(stop))
}

/// The program's writable memory, by mapping, without `skipped` ranges.
fn snapshot(task: &Task, skipped: &[(u64, u64)]) -> Result<Vec<(u64, Vec<u8>)>, RecordError> {
    let mut total = 0;
    let mut copies = Vec::new();
    for entry in maps::read_maps(task.tid)? {
        let len = entry.end - entry.start;
        if !program_writable(&entry, skipped) || total + len > MAX_SNAPSHOT {
            continue;
        }
        total += len;
        let mut bytes = vec![0u8; len as usize];
        let got = task.read_partial(RemoteAddr(entry.start), &mut bytes);
        bytes.truncate(got);
        copies.push((entry.start, bytes));
    }
    Ok(copies)
}

/// Words that differ between two snapshots, with their later values.
fn changed_words(before: &[(u64, Vec<u8>)], after: &[(u64, Vec<u8>)]) -> Vec<(u64, u64)> {
    let mut words = Vec::new();
    for (start, old) in before {
        let Some((_, new)) = after.iter().find(|(s, _)| s == start) else {
            continue;
        };
        let len = old.len().min(new.len()) / 8 * 8;
        for at in (0..len).step_by(8) {
            if old[at..at + 8] != new[at..at + 8] {
                let value = u64::from_le_bytes(new[at..at + 8].try_into().unwrap_or([0; 8]));
                words.push((start + at as u64, value));
                if words.len() == MAX_WORDS {
                    return words;
                }
            }
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_words_are_found_with_their_new_values() {
        let before = vec![(0x1000, vec![0u8; 32])];
        let mut later = vec![0u8; 32];
        later[8] = 7;
        later[31] = 1;
        let after = vec![(0x1000, later)];
        assert_eq!(
            changed_words(&before, &after),
            vec![(0x1008, 7), (0x1018, 1 << 56)]
        );
    }
}
