//! Object transfers (`qXfer`), host files (`vFile`) and monitor commands
//! (`qRcmd`) end to end against a mock target.

mod common;

use common::*;

/// Reads a whole qXfer object in chunks of `len`, checking the m/l marks.
fn read_object(client: &mut Client, object: &str, annex: &str, len: usize) -> Vec<u8> {
    let mut data = Vec::new();
    loop {
        let reply = client
            .request(format!("qXfer:{object}:read:{annex}:{:x},{len:x}", data.len()).as_bytes());
        let (mark, chunk) = reply.split_first().expect("empty qXfer reply");
        let chunk = unescape(chunk);
        assert!(chunk.len() <= len, "chunk longer than asked");
        data.extend_from_slice(&chunk);
        match mark {
            b'l' => return data,
            b'm' => assert!(!chunk.is_empty(), "m with no data"),
            _ => panic!("bad qXfer reply {:?}", String::from_utf8_lossy(&reply)),
        }
    }
}

#[test]
fn target_description_in_chunks() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.handshake();
    let whole = read_object(&mut client, "features", "target.xml", 0xffb);
    let small = read_object(&mut client, "features", "target.xml", 0x61);
    assert_eq!(whole, small);
    let xml = String::from_utf8(whole).unwrap();
    assert!(xml.starts_with("<?xml"));
    assert!(xml.contains("<architecture>i386:x86-64</architecture>"));
    assert!(xml.contains("<reg name=\"ymm15h\" bitsize=\"128\" type=\"uint128\" regnum=\"75\"/>"));
    assert!(xml.trim_end().ends_with("</target>"));
    assert_eq!(client.ask("qXfer:features:read:other.xml:0,100"), "E00");
    assert_eq!(client.ask("qXfer:features:read:target.xml:100000,100"), "l");
    assert_eq!(client.ask("qXfer:features:read:target.xml:0,0"), "E01");
    assert_eq!(client.ask("qXfer:features:write:target.xml:0:00"), "");
    assert_eq!(client.ask("qXfer:memory-map:read::0,100"), "");
    client.send(b"k");
    server.finish();
}

#[test]
fn auxv_exec_file_and_threads() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.handshake();
    let auxv = read_object(&mut client, "auxv", "", 0x3ff);
    assert_eq!(auxv, MockTarget::new().auxv);
    assert_eq!(client.ask("qXfer:auxv:read:1:0,100"), "E00");

    assert_eq!(read_object(&mut client, "exec-file", "", 0x100), b"/prog");
    assert_eq!(read_object(&mut client, "exec-file", "64", 2), b"/prog");
    assert_eq!(client.ask("qXfer:exec-file:read:65:0,100"), "E03");
    assert_eq!(client.ask("qXfer:exec-file:read:zz:0,100"), "E00");

    let threads = String::from_utf8(read_object(&mut client, "threads", "", 0x20)).unwrap();
    assert!(threads.starts_with("<?xml"), "{threads}");
    assert!(
        threads.contains("<thread id=\"p64.64\" name=\"main\"/>"),
        "{threads}"
    );
    assert!(
        threads.contains("<thread id=\"p64.65\" name=\"work&lt;&amp;&gt;\"/>"),
        "{threads}"
    );
    client.send(b"k");
    server.finish();
}

fn file_server() -> (Running, tempdir::TempDir, Vec<u8>) {
    let dir = tempdir::TempDir::new();
    // Every byte value, so escapes in pread replies are exercised.
    let contents: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(dir.path().join("prog"), &contents).unwrap();
    let mut target = MockTarget::new();
    target.files = Some(MockFiles {
        root: dir.path().to_path_buf(),
    });
    (start(target), dir, contents)
}

/// `F<n>;data` split into n and the unescaped data.
fn file_data(reply: &[u8]) -> (usize, Vec<u8>) {
    let text_end = reply.iter().position(|&b| b == b';').expect("no ;");
    let count = std::str::from_utf8(&reply[1..text_end]).unwrap();
    let count = usize::from_str_radix(count, 16).unwrap();
    let data = unescape(&reply[text_end + 1..]);
    assert_eq!(data.len(), count, "count disagrees with data");
    (count, data)
}

