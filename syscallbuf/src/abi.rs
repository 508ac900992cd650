//! What the preload library and rewind agree on: where the library enters
//! the kernel, where it finds the running thread's buffer, and the layout
//! of the records in that buffer (ARCHITECTURE.md "syscallbuf").
//!
//! Pure data and byte arithmetic, no_std and without unsafe: the library
//! builds it as a module of its own, and `tracee` includes the same file
//! (`tracee::syscallbuf_abi`), so both sides read one definition. Buffers
//! live in the tracee's memory, which the program can overwrite, so the
//! reader treats every byte as untrusted: a bad record is an error, never a
//! panic or a read past the buffer.

use core::sync::atomic::{compiler_fence, Ordering};

/// The rewind page: mapped by rewind at this fixed address in every
/// recorded and replayed process, again after every exec (rr uses the same
/// address for its own page).
pub const REWIND_PAGE: u64 = 0x7000_0000;
/// The `syscall` instruction rewind's injected syscalls run from, followed
/// by an int3 that is never reached.
pub const INJECTED_SYSCALL: u64 = REWIND_PAGE;
/// The library's one way into the kernel for the calls it buffers: in
/// recording `syscall`, which the recording's seccomp filter lets through
/// without a ptrace stop; in replay `REPLAY_ENTRY`. Either clears rcx and
/// r11 and returns, so the library's registers after it are the same in
/// both. The library passes the call's record in r12 (the kernel ignores
/// it).
pub const UNTRACED_SYSCALL: u64 = REWIND_PAGE + 0x10;
/// The instruction pointers the seccomp filter sees for the two syscalls it
/// lets through (the kernel reports the address after `syscall`).
pub const UNTRACED_SYSCALL_END: u64 = UNTRACED_SYSCALL + 2;
pub const INJECTED_SYSCALL_END: u64 = INJECTED_SYSCALL + 2;
/// The untraced entry's code in either half, to the end of its `ret`.
pub const UNTRACED_ENTRY_LEN: u64 = REPLAY_ENTRY.len() as u64;
/// The running thread's buffer: its address (u64, 0 for none) and length
/// (u64). One slot for all threads: rewind runs one thread at a time and
/// points the slot at that thread's buffer before it lets it run, as rr
/// does with its thread-locals page.
pub const THREAD_BUFFER: u64 = REWIND_PAGE + 0x2000;
pub const THREAD_BUFFER_LEN: u64 = THREAD_BUFFER + 8;
/// The slot's length word for a thread that may not have a buffer (a
/// vfork child, whose buffer would stay mapped in its parent): the
/// library takes the traced way without asking for one.
pub const REFUSED_LEN: u64 = 1;
/// A word that rewind sets where the library must buffer nothing: a
/// process that installed a seccomp filter of its own (which may trap or
/// kill a call the library makes, inside the library) or runs under one
/// rewind did not install. The library then takes the traced way always.
pub const BUFFERING_OFF: u64 = THREAD_BUFFER + 0xff8;

/// What rewind writes at `THREAD_BUFFER` for a thread with `buffer`
/// (address, length), without one, or refused one.
pub fn slot_bytes(buffer: Option<(u64, u64)>, refused: bool) -> [u8; 16] {
    let (addr, len) = match (buffer, refused) {
        (Some(buffer), _) => buffer,
        (None, false) => (0, 0),
        (None, true) => (0, REFUSED_LEN),
    };
    let mut slot = [0u8; 16];
    for (to, from) in slot
        .iter_mut()
        .zip(addr.to_le_bytes().into_iter().chain(len.to_le_bytes()))
    {
        *to = from;
    }
    slot
}

/// The files that writes through the buffer must not reach: those some
/// recorded process maps shared, whose pages change with every write and
/// which the replay backs with objects of its own that only the recorder's
/// sight of a write keeps up to date. rewind writes the table (and the
/// trace says when, so that replay writes it alike); the library reads it
/// before buffering a write. Layout: `count u64`, then `count` pairs
/// `st_dev u64, st_ino u64` as fstat reports them. A count above
/// `SHARED_FILES_MAX` means that no write may go through the buffer.
pub const SHARED_FILES: u64 = THREAD_BUFFER + 16;
pub const SHARED_FILES_MAX: usize = 200;
pub const SHARED_FILES_LEN: usize = 8 + 16 * SHARED_FILES_MAX;

