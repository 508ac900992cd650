//! `vFile:<op>:<args>`: gdb's host I/O, used to read the program's files
//! through the server. Paths arrive hex encoded; numbers are hex.

use super::Command;
use crate::hex;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FileRequest<'a> {
    /// `setfs:pid`: later paths are in that process's filesystem view
    /// (0: the server's own).
    SetFs(i64),
    Open {
        path: Vec<u8>,
        flags: u64,
        mode: u64,
    },
    Pread {
        fd: i64,
        count: usize,
        offset: u64,
    },
    Close(i64),
    Fstat(i64),
    Readlink(Vec<u8>),
    /// A known prefix with an operation not offered (pwrite, unlink, ...).
    Other(&'a [u8]),
}

pub(crate) fn parse(rest: &[u8]) -> Command<'_> {
    let Some((op, args)) = super::split_at_byte(rest, b':') else {
        return Command::File(FileRequest::Other(rest));
    };
    let mut fields = args.split(|&b| b == b',');
    let mut next = || fields.next();
    let request = match op {
        b"setfs" => only(next(), next())
            .and_then(hex::parse_i64)
            .map(FileRequest::SetFs),
        b"open" => (|| {
            let path = hex::decode_bytes(next()?)?;
            let flags = hex::parse_u64(next()?)?;
            let mode = hex::parse_u64(next()?)?;
            next()
                .is_none()
                .then_some(FileRequest::Open { path, flags, mode })
        })(),
        b"pread" => (|| {
            let fd = hex::parse_i64(next()?)?;
            let count = hex::parse_usize(next()?)?;
            let offset = hex::parse_u64(next()?)?;
            next()
                .is_none()
                .then_some(FileRequest::Pread { fd, count, offset })
        })(),
        b"close" => only(next(), next())
            .and_then(hex::parse_i64)
            .map(FileRequest::Close),
        b"fstat" => only(next(), next())
            .and_then(hex::parse_i64)
            .map(FileRequest::Fstat),
        b"readlink" => only(next(), next())
            .and_then(hex::decode_bytes)
            .map(FileRequest::Readlink),
        _ => Some(FileRequest::Other(op)),
    };
    request.map_or(Command::Malformed, Command::File)
}

/// The single argument of a one-argument operation.
fn only<'a>(first: Option<&'a [u8]>, second: Option<&'a [u8]>) -> Option<&'a [u8]> {
    match (first, second) {
        (Some(arg), None) => Some(arg),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(packet: &[u8]) -> Command<'_> {
        parse(packet.strip_prefix(b"vFile:").unwrap())
    }

    #[test]
    fn operations() {
        assert_eq!(file(b"vFile:setfs:0"), Command::File(FileRequest::SetFs(0)));
        assert_eq!(
            file(b"vFile:open:2f62696e2f7368,0,1c0"),
            Command::File(FileRequest::Open {
                path: b"/bin/sh".to_vec(),
                flags: 0,
                mode: 0o700
            })
        );
        assert_eq!(
            file(b"vFile:pread:3,3fff,1000"),
            Command::File(FileRequest::Pread {
                fd: 3,
                count: 0x3fff,
                offset: 0x1000
            })
        );
        assert_eq!(file(b"vFile:close:3"), Command::File(FileRequest::Close(3)));
        assert_eq!(file(b"vFile:fstat:3"), Command::File(FileRequest::Fstat(3)));
        assert_eq!(
            file(b"vFile:readlink:2f70726f632f312f657865"),
            Command::File(FileRequest::Readlink(b"/proc/1/exe".to_vec()))
        );
        assert_eq!(
            file(b"vFile:unlink:2f746d70"),
            Command::File(FileRequest::Other(b"unlink"))
        );
        assert_eq!(file(b"vFile:"), Command::File(FileRequest::Other(b"")));
    }

    #[test]
    fn malformed_arguments() {
        assert_eq!(file(b"vFile:open:2f6,0,0"), Command::Malformed);
        assert_eq!(file(b"vFile:open:2f62,0"), Command::Malformed);
        assert_eq!(file(b"vFile:open:2f62,0,0,0"), Command::Malformed);
        assert_eq!(file(b"vFile:pread:3,10"), Command::Malformed);
        assert_eq!(file(b"vFile:pread:3,zz,0"), Command::Malformed);
        assert_eq!(file(b"vFile:close:"), Command::Malformed);
        assert_eq!(file(b"vFile:close:1,2"), Command::Malformed);
        assert_eq!(file(b"vFile:setfs:x"), Command::Malformed);
    }
}
