//! What a client's packet asks for. Each packet family parses in its own
//! module, borrowing the packet buffer; the server acts on the result.
//!
//! A packet the server does not know gets [`Command::Unsupported`] (an empty
//! reply, which tells gdb the feature is absent); a known packet with bad
//! arguments gets [`Command::Malformed`] (an `E01` reply).

mod breakpoint;
mod memory;
mod query;
mod registers;
mod resume;
mod thread;
mod vfile;

pub(crate) use query::{ClientFeatures, XferObject, XferRequest};
pub(crate) use resume::ResumeRequest;
pub(crate) use thread::{push_thread_id, ThreadOp, ThreadSel};
pub(crate) use vfile::FileRequest;

use crate::hex;
use crate::target::BreakpointKind;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Command<'a> {
    // General queries and connection setup.
    Supported(ClientFeatures),
    StartNoAckMode,
    Attached,
    CurrentThread,
    ThreadInfoFirst,
    ThreadInfoNext,
    SymbolLookupDone,
    Xfer(XferRequest<'a>),
    Monitor(Vec<u8>),
    StopQuery,

    // Threads.
    SetThread {
        op: ThreadOp,
        thread: ThreadSel,
    },
    ThreadAlive(ThreadSel),

    // Registers; register values are the packet's hex digits.
    ReadRegisters,
    WriteRegisters(&'a [u8]),
    ReadRegister(usize),
    WriteRegister {
        regnum: usize,
        value: &'a [u8],
    },

    // Memory.
    ReadMemory {
        addr: u64,
        len: usize,
    },
    ReadMemoryBinary {
        addr: u64,
        len: usize,
    },
    WriteMemory {
        addr: u64,
        data: Vec<u8>,
    },

    // Execution.
    ResumeQuery,
    /// A resume, with the signal a `C`/`S` action gives.
    Resume(ResumeRequest, Option<i32>),
    ReverseResume(ResumeRequest),
    /// `QPassSignals`: the signals the target may deliver unreported.
    PassSignals(Vec<i32>),
    Breakpoint {
        insert: bool,
        kind: BreakpointKind,
        addr: u64,
        len: u64,
        /// Agent expressions: the breakpoint stops only where one is true.
        conditions: Vec<Vec<u8>>,
    },

    File(FileRequest<'a>),

    // Ending the session.
    Kill,
    KillProcess,
    Detach,
    /// `!`: extended mode, where the process can be killed and run again.
    ExtendedMode,
    /// `vRun;file;arg...`: run the program again with these arguments
    /// (decoded from hex; the file is the first).
    Run(Vec<Vec<u8>>),

    Unsupported,
    Malformed,
}

pub(crate) fn parse(packet: &[u8]) -> Command<'_> {
    let Some(&first) = packet.first() else {
        return Command::Unsupported;
    };
    match first {
        b'?' if packet == b"?" => Command::StopQuery,
        b'g' | b'G' | b'p' | b'P' => registers::parse(packet),
        b'm' | b'M' | b'x' | b'X' => memory::parse(packet),
        b'c' | b'C' | b's' | b'S' | b'b' => resume::parse(packet),
        b'H' | b'T' => thread::parse(packet),
        b'Z' | b'z' => breakpoint::parse(packet),
        b'q' | b'Q' => query::parse(packet),
        b'v' => parse_v(packet),
        b'k' => Command::Kill,
        b'!' if packet == b"!" => Command::ExtendedMode,
        // `D` and `D;pid`: the one process either way.
        b'D' => Command::Detach,
        _ => Command::Unsupported,
    }
}

fn parse_v(packet: &[u8]) -> Command<'_> {
    if packet.starts_with(b"vCont") {
        resume::parse(packet)
    } else if let Some(rest) = packet.strip_prefix(b"vFile:") {
        vfile::parse(rest)
    } else if packet.starts_with(b"vKill") {
        Command::KillProcess
    } else if let Some(rest) = packet.strip_prefix(b"vRun;") {
        rest.split(|&b| b == b';')
            .map(hex::decode_bytes)
            .collect::<Option<Vec<_>>>()
            .map_or(Command::Malformed, Command::Run)
    } else {
        // vMustReplyEmpty wants exactly this; vAttach, vStopped and the
        // rest are not offered.
        Command::Unsupported
    }
}

/// Splits at the first `sep`, dropping it.
pub(crate) fn split_at_byte(data: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let at = data.iter().position(|&b| b == sep)?;
    Some((&data[..at], &data[at + 1..]))
}

/// `addr,length` with both in hex.
pub(crate) fn parse_addr_len(args: &[u8]) -> Option<(u64, usize)> {
    let (addr, len) = split_at_byte(args, b',')?;
    Some((hex::parse_u64(addr)?, hex::parse_usize(len)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_of_simple_packets() {
        assert_eq!(parse(b"?"), Command::StopQuery);
        assert_eq!(parse(b"?x"), Command::Unsupported);
        assert_eq!(parse(b""), Command::Unsupported);
        assert_eq!(parse(b"k"), Command::Kill);
        assert_eq!(parse(b"D"), Command::Detach);
        assert_eq!(parse(b"D;1f"), Command::Detach);
        assert_eq!(parse(b"vKill;1f"), Command::KillProcess);
        assert_eq!(parse(b"vMustReplyEmpty"), Command::Unsupported);
        assert_eq!(
            parse(b"vRun;2f62696e"),
            Command::Run(vec![b"/bin".to_vec()])
        );
        assert_eq!(
            parse(b"vRun;;3132"),
            Command::Run(vec![Vec::new(), b"12".to_vec()])
        );
        assert_eq!(parse(b"vRun;zz"), Command::Malformed);
        assert_eq!(parse(b"!"), Command::ExtendedMode);
        assert_eq!(parse(b"vAttach;1"), Command::Unsupported);
        assert_eq!(parse(b"\xff\x00garbage"), Command::Unsupported);
    }

    #[test]
    fn address_and_length() {
        assert_eq!(parse_addr_len(b"1000,4"), Some((0x1000, 4)));
        assert_eq!(parse_addr_len(b"1000,"), None);
        assert_eq!(parse_addr_len(b",4"), None);
        assert_eq!(parse_addr_len(b"1000"), None);
        assert_eq!(parse_addr_len(b"10000000000000000,1"), None);
    }
}