/// Lays out the table for `files` (st_dev, st_ino) in `out`; returns how
/// many of its bytes are the table.
pub fn shared_files_table(files: &[(u64, u64)], out: &mut [u8; SHARED_FILES_LEN]) -> usize {
    if files.len() > SHARED_FILES_MAX {
        out[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        return 8;
    }
    out[..8].copy_from_slice(&(files.len() as u64).to_le_bytes());
    for (entry, &(dev, ino)) in out[8..].chunks_exact_mut(16).zip(files) {
        entry[..8].copy_from_slice(&dev.to_le_bytes());
        entry[8..].copy_from_slice(&ino.to_le_bytes());
    }
    8 + 16 * files.len()
}

/// Whether a write to the file (st_dev, st_ino) may go through the buffer,
/// as `table` (the bytes at `SHARED_FILES`) says.
pub fn may_write_through(table: &[u8], dev: u64, ino: u64) -> bool {
    let Some(count) = get_u64(table, 0) else {
        return false;
    };
    if count > SHARED_FILES_MAX as u64 {
        return false;
    }
    (0..count as usize).all(|i| {
        let at = 8 + 16 * i;
        match (get_u64(table, at), get_u64(table, at + 8)) {
            (Some(named_dev), Some(named_ino)) => (named_dev, named_ino) != (dev, ino),
            _ => false,
        }
    })
}

/// The files whose writes replay shows the user again (the recorder's own
/// standard output and error, which the program shares when nothing
/// redirected it): those stay traced, whose events carry the bytes. Two
/// entries `st_dev u64, st_ino u64`, `u64::MAX` twice for none; rewind
/// writes them before the process's first buffer is registered, as an
/// event that replay repeats.
pub const ECHOED_FILES: u64 = THREAD_BUFFER + 0xfd8;
pub const ECHOED_FILES_LEN: usize = 32;

/// The bytes rewind writes at `ECHOED_FILES`.
pub fn echoed_files_table(files: [Option<(u64, u64)>; 2]) -> [u8; ECHOED_FILES_LEN] {
    let mut table = [0u8; ECHOED_FILES_LEN];
    for (entry, file) in table.chunks_exact_mut(16).zip(files) {
        let (dev, ino) = file.unwrap_or((u64::MAX, u64::MAX));
        entry[..8].copy_from_slice(&dev.to_le_bytes());
        entry[8..].copy_from_slice(&ino.to_le_bytes());
    }
    table
}

/// Whether the file (st_dev, st_ino) is one `table` (the bytes at
/// `ECHOED_FILES`) names.
pub fn is_echoed(table: &[u8], dev: u64, ino: u64) -> bool {
    (0..2).any(|i| get_u64(table, 16 * i) == Some(dev) && get_u64(table, 16 * i + 8) == Some(ino))
}

/// The syscall by which the library hands rewind a thread's new buffer
/// (address, length): no kernel has this number, so without rewind it
/// fails with ENOSYS. rewind keeps the buffer and answers
/// `REGISTERED` or `REGISTERED_BLOCKING`.
pub const REGISTER_BUFFER: u64 = 1024;
/// The buffer is the thread's; calls that may wait on another thread or
/// process take the traced way (rewind cannot hear this thread block).
pub const REGISTERED: i64 = 0;
/// The buffer is the thread's, and rewind hears when the thread blocks
/// (a context-switch counter of its own): calls that may wait, such as a
/// read of a pipe, may go through the buffer too.
pub const REGISTERED_BLOCKING: i64 = 1;
/// Whether `result` is rewind's answer to a registration it accepted.
pub fn is_registered(result: i64) -> bool {
    result == REGISTERED || result == REGISTERED_BLOCKING
}
/// The syscall by which the library, once the loader has relocated it,
/// tells rewind where its stub area (address, length) and its patched
/// sites' entry are (ARCHITECTURE.md "syscallbuf", "Patching"). rewind
/// answers 0 and patches the process's syscall sites from then on; no
/// kernel has the number, so without rewind it fails with ENOSYS.
pub const LIBRARY_READY: u64 = 1025;
/// The length of the library's stub area: int3 bytes that rewind
/// overwrites with one stub per patched site.
pub const STUB_AREA_LEN: usize = 64 * 1024;
/// The length of the buffer the library maps for a thread.
pub const BUFFER_LEN: u64 = 1 << 20;
/// Where rewind moves a thread whose call through the untraced entry
/// blocked (ARCHITECTURE.md "syscallbuf", "Blocking calls"), with `RETRY`
/// in rax: the untraced entry's last instructions, at an address of their
/// own in recording and replay alike. The library gives the call up and
/// its caller makes it the traced way, where it may block.
pub const DESCHED_RETURN: u64 = REWIND_PAGE + 0x30;
/// The untraced entry's answer for a call given up: no syscall returns it.
pub const RETRY: i64 = i64::MIN;
/// In replay, the record address (r12) at which the replay entry traps
/// instead of returning: the pass through the entry where a call blocked
/// in the recording (`Desched`), which the replay runs the thread to. 0,
/// which no record has, for none.
pub const REPLAY_STOP_AT: u64 = REWIND_PAGE + 0x40;
/// Where the replay entry's trap leaves the thread (after its int3).
pub const REPLAY_TRAPPED: u64 = UNTRACED_SYSCALL + REPLAY_ENTRY.len() as u64;
/// The bytes of the rewind page's code, from `REWIND_PAGE`, in recording;
/// replay then writes `REPLAY_ENTRY` over the untraced entry.
pub const REWIND_CODE: [u8; 0x36] = [
    0x0f, 0x05, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, // syscall; int3 ...
    0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, //
    0x0f, 0x05, // syscall
    0x31, 0xc9, // xor ecx, ecx
    0x45, 0x31, 0xdb, // xor r11d, r11d
    0xc3, // ret
    0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, //
    0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, //
    0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, //
    0x31, 0xc9, // xor ecx, ecx (DESCHED_RETURN)
    0x45, 0x31, 0xdb, // xor r11d, r11d
    0xc3, // ret
];
/// The untraced entry in replay, where the buffer already holds the
/// recorded records: the recorded result, from the record at r12, unless
/// r12 is `REPLAY_STOP_AT`'s record, where it traps. It writes no memory
/// (no stack word). rcx and r11, which `syscall` sets, are cleared by both
/// entries, and so are the status flags (the `cmp`'s too): a thread
/// stopped anywhere past either entry's `ret` has the same registers in
/// recording and replay. (A thread stopped inside the recording's entry is
/// stepped out of it before its point is taken.)
pub const REPLAY_ENTRY: [u8; 21] = [
    0x4c, 0x3b, 0x25, 0x29, 0x00, 0x00, 0x00, // cmp r12, [rip + REPLAY_STOP_AT]
    0x74, 0x0b, // je the int3
    0x49, 0x8b, 0x44, 0x24, 0x38, // mov rax, [r12 + 56]: the record's result
    0x31, 0xc9, // xor ecx, ecx
    0x45, 0x31, 0xdb, // xor r11d, r11d
    0xc3, // ret
    0xcc, // int3: the pass `REPLAY_STOP_AT` names
];

/// Identifies a buffer header; anything else at a buffer's start means the
/// program overwrote it.
pub const MAGIC: u32 = u32::from_le_bytes(*b"RWSB");
/// Bumped with any change to the layout below.
pub const VERSION: u32 = 2;

/// A buffer's header, at its start:
/// `magic u32, version u32, used u32, capacity u32, records u32, busy u32,
/// blocking u32`, then 4 reserved bytes. `used` counts the record bytes after the header,
/// `capacity` the bytes there are for them. `busy` is 1 while the library
/// is inside a call, between reserving its record and committing it: a
/// stop that finds it set knows the last record is not whole yet.
pub const HEADER_LEN: usize = 32;
const USED: usize = 8;
const CAPACITY: usize = 12;
const RECORDS: usize = 16;
const BUSY: usize = 20;
/// Set by the library from rewind's answer to the registration
/// (`REGISTERED_BLOCKING`), in recording and replay alike.
const BLOCKING: usize = 24;
/// The header's word of `records` and `busy`: it changes with every
/// buffered call and evolves alike in recording and replay (where the rest
/// of the buffer holds the whole flush ahead of time), so an execution
/// point's fingerprint includes it to tell apart passes that buffered
/// calls separate.
pub const COUNTS_WORD: u64 = RECORDS as u64;

/// A record: `nr u32, out_len u32, args [u64; 6], result i64`, then
/// `out_len` bytes the call wrote (what the library copies out to the
/// program's memory), padded to 8.
pub const RECORD_HEADER_LEN: usize = 64;

/// Why a buffer could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corrupt {
    /// The header's magic or version is not ours.
    Header,
    /// `used` or `capacity` points past the buffer.
    Length,
    /// A record runs past `used`.
    Record { index: u32 },
}

