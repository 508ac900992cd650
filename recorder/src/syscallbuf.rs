//! The recorder's side of the preload library (ARCHITECTURE.md
//! "syscallbuf"): the buffers threads register, the slot that names the
//! running thread's, calls from the untraced entry that pass without a
//! record of their own, and the flush of a buffer into the trace at its
//! thread's stops.

use std::rc::Rc;

use trace_format::{BufferedSyscalls, Event, MemoryWrite, Registers};
use tracee::syscallbuf_abi::{
    self, BUFFERING_OFF, ECHOED_FILES, HEADER_LEN, SHARED_FILES, SHARED_FILES_LEN, THREAD_BUFFER,
    UNTRACED_SYSCALL_END,
};
use tracee::{RemoteAddr, Tid};

use crate::error::RecordError;
use crate::session::Session;

/// Whether a syscall stop is at the library's untraced entry: a buffered
/// call, which the buffer records. Such calls stop only where the process
/// is resumed with PTRACE_SYSCALL.
pub fn is_untraced(regs: &Registers) -> bool {
    regs.rip == UNTRACED_SYSCALL_END
}

impl Session {
    /// The library handed over `tid`'s buffer (`REGISTER_BUFFER`, answered
    /// 0): the thread's from now on, and the slot points at it before the
    /// thread runs again. The library writes the slot too, but only after
    /// the call returns; replay points it at the buffer from here on, and a
    /// signal handler running before the library's write must see the same.
    pub(crate) fn register_buffer(&mut self, tid: Tid, args: [u64; 6]) -> Result<(), RecordError> {
        let record = self.task(tid)?;
        let first_in_process = record.space.buffers.borrow().is_empty();
        let buffer = (args[0], args[1]);
        record.task.write_bytes(
            RemoteAddr(THREAD_BUFFER),
            &syscallbuf_abi::slot_bytes(Some(buffer), false),
        )?;
        record.buffer = Some(buffer);
        record.space.buffers.borrow_mut().push(buffer);
        record.space.slot_owner.set(Some(tid));
        if first_in_process {
            // Before any call goes through a buffer of this process.
            let table = syscallbuf_abi::echoed_files_table(self.output_ids.files());
            self.write_rewind_page(tid, ECHOED_FILES, &table)?;
        }
        Ok(())
    }

    /// Points the slot at the buffer of `tid`, about to run user code in a
    /// process where threads have buffers or one was refused a buffer, or
    /// at none: the library must never see another thread's.
    pub(crate) fn point_slot(&mut self, tid: Tid) -> Result<(), RecordError> {
        let record = self.task(tid)?;
        let owner = record.space.slot_owner.get();
        let untouched =
            owner.is_none() && record.space.buffers.borrow().is_empty() && !record.buffer_refused;
        if untouched || owner == Some(tid) {
            return Ok(());
        }
        let slot = syscallbuf_abi::slot_bytes(record.buffer, record.buffer_refused);
        record.task.write_bytes(RemoteAddr(THREAD_BUFFER), &slot)?;
        record.space.slot_owner.set(Some(tid));
        Ok(())
    }

    /// Brings the library's table of shared files in `tid`'s process up to
    /// date before the thread runs, as an event of its own, so that replay
    /// writes the same table at the same moment: the library's choice
    /// between the buffer and the traced way depends on it.
    /// Only where the thread stands at a stop its trace places (the
    /// scheduler starting it), not where it goes on after a stop that left
    /// no event: replay writes the table at the thread's last event.
    pub(crate) fn publish_shared_files(&mut self, tid: Tid) -> Result<(), RecordError> {
        let count = self.shared.count();
        let space = Rc::clone(&self.task(tid)?.space);
        if space.buffers.borrow().is_empty() || space.shared_files_published.get() == count {
            return Ok(());
        }
        let mut table = [0u8; SHARED_FILES_LEN];
        let len = syscallbuf_abi::shared_files_table(&self.shared.files(), &mut table);
        self.write_rewind_page(tid, SHARED_FILES, &table[..len])?;
        space.shared_files_published.set(count);
        Ok(())
    }

    /// Makes the library in `tid`'s process take the traced way for every
    /// call from now on (`syscallbuf_abi::BUFFERING_OFF`), as an event of
    /// its own so that replay sets the word at the same moment.
    pub(crate) fn turn_buffering_off(&mut self, tid: Tid) -> Result<(), RecordError> {
        self.write_rewind_page(tid, BUFFERING_OFF, &1u64.to_le_bytes())
    }

    /// Writes `bytes` at `addr` of the rewind page of `tid`'s process and
    /// records the write as an event of `tid`, which replay repeats there.
    fn write_rewind_page(&mut self, tid: Tid, addr: u64, bytes: &[u8]) -> Result<(), RecordError> {
        self.task(tid)?.task.write_bytes(RemoteAddr(addr), bytes)?;
        let data = self.writer.append_data(bytes)?;
        self.emit(tid, Event::MemoryWrites(vec![MemoryWrite { addr, data }]))
    }

    /// At a stop of `tid`: the calls its buffer committed since the last
    /// flush go into the trace, ahead of the stop's own event, and the
    /// buffer starts over. A buffer inside a call (busy: a signal came
    /// between its record's reservation and commit) waits for a later
    /// stop, unless the thread is ending (`at_end`): its commit would
    /// count from the cleared header, but it never comes.
    pub(crate) fn flush_buffer(&mut self, tid: Tid, at_end: bool) -> Result<(), RecordError> {
        let record = self.task(tid)?;
        let Some((addr, len)) = record.buffer else {
            return Ok(());
        };
        let mut header = [0u8; HEADER_LEN];
        record.task.read_bytes(RemoteAddr(addr), &mut header)?;
        let overwritten = || RecordError::CannotRecord {
            what: format!("the syscall buffer at {addr:#x}"),
            reason: "the program overwrote rewind's syscall buffer",
        };
        let (used, count) = syscallbuf_abi::header_counts(&header).ok_or_else(overwritten)?;
        if count == 0 || (syscallbuf_abi::busy(&header) && !at_end) {
            return Ok(());
        }
        if (HEADER_LEN + used) as u64 > len {
            return Err(overwritten());
        }
        let mut committed = vec![0u8; used];
        record
            .task
            .read_bytes(RemoteAddr(addr + HEADER_LEN as u64), &mut committed)?;
        if syscallbuf_abi::flushed(&committed, count).any(|r| r.is_err()) {
            return Err(overwritten());
        }
        syscallbuf_abi::clear(&mut header);
        record.task.write_bytes(RemoteAddr(addr), &header)?;
        let records = self.writer.append_data(&committed)?;
        self.emit(
            tid,
            Event::BufferedSyscalls(BufferedSyscalls { records, count }),
        )
    }
}
