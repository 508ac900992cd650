//! The preload library (`syscallbuf/`) as built and embedded: what it
//! links and exports, and its hook run natively against a buffer laid out
//! as rewind lays it out, read back with rewind's own reader.

mod support;

use std::collections::BTreeSet;
use std::process::Command;

use support::{compile, text, TempDir};
use tracee::syscallbuf_abi::{self, Record};

fn library_file(dir: &TempDir) -> std::path::PathBuf {
    let path = dir.path().join("librewind_syscallbuf.so");
    std::fs::write(&path, recorder::preload::LIBRARY).expect("write the library");
    path
}

#[test]
fn the_preload_library_needs_nothing_and_exports_only_its_hook() {
    let elf = goblin::elf::Elf::parse(recorder::preload::LIBRARY).expect("the library is ELF");
    assert!(
        elf.libraries.is_empty(),
        "the library needs {:?}",
        elf.libraries
    );
    assert_eq!(elf.interpreter, None);

    let dynamic: Vec<(String, bool)> = elf
        .dynsyms
        .iter()
        .filter(|sym| sym.st_name != 0)
        .map(|sym| {
            let name = elf.dynstrtab.get_at(sym.st_name).unwrap_or("?").to_string();
            (name, sym.is_import())
        })
        .collect();
    assert_eq!(dynamic, [("rewind_syscall_hook".to_string(), false)]);

    let symbols: BTreeSet<&str> = elf
        .syms
        .iter()
        .filter_map(|sym| elf.strtab.get_at(sym.st_name))
        .collect();
    for own in ["memcpy", "memmove", "memset", "memcmp"] {
        assert!(symbols.contains(own), "the library lacks its hidden {own}");
    }
    let panicky: Vec<_> = symbols
        .iter()
        .filter(|name| name.contains("panic") || name.contains("unwind") || name.contains("fmt"))
        .collect();
    assert!(
        panicky.is_empty(),
        "the library holds panic code: {panicky:?}"
    );

    // The panic handler's one instruction: no path may lead to it.
    let dir = TempDir::new("syscallbuf-objdump");
    let disassembly = Command::new("objdump")
        .arg("-d")
        .arg(library_file(&dir))
        .output()
        .expect("run objdump (binutils comes with gcc)");
    assert!(disassembly.status.success());
    let disassembly = text(&disassembly.stdout);
    assert!(disassembly.contains("<rewind_syscall_hook>:"));
    assert!(
        !disassembly.contains("ud2"),
        "the library can reach its panic handler"
    );
}

#[test]
fn the_hook_runs_buffered_calls_through_the_thread_buffer_and_replays_them() {
    let dir = TempDir::new("syscallbuf-hook");
    let library = library_file(&dir);
    let dump = dir.path().join("buffer");
    let program = compile("syscallbuf_hook", &["-ldl"]);
    let replay_entry: String = syscallbuf_abi::REPLAY_ENTRY
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let ran = Command::new(&program)
        .arg(&library)
        .arg(&dump)
        .arg(&replay_entry)
        .output()
        .expect("run the hook's driver");
    assert!(ran.status.success(), "driver failed: {}", text(&ran.stderr));
    let stdout = text(&ran.stdout);
    let pid: i64 = stdout
        .lines()
        .find_map(|line| line.strip_prefix("pid "))
        .and_then(|pid| pid.parse().ok())
        .expect("the driver prints its pid");
    let lines = |label: &str| -> Vec<String> {
        stdout
            .lines()
            .filter_map(|line| line.strip_prefix(label))
            .map(str::to_string)
            .collect()
    };
    // Without rewind to register a buffer with, nothing is buffered.
    assert_eq!(lines("alone "), ["39 0 0"]);
    let expected = [
        format!("39 1 {pid}"),
        "0 1 18".to_string(),
        "1 1 1".to_string(),
        format!("0 1 -{}", libc::EBADF),
        "257 0 0".to_string(), // openat stays on the traced path
        "0 0 0".to_string(),   // more than the buffer holds
        "read 'through the buffer'".to_string(),
    ];
    assert_eq!(lines("record "), expected);
    // The replay entry gave the recorded results and the record's bytes,
    // from a pipe that is empty now.
    assert_eq!(lines("replay "), expected);

    let dumped = std::fs::read(&dump).expect("the driver wrote its buffers");
    assert_eq!(dumped.len(), 2 * 4096);
    let (recorded, replayed) = dumped.split_at(4096);
    assert!(!syscallbuf_abi::busy(recorded));
    let records: Vec<Record> = syscallbuf_abi::records(recorded)
        .expect("a whole header")
        .collect::<Result<_, _>>()
        .expect("whole records");
    let summary: Vec<(u32, i64, &[u8])> = records.iter().map(|r| (r.nr, r.result, r.out)).collect();
    assert_eq!(
        summary,
        [
            (39, pid, &b""[..]),
            (0, 18, &b"through the buffer"[..]),
            (1, 1, &b""[..]),
            (0, -i64::from(libc::EBADF), &b""[..]),
        ]
    );
    // The record holds the program's own pointer, not the buffer's.
    assert_ne!(records[1].args[1], 0);
    assert_eq!(records[1].args[2], 64);
    // What replay verifies at the flush: the same records, call by call.
    let again: Vec<Record> = syscallbuf_abi::records(replayed)
        .expect("a whole header")
        .collect::<Result<_, _>>()
        .expect("whole records");
    assert_eq!(again, records);
}
