//! `Z`/`z` `type,addr,kind`: insert or remove a breakpoint or watchpoint.
//! Types beyond 4 are unknown (empty reply). Anything after a `;` (target
//! side conditions and commands, which are not offered) is ignored.

use super::Command;
use crate::hex;
use crate::target::{BreakpointKind, WatchKind};

pub(crate) fn parse(packet: &[u8]) -> Command<'_> {
    let Some((&op, rest)) = packet.split_first() else {
        return Command::Malformed;
    };
    let args = match super::split_at_byte(rest, b';') {
        Some((args, _conditions)) => args,
        None => rest,
    };
    let mut fields = args.split(|&b| b == b',');
    let kind = match fields.next() {
        Some(b"0") => BreakpointKind::Software,
        Some(b"1") => BreakpointKind::Hardware,
        Some(b"2") => BreakpointKind::Watch(WatchKind::Write),
        Some(b"3") => BreakpointKind::Watch(WatchKind::Read),
        Some(b"4") => BreakpointKind::Watch(WatchKind::Access),
        _ => return Command::Unsupported,
    };
    let addr = fields.next().and_then(hex::parse_u64);
    let len = fields.next().and_then(hex::parse_u64);
    match (addr, len, fields.next()) {
        (Some(addr), Some(len), None) => Command::Breakpoint {
            insert: op == b'Z',
            kind,
            addr,
            len,
        },
        _ => Command::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breakpoint_packets() {
        assert_eq!(
            parse(b"Z0,401136,1"),
            Command::Breakpoint {
                insert: true,
                kind: BreakpointKind::Software,
                addr: 0x401136,
                len: 1
            }
        );
        assert_eq!(
            parse(b"z1,401136,1"),
            Command::Breakpoint {
                insert: false,
                kind: BreakpointKind::Hardware,
                addr: 0x401136,
                len: 1
            }
        );
        assert_eq!(
            parse(b"Z2,7ffe0010,8"),
            Command::Breakpoint {
                insert: true,
                kind: BreakpointKind::Watch(WatchKind::Write),
                addr: 0x7ffe0010,
                len: 8
            }
        );
        assert_eq!(
            parse(b"Z4,10,4;X3,220027"),
            Command::Breakpoint {
                insert: true,
                kind: BreakpointKind::Watch(WatchKind::Access),
                addr: 0x10,
                len: 4
            }
        );
        assert_eq!(parse(b"Z5,10,1"), Command::Unsupported);
        assert_eq!(parse(b"Z"), Command::Unsupported);
        assert_eq!(parse(b"Z0,10"), Command::Malformed);
        assert_eq!(parse(b"Z0,10,1,2"), Command::Malformed);
        assert_eq!(parse(b"Z0,zz,1"), Command::Malformed);
    }
}
