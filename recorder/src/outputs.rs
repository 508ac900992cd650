//! Capturing the memory a syscall wrote, as the syscall table describes it.

use trace_format::{MemoryWrite, TraceWriter};
use tracee::syscalls::Output;
use tracee::{RemoteAddr, Task};

use crate::error::RecordError;

/// Largest piece read from the tracee at once; big reads (a 200 MiB
/// `read`) stream through a buffer of this size into the trace.
const PIECE: usize = 1 << 20;
/// Kernel limit on iovec counts (UIO_MAXIOV).
const MAX_IOVECS: u64 = 1024;
/// `struct msghdr` on x86-64.
const MSGHDR_LEN: usize = 56;

/// Values read at syscall entry that outputs need at exit: the in-lengths
/// of socket address buffers, which the kernel overwrites with the out
/// length.
pub fn entry_lengths(task: &Task, outputs: &[Output], args: [u64; 6]) -> Vec<Option<u32>> {
    outputs
        .iter()
        .map(|output| match *output {
            Output::SockAddr { len, .. } => read_u32(task, args[usize::from(len)]),
            Output::MsgHdr { arg } => read_u32(task, args[usize::from(arg)].wrapping_add(8)),
            _ => None,
        })
        .collect()
}

fn read_u32(task: &Task, addr: u64) -> Option<u32> {
    if addr == 0 {
        return None;
    }
    task.read_u32(RemoteAddr(addr)).ok()
}

/// Captures every output of a finished syscall.
pub fn capture(
    task: &Task,
    writer: &mut TraceWriter,
    outputs: &[Output],
    args: [u64; 6],
    result: i64,
    entry_lengths: &[Option<u32>],
) -> Result<Vec<MemoryWrite>, RecordError> {
    let mut writes = Vec::new();
    let arg = |i: u8| args[usize::from(i)];
    let positive = u64::try_from(result).ok().filter(|&r| r > 0);
    let succeeded = result >= 0;
    for (index, output) in outputs.iter().enumerate() {
        let entry_length = entry_lengths.get(index).copied().flatten();
        match *output {
            Output::Fixed { arg: a, len } => {
                push(&mut writes, span(task, writer, arg(a), u64::from(len))?);
            }
            Output::ResultBytes { arg: a } => {
                if let Some(n) = positive {
                    push(&mut writes, span(task, writer, arg(a), n)?);
                }
            }
            Output::ResultElements { arg: a, size } => {
                if let Some(n) = positive {
                    push(
                        &mut writes,
                        span(task, writer, arg(a), n.saturating_mul(u64::from(size)))?,
                    );
                }
            }
            Output::ArgElements {
                arg: a,
                count,
                size,
            } => {
                let len = arg(count).saturating_mul(u64::from(size));
                push(&mut writes, span(task, writer, arg(a), len)?);
            }
            Output::ArgBytes { arg: a, size } => {
                if succeeded {
                    push(&mut writes, span(task, writer, arg(a), arg(size))?);
                }
            }
            Output::Iovecs { arg: a, count } => {
                if let Some(n) = positive {
                    scatter(task, writer, &mut writes, arg(a), arg(count), n)?;
                }
            }
            Output::SockAddr { arg: a, len } => {
                if succeeded {
                    sockaddr(task, writer, &mut writes, arg(a), arg(len), entry_length)?;
                }
            }
            Output::MsgHdr { arg: a } => {
                if succeeded {
                    msghdr(
                        task,
                        writer,
                        &mut writes,
                        arg(a),
                        positive.unwrap_or(0),
                        entry_length,
                    )?;
                }
            }
            Output::FdSets => {
                let bytes = arg(0).div_ceil(64) * 8;
                for set in [args[1], args[2], args[3]] {
                    push(&mut writes, span(task, writer, set, bytes)?);
                }
            }
            Output::CString { arg: a, max } => {
                if succeeded {
                    push(&mut writes, c_string(task, writer, arg(a), max)?);
                }
            }
            Output::ResultBytesUpTo { arg: a, size } => {
                if let Some(n) = positive {
                    push(&mut writes, span(task, writer, arg(a), n.min(arg(size)))?);
                }
            }
            Output::Bitmap { arg: a, bits } => {
                if succeeded {
                    let len = arg(bits).div_ceil(64) * 8;
                    push(&mut writes, span(task, writer, arg(a), len)?);
                }
            }
            Output::MessageBuffer { arg: a } => {
                if succeeded {
                    push(&mut writes, span(task, writer, arg(a), 8 + result as u64)?);
                }
            }
            Output::FileHandle { arg: a } => {
                file_handle(task, writer, &mut writes, arg(a), result)?;
            }
            Output::MmsgHdrs { arg: a } => {
                for index in 0..positive.unwrap_or(0).min(MAX_IOVECS) {
                    let entry = arg(a) + index * MMSGHDR_LEN;
                    let received = u64::from(task.read_u32(RemoteAddr(entry + MSGHDR_LEN as u64))?);
                    push(&mut writes, span(task, writer, entry, MMSGHDR_LEN)?);
                    msghdr(
                        task,
                        writer,
                        &mut writes,
                        entry,
                        received,
                        Some(SOCKADDR_MAX),
                    )?;
                }
            }
            Output::IfConf { arg: a } => {
                if succeeded {
                    let len = u64::from(task.read_u32(RemoteAddr(arg(a)))?);
                    let buffer = task.read_u64(RemoteAddr(arg(a) + 8))?;
                    push(&mut writes, span(task, writer, arg(a), 16)?);
                    push(&mut writes, span(task, writer, buffer, len)?);
                }
            }
            Output::Fiemap { arg: a } => {
                if succeeded {
                    let mapped = u64::from(task.read_u32(RemoteAddr(arg(a) + 20))?);
                    let room = u64::from(task.read_u32(RemoteAddr(arg(a) + 24))?);
                    let len = FIEMAP_LEN + mapped.min(room) * FIEMAP_EXTENT_LEN;
                    push(&mut writes, span(task, writer, arg(a), len)?);
                }
            }
            Output::DedupeRange { arg: a } => {
                if succeeded {
                    let mut count = [0u8; 2];
                    task.read_bytes(RemoteAddr(arg(a) + 16), &mut count)?;
                    let len = DEDUPE_LEN + u64::from(u16::from_le_bytes(count)) * DEDUPE_INFO_LEN;
                    push(&mut writes, span(task, writer, arg(a), len)?);
                }
            }
            Output::PerPage { arg: a, len } => {
                if succeeded {
                    let pages = arg(len).div_ceil(PAGE_SIZE);
                    push(&mut writes, span(task, writer, arg(a), pages)?);
                }
            }
            Output::Absolute { addr, len } => {
                if succeeded {
                    push(&mut writes, span(task, writer, addr, u64::from(len))?);
                }
            }
        }
    }
    Ok(writes)
}

