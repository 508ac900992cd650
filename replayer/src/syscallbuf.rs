//! Replay of the preload library's buffered calls (ARCHITECTURE.md
//! "syscallbuf"). The library runs in replay as it ran in the recording,
//! up to its untraced entry, where the replay's rewind page returns the
//! recorded result instead of entering the kernel. So before a thread
//! runs, its buffer must hold the records of its next flush (`prefill`);
//! at the flush's stop the replay checks that the thread committed exactly
//! those calls, then lays in the next flush. No stop per buffered call.

use std::collections::HashMap;
use std::rc::Rc;

use trace_format::{BufferedSyscalls, Event, TraceReader};
use tracee::syscallbuf_abi::{self, HEADER_LEN, THREAD_BUFFER};
use tracee::{RemoteAddr, Task, Tid, TraceeError};

use crate::error::ReplayError;
use crate::session::{task_in, ReplaySession};
use crate::verify;

/// What a replayed thread has of the library; copied with the thread.
#[derive(Clone, Debug, Default)]
pub struct ThreadBuffer {
    /// Its buffer (address, length), once registered.
    pub buffer: Option<(u64, u64)>,
    /// It may not have one: a vfork child (`syscallbuf_abi::REFUSED_LEN`).
    pub refused: bool,
    /// Some thread registered a buffer, or was refused one: from then on
    /// the slot is set before each run of every thread. The recorder
    /// writes it only where it changes, which it can tell because it knows
    /// which threads share memory; what the library reads there is the
    /// same.
    pub slot_in_use: bool,
    /// The recording flushed this thread's buffer at its next stop: the
    /// flush event's number and records.
    pub due: Option<(u64, BufferedSyscalls)>,
}

impl ThreadBuffer {
    /// Points the rewind page's slot at this thread's buffer (or at none)
    /// before it runs, as the recorder did.
    pub fn point_slot(&self, task: &Task) -> Result<(), TraceeError> {
        if !self.slot_in_use {
            return Ok(());
        }
        let slot = syscallbuf_abi::slot_bytes(self.buffer, self.refused);
        task.write_bytes(RemoteAddr(THREAD_BUFFER), &slot)
    }
}

/// Where each thread's flushes are in the trace, and where the thread's
/// buffer ends (its exec or exit): read once, on the first registration.
#[derive(Default)]
pub struct FlushIndex {
    by_thread: HashMap<Tid, Vec<(u64, Option<BufferedSyscalls>)>>,
}

impl FlushIndex {
    fn build(reader: &TraceReader) -> Result<FlushIndex, ReplayError> {
        let mut index = FlushIndex::default();
        for item in reader.events() {
            let (number, record) = item?;
            let mark = match record.event {
                Event::BufferedSyscalls(flush) => Some(flush),
                Event::Exec(_) | Event::Exit(_) => None,
                _ => continue,
            };
            index
                .by_thread
                .entry(record.tid)
                .or_default()
                .push((number, mark));
        }
        Ok(index)
    }

    /// The flush of `tid` after event `after`, unless its buffer ends
    /// first.
    fn next_flush(&self, tid: Tid, after: u64) -> Option<BufferedSyscalls> {
        let marks = self.by_thread.get(&tid)?;
        let next = marks.partition_point(|&(number, _)| number <= after);
        marks.get(next).and_then(|&(_, flush)| flush)
    }
}

impl ReplaySession {
    fn flush_index(&mut self) -> Result<Rc<FlushIndex>, ReplayError> {
        if let Some(index) = &self.flushes {
            return Ok(Rc::clone(index));
        }
        let index = Rc::new(FlushIndex::build(&self.reader)?);
        self.flushes = Some(Rc::clone(&index));
        Ok(index)
    }

    /// The library registered `tid`'s buffer at event `number` (the
    /// emulated `REGISTER_BUFFER`): the thread's from now on, and the slot
    /// is kept for every thread.
    pub(crate) fn register_buffer(
        &mut self,
        number: u64,
        tid: Tid,
        args: [u64; 6],
    ) -> Result<(), ReplayError> {
        self.flush_index()?;
        task_in(&mut self.tasks, number, tid)?.buffers.buffer = Some((args[0], args[1]));
        self.slot_used = true;
        for task in self.tasks.values_mut() {
            task.buffers.slot_in_use = true;
        }
        self.prefill_next(number, tid)
    }

    /// A vfork child buffers nothing: its buffer would stay in its
    /// parent's memory. The slot says so before it runs, and is set before
    /// every thread's runs from now on.
    pub(crate) fn refuse_buffer(&mut self, number: u64, child: Tid) -> Result<(), ReplayError> {
        task_in(&mut self.tasks, number, child)?.buffers.refused = true;
        self.slot_used = true;
        for task in self.tasks.values_mut() {
            task.buffers.slot_in_use = true;
        }
        Ok(())
    }

    /// A forked child starts with its copy of its parent's buffer, which
    /// holds the parent's next flush: it gets its own.
    pub(crate) fn fork_buffer(
        &mut self,
        number: u64,
        parent: Tid,
        child: Tid,
    ) -> Result<(), ReplayError> {
        let inherited = task_in(&mut self.tasks, number, parent)?.buffers.clone();
        let task = task_in(&mut self.tasks, number, child)?;
        task.buffers = ThreadBuffer {
            due: None,
            ..inherited
        };
        if task.buffers.buffer.is_some() {
            self.prefill_next(number, child)?;
        }
        Ok(())
    }

