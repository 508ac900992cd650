//! Whatever a client sends, the server answers (an error or an empty
//! reply) and keeps serving: no panic, no hang.

mod common;

use common::*;
use gdb_remote::ServeEnd;

#[test]
fn bad_checksum_is_nacked_and_resend_accepted() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.send_raw(b"$qC#00");
    assert_eq!(client.read_byte(), b'-');
    client.send_raw(&frame(b"qC"));
    client.expect_ack();
    assert_eq!(client.recv(), b"QC64");
    // Non-hex checksum digits are bad checksums too.
    client.send_raw(b"$qC#zz");
    assert_eq!(client.read_byte(), b'-');
    client.send(b"k");
    server.finish();
}

#[test]
fn server_resends_on_nack() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.send(b"qC");
    let first = read_frame(&mut client);
    client.send_raw(b"-");
    let second = read_frame(&mut client);
    assert_eq!(first, second);
    assert_eq!(first, frame(b"QC64"));
    client.send_raw(b"+");
    assert_eq!(client.ask("qC"), "QC64");
    client.send(b"k");
    server.finish();
}

/// One whole frame as sent, without acknowledging it.
fn read_frame(client: &mut Client) -> Vec<u8> {
    let mut out = vec![client.read_byte()];
    assert_eq!(out[0], b'$');
    while *out.last().unwrap() != b'#' {
        out.push(client.read_byte());
    }
    out.push(client.read_byte());
    out.push(client.read_byte());
    out
}

#[test]
fn malformed_packets_get_errors_or_empty_replies() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.handshake();
    let cases: &[(&[u8], &[u8])] = &[
        (b"", b""),
        (b"m", b"E01"),
        (b"m1000,", b"E01"),
        (b"m,", b"E01"),
        (b"mzzzz,4", b"E01"),
        (b"m1000,4,5", b"E01"),
        (b"m11111111111111111111,1", b"E01"),
        (b"M1000,2:0", b"E01"),
        (b"M1000,1:zz", b"E01"),
        (b"M1000,ffffffffffffffff:00", b"E01"),
        (b"X1000,5:ab", b"E01"),
        (b"G0", b"E01"),
        (b"Gzz", b"E01"),
        (b"P=", b"E01"),
        (b"Pffffffffffffffffff=00", b"E01"),
        (b"p-1", b"E01"),
        (b"Hg", b"E01"),
        (b"Hgp", b"E01"),
        (b"Hgpzz.1", b"E01"),
        (b"T", b"E01"),
        (b"Z0", b"E01"),
        (b"Z0,1", b"E01"),
        (b"Zz,1,1", b""),
        (b"vCont;", b"E01"),
        (b"vCont;q", b"E01"),
        (b"vCont;s:", b"E01"),
        (b"C", b"E01"),
        (b"c1234", b"E01"),
        (b"qXfer:features:read:target.xml", b"E01"),
        (b"qXfer:features:read:target.xml:0,", b"E01"),
        (
            b"qXfer:features:read:target.xml:ffffffffffffffffff,1",
            b"E01",
        ),
        (b"qRcmd,abc", b"E01"),
        (b"vFile:pread:a,b", b"E01"),
        (b"vFile:open:,,", b"E01"),
        (b"qWhatever", b""),
        (b"\x00\x01\x02", b""),
        (b"\xff", b""),
        (b"zzzz", b""),
    ];
    for (packet, expected) in cases {
        assert_eq!(
            client.request(packet),
            *expected,
            "for {:?}",
            String::from_utf8_lossy(packet)
        );
    }
    // Still fine after all that.
    assert_eq!(client.ask("qC"), "QCp64.64");
    client.send(b"k");
    server.finish();
}

#[test]
fn framing_garbage_is_survived() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    // Noise outside packets, stray acks and Ctrl-Cs while stopped.
    client.send_raw(b"hello\x03\x03+++---#00\r\n");
    assert_eq!(client.ask("qC"), "QC64");
    // A bad run-length code and a dangling escape: acked, then E01.
    client.send_raw(&frame(b"*!"));
    client.expect_ack();
    assert_eq!(client.recv(), b"E01");
    client.send_raw(&frame(b"m1000,4}"));
    client.expect_ack();
    assert_eq!(client.recv(), b"E01");
    // Run-length encoded request: `m1000,4` spelled `m10*\x1f,4` (count
    // 31 - 29: the 0 twice more).
    client.send_raw(&frame(b"m10*\x1f,4"));
    client.expect_ack();
    assert_eq!(client.recv(), b"00010203");
    // An abandoned packet restarted by a new `$`.
    client.send_raw(b"$m1000,");
    client.send_raw(&frame(b"qC"));
    client.expect_ack();
    assert_eq!(client.recv(), b"QC64");
    client.send(b"k");
    server.finish();
}

#[test]
fn oversized_packets_are_refused() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    let mut huge = b"M1000,10:".to_vec();
    huge.resize(200_000, b'0');
    client.send_raw(&frame(&huge));
    client.expect_ack();
    assert_eq!(client.recv(), b"E01");
    // Run-length encoding that would decode past the limit.
    let mut expanding = b"0".to_vec();
    for _ in 0..2000 {
        expanding.extend_from_slice(b"*~");
    }
    client.send_raw(&frame(&expanding));
    client.expect_ack();
    assert_eq!(client.recv(), b"E01");
    assert_eq!(client.ask("qC"), "QC64");
    client.send(b"k");
    server.finish();
}

#[test]
fn huge_lengths_are_bounded() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.handshake();
    assert!(client.request(b"m1000,ffffffff").len() <= 0x4000);
    assert!(client.request(b"x1000,ffffffff").len() <= 0x4000);
    assert!(
        client
            .request(b"qXfer:features:read:target.xml:0,ffffffffffff")
            .len()
            <= 0x4000
    );
    assert!(client.request(b"qXfer:auxv:read::0,ffffffff").len() <= 0x4000);
    client.send(b"k");
    server.finish();
}

/// A small deterministic generator, so a failure reproduces.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn random_packets_never_break_the_server() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.handshake();
    let prefixes: &[&[u8]] = &[
        b"m",
        b"M",
        b"x",
        b"X",
        b"g",
        b"G",
        b"p",
        b"P",
        b"H",
        b"T",
        b"Z",
        b"z",
        b"q",
        b"Q",
        b"qXfer:",
        b"qXfer:features:read:target.xml:",
        b"qXfer:threads:read::",
        b"qXfer:auxv:read::",
        b"vFile:",
        b"vFile:pread:",
        b"vFile:open:",
        b"vCont;",
        b"qRcmd,",
        b"qSupported:",
        b"b",
    ];
    let alphabet = b"0123456789abcdefp.,:;-=xyz\x00\xff";
    let mut rng = Lcg(7);
    for _ in 0..3000 {
        let mut packet = prefixes[rng.next() as usize % prefixes.len()].to_vec();
        for _ in 0..rng.next() % 24 {
            packet.push(alphabet[rng.next() as usize % alphabet.len()]);
        }
        // Nothing here may resume or end the session.
        if packet.starts_with(b"vCont;") || packet.starts_with(b"b") {
            packet[0] = b'?';
            packet.truncate(1);
        }
        let escaped: Vec<u8> = packet
            .iter()
            .flat_map(|&b| match b {
                b'$' | b'#' | b'}' | b'*' => vec![b'}', b ^ 0x20],
                b => vec![b],
            })
            .collect();
        client.request(&escaped);
    }
    client.handshake();
    assert_eq!(client.ask("qC"), "QCp64.64");
    client.send(b"k");
    assert_eq!(server.finish().1, ServeEnd::Killed);
}