const PAGE_SIZE: u64 = 4096;
/// `struct mmsghdr`: a msghdr and the received length, padded.
const MMSGHDR_LEN: u64 = 64;
/// `struct sockaddr_storage`, the largest address a socket has.
const SOCKADDR_MAX: u32 = 128;
/// `struct fiemap` before its extents, and one `struct fiemap_extent`.
const FIEMAP_LEN: u64 = 32;
const FIEMAP_EXTENT_LEN: u64 = 56;
/// `struct file_dedupe_range` before its info array, and one entry.
const DEDUPE_LEN: u64 = 24;
const DEDUPE_INFO_LEN: u64 = 32;
/// MAX_HANDLE_SZ: the largest file handle the kernel makes.
const MAX_HANDLE_LEN: u64 = 128;

/// A NUL-terminated string at `addr`, its NUL included, of at most `max`
/// bytes.
fn c_string(
    task: &Task,
    writer: &mut TraceWriter,
    addr: u64,
    max: u32,
) -> Result<Option<MemoryWrite>, RecordError> {
    if addr == 0 {
        return Ok(None);
    }
    let mut bytes = vec![0u8; max as usize];
    let got = task.read_partial(RemoteAddr(addr), &mut bytes);
    let len = bytes[..got]
        .iter()
        .position(|&b| b == 0)
        .map_or(got, |nul| nul + 1);
    span(task, writer, addr, len as u64)
}