/// One buffered call as the buffer holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub nr: u32,
    pub args: [u64; 6],
    pub result: i64,
    pub out: &'a [u8],
}

/// Writes an empty buffer's header over `buffer`; false if it is too small
/// to hold even the header.
pub fn init(buffer: &mut [u8]) -> bool {
    let Some(capacity) = buffer.len().checked_sub(HEADER_LEN) else {
        return false;
    };
    let Ok(capacity) = u32::try_from(capacity) else {
        return false;
    };
    put_u32(buffer, 0, MAGIC);
    put_u32(buffer, 4, VERSION);
    put_u32(buffer, USED, 0);
    put_u32(buffer, CAPACITY, capacity);
    put_u32(buffer, RECORDS, 0);
    put_u32(buffer, BUSY, 0);
    put_u32(buffer, BLOCKING, 0);
    true
}

/// Notes rewind's answer to the buffer's registration: whether calls that
/// may block may go through it.
pub fn set_blocking(buffer: &mut [u8], allowed: bool) {
    put_u32(buffer, BLOCKING, u32::from(allowed));
}

/// Whether calls that may block may go through the buffer.
pub fn blocking_allowed(buffer: &[u8]) -> bool {
    get_u32(buffer, BLOCKING) == Some(1)
}

/// Bytes a record with `out_len` bytes of output takes.
pub fn record_len(out_len: usize) -> Option<usize> {
    out_len
        .checked_add(7 + RECORD_HEADER_LEN)
        .map(|len| len / 8 * 8)
}

