//! Packet framing: `$payload#checksum`, acknowledgments, the `}` escape and
//! run-length encoding. Everything above this module sees whole, decoded
//! payloads; everything below is a byte stream.

use std::io::{self, Read, Write};

use crate::hex;
use crate::log;

/// The largest payload accepted from a client, before and after decoding.
/// Larger than the advertised PacketSize so a client that ignores it gets a
/// clean error instead of a cut packet.
pub(crate) const MAX_INCOMING_PAYLOAD: usize = 64 * 1024;

/// The interrupt request byte a client sends outside packets (Ctrl-C).
pub(crate) const INTERRUPT_BYTE: u8 = 0x03;

/// How many `-` in a row a reply is resent for before the server gives up
/// on that reply (a client that rejects every copy would otherwise keep the
/// server resending forever).
const MAX_RESENDS: u32 = 16;

/// What the client sent.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// A packet with a good checksum, unescaped and run-length decoded.
    Packet(Vec<u8>),
    /// A packet over [`MAX_INCOMING_PAYLOAD`]; acknowledged and dropped.
    Oversized,
    /// A packet whose escapes or run-length codes make no sense.
    Malformed,
    /// The client closed the connection.
    Eof,
}

/// Sum of the bytes modulo 256, over the payload as transmitted.
pub(crate) fn checksum(data: &[u8]) -> u8 {
    data.iter().fold(0u8, |sum, &b| sum.wrapping_add(b))
}