/// name_to_handle_at's `struct file_handle`: its size and type, then as
/// many handle bytes as its `handle_bytes` now says. A handle that did
/// not fit (EOVERFLOW) has only `handle_bytes` set, to the size needed.
fn file_handle(
    task: &Task,
    writer: &mut TraceWriter,
    writes: &mut Vec<MemoryWrite>,
    addr: u64,
    result: i64,
) -> Result<(), RecordError> {
    if addr == 0 {
        return Ok(());
    }
    if result == -i64::from(libc::EOVERFLOW) {
        push(writes, span(task, writer, addr, 4)?);
    } else if result >= 0 {
        let handle = u64::from(task.read_u32(RemoteAddr(addr))?);
        push(
            writes,
            span(task, writer, addr, 8 + handle.min(MAX_HANDLE_LEN))?,
        );
    }
    Ok(())
}

/// Largest span `write_bounds` gives one buffer whose size it guesses.
const MAX_BOUND: u64 = 1 << 30;

/// Where a syscall still in the kernel may write, as (start, length)
/// spans that cover at least its outputs. A result-sized buffer is taken
/// to be as long as the argument after its pointer says (read, pread,
/// recvfrom, getrandom, mq_timedreceive, msgrcv: the buffer's size); the
/// pointed-to buffers of iovecs and msghdrs are read from the tracee.
pub fn write_bounds(task: &Task, outputs: &[Output], args: [u64; 6]) -> Vec<(u64, u64)> {
    let arg = |i: u8| args.get(usize::from(i)).copied().unwrap_or(0);
    let after = |i: u8| arg(i.saturating_add(1)).min(MAX_BOUND);
    let mut spans = Vec::new();
    for output in outputs {
        match *output {
            Output::Fixed { arg: a, len } => spans.push((arg(a), u64::from(len))),
            Output::ResultBytes { arg: a }
            | Output::ResultBytesUpTo { arg: a, .. }
            | Output::CString { arg: a, .. } => spans.push((arg(a), after(a))),
            Output::MessageBuffer { arg: a } => spans.push((arg(a), after(a).saturating_add(8))),
            Output::ResultElements { arg: a, size } => {
                spans.push((arg(a), after(a).saturating_mul(u64::from(size))));
            }
            Output::ArgElements {
                arg: a,
                count,
                size,
            } => {
                spans.push((arg(a), arg(count).saturating_mul(u64::from(size))));
            }
            Output::ArgBytes { arg: a, size } => spans.push((arg(a), arg(size))),
            Output::Iovecs { arg: a, count } => {
                spans.extend(read_iovecs(task, arg(a), arg(count)).unwrap_or_default());
            }
            Output::MsgHdr { arg: a } => spans.extend(msghdr_bounds(task, arg(a))),
            Output::MmsgHdrs { arg: a } => {
                for index in 0..arg(a.saturating_add(1)).min(MAX_IOVECS) {
                    spans.extend(msghdr_bounds(task, arg(a) + index * MMSGHDR_LEN));
                }
            }
            Output::SockAddr { arg: a, len } => {
                spans.push((arg(len), 4));
                spans.push((arg(a), u64::from(SOCKADDR_MAX)));
            }
            Output::FdSets => {
                let bytes = arg(0).div_ceil(64) * 8;
                spans.extend([args[1], args[2], args[3]].map(|set| (set, bytes)));
            }
            Output::Bitmap { arg: a, bits } => spans.push((arg(a), arg(bits).div_ceil(8))),
            Output::PerPage { arg: a, len } => spans.push((arg(a), arg(len).div_ceil(PAGE_SIZE))),
            Output::FileHandle { arg: a } => spans.push((arg(a), 8 + MAX_HANDLE_LEN)),
            Output::Absolute { addr, len } => spans.push((addr, u64::from(len))),
            // Structs with further buffers of their own sizes: these are
            // ioctls, which do not block the way reads do.
            Output::IfConf { arg: a }
            | Output::Fiemap { arg: a }
            | Output::DedupeRange { arg: a } => {
                spans.push((arg(a), MAX_BOUND));
            }
        }
    }
    spans.retain(|&(start, len)| start != 0 && len != 0);
    spans
}

