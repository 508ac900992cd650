//! `Z`/`z` `type,addr,kind[;X len,bytecode...][;cmds:...]`: insert or
//! remove a breakpoint or watchpoint. Types beyond 4 are unknown (empty
//! reply). The `X` entries are conditions for the target to evaluate
//! (agent expressions: gdb sends them once the target offers
//! `ConditionalBreakpoints`); commands (`cmds:`, not offered) are ignored.

use super::Command;
use crate::hex;
use crate::target::{BreakpointKind, WatchKind};

pub(crate) fn parse(packet: &[u8]) -> Command<'_> {
    let Some((&op, rest)) = packet.split_first() else {
        return Command::Malformed;
    };
    let (args, conditions) = match super::split_at_byte(rest, b';') {
        Some((args, extras)) => match parse_conditions(extras) {
            Some(conditions) => (args, conditions),
            None => return Command::Malformed,
        },
        None => (rest, Vec::new()),
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
            conditions,
        },
        _ => Command::Malformed,
    }
}

/// The conditions among `;`-separated extras: one part of `X len,hex`
/// entries written one after another, as gdb sends them.
fn parse_conditions(extras: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut conditions = Vec::new();
    for part in extras.split(|&b| b == b';') {
        let mut rest = match part.strip_prefix(b"X") {
            Some(rest) => rest,
            None => continue,
        };
        loop {
            let (len, after) = super::split_at_byte(rest, b',')?;
            let len = hex::parse_usize(len)?;
            let code = after.get(..len.checked_mul(2)?)?;
            conditions.push(hex::decode_bytes(code)?);
            match after[len * 2..].strip_prefix(b"X") {
                Some(next) => rest = next,
                None if after.len() == len * 2 => break,
                None => return None,
            }
        }
    }
    Some(conditions)
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
                len: 1,
                conditions: vec![],
            }
        );
        assert_eq!(
            parse(b"z1,401136,1"),
            Command::Breakpoint {
                insert: false,
                kind: BreakpointKind::Hardware,
                addr: 0x401136,
                len: 1,
                conditions: vec![],
            }
        );
        assert_eq!(
            parse(b"Z2,7ffe0010,8"),
            Command::Breakpoint {
                insert: true,
                kind: BreakpointKind::Watch(WatchKind::Write),
                addr: 0x7ffe0010,
                len: 8,
                conditions: vec![],
            }
        );
        assert_eq!(
            parse(b"Z4,10,4;X3,220027"),
            Command::Breakpoint {
                insert: true,
                kind: BreakpointKind::Watch(WatchKind::Access),
                addr: 0x10,
                len: 4,
                conditions: vec![vec![0x22, 0x00, 0x27]],
            }
        );
        // Two conditions (two locations at one address), and commands.
        assert_eq!(
            parse(b"Z0,10,1;X2,2227X3,260005;cmds:0,X1,00"),
            Command::Breakpoint {
                insert: true,
                kind: BreakpointKind::Software,
                addr: 0x10,
                len: 1,
                conditions: vec![vec![0x22, 0x27], vec![0x26, 0x00, 0x05]],
            }
        );
        assert_eq!(parse(b"Z0,10,1;X4,22"), Command::Malformed);
        assert_eq!(parse(b"Z0,10,1;X1,2227"), Command::Malformed);
        assert_eq!(parse(b"Z5,10,1"), Command::Unsupported);
        assert_eq!(parse(b"Z"), Command::Unsupported);
        assert_eq!(parse(b"Z0,10"), Command::Malformed);
        assert_eq!(parse(b"Z0,10,1,2"), Command::Malformed);
        assert_eq!(parse(b"Z0,zz,1"), Command::Malformed);
    }
}