/// Reserves a record for a call that may write up to `out_max` bytes and
/// marks the buffer busy. Returns the offset of its output area, where the
/// kernel writes, or None when the buffer is full (the call then takes the
/// traced way, and the stop flushes the buffer). The result field is left
/// as it is: in replay it holds the recorded result, which the replay
/// entry returns.
pub fn reserve(buffer: &mut [u8], nr: u32, args: [u64; 6], out_max: usize) -> Option<usize> {
    // Busy first: a signal handler that calls the library from here on
    // takes the traced way; one that ran before saw the buffer free and
    // committed its own record, whose end is read only now. The fences
    // keep the compiler from moving these stores across each other (a
    // handler runs on this same thread, so no processor fence is needed).
    get_u32(buffer, BUSY)?;
    put_u32(buffer, BUSY, 1);
    compiler_fence(Ordering::SeqCst);
    let reserved = reserve_record(buffer, nr, args, out_max);
    if reserved.is_none() {
        compiler_fence(Ordering::SeqCst);
        put_u32(buffer, BUSY, 0);
    }
    reserved
}

fn reserve_record(buffer: &mut [u8], nr: u32, args: [u64; 6], out_max: usize) -> Option<usize> {
    let used = get_u32(buffer, USED)? as usize;
    let start = HEADER_LEN.checked_add(used)?;
    let end = start.checked_add(record_len(out_max)?)?;
    if end > buffer.len() || u32::try_from(out_max).is_err() {
        return None;
    }
    put_u32(buffer, start, nr);
    put_u32(buffer, start + 4, 0);
    for (i, arg) in args.iter().enumerate() {
        put_u64(buffer, start + 8 + 8 * i, *arg);
    }
    Some(start + RECORD_HEADER_LEN)
}