/// A msghdr and the buffers it points to.
fn msghdr_bounds(task: &Task, addr: u64) -> Vec<(u64, u64)> {
    let mut raw = [0u8; MSGHDR_LEN];
    if task.read_bytes(RemoteAddr(addr), &mut raw).is_err() {
        return vec![(addr, MSGHDR_LEN as u64)];
    }
    let word = |at: usize| u64::from_le_bytes(raw[at..at + 8].try_into().unwrap_or([0; 8]));
    let mut spans = vec![
        (addr, MSGHDR_LEN as u64),
        (word(0), word(8) & 0xffff_ffff),
        (word(32), word(40)),
    ];
    spans.extend(read_iovecs(task, word(16), word(24)).unwrap_or_default());
    spans
}

fn push(writes: &mut Vec<MemoryWrite>, write: Option<MemoryWrite>) {
    writes.extend(write);
}

/// Streams up to `len` readable bytes at `addr` into the trace. Unreadable
/// memory ends the span early (the kernel did not write there either).
pub fn span(
    task: &Task,
    writer: &mut TraceWriter,
    addr: u64,
    len: u64,
) -> Result<Option<MemoryWrite>, RecordError> {
    if addr == 0 || len == 0 {
        return Ok(None);
    }
    let mut buf = vec![0u8; (len as usize).min(PIECE)];
    let start = writer.data_position();
    let mut done = 0u64;
    while done < len {
        let want = ((len - done) as usize).min(PIECE);
        let got = task.read_partial(RemoteAddr(addr + done), &mut buf[..want]);
        writer.append_data(&buf[..got])?;
        done += got as u64;
        if got < want {
            break;
        }
    }
    Ok((done > 0).then_some(MemoryWrite {
        addr,
        data: trace_format::DataRef {
            offset: start,
            len: done,
        },
    }))
}

pub fn read_iovecs(task: &Task, addr: u64, count: u64) -> Result<Vec<(u64, u64)>, RecordError> {
    let count = count.min(MAX_IOVECS) as usize;
    let mut raw = vec![0u8; count * 16];
    task.read_bytes(RemoteAddr(addr), &mut raw)?;
    Ok(raw
        .chunks_exact(16)
        .map(|iov| {
            let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
            (word(&iov[..8]), word(&iov[8..]))
        })
        .collect())
}

fn scatter(
    task: &Task,
    writer: &mut TraceWriter,
    writes: &mut Vec<MemoryWrite>,
    iov_addr: u64,
    count: u64,
    mut remaining: u64,
) -> Result<(), RecordError> {
    for (base, len) in read_iovecs(task, iov_addr, count)? {
        if remaining == 0 {
            break;
        }
        let take = len.min(remaining);
        push(writes, span(task, writer, base, take)?);
        remaining -= take;
    }
    Ok(())
}

fn sockaddr(
    task: &Task,
    writer: &mut TraceWriter,
    writes: &mut Vec<MemoryWrite>,
    addr: u64,
    len_addr: u64,
    in_len: Option<u32>,
) -> Result<(), RecordError> {
    if len_addr == 0 {
        return Ok(());
    }
    let out_len = task.read_u32(RemoteAddr(len_addr))?;
    push(writes, span(task, writer, len_addr, 4)?);
    let written = u64::from(out_len.min(in_len.unwrap_or(out_len)));
    push(writes, span(task, writer, addr, written)?);
    Ok(())
}

fn msghdr(
    task: &Task,
    writer: &mut TraceWriter,
    writes: &mut Vec<MemoryWrite>,
    addr: u64,
    received: u64,
    in_namelen: Option<u32>,
) -> Result<(), RecordError> {
    let mut raw = [0u8; MSGHDR_LEN];
    task.read_bytes(RemoteAddr(addr), &mut raw)?;
    let word = |at: usize| u64::from_le_bytes(raw[at..at + 8].try_into().unwrap_or([0; 8]));
    let (name, namelen) = (word(0), word(8) & 0xffff_ffff);
    let (iov, iovlen) = (word(16), word(24));
    let (control, controllen) = (word(32), word(40));
    push(writes, span(task, writer, addr, MSGHDR_LEN as u64)?);
    let name_written = namelen.min(u64::from(in_namelen.unwrap_or(namelen as u32)));
    push(writes, span(task, writer, name, name_written)?);
    scatter(task, writer, writes, iov, iovlen, received)?;
    push(writes, span(task, writer, control, controllen)?);
    Ok(())
}