#[test]
fn vfile_reads_a_file() {
    let (server, _dir, contents) = file_server();
    let mut client = server.connect();
    client.handshake();
    assert_eq!(client.ask("vFile:setfs:0"), "F0");
    let path = hex(b"/prog");
    assert_eq!(client.ask(&format!("vFile:open:{path},0,1c0")), "F0");
    assert_eq!(client.ask(&format!("vFile:open:{path},0,0")), "F1");
    assert_eq!(client.ask("vFile:close:1"), "F0");

    let mut read = Vec::new();
    loop {
        let reply = client.request(format!("vFile:pread:0,3fff,{:x}", read.len()).as_bytes());
        assert_eq!(reply[0], b'F');
        let (count, data) = file_data(&reply);
        if count == 0 {
            break;
        }
        read.extend_from_slice(&data);
    }
    assert_eq!(read, contents);

    let (size, stat) = file_data(&client.request(b"vFile:fstat:0"));
    assert_eq!(size, 64);
    let mode = u32::from_be_bytes(stat[8..12].try_into().unwrap());
    assert_eq!(mode & 0o170000, 0o100000, "regular file");
    let st_size = u64::from_be_bytes(stat[28..36].try_into().unwrap());
    assert_eq!(st_size, contents.len() as u64);

    assert_eq!(client.ask("vFile:close:0"), "F0");
    assert_eq!(client.ask("vFile:close:0"), "F-1,9");
    assert_eq!(client.ask("vFile:pread:0,10,0"), "F-1,9");
    assert_eq!(client.ask("vFile:fstat:7"), "F-1,9");
    assert_eq!(
        client.ask(&format!("vFile:open:{},0,0", hex(b"/missing"))),
        "F-1,2"
    );
    // Writing is refused.
    assert_eq!(client.ask(&format!("vFile:open:{path},1,1a4")), "F-1,d");
    assert_eq!(client.ask(&format!("vFile:open:{path},602,1a4")), "F-1,d");
    assert_eq!(
        client.ask(&format!("vFile:unlink:{path}")),
        "F-1,58",
        "ENOSYS for operations not offered"
    );
    let (_, link) =
        file_data(&client.request(format!("vFile:readlink:{}", hex(b"/proc/100/exe")).as_bytes()));
    assert_eq!(link, b"/prog");
    assert_eq!(client.ask("vFile:open:2f7,0,0"), "E01");
    client.send(b"k");
    server.finish();
}

#[test]
fn vfile_table_is_bounded() {
    let (server, _dir, _) = file_server();
    let mut client = server.connect();
    client.handshake();
    let open = format!("vFile:open:{},0,0", hex(b"/prog"));
    for fd in 0..64 {
        assert_eq!(client.ask(&open), format!("F{fd:x}"));
    }
    assert_eq!(client.ask(&open), "F-1,18", "EMFILE");
    client.shutdown();
    // Files belong to the connection: a new client starts empty.
    let mut client = server.connect();
    assert_eq!(client.ask(&open), "F0");
    client.send(b"k");
    server.finish();
}

#[test]
fn vfile_without_host_files_is_unsupported() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.handshake();
    assert_eq!(client.ask("vFile:setfs:0"), "");
    assert_eq!(client.ask(&format!("vFile:open:{},0,0", hex(b"/prog"))), "");
    client.send(b"k");
    server.finish();
}

/// Reads `O` packets until the final reply; returns (output, final).
fn monitor(client: &mut Client, command: &str) -> (String, String) {
    client.send(format!("qRcmd,{}", hex(command.as_bytes())).as_bytes());
    let mut output = Vec::new();
    loop {
        let reply = client.recv();
        match reply.split_first() {
            Some((b'O', text)) if text != b"K" => output.extend(unhex(text)),
            _ => {
                return (
                    String::from_utf8(output).unwrap(),
                    String::from_utf8(reply).unwrap(),
                )
            }
        }
    }
}

#[test]
fn monitor_commands() {
    let server = start(MockTarget::new());
    let mut client = server.connect();
    client.handshake();
    assert_eq!(
        monitor(&mut client, "when"),
        ("Current event: 42\n".to_string(), "OK".to_string())
    );
    let (big, end) = monitor(&mut client, "big");
    assert_eq!((big.len(), end.as_str()), (20_000, "OK"));
    assert_eq!(
        monitor(&mut client, "fail"),
        ("it broke\n".to_string(), "E01".to_string())
    );
    assert_eq!(
        monitor(&mut client, "frobnicate"),
        (String::new(), String::new())
    );
    assert_eq!(client.ask("qRcmd,7"), "E01");
    client.send(b"k");
    server.finish();
}

/// A directory removed when dropped (std only).
mod tempdir {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU32, Ordering};

    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new() -> TempDir {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "gdb-remote-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