/// Completes the record reserved at `out` (what `reserve` returned) with
/// the call's result and the bytes of output it keeps, and clears busy.
pub fn commit(buffer: &mut [u8], out: usize, result: i64, out_len: usize) {
    let (Some(start), Some(used)) = (out.checked_sub(RECORD_HEADER_LEN), get_u32(buffer, USED))
    else {
        return;
    };
    let Some(records) = get_u32(buffer, RECORDS) else {
        return;
    };
    let Ok(out_len32) = u32::try_from(out_len) else {
        return;
    };
    put_u32(buffer, start + 4, out_len32);
    put_u64(buffer, start + 56, result as u64);
    let Some(used) = record_len(out_len).and_then(|len| len.checked_add(used as usize)) else {
        return;
    };
    put_u32(buffer, USED, u32::try_from(used).unwrap_or(u32::MAX));
    put_u32(buffer, RECORDS, records.wrapping_add(1));
    compiler_fence(Ordering::SeqCst);
    put_u32(buffer, BUSY, 0);
}

/// Gives up the record reserved last (the call blocked, and is made the
/// traced way: `RETRY`): the buffer is no longer busy, and the next call
/// reserves the same place.
pub fn abandon(buffer: &mut [u8]) {
    compiler_fence(Ordering::SeqCst);
    put_u32(buffer, BUSY, 0);
}

/// Lays the recorded records of a thread's next flush into its buffer
/// before the replay lets the thread run: the library reserves each call's
/// record where it lies, the replay entry returns its result, and the
/// output is already in place for the library to copy out. False if they
/// do not fit.
pub fn prefill(buffer: &mut [u8], recorded: &[u8]) -> bool {
    let Some(area) = HEADER_LEN
        .checked_add(recorded.len())
        .and_then(|end| buffer.get_mut(HEADER_LEN..end))
    else {
        return false;
    };
    for (to, from) in area.iter_mut().zip(recorded) {
        *to = *from;
    }
    clear(buffer);
    put_u32(buffer, BUSY, 0);
    true
}

/// Empties the buffer after its records went into the trace.
pub fn clear(buffer: &mut [u8]) {
    put_u32(buffer, USED, 0);
    put_u32(buffer, RECORDS, 0);
}

/// A buffer header's committed bytes and records, if it is one of ours.
pub fn header_counts(header: &[u8]) -> Option<(usize, u32)> {
    if get_u32(header, 0)? != MAGIC || get_u32(header, 4)? != VERSION {
        return None;
    }
    Some((get_u32(header, USED)? as usize, get_u32(header, RECORDS)?))
}

/// Whether a call is between `reserve` and `commit`.
pub fn busy(buffer: &[u8]) -> bool {
    get_u32(buffer, BUSY).is_some_and(|b| b != 0)
}

/// The committed records of `buffer`, checked against its own lengths.
pub fn records(buffer: &[u8]) -> Result<Records<'_>, Corrupt> {
    let (used, count) = header_counts(buffer).ok_or(Corrupt::Header)?;
    let capacity = get_u32(buffer, CAPACITY).ok_or(Corrupt::Header)? as usize;
    let end = HEADER_LEN.checked_add(used).ok_or(Corrupt::Length)?;
    if used > capacity || end > buffer.len() {
        return Err(Corrupt::Length);
    }
    Ok(flushed(
        buffer.get(HEADER_LEN..end).ok_or(Corrupt::Length)?,
        count,
    ))
}

/// The records of a flush as the trace keeps them: a buffer's committed
/// bytes after its header, and how many records they hold.
pub fn flushed(bytes: &[u8], count: u32) -> Records<'_> {
    Records {
        bytes,
        index: 0,
        count,
        done: false,
    }
}

