//! The preload library (`syscallbuf/`) as built and embedded: what it
//! links and exports, its hook run natively against a buffer laid out as
//! rewind lays it out, and calls through it recorded and replayed (a
//! program calls the hook itself, as patched syscall sites will).

mod support;

use std::collections::BTreeSet;
use std::process::Command;

use support::{compile, record_and_replay, replays_as_recorded, text, TempDir, Traces};
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

/// Records `syscallbuf_calls` in `mode` (with `extra` flags for record),
/// checks that it replays as recorded, and returns its stdout and dump.
fn record_calls(tag: &str, mode: &str, extra: &[&str]) -> (String, String) {
    record_calls_with(tag, &[mode], extra)
}

fn record_calls_with(tag: &str, args: &[&str], extra: &[&str]) -> (String, String) {
    let traces = Traces::new(tag);
    let program = compile("syscallbuf_calls", &["-ldl"]);
    let scratch = traces.root.path().join("scratch-file");
    let scratch = scratch.to_str().expect("utf-8 path");
    let record = traces
        .command()
        .arg("record")
        .args(extra)
        .arg(&program)
        .arg(scratch)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run rewind record");
    let record = replays_as_recorded(&traces, &program, record);
    let dump = traces
        .command()
        .arg("dump")
        .output()
        .expect("run rewind dump");
    assert!(dump.status.success(), "dump failed: {}", text(&dump.stderr));
    (text(&record.stdout), text(&dump.stdout))
}

/// The flush events of a dump: (thread, calls it names, lines under it).
fn flushes(dump: &str) -> Vec<(String, u32, usize)> {
    let lines: Vec<&str> = dump.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let fields: Vec<&str> = line.split(' ').collect();
        if fields.get(2) == Some(&"buffered-syscalls") {
            let count = fields[3].parse().expect("a count");
            let under = lines[i + 1..]
                .iter()
                .take_while(|l| l.starts_with("    "))
                .count();
            found.push((fields[1].to_string(), count, under));
        }
    }
    found
}

#[test]
fn buffered_calls_replay_with_their_results_and_dump_one_per_line() {
    let (stdout, dump) = record_calls("syscallbuf-calls", "plain", &[]);
    assert!(stdout.starts_with("hook found\n"), "{stdout}");
    assert!(
        stdout.contains("wrote 5000, at 5000, read back 12 '0000 tid 000', bad fd -9"),
        "{stdout}"
    );
    assert!(stdout.contains("bad fd -9, buffered some"), "{stdout}");
    // 200 rounds of gettid, write, read, write, flushed at the pipe's
    // close; then two lseeks and two reads, flushed at unlink.
    let flushes: Vec<(u32, usize)> = flushes(&dump).iter().map(|f| (f.1, f.2)).collect();
    assert_eq!(flushes, [(800, 800), (4, 4)], "{dump}");
    assert!(
        dump.contains("syscall syscall_1024("),
        "the registration: {dump}"
    );
    assert!(dump.contains("    read(0x3e7, "), "the failed read: {dump}");
    assert!(dump.contains(" = 25 [25 bytes out]"), "a pipe read: {dump}");
}

#[test]
fn threads_each_buffer_their_own_calls() {
    let (stdout, dump) = record_calls("syscallbuf-threads", "threads", &[]);
    for i in 0..2 {
        assert!(
            stdout.contains(&format!("thread {i} wrote 7500, buffered some")),
            "{stdout}"
        );
    }
    let threads: BTreeSet<String> = flushes(&dump).into_iter().map(|f| f.0).collect();
    assert_eq!(
        threads.len(),
        3,
        "flushes of the main thread and both workers: {dump}"
    );
    let calls: u32 = flushes(&dump).iter().map(|f| f.1).sum();
    assert_eq!(calls, 2 * 1200 + 804);
}

#[test]
fn threads_buffering_under_chaos_replay_as_recorded() {
    // Preemptions land inside the rounds, where the replay's buffer holds
    // the whole flush ahead: buffers stay out of the execution points'
    // memory hash (seed 7 diverged before they did).
    for seed in ["7", "21"] {
        let (stdout, _) = record_calls_with(
            "syscallbuf-chaos",
            &["threads", "12"],
            &["--chaos-seed", seed],
        );
        assert!(
            stdout.contains("thread 1 wrote 300, buffered some"),
            "{stdout}"
        );
    }
}

#[test]
fn a_forked_child_buffers_in_its_copy_of_the_parent_buffer() {
    let (stdout, dump) = record_calls("syscallbuf-fork", "fork", &[]);
    assert!(
        stdout.contains("child wrote 2500, buffered more"),
        "{stdout}"
    );
    assert!(stdout.contains("parent wrote 1250 then 2500"), "{stdout}");
    let threads: BTreeSet<String> = flushes(&dump).into_iter().map(|f| f.0).collect();
    assert_eq!(
        threads.len(),
        2,
        "the parent's and the child's flushes: {dump}"
    );
}

#[test]
fn without_the_syscall_buffer_nothing_is_preloaded() {
    for flag in ["-n", "--no-syscall-buffer"] {
        let (stdout, dump) = record_calls("syscallbuf-off", "plain", &[flag]);
        assert!(stdout.starts_with("hook absent\n"), "{stdout}");
        assert!(stdout.contains("buffered none"), "{stdout}");
        assert!(flushes(&dump).is_empty());
    }
    // The default recording has it; a program that never calls the hook
    // runs as before.
    let traces = Traces::new("syscallbuf-hello");
    record_and_replay(&traces, &compile("hello", &[]), &[]);
}

#[test]
fn gdb_goes_back_and_forth_over_buffered_calls() {
    let served = support::gdb::serve_recording("syscallbuf-gdb", "syscallbuf_calls", &[]);
    assert!(
        served.recorded.contains("buffered some"),
        "{}",
        served.recorded
    );
    // rounds() makes 800 buffered calls; going back before them and
    // forward again replays them from a copy, with the same results.
    let out = served.server.gdb(&[
        "break rounds",
        "continue",
        "finish",
        "reverse-continue",
        "print count",
        "finish",
        "continue",
    ]);
    assert_eq!(out.matches("Value returned is").count(), 2, "{out}");
    for value in ["$1 = 5000", "$3 = 5000"] {
        assert!(out.contains(&format!("Value returned is {value}")), "{out}");
    }
    assert!(out.contains("$2 = 200"), "back at the breakpoint: {out}");
    // On to the end of the recording, past the calls once more.
    assert!(out.contains("Program received signal SIGKILL"), "{out}");
}
