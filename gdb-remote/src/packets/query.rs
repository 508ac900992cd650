//! General queries (`q...`, `Q...`): feature negotiation, thread lists,
//! object transfers (`qXfer`) and monitor commands (`qRcmd`).

use super::Command;
use crate::hex;

/// What the client said it understands in its `qSupported`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ClientFeatures {
    /// `p<pid>.<tid>` thread ids and `;process:` in exit replies.
    pub multiprocess: bool,
    /// `swbreak:` in stop replies.
    pub swbreak: bool,
    /// `hwbreak:` in stop replies.
    pub hwbreak: bool,
    /// `exec:` stop replies.
    pub exec_events: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum XferObject {
    Features,
    Auxv,
    ExecFile,
    Threads,
}

/// `qXfer:<object>:read:<annex>:<offset>,<length>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct XferRequest<'a> {
    pub object: XferObject,
    pub annex: &'a [u8],
    pub offset: u64,
    pub len: usize,
}

pub(crate) fn parse(packet: &[u8]) -> Command<'_> {
    match packet {
        b"QStartNoAckMode" => Command::StartNoAckMode,
        b"qC" => Command::CurrentThread,
        b"qfThreadInfo" => Command::ThreadInfoFirst,
        b"qsThreadInfo" => Command::ThreadInfoNext,
        _ if packet == b"qSupported" || packet.starts_with(b"qSupported:") => {
            Command::Supported(parse_supported(&packet[b"qSupported".len()..]))
        }
        _ if packet == b"qAttached" || packet.starts_with(b"qAttached:") => Command::Attached,
        // `qSymbol::` says the client can look symbols up; `qSymbol:...`
        // answers a lookup the server never asks for. OK ends both.
        _ if packet.starts_with(b"qSymbol:") => Command::SymbolLookupDone,
        _ => {
            if let Some(rest) = packet.strip_prefix(b"qXfer:") {
                parse_xfer(rest)
            } else if let Some(rest) = packet.strip_prefix(b"qRcmd,") {
                hex::decode_bytes(rest).map_or(Command::Malformed, Command::Monitor)
            } else if let Some(rest) = packet.strip_prefix(b"QPassSignals:") {
                parse_signal_list(rest).map_or(Command::Malformed, Command::PassSignals)
            } else {
                // qTStatus, qOffsets, qTfV, QPassSignals, QNonStop, ...
                Command::Unsupported
            }
        }
    }
}

/// `sig;sig...` in hex, gdb's numbering, as Linux signals; empty for
/// none. gdb lists its own signals too (SIGEMT, SIGLOST...), which Linux
/// has not: they are left out.
fn parse_signal_list(list: &[u8]) -> Option<Vec<i32>> {
    let mut signals = Vec::new();
    for item in list.split(|&b| b == b';').filter(|item| !item.is_empty()) {
        let gdb = hex::parse_u64(item).filter(|&signo| signo < 256)?;
        signals.extend(crate::stop_reply::linux_signal(gdb));
    }
    Some(signals)
}

/// `:feature;feature...`, each `name+`, `name-`, `name?` or `name=value`.
fn parse_supported(args: &[u8]) -> ClientFeatures {
    let mut features = ClientFeatures::default();
    let list = args.strip_prefix(b":").unwrap_or(args);
    for feature in list.split(|&b| b == b';') {
        match feature {
            b"multiprocess+" => features.multiprocess = true,
            b"swbreak+" => features.swbreak = true,
            b"hwbreak+" => features.hwbreak = true,
            b"exec-events+" => features.exec_events = true,
            _ => {}
        }
    }
    features
}