/// Iterator over a buffer's records; stops after the first bad one.
pub struct Records<'a> {
    bytes: &'a [u8],
    index: u32,
    count: u32,
    done: bool,
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, Corrupt>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let bad = Corrupt::Record { index: self.index };
        if self.index == self.count {
            self.done = true;
            // Bytes past the counted records: the count or a length lies.
            return (!self.bytes.is_empty()).then_some(Err(bad));
        }
        match parse(self.bytes) {
            Some((record, rest)) => {
                self.bytes = rest;
                self.index += 1;
                Some(Ok(record))
            }
            None => {
                self.done = true;
                Some(Err(bad))
            }
        }
    }
}

fn parse(bytes: &[u8]) -> Option<(Record<'_>, &[u8])> {
    let nr = get_u32(bytes, 0)?;
    let out_len = get_u32(bytes, 4)? as usize;
    let mut args = [0u64; 6];
    for (i, arg) in args.iter_mut().enumerate() {
        *arg = get_u64(bytes, 8 + 8 * i)?;
    }
    let result = get_u64(bytes, 56)? as i64;
    let out = bytes.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN.checked_add(out_len)?)?;
    let rest = bytes.get(record_len(out_len)?..)?;
    Some((
        Record {
            nr,
            args,
            result,
            out,
        },
        rest,
    ))
}

fn get_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let field = bytes.get(at..at.checked_add(4)?)?;
    let mut le = [0u8; 4];
    for (to, from) in le.iter_mut().zip(field) {
        *to = *from;
    }
    Some(u32::from_le_bytes(le))
}

fn get_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let low = get_u32(bytes, at)?;
    let high = get_u32(bytes, at.checked_add(4)?)?;
    Some(u64::from(low) | (u64::from(high) << 32))
}

/// Writes what fits: callers checked the offsets, and a short buffer must
/// lose bytes rather than panic inside the program.
fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    if let Some(field) = at.checked_add(4).and_then(|end| bytes.get_mut(at..end)) {
        for (to, from) in field.iter_mut().zip(value.to_le_bytes()) {
            *to = from;
        }
    }
}

