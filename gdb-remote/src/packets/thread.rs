//! Thread ids (`p<pid>.<tid>`, `<tid>`, `0`, `-1`) and the packets that
//! name one thread: `H` (select for later packets) and `T` (alive?).

use super::Command;
use crate::hex;
use crate::target::ThreadId;

/// A thread id as a client writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ThreadSel {
    /// `0`: whichever thread the server likes.
    Any,
    /// `-1`: every thread.
    All,
    /// `p<pid>`, `p<pid>.-1`, `p<pid>.0`: the threads of one process.
    Process(i32),
    /// One thread; the pid is absent in the plain (not multiprocess) form.
    Thread { pid: Option<i32>, tid: i32 },
}

/// What an `H` packet selects a thread for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ThreadOp {
    /// `Hg`: registers and memory.
    General,
    /// `Hc`: the old `c`/`s` packets.
    Continue,
}

enum Id {
    Any,
    All,
    Number(i32),
}

fn parse_id(s: &[u8]) -> Option<Id> {
    match hex::parse_i64(s)? {
        0 => Some(Id::Any),
        -1 => Some(Id::All),
        n => Some(Id::Number(i32::try_from(n).ok().filter(|&n| n > 0)?)),
    }
}

pub(crate) fn parse_thread_id(s: &[u8]) -> Option<ThreadSel> {
    let Some(multi) = s.strip_prefix(b"p") else {
        return Some(match parse_id(s)? {
            Id::Any => ThreadSel::Any,
            Id::All => ThreadSel::All,
            Id::Number(tid) => ThreadSel::Thread { pid: None, tid },
        });
    };
    let (pid, tid) = match super::split_at_byte(multi, b'.') {
        Some((pid, tid)) => (parse_id(pid)?, Some(parse_id(tid)?)),
        None => (parse_id(multi)?, None),
    };
    Some(match (pid, tid) {
        (Id::All, _) => ThreadSel::All,
        (Id::Any, None | Some(Id::Any | Id::All)) => ThreadSel::Any,
        (Id::Any, Some(Id::Number(tid))) => ThreadSel::Thread { pid: None, tid },
        (Id::Number(pid), None | Some(Id::Any | Id::All)) => ThreadSel::Process(pid),
        (Id::Number(pid), Some(Id::Number(tid))) => ThreadSel::Thread {
            pid: Some(pid),
            tid,
        },
    })
}

/// Writes a thread id the way the client negotiated: `p<pid>.<tid>` with
/// multiprocess, else the bare tid.
pub(crate) fn push_thread_id(out: &mut Vec<u8>, thread: ThreadId, multiprocess: bool) {
    if multiprocess {
        out.push(b'p');
        push_id(out, thread.pid);
        out.push(b'.');
    }
    push_id(out, thread.tid);
}

fn push_id(out: &mut Vec<u8>, id: i32) {
    if id < 0 {
        // Ids are positive; -1 is the only negative the protocol has.
        out.extend_from_slice(b"-1");
    } else {
        hex::push_number(out, id.unsigned_abs().into());
    }
}

pub(crate) fn parse(packet: &[u8]) -> Command<'_> {
    let parsed = match packet {
        [b'H', b'g', id @ ..] => parse_thread_id(id).map(|thread| Command::SetThread {
            op: ThreadOp::General,
            thread,
        }),
        [b'H', b'c', id @ ..] => parse_thread_id(id).map(|thread| Command::SetThread {
            op: ThreadOp::Continue,
            thread,
        }),
        [b'H', ..] => return Command::Unsupported,
        [b'T', id @ ..] => parse_thread_id(id).map(Command::ThreadAlive),
        _ => None,
    };
    parsed.unwrap_or(Command::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(pid: Option<i32>, tid: i32) -> ThreadSel {
        ThreadSel::Thread { pid, tid }
    }

    #[test]
    fn thread_ids() {
        assert_eq!(parse_thread_id(b"0"), Some(ThreadSel::Any));
        assert_eq!(parse_thread_id(b"-1"), Some(ThreadSel::All));
        assert_eq!(parse_thread_id(b"1f"), Some(thread(None, 0x1f)));
        assert_eq!(parse_thread_id(b"p1f.20"), Some(thread(Some(0x1f), 0x20)));
        assert_eq!(parse_thread_id(b"p1f"), Some(ThreadSel::Process(0x1f)));
        assert_eq!(parse_thread_id(b"p1f.-1"), Some(ThreadSel::Process(0x1f)));
        assert_eq!(parse_thread_id(b"p1f.0"), Some(ThreadSel::Process(0x1f)));
        assert_eq!(parse_thread_id(b"p-1"), Some(ThreadSel::All));
        assert_eq!(parse_thread_id(b"p-1.-1"), Some(ThreadSel::All));
        assert_eq!(parse_thread_id(b"p0.0"), Some(ThreadSel::Any));
        assert_eq!(parse_thread_id(b"p0.7"), Some(thread(None, 7)));
        assert_eq!(parse_thread_id(b""), None);
        assert_eq!(parse_thread_id(b"p"), None);
        assert_eq!(parse_thread_id(b"p1."), None);
        assert_eq!(parse_thread_id(b"-2"), None);
        assert_eq!(parse_thread_id(b"80000000"), None);
        assert_eq!(parse_thread_id(b"zz"), None);
    }

    #[test]
    fn thread_id_output() {
        let id = ThreadId {
            pid: 0x1f,
            tid: 0x20,
        };
        let mut out = Vec::new();
        push_thread_id(&mut out, id, true);
        assert_eq!(out, b"p1f.20");
        out.clear();
        push_thread_id(&mut out, id, false);
        assert_eq!(out, b"20");
    }

    #[test]
    fn h_and_t_packets() {
        assert_eq!(
            parse(b"Hgp1.2"),
            Command::SetThread {
                op: ThreadOp::General,
                thread: thread(Some(1), 2)
            }
        );
        assert_eq!(
            parse(b"Hc-1"),
            Command::SetThread {
                op: ThreadOp::Continue,
                thread: ThreadSel::All
            }
        );
        assert_eq!(
            parse(b"Hg0"),
            Command::SetThread {
                op: ThreadOp::General,
                thread: ThreadSel::Any
            }
        );
        assert_eq!(parse(b"Hg"), Command::Malformed);
        assert_eq!(parse(b"Hx1"), Command::Unsupported);
        assert_eq!(parse(b"Tp1.2"), Command::ThreadAlive(thread(Some(1), 2)));
        assert_eq!(parse(b"T"), Command::Malformed);
    }
}
