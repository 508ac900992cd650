//! `g`, `G`, `p`, `P`: all registers, or one by its target-description
//! number. Values stay as the packet's hex; the register layout decodes them.

use super::Command;
use crate::hex;

pub(crate) fn parse(packet: &[u8]) -> Command<'_> {
    let parsed = match packet {
        b"g" => Some(Command::ReadRegisters),
        [b'G', values @ ..] => Some(Command::WriteRegisters(values)),
        [b'p', regnum @ ..] => hex::parse_usize(regnum).map(Command::ReadRegister),
        [b'P', assignment @ ..] => {
            super::split_at_byte(assignment, b'=').and_then(|(regnum, value)| {
                Some(Command::WriteRegister {
                    regnum: hex::parse_usize(regnum)?,
                    value,
                })
            })
        }
        _ => None,
    };
    parsed.unwrap_or(Command::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_packets() {
        assert_eq!(parse(b"g"), Command::ReadRegisters);
        assert_eq!(parse(b"gx"), Command::Malformed);
        assert_eq!(parse(b"G0011"), Command::WriteRegisters(b"0011"));
        assert_eq!(parse(b"p10"), Command::ReadRegister(16));
        assert_eq!(parse(b"p"), Command::Malformed);
        assert_eq!(parse(b"pzz"), Command::Malformed);
        assert_eq!(
            parse(b"P10=0010400000000000"),
            Command::WriteRegister {
                regnum: 16,
                value: b"0010400000000000"
            }
        );
        assert_eq!(parse(b"P10"), Command::Malformed);
        assert_eq!(parse(b"P=00"), Command::Malformed);
    }
}