fn parse_xfer(rest: &[u8]) -> Command<'_> {
    let mut fields = rest.splitn(4, |&b| b == b':');
    let (Some(object), Some(op), Some(annex), Some(range)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Command::Malformed;
    };
    let object = match object {
        b"features" => XferObject::Features,
        b"auxv" => XferObject::Auxv,
        b"exec-file" => XferObject::ExecFile,
        b"threads" => XferObject::Threads,
        _ => return Command::Unsupported,
    };
    if op != b"read" {
        return Command::Unsupported;
    }
    match super::split_at_byte(range, b',') {
        Some((offset, len)) => match (hex::parse_u64(offset), hex::parse_usize(len)) {
            (Some(offset), Some(len)) => Command::Xfer(XferRequest {
                object,
                annex,
                offset,
                len,
            }),
            _ => Command::Malformed,
        },
        None => Command::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_signals() {
        // gdb's SIGALRM, SIGCHLD (20) and SIGWINCH; its SIGEMT (7) has
        // no Linux counterpart.
        assert_eq!(
            parse(b"QPassSignals:e;14;1c;7"),
            Command::PassSignals(vec![14, 17, 28])
        );
        assert_eq!(parse(b"QPassSignals:"), Command::PassSignals(vec![]));
        assert_eq!(parse(b"QPassSignals:zz"), Command::Malformed);
        assert_eq!(parse(b"QPassSignals:1ff"), Command::Malformed);
    }

    #[test]
    fn supported() {
        let gdb13 = b"qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;\
vfork-events+;exec-events+;vContSupported+;QThreadEvents+;no-resumed+;memory-tagging+;\
xmlRegisters=i386";
        assert_eq!(
            parse(gdb13),
            Command::Supported(ClientFeatures {
                multiprocess: true,
                swbreak: true,
                hwbreak: true,
                exec_events: true,
            })
        );
        assert_eq!(
            parse(b"qSupported"),
            Command::Supported(ClientFeatures::default())
        );
        assert_eq!(
            parse(b"qSupported:multiprocess-;swbreak+"),
            Command::Supported(ClientFeatures {
                multiprocess: false,
                swbreak: true,
                hwbreak: false,
                exec_events: false,
            })
        );
        assert_eq!(parse(b"qSupportedX"), Command::Unsupported);
    }

    #[test]
    fn simple_queries() {
        assert_eq!(parse(b"QStartNoAckMode"), Command::StartNoAckMode);
        assert_eq!(parse(b"qAttached"), Command::Attached);
        assert_eq!(parse(b"qAttached:1f"), Command::Attached);
        assert_eq!(parse(b"qC"), Command::CurrentThread);
        assert_eq!(parse(b"qfThreadInfo"), Command::ThreadInfoFirst);
        assert_eq!(parse(b"qsThreadInfo"), Command::ThreadInfoNext);
        assert_eq!(parse(b"qSymbol::"), Command::SymbolLookupDone);
        assert_eq!(parse(b"qTStatus"), Command::Unsupported);
        assert_eq!(parse(b"qOffsets"), Command::Unsupported);
        assert_eq!(parse(b"qTfV"), Command::Unsupported);
        assert_eq!(parse(b"QNonStop:1"), Command::Unsupported);
    }

    #[test]
    fn monitor() {
        assert_eq!(parse(b"qRcmd,7768656e"), Command::Monitor(b"when".to_vec()));
        assert_eq!(parse(b"qRcmd,"), Command::Monitor(Vec::new()));
        assert_eq!(parse(b"qRcmd,776"), Command::Malformed);
        assert_eq!(parse(b"qRcmd,zz"), Command::Malformed);
    }

    #[test]
    fn xfer() {
        assert_eq!(
            parse(b"qXfer:features:read:target.xml:0,ffb"),
            Command::Xfer(XferRequest {
                object: XferObject::Features,
                annex: b"target.xml",
                offset: 0,
                len: 0xffb
            })
        );
        assert_eq!(
            parse(b"qXfer:auxv:read::1000,ffb"),
            Command::Xfer(XferRequest {
                object: XferObject::Auxv,
                annex: b"",
                offset: 0x1000,
                len: 0xffb
            })
        );
        assert_eq!(
            parse(b"qXfer:exec-file:read:1f:0,ffb"),
            Command::Xfer(XferRequest {
                object: XferObject::ExecFile,
                annex: b"1f",
                offset: 0,
                len: 0xffb
            })
        );
        assert_eq!(
            parse(b"qXfer:threads:read::0,ffb"),
            Command::Xfer(XferRequest {
                object: XferObject::Threads,
                annex: b"",
                offset: 0,
                len: 0xffb
            })
        );
        assert_eq!(
            parse(b"qXfer:libraries-svr4:read::0,ffb"),
            Command::Unsupported
        );
        assert_eq!(parse(b"qXfer:auxv:write::0:00"), Command::Unsupported);
        assert_eq!(parse(b"qXfer:auxv:read::0"), Command::Malformed);
        assert_eq!(parse(b"qXfer:auxv:read::x,1"), Command::Malformed);
        assert_eq!(parse(b"qXfer:auxv"), Command::Malformed);
    }
}