    /// Lays the records of `tid`'s next flush after event `number` into
    /// its buffer (or empties it, when there is none before its end).
    fn prefill_next(&mut self, number: u64, tid: Tid) -> Result<(), ReplayError> {
        let Some((addr, len)) = task_in(&mut self.tasks, number, tid)?.buffers.buffer else {
            return Ok(());
        };
        let index = self.flush_index()?;
        let recorded = match index.next_flush(tid, number) {
            Some(flush) => self.reader.data().read(flush.records)?,
            None => Vec::new(),
        };
        let task = task_in(&mut self.tasks, number, tid)?;
        // The header as the library wrote it (magic, capacity), then the
        // records: what `prefill` lays out over it.
        let mut buffer = vec![0u8; HEADER_LEN + recorded.len()];
        task.task
            .read_bytes(RemoteAddr(addr), &mut buffer[..HEADER_LEN])?;
        if buffer.len() as u64 > len || !syscallbuf_abi::prefill(&mut buffer, &recorded) {
            return Err(ReplayError::BadTrace {
                event: number,
                reason: format!(
                    "a flush of thread {tid}'s syscall buffer holds {} bytes, more than its buffer",
                    recorded.len()
                ),
            });
        }
        task.task.write_bytes(RemoteAddr(addr), &buffer)?;
        Ok(())
    }

    /// The call through `tid`'s buffer that blocked at event `number` (a
    /// `Desched`) was given up, and its record's place goes to the next
    /// call. The library may have written into that place before the call
    /// (poll's copied-in array), over the recorded output of the call that
    /// follows it there: the recorded bytes from the committed ones on go
    /// back in. Those before stay as the replay made them, for the flush's
    /// check.
    pub(crate) fn relay_after_committed(
        &mut self,
        number: u64,
        tid: Tid,
    ) -> Result<(), ReplayError> {
        let Some((addr, _)) = task_in(&mut self.tasks, number, tid)?.buffers.buffer else {
            return Ok(());
        };
        let index = self.flush_index()?;
        let Some(flush) = index.next_flush(tid, number) else {
            return Ok(());
        };
        let recorded = self.reader.data().read(flush.records)?;
        let task = task_in(&mut self.tasks, number, tid)?;
        let mut header = [0u8; HEADER_LEN];
        task.task.read_bytes(RemoteAddr(addr), &mut header)?;
        let Some((committed, _)) = syscallbuf_abi::header_counts(&header) else {
            return Ok(());
        };
        if let Some(rest) = recorded.get(committed..).filter(|rest| !rest.is_empty()) {
            let at = addr + (HEADER_LEN + committed) as u64;
            task.task.write_bytes(RemoteAddr(at), rest)?;
        }
        Ok(())
    }

    /// At the first stop of `tid` after a flush was recorded for it: the
    /// thread's buffer must hold exactly the recorded calls. Then the next
    /// flush goes in.
    pub(crate) fn check_flush(&mut self, number: u64, tid: Tid) -> Result<(), ReplayError> {
        let task = task_in(&mut self.tasks, number, tid)?;
        let (Some((armed, flush)), Some((addr, _))) = (task.buffers.due, task.buffers.buffer)
        else {
            return Ok(());
        };
        if armed >= number || task.gone {
            return Ok(());
        }
        task.buffers.due = None;
        let recorded = self.reader.data().read(flush.records)?;
        let task = task_in(&mut self.tasks, number, tid)?;
        let mut buffer = vec![0u8; HEADER_LEN + recorded.len()];
        let got = task.task.read_partial(RemoteAddr(addr), &mut buffer);
        let replayed = syscallbuf_abi::header_counts(&buffer[..got.min(HEADER_LEN)]);
        if replayed != Some((recorded.len(), flush.count)) || buffer[HEADER_LEN..] != recorded[..] {
            return Err(verify::diverged(
                armed,
                tid,
                "buffered syscalls",
                describe_difference(&buffer[..got], &recorded, flush.count),
            ));
        }
        self.prefill_next(number, tid)
    }
}

/// Names the first buffered call where the replay and the recording part.
fn describe_difference(replayed: &[u8], recorded: &[u8], count: u32) -> String {
    let describe = |record: Result<syscallbuf_abi::Record, syscallbuf_abi::Corrupt>| match record {
        Ok(r) => format!(
            "{} {:x?} = {}",
            tracee::syscalls::name(u64::from(r.nr)),
            r.args,
            r.result
        ),
        Err(e) => format!("{e:?}"),
    };
    let ours: Vec<String> = match syscallbuf_abi::records(replayed) {
        Ok(records) => records.map(describe).collect(),
        Err(e) => vec![format!("{e:?}")],
    };
    let theirs: Vec<String> = syscallbuf_abi::flushed(recorded, count)
        .map(describe)
        .collect();
    let at = ours
        .iter()
        .zip(&theirs)
        .position(|(a, b)| a != b)
        .unwrap_or(ours.len().min(theirs.len()));
    if ours == theirs {
        // The same calls and results: an output's bytes differ.
        let offset = replayed
            .get(HEADER_LEN..)
            .unwrap_or_default()
            .iter()
            .zip(recorded)
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        return format!(
            "the thread made the {} buffered calls the recording made, but their records \
             differ {offset} bytes in (an output the replay changed)",
            ours.len()
        );
    }
    format!(
        "the thread made {} buffered calls where the recording made {}; call {at}: replay {}, recording {}",
        ours.len(),
        theirs.len(),
        ours.get(at).map_or("none", String::as_str),
        theirs.get(at).map_or("none", String::as_str),
    )
}