/// Undoes run-length encoding (`x*n`: `n - 29` more copies of `x`) and the
/// `}` escape (next byte XOR 0x20) of a received payload.
pub(crate) fn decode_payload(raw: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter().copied();
    while let Some(b) = bytes.next() {
        match b {
            b'}' => {
                let escaped = bytes.next().ok_or(DecodeError::Malformed)?;
                out.push(escaped ^ 0x20);
            }
            b'*' => {
                let count = bytes.next().ok_or(DecodeError::Malformed)?;
                // The repeat count is a printable character; gdb never sends
                // one below 29 + 3 (fewer repeats are shorter spelled out),
                // but any count from 29 on decodes unambiguously.
                if !(29..=126).contains(&count) {
                    return Err(DecodeError::Malformed);
                }
                let last = *out.last().ok_or(DecodeError::Malformed)?;
                let repeats = usize::from(count - 29);
                if out.len() + repeats > MAX_INCOMING_PAYLOAD {
                    return Err(DecodeError::Oversized);
                }
                out.resize(out.len() + repeats, last);
            }
            _ => out.push(b),
        }
    }
    Ok(out)
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DecodeError {
    Malformed,
    Oversized,
}

fn needs_escape(b: u8) -> bool {
    matches!(b, b'$' | b'#' | b'}' | b'*')
}

/// Escapes binary data for a reply (`x`, `qXfer`, `vFile:pread`), taking
/// bytes from `data` while the escaped result stays within `limit` bytes.
/// Returns how many bytes of `data` went in.
pub(crate) fn escape_binary(data: &[u8], out: &mut Vec<u8>, limit: usize) -> usize {
    let mut written = 0;
    for (taken, &b) in data.iter().enumerate() {
        let size = if needs_escape(b) { 2 } else { 1 };
        if written + size > limit {
            return taken;
        }
        if needs_escape(b) {
            out.push(b'}');
            out.push(b ^ 0x20);
        } else {
            out.push(b);
        }
        written += size;
    }
    data.len()
}

/// Bytes received but not yet consumed. The interrupt poller appends to it
/// while the target runs, so bytes that follow a Ctrl-C are not lost.
#[derive(Debug, Default)]
pub(crate) struct InputBuffer {
    bytes: Vec<u8>,
    pos: usize,
}

impl InputBuffer {
    pub(crate) fn pending(&self) -> &[u8] {
        &self.bytes[self.pos..]
    }

    pub(crate) fn append(&mut self, data: &[u8]) {
        if self.pos == self.bytes.len() {
            self.bytes.clear();
            self.pos = 0;
        }
        self.bytes.extend_from_slice(data);
    }

    fn next(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    /// Gives back the byte just taken by `next`.
    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }
}

/// One client connection at the packet level.
pub(crate) struct PacketIo<C> {
    conn: C,
    input: InputBuffer,
    ack_mode: bool,
}

impl<C: Read + Write> PacketIo<C> {
    pub(crate) fn new(conn: C) -> PacketIo<C> {
        PacketIo {
            conn,
            input: InputBuffer::default(),
            ack_mode: true,
        }
    }

    /// Stops sending and expecting `+`/`-` (after `QStartNoAckMode`'s OK
    /// was acknowledged).
    pub(crate) fn disable_acks(&mut self) {
        self.ack_mode = false;
    }

    /// The connection and the unread input, for polling during a resume.
    pub(crate) fn parts(&mut self) -> (&mut C, &mut InputBuffer) {
        (&mut self.conn, &mut self.input)
    }

    fn next_byte(&mut self) -> io::Result<Option<u8>> {
        if let Some(b) = self.input.next() {
            return Ok(Some(b));
        }
        let mut chunk = [0u8; 4096];
        loop {
            match self.conn.read(&mut chunk) {
                Ok(0) => return Ok(None),
                Ok(n) => {
                    self.input.append(&chunk[..n]);
                    return Ok(self.input.next());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits for the next packet. Bytes outside packets (stray acks, a
    /// Ctrl-C that arrived after its stop, line noise) are skipped.
    pub(crate) fn read_packet(&mut self) -> io::Result<Incoming> {
        loop {
            match self.next_byte()? {
                None => return Ok(Incoming::Eof),
                Some(b'$') => {
                    if let Some(incoming) = self.read_packet_body()? {
                        return Ok(incoming);
                    }
                }
                Some(_) => {}
            }
        }
    }

    /// Reads after a `$`; `None` when the packet was rejected with `-` and
    /// the client will send it again.
    fn read_packet_body(&mut self) -> io::Result<Option<Incoming>> {
        let mut raw = Vec::new();
        let mut oversized = false;
        let mut sum = 0u8;
        loop {
            match self.next_byte()? {
                None => return Ok(Some(Incoming::Eof)),
                Some(b'#') => break,
                // A `$` inside a packet can only be the start of a new one
                // (binary data escapes it): the client gave up on the old.
                Some(b'$') => {
                    raw.clear();
                    oversized = false;
                    sum = 0;
                }
                Some(b) => {
                    sum = sum.wrapping_add(b);
                    if raw.len() < MAX_INCOMING_PAYLOAD {
                        raw.push(b);
                    } else {
                        oversized = true;
                    }
                }
            }
        }
        let mut digits = [0u8; 2];
        for d in &mut digits {
            match self.next_byte()? {
                None => return Ok(Some(Incoming::Eof)),
                Some(b) => *d = b,
            }
        }
        let sent = hex::digit_value(digits[0])
            .zip(hex::digit_value(digits[1]))
            .map(|(hi, lo)| hi << 4 | lo);
        if sent != Some(sum) {
            log::packet_note("bad checksum", &raw);
            if self.ack_mode {
                self.write_raw(b"-")?;
                return Ok(None);
            }
            // Without acks the client cannot resend; like gdbserver, trust
            // the transport (TCP already checks) and use the packet.
        }
        if self.ack_mode {
            self.write_raw(b"+")?;
        }
        if oversized {
            return Ok(Some(Incoming::Oversized));
        }
        log::packet_in(&raw);
        Ok(Some(match decode_payload(&raw) {
            Ok(payload) => Incoming::Packet(payload),
            Err(DecodeError::Oversized) => Incoming::Oversized,
            Err(DecodeError::Malformed) => Incoming::Malformed,
        }))
    }

    fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.conn.write_all(bytes)?;
        self.conn.flush()
    }

    /// Sends one packet whose payload is already encoded (binary parts
    /// escaped); in ack mode waits for `+`, resending on `-`.
    pub(crate) fn send_packet(&mut self, payload: &[u8]) -> io::Result<()> {
        log::packet_out(payload);
        let mut frame = Vec::with_capacity(payload.len() + 4);
        frame.push(b'$');
        frame.extend_from_slice(payload);
        frame.push(b'#');
        hex::push_bytes(&mut frame, &[checksum(payload)]);
        self.write_raw(&frame)?;
        if !self.ack_mode {
            return Ok(());
        }
        let mut resends = 0;
        loop {
            match self.next_byte()? {
                None => return Err(io::ErrorKind::UnexpectedEof.into()),
                Some(b'+') => return Ok(()),
                Some(b'-') if resends < MAX_RESENDS => {
                    resends += 1;
                    self.write_raw(&frame)?;
                }
                Some(b'-') => return Ok(()),
                // The client moved on to its next packet: treat our reply
                // as received and leave the packet for `read_packet`.
                Some(b'$') => {
                    self.input.unread();
                    return Ok(());
                }
                Some(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A scripted client: reads come from `incoming`, writes pile up.
    struct Script {
        incoming: VecDeque<u8>,
        written: Vec<u8>,
    }

    impl Script {
        fn new(incoming: &[u8]) -> Script {
            Script {
                incoming: incoming.iter().copied().collect(),
                written: Vec::new(),
            }
        }
    }

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            // One byte at a time exercises every split of a packet.
            match (self.incoming.pop_front(), buf.first_mut()) {
                (Some(b), Some(slot)) => {
                    *slot = b;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    impl Write for Script {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn packet(payload: &[u8]) -> Vec<u8> {
        let mut v = vec![b'$'];
        v.extend_from_slice(payload);
        v.push(b'#');
        hex::push_bytes(&mut v, &[checksum(payload)]);
        v
    }

    #[test]
    fn checksums() {
        assert_eq!(checksum(b""), 0);
        assert_eq!(checksum(b"OK"), 0x9a);
        assert_eq!(checksum(b"qSupported"), 0x37);
        assert_eq!(packet(b"g"), b"$g#67");
    }

    #[test]
    fn reads_and_acks_a_packet() {
        let mut io = PacketIo::new(Script::new(b"+$g#67"));
        assert_eq!(io.read_packet().unwrap(), Incoming::Packet(b"g".to_vec()));
        assert_eq!(io.conn.written, b"+");
        assert_eq!(io.read_packet().unwrap(), Incoming::Eof);
    }

    #[test]
    fn bad_checksum_is_rejected_then_resent_copy_accepted() {
        let mut io = PacketIo::new(Script::new(b"$g#00$g#67"));
        assert_eq!(io.read_packet().unwrap(), Incoming::Packet(b"g".to_vec()));
        assert_eq!(io.conn.written, b"-+");
    }

    #[test]
    fn checksum_digits_may_be_upper_case_and_garbage_is_skipped() {
        let mut io = PacketIo::new(Script::new(b"\x03xyz+-$qC#B4"));
        assert_eq!(io.read_packet().unwrap(), Incoming::Packet(b"qC".to_vec()));
    }

    #[test]
    fn no_ack_mode_sends_no_acks_and_keeps_a_bad_checksum_packet() {
        let mut io = PacketIo::new(Script::new(b"$g#00"));
        io.disable_acks();
        assert_eq!(io.read_packet().unwrap(), Incoming::Packet(b"g".to_vec()));
        assert!(io.conn.written.is_empty());
        io.send_packet(b"OK").unwrap();
        assert_eq!(io.conn.written, b"$OK#9a");
    }

    #[test]
    fn reply_is_resent_on_nack() {
        let mut io = PacketIo::new(Script::new(b"-+"));
        io.send_packet(b"OK").unwrap();
        assert_eq!(io.conn.written, b"$OK#9a$OK#9a");
    }

    #[test]
    fn next_packet_counts_as_ack() {
        let mut io = PacketIo::new(Script::new(b"$g#67"));
        io.send_packet(b"OK").unwrap();
        assert_eq!(io.read_packet().unwrap(), Incoming::Packet(b"g".to_vec()));
    }

    #[test]
    fn restarted_packet_wins() {
        let mut io = PacketIo::new(Script::new(b"$qSupp$g#67"));
        assert_eq!(io.read_packet().unwrap(), Incoming::Packet(b"g".to_vec()));
    }

    #[test]
    fn truncated_packet_is_eof() {
        let mut io = PacketIo::new(Script::new(b"$g#6"));
        assert_eq!(io.read_packet().unwrap(), Incoming::Eof);
    }

    #[test]
    fn escapes_and_run_lengths_decode() {
        assert_eq!(decode_payload(b"X0,1:}\x03").unwrap(), b"X0,1:#");
        assert_eq!(decode_payload(b"}]}\x04}\n").unwrap(), b"}$*");
        // `0* ` is four zeros: the space (32) asks for 32 - 29 = 3 more.
        assert_eq!(decode_payload(b"0* ").unwrap(), b"0000");
        assert_eq!(decode_payload(b"a*\x1d").unwrap(), b"a");
        assert_eq!(decode_payload(b"*!"), Err(DecodeError::Malformed));
        assert_eq!(decode_payload(b"a*"), Err(DecodeError::Malformed));
        assert_eq!(decode_payload(b"a*\x01"), Err(DecodeError::Malformed));
        assert_eq!(decode_payload(b"abc}"), Err(DecodeError::Malformed));
    }

    #[test]
    fn run_length_cannot_blow_past_the_limit() {
        let mut raw = b"0".to_vec();
        for _ in 0..(MAX_INCOMING_PAYLOAD / 97 + 1) {
            raw.extend_from_slice(b"*~");
        }
        assert_eq!(decode_payload(&raw), Err(DecodeError::Oversized));
    }

    #[test]
    fn rle_packet_through_io() {
        let mut io = PacketIo::new(Script::new(&packet(b"m0,1* ")));
        assert_eq!(
            io.read_packet().unwrap(),
            Incoming::Packet(b"m0,1111".to_vec())
        );
    }

    #[test]
    fn oversized_packet_is_acked_and_reported() {
        let mut big = vec![b'$'];
        big.resize(1 + MAX_INCOMING_PAYLOAD + 10, b'a');
        big.extend_from_slice(b"#00$g#67");
        let mut io = PacketIo::new(Script::new(&big));
        // The checksum is wrong too: rejected, then the next packet read.
        assert_eq!(io.read_packet().unwrap(), Incoming::Packet(b"g".to_vec()));
        let sum = checksum(&big[1..MAX_INCOMING_PAYLOAD + 11]);
        let mut good = big[..MAX_INCOMING_PAYLOAD + 12].to_vec();
        hex::push_bytes(&mut good, &[sum]);
        let mut io = PacketIo::new(Script::new(&good));
        assert_eq!(io.read_packet().unwrap(), Incoming::Oversized);
        assert_eq!(io.conn.written, b"+");
    }

    #[test]
    fn escaping_respects_the_limit() {
        let mut out = Vec::new();
        assert_eq!(escape_binary(b"a$b", &mut out, 10), 3);
        assert_eq!(out, b"a}\x04b");
        let mut out = Vec::new();
        assert_eq!(escape_binary(b"a$b", &mut out, 2), 1);
        assert_eq!(out, b"a");
        let mut out = Vec::new();
        assert_eq!(escape_binary(b"#}*", &mut out, 6), 3);
        assert_eq!(decode_payload(&out).unwrap(), b"#}*");
    }
}
