//! `m`/`x` (read, hex or binary reply) and `M`/`X` (write, hex or binary
//! data). The framing layer has already undone `X`'s escapes.

use super::Command;
use crate::hex;

pub(crate) fn parse(packet: &[u8]) -> Command<'_> {
    let parsed = match packet {
        [b'm', args @ ..] => {
            super::parse_addr_len(args).map(|(addr, len)| Command::ReadMemory { addr, len })
        }
        [b'x', args @ ..] => {
            super::parse_addr_len(args).map(|(addr, len)| Command::ReadMemoryBinary { addr, len })
        }
        [b'M', args @ ..] => parse_write(args, hex::decode_bytes),
        [b'X', args @ ..] => parse_write(args, |data| Some(data.to_vec())),
        _ => None,
    };
    parsed.unwrap_or(Command::Malformed)
}

/// `addr,len:data`, where the data must decode to exactly `len` bytes.
fn parse_write(args: &[u8], decode: impl Fn(&[u8]) -> Option<Vec<u8>>) -> Option<Command<'_>> {
    let (addr_len, data) = super::split_at_byte(args, b':')?;
    let (addr, len) = super::parse_addr_len(addr_len)?;
    let data = decode(data)?;
    (data.len() == len).then_some(Command::WriteMemory { addr, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads() {
        assert_eq!(
            parse(b"m401000,40"),
            Command::ReadMemory {
                addr: 0x401000,
                len: 0x40
            }
        );
        assert_eq!(
            parse(b"x7ffff7fc0000,1000"),
            Command::ReadMemoryBinary {
                addr: 0x7fff_f7fc_0000,
                len: 0x1000
            }
        );
        assert_eq!(parse(b"m401000"), Command::Malformed);
        assert_eq!(parse(b"m,1"), Command::Malformed);
        // Huge lengths parse; the server bounds them.
        assert_eq!(
            parse(b"m0,ffffffffffffffff"),
            Command::ReadMemory {
                addr: 0,
                len: usize::MAX
            }
        );
    }

    #[test]
    fn writes() {
        assert_eq!(
            parse(b"M1000,2:cc90"),
            Command::WriteMemory {
                addr: 0x1000,
                data: vec![0xcc, 0x90]
            }
        );
        assert_eq!(parse(b"M1000,3:cc90"), Command::Malformed);
        assert_eq!(parse(b"M1000,2:cc9"), Command::Malformed);
        assert_eq!(parse(b"M1000,2"), Command::Malformed);
        assert_eq!(
            parse(b"X1000,3:#\x00:"),
            Command::WriteMemory {
                addr: 0x1000,
                data: vec![b'#', 0, b':']
            }
        );
        assert_eq!(
            parse(b"X1000,0:"),
            Command::WriteMemory {
                addr: 0x1000,
                data: vec![]
            }
        );
        assert_eq!(parse(b"X1000,1:"), Command::Malformed);
    }
}