fn put_u64(bytes: &mut [u8], at: usize, value: u64) {
    put_u32(bytes, at, value as u32);
    put_u32(bytes, at.wrapping_add(4), (value >> 32) as u32);
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec;
    use std::vec::Vec;

    use super::*;

    fn buffer_with(calls: &[(u32, &[u8], i64)]) -> Vec<u8> {
        let mut buffer = vec![0u8; 512];
        assert!(init(&mut buffer));
        for (nr, out, result) in calls {
            let at = reserve(&mut buffer, *nr, [1, 2, 3, 4, 5, 6], out.len()).expect("room");
            assert!(busy(&buffer));
            buffer[at..at + out.len()].copy_from_slice(out);
            commit(&mut buffer, at, *result, out.len());
            assert!(!busy(&buffer));
        }
        buffer
    }

    #[test]
    fn committed_records_read_back_in_order() {
        let buffer = buffer_with(&[(0, b"hello", 5), (39, b"", 1234), (0, b"", -11)]);
        let read: Vec<_> = records(&buffer).expect("header").collect();
        assert_eq!(
            read,
            [
                Ok(Record {
                    nr: 0,
                    args: [1, 2, 3, 4, 5, 6],
                    result: 5,
                    out: b"hello"
                }),
                Ok(Record {
                    nr: 39,
                    args: [1, 2, 3, 4, 5, 6],
                    result: 1234,
                    out: b""
                }),
                Ok(Record {
                    nr: 0,
                    args: [1, 2, 3, 4, 5, 6],
                    result: -11,
                    out: b""
                }),
            ]
        );
    }

    #[test]
    fn a_call_kept_fewer_bytes_than_it_reserved_takes_only_those() {
        let mut buffer = vec![0u8; 512];
        init(&mut buffer);
        let at = reserve(&mut buffer, 0, [0; 6], 200).expect("room");
        buffer[at..at + 3].copy_from_slice(b"abc");
        commit(&mut buffer, at, 3, 3);
        let at = reserve(&mut buffer, 1, [0; 6], 0).expect("room");
        assert_eq!(at, HEADER_LEN + record_len(3).unwrap() + RECORD_HEADER_LEN);
        commit(&mut buffer, at, 0, 0);
        let read: Vec<_> = records(&buffer).unwrap().map(|r| r.unwrap().out).collect();
        assert_eq!(read, [&b"abc"[..], &b""[..]]);
    }

    #[test]
    fn a_full_buffer_refuses_the_call_and_keeps_its_records() {
        let mut buffer = vec![0u8; HEADER_LEN + record_len(16).unwrap()];
        init(&mut buffer);
        assert_eq!(reserve(&mut buffer, 0, [0; 6], 17), None);
        assert!(!busy(&buffer));
        let at = reserve(&mut buffer, 0, [0; 6], 16).expect("exactly fits");
        commit(&mut buffer, at, 16, 16);
        assert_eq!(reserve(&mut buffer, 39, [0; 6], 0), None);
        assert_eq!(records(&buffer).unwrap().count(), 1);
        clear(&mut buffer);
        assert_eq!(records(&buffer).unwrap().count(), 0);
        assert!(reserve(&mut buffer, 39, [0; 6], 0).is_some());
    }

    #[test]
    fn the_shared_files_table_stops_writes_to_the_files_it_names() {
        let mut table = [0u8; SHARED_FILES_LEN];
        let len = shared_files_table(&[(0x803, 12), (0x803, 40)], &mut table);
        assert_eq!(len, 8 + 32);
        assert!(!may_write_through(&table[..len], 0x803, 40));
        assert!(may_write_through(&table[..len], 0x803, 41));
        assert!(may_write_through(&table[..len], 0x804, 12));
        assert!(may_write_through(&[0; 8], 1, 2), "an empty table");
        assert!(!may_write_through(&[0; 4], 1, 2), "a cut table");
        let many = [(1, 1); SHARED_FILES_MAX + 1];
        let len = shared_files_table(&many, &mut table);
        assert!(!may_write_through(&table[..len], 5, 5), "an overfull table");
        let mut cut = [0u8; 24];
        cut[0] = 2;
        assert!(!may_write_through(&cut, 5, 5), "a count past the bytes");
        assert!((SHARED_FILES - THREAD_BUFFER) as usize + SHARED_FILES_LEN <= 0x1000);
    }

    #[test]
    fn echoed_files_are_found_by_identity() {
        let table = echoed_files_table([Some((1, 2)), None]);
        assert!(is_echoed(&table, 1, 2));
        assert!(!is_echoed(&table, 2, 1));
        assert!(!is_echoed(&table, 0, 0), "none is not a file of 0, 0");
        let both = echoed_files_table([Some((1, 2)), Some((3, 4))]);
        assert!(is_echoed(&both, 3, 4));
        let shared_end = (SHARED_FILES - THREAD_BUFFER) as usize + SHARED_FILES_LEN;
        let echoed = (ECHOED_FILES - THREAD_BUFFER) as usize;
        assert!(shared_end <= echoed && echoed + ECHOED_FILES_LEN <= 0xff8);
    }

    #[test]
    fn the_entries_are_where_the_constants_say() {
        assert_eq!(&REWIND_CODE[..2], &[0x0f, 0x05]);
        let untraced = (UNTRACED_SYSCALL - REWIND_PAGE) as usize;
        assert_eq!(&REWIND_CODE[untraced..untraced + 2], &[0x0f, 0x05]);
        // Both entries end alike: the same registers after either.
        assert_eq!(
            REWIND_CODE[untraced + 2..untraced + 8],
            REPLAY_ENTRY[14..20]
        );
        assert_eq!(REPLAY_ENTRY[13], 56, "the result's offset in a record");
        // The comparison's rip-relative word is REPLAY_STOP_AT.
        let disp = i32::from_le_bytes([
            REPLAY_ENTRY[3],
            REPLAY_ENTRY[4],
            REPLAY_ENTRY[5],
            REPLAY_ENTRY[6],
        ]);
        assert_eq!(UNTRACED_SYSCALL + 7 + disp as u64, REPLAY_STOP_AT);
        // The jump lands on the int3, the entry's last byte.
        assert_eq!(9 + REPLAY_ENTRY[8] as usize, REPLAY_ENTRY.len() - 1);
        assert_eq!(REPLAY_ENTRY[REPLAY_ENTRY.len() - 1], 0xcc);
        assert!(untraced as u64 + UNTRACED_ENTRY_LEN <= 0x1000);
        // The entry's end, where a blocked call is given up.
        let desched = (DESCHED_RETURN - REWIND_PAGE) as usize;
        assert_eq!(
            REWIND_CODE[desched..],
            REWIND_CODE[untraced + 2..untraced + 8]
        );
        assert!(untraced + REPLAY_ENTRY.len() <= desched);
        const { assert!(DESCHED_RETURN + 6 <= REPLAY_STOP_AT) };
    }

    #[test]
    fn a_prefilled_buffer_gives_the_library_the_recorded_results_and_bytes() {
        let recorded = buffer_with(&[(0, b"hello", 5), (39, b"", 1234)]);
        let used = u32::from_le_bytes(recorded[USED..USED + 4].try_into().unwrap()) as usize;
        let mut replay = vec![0u8; 512];
        init(&mut replay);
        assert!(prefill(
            &mut replay,
            &recorded[HEADER_LEN..HEADER_LEN + used]
        ));
        assert_eq!(records(&replay).unwrap().count(), 0);
        // The library reserves as in the recording; the entry reads the
        // result at the record's offset 56, and the output is in place.
        let at = reserve(&mut replay, 0, [1, 2, 3, 4, 5, 6], 5).unwrap();
        let result = i64::from_le_bytes(replay[at - 8..at].try_into().unwrap());
        assert_eq!((result, &replay[at..at + 5]), (5, &b"hello"[..]));
        commit(&mut replay, at, result, 5);
        let at = reserve(&mut replay, 39, [1, 2, 3, 4, 5, 6], 0).unwrap();
        let result = i64::from_le_bytes(replay[at - 8..at].try_into().unwrap());
        commit(&mut replay, at, result, 0);
        assert_eq!(&replay[..HEADER_LEN + used], &recorded[..HEADER_LEN + used]);
        assert!(!prefill(&mut replay, &[0u8; 512]));
    }

    #[test]
    fn a_buffer_too_small_for_its_header_is_refused() {
        assert!(!init(&mut [0u8; HEADER_LEN - 1]));
        assert_eq!(reserve(&mut [0u8; 4], 0, [0; 6], 0), None);
        assert!(records(&[0u8; 8]).is_err());
    }

    #[test]
    fn overwritten_headers_and_lengths_are_errors() {
        let good = buffer_with(&[(0, b"hello", 5)]);
        let mut bad = good.clone();
        bad[0] ^= 1;
        assert_eq!(records(&bad).err(), Some(Corrupt::Header));
        let mut bad = good.clone();
        bad[4] = 9;
        assert_eq!(records(&bad).err(), Some(Corrupt::Header));
        let mut bad = good.clone();
        bad[USED..USED + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(records(&bad).err(), Some(Corrupt::Length));
        let mut bad = good.clone();
        // The record's out_len runs past `used`.
        bad[HEADER_LEN + 4..HEADER_LEN + 8].copy_from_slice(&300u32.to_le_bytes());
        let read: Vec<_> = records(&bad).unwrap().collect();
        assert_eq!(read, [Err(Corrupt::Record { index: 0 })]);
        let mut bad = good;
        bad[RECORDS..RECORDS + 4].copy_from_slice(&0u32.to_le_bytes());
        let read: Vec<_> = records(&bad).unwrap().collect();
        assert_eq!(read, [Err(Corrupt::Record { index: 0 })]);
    }

    #[test]
    fn no_scribbling_on_a_buffer_makes_the_reader_panic_or_loop() {
        let good = buffer_with(&[(0, b"hello", 5), (1, b"", 3), (0, b"0123456789", 10)]);
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            let mut bad = good.clone();
            for _ in 0..3 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state % 200) as usize;
                bad[at] = (state >> 32) as u8;
            }
            if let Ok(read) = records(&bad) {
                assert!(read.take(1000).count() <= 64);
            }
        }
    }
}
