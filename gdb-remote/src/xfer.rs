//! `qXfer:<object>:read`: objects too big for one reply, read in chunks
//! (`m<data>`: more follows, `l<data>`: last). An object is produced when a
//! read starts at offset 0 and kept until the client has read it through,
//! so its chunks agree even if the target changes in between.

use crate::connection::Connection;
use crate::framing::escape_binary;
use crate::hex;
use crate::packets::{push_thread_id, XferObject, XferRequest};
use crate::session::{error_reply, Session, PACKET_SIZE};
use crate::target::TargetError;
use crate::target_xml;

#[derive(Debug, Default)]
pub(crate) struct XferCache {
    key: Option<(XferObject, Vec<u8>)>,
    data: Vec<u8>,
}

/// The reply for `len` bytes of `data` from `offset`, escaped and cut to
/// one packet.
pub(crate) fn chunk(data: &[u8], offset: u64, len: usize) -> Vec<u8> {
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let Some(rest) = data.get(start..).filter(|rest| !rest.is_empty()) else {
        return b"l".to_vec();
    };
    let wanted = &rest[..len.min(rest.len())];
    let mut reply = vec![b'm'];
    let taken = escape_binary(wanted, &mut reply, len.min(PACKET_SIZE - 1));
    if taken == rest.len() {
        reply[0] = b'l';
    }
    reply
}

fn escape_xml(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
}

impl<C: Connection> Session<'_, C> {
    pub(crate) fn xfer(&mut self, request: XferRequest<'_>) -> Vec<u8> {
        // A zero-length read would make a client loop on `m` forever.
        if request.len == 0 {
            return b"E01".to_vec();
        }
        if request.object == XferObject::Features {
            if request.annex != target_xml::ANNEX {
                return b"E00".to_vec();
            }
            return chunk(target_xml::target_xml(), request.offset, request.len);
        }
        let key = (request.object, request.annex.to_vec());
        if request.offset == 0 || self.xfer_cache.key.as_ref() != Some(&key) {
            self.xfer_cache.key = None;
            match self.produce(request.object, request.annex) {
                Ok(data) => {
                    self.xfer_cache.data = data;
                    self.xfer_cache.key = Some(key);
                }
                Err(reply) => return reply,
            }
        }
        chunk(&self.xfer_cache.data, request.offset, request.len)
    }

    fn produce(&mut self, object: XferObject, annex: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        let pid = match (object, annex) {
            (XferObject::ExecFile, annex) if !annex.is_empty() => hex::parse_u64(annex)
                .and_then(|pid| i32::try_from(pid).ok())
                .ok_or_else(|| b"E00".to_vec())?,
            (_, b"") => self.current_pid().ok_or_else(|| b"E01".to_vec())?,
            _ => return Err(b"E00".to_vec()),
        };
        let target_error = |e: TargetError| error_reply(&e);
        match object {
            XferObject::Auxv => self.target.auxv(pid).map_err(target_error),
            XferObject::ExecFile => self
                .target
                .exec_file(pid)
                .map(String::into_bytes)
                .map_err(target_error),
            XferObject::Threads => Ok(self.threads_xml()),
            XferObject::Features => Err(b"E00".to_vec()),
        }
    }

    fn threads_xml(&mut self) -> Vec<u8> {
        let mut xml = String::from("<?xml version=\"1.0\"?>\n<threads>\n");
        for thread in self.target.threads() {
            let mut id = Vec::new();
            push_thread_id(&mut id, thread, self.features.multiprocess);
            xml.push_str("  <thread id=\"");
            xml.push_str(&String::from_utf8_lossy(&id));
            xml.push('"');
            if let Some(name) = self.target.thread_name(thread) {
                xml.push_str(" name=\"");
                escape_xml(&name, &mut xml);
                xml.push('"');
            }
            xml.push_str("/>\n");
        }
        xml.push_str("</threads>\n");
        xml.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks() {
        assert_eq!(chunk(b"hello", 0, 100), b"lhello");
        assert_eq!(chunk(b"hello", 0, 2), b"mhe");
        assert_eq!(chunk(b"hello", 3, 2), b"llo");
        assert_eq!(chunk(b"hello", 5, 2), b"l");
        assert_eq!(chunk(b"hello", u64::MAX, 2), b"l");
        assert_eq!(chunk(b"", 0, 2), b"l");
        // Escapes count against the length; a byte that would not fit
        // waits for the next chunk.
        assert_eq!(chunk(b"a#b", 0, 2), b"ma");
        assert_eq!(chunk(b"a#b", 1, 3), b"l}\x03b");
    }

    #[test]
    fn chunk_never_exceeds_a_packet() {
        let data = vec![b'$'; PACKET_SIZE * 2];
        let reply = chunk(&data, 0, usize::MAX);
        assert!(reply.len() <= PACKET_SIZE);
        assert_eq!(reply[0], b'm');
    }

    #[test]
    fn xml_escaping() {
        let mut out = String::new();
        escape_xml("a<b>&\"c'\n", &mut out);
        assert_eq!(out, "a&lt;b&gt;&amp;&quot;c&apos; ");
    }
}
