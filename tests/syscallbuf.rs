//! The preload library (`syscallbuf/`) as built and embedded: what it
//! links and exports, its hook run natively against a buffer laid out as
//! rewind lays it out, and calls through it recorded and replayed (a
//! program calls the hook itself, as patched syscall sites will).

mod support;

use std::collections::BTreeSet;
use std::process::Command;

use support::{
    blocking_allowed, compile, record_and_replay, replays_as_recorded, text, TempDir, Traces,
};
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
        .arg(dir.path().join("scratch-file"))
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
        "0 0 0".to_string(),   // a bad descriptor: the traced way gives EBADF
        "0 0 0".to_string(),   // a pipe, which may block
        "257 0 0".to_string(), // a truncating openat stays on the traced path
        "0 0 0".to_string(),   // more than the buffer holds
        "5 1 0".to_string(),
        "228 1 0".to_string(),
        "0 0 0".to_string(), // a null pointer
        "read 'through the buffer', size 19, time set".to_string(),
    ];
    assert_eq!(lines("record "), expected);
    // The replay entry gave the recorded results and the record's bytes,
    // from a file that is empty now.
    assert_eq!(lines("replay "), expected);

    let dumped = std::fs::read(&dump).expect("the driver wrote its buffers");
    assert_eq!(dumped.len(), 2 * 4096);
    let (recorded, replayed) = dumped.split_at(4096);
    assert!(!syscallbuf_abi::busy(recorded));
    let records: Vec<Record> = syscallbuf_abi::records(recorded)
        .expect("a whole header")
        .collect::<Result<_, _>>()
        .expect("whole records");
    let summary: Vec<(u32, i64, usize)> = records
        .iter()
        .map(|r| (r.nr, r.result, r.out.len()))
        .collect();
    let ebadf = -i64::from(libc::EBADF);
    assert_eq!(
        summary,
        [
            (39, pid, 0),
            (5, 0, 144), // each read and write asks fstat first
            (0, 18, 18),
            (5, 0, 144),
            (1, 1, 0),
            (5, ebadf, 0),
            (5, 0, 144), // the pipe's
            (5, 0, 144), // before the read too large
            (5, 0, 144),
            (228, 0, 16),
            (5, 0, 144), // before the null pointer
        ]
    );
    assert_eq!(records[2].out, b"through the buffer");
    // The record holds the program's own pointer, not the buffer's.
    assert_ne!(records[2].args[1], 0);
    assert_eq!(records[2].args[2], 64);
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

/// Runs `command` (rewind, or a launcher already given rewind's path)
/// with `record FLAGS syscallbuf_calls SCRATCH ARGS...`; returns the
/// program and the recording's output.
fn run_record(
    mut command: Command,
    traces: &Traces,
    flags: &[&str],
    args: &[&str],
) -> (std::path::PathBuf, std::process::Output) {
    let program = compile("syscallbuf_calls", &["-ldl"]);
    let record = command
        .arg("record")
        .args(flags)
        .arg(&program)
        .arg(traces.root.path().join("scratch-file"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run rewind record");
    (program, record)
}

fn record_calls_with(tag: &str, args: &[&str], extra: &[&str]) -> (String, String) {
    let traces = Traces::with_syscall_buffer(tag);
    let (program, record) = run_record(traces.command(), &traces, extra, args);
    let record = replays_as_recorded(&traces, &program, record);
    (text(&record.stdout), traces.dump())
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

/// The threads whose buffers a dump shows flushed.
fn flushing_threads(dump: &str) -> BTreeSet<String> {
    flushes(dump).into_iter().map(|f| f.0).collect()
}

#[test]
fn buffered_calls_replay_with_their_results_and_dump_one_per_line() {
    let (stdout, dump) = record_calls("syscallbuf-calls", "plain", &[]);
    assert!(stdout.starts_with("hook found\n"), "{stdout}");
    assert!(
        stdout.contains(
            "wrote 5000, at 3, read back 12 '0000 tid 000', bad fd -1, pipe 8, buffered some"
        ),
        "{stdout}"
    );
    // 200 rounds of gettid, fstat, pwrite, fstat, pread; a write, two
    // lseeks, an fstat and a read, and the fstat that fails for the bad
    // descriptor, flushed at its read, which takes the traced way. Where
    // rewind counts the thread's context switches (the registration
    // answered 1), the pipe's write and read go through the buffer too,
    // each after its fstat, flushed at the traced unlink; otherwise each
    // takes the traced way after its fstat. The line on standard output,
    // which replay shows again, stays traced after its fstat.
    let flushes: Vec<(u32, usize)> = flushes(&dump).iter().map(|f| (f.1, f.2)).collect();
    let expected: &[(u32, usize)] = if blocking_allowed(&dump) {
        &[(1007, 1007), (4, 4), (1, 1)]
    } else {
        &[(1007, 1007), (1, 1), (1, 1), (1, 1)]
    };
    assert_eq!(flushes, expected, "{dump}");
    assert!(
        dump.contains("syscall syscall_1024("),
        "the registration: {dump}"
    );
    assert!(
        dump.contains("    fstat(0x3e7, "),
        "the failed fstat: {dump}"
    );
    assert!(
        dump.contains(" syscall read(0x3e7, "),
        "the traced read: {dump}"
    );
    assert!(dump.contains(" = 25 [25 bytes out]"), "a file read: {dump}");
    assert!(dump.contains(" = 0 [144 bytes out]"), "an fstat: {dump}");
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
    let threads = flushing_threads(&dump);
    assert_eq!(
        threads.len(),
        3,
        "flushes of the main thread and both workers: {dump}"
    );
    let calls: u32 = flushes(&dump).iter().map(|f| f.1).sum();
    // As in the plain run, each pipe call's fstat comes twice.
    assert_eq!(calls, 2 * 5 * 300 + 1007 + 4);
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
    let threads = flushing_threads(&dump);
    assert_eq!(
        threads.len(),
        2,
        "the parent's and the child's flushes: {dump}"
    );
}

#[test]
fn writes_to_a_file_mapped_shared_stay_traced() {
    let (stdout, dump) = record_calls("syscallbuf-shared", "shared", &[]);
    // The mapping shows the traced write, which the replay's shared object
    // reproduces; a file nobody maps takes the buffer.
    assert!(
        stdout.contains("shared map XYZd (3), shared write traced, other write buffered (3)"),
        "{stdout}"
    );
    assert!(
        dump.contains(" memory-writes ") && dump.contains("@0x70002010"),
        "the table of shared files, as an event: {dump}"
    );
    assert!(
        dump.contains(" syscall pwrite64(0x3, ") && dump.contains("[shared object 0:"),
        "the traced write: {dump}"
    );
    assert!(
        dump.contains("    pwrite64(0x4, "),
        "the buffered write: {dump}"
    );
}

#[test]
fn a_program_with_its_own_seccomp_filter_keeps_it_and_buffers_nothing_after() {
    // Its filter's errno rule would answer before rewind's trace rule: the
    // recorder goes back to stopping at every entry for that process. Its
    // filter could also trap a call the library makes, inside the
    // library: the library buffers nothing from then on (the word that
    // says so, written as an event), and every call is traced.
    let (stdout, dump) = record_calls("syscallbuf-seccomp", "seccomp", &[]);
    assert!(
        stdout.contains("own filter 0, getcpu -1 Operation not permitted"),
        "{stdout}"
    );
    assert!(stdout.contains("buffered none"), "{stdout}");
    assert!(dump.contains("@0x70002ff8"), "buffering off: {dump}");
    assert!(
        flushes(&dump).iter().all(|f| f.1 < 1007),
        "no round buffered: {dump}"
    );
}

#[test]
fn rewind_under_a_seccomp_filter_of_its_own_records_every_call() {
    // As in a container: the filter rewind runs under passes to the
    // program, and its errno answer (getcpu) outranks any trace rule, so
    // rewind installs no filter and stops at every entry.
    let traces = Traces::with_syscall_buffer("syscallbuf-under-filter");
    let (_, record) = run_record(traces.command(), &traces, &[], &["getcpu"]);
    let mut launcher = Command::new(compile("under_filter", &[]));
    launcher
        .env("REWIND_TRACE_DIR", traces.root.path())
        .env_remove(support::NO_SYSCALL_BUFFER)
        .arg(support::rewind_bin());
    let (program, under) = run_record(launcher, &traces, &[], &["getcpu"]);
    assert!(record.status.success(), "{}", text(&record.stderr));
    assert!(
        text(&under.stderr).contains("runs under a seccomp filter already"),
        "{}",
        text(&under.stderr)
    );
    let stdout = text(&replays_as_recorded(&traces, &program, under).stdout);
    assert!(
        stdout.contains("getcpu -1 Operation not permitted"),
        "{stdout}"
    );
    // Without rewind's filter every call stops anyway, and the filter it
    // runs under could trap one the library makes: buffering is off.
    assert!(stdout.contains("buffered none"), "{stdout}");
    assert!(
        text(&record.stdout).contains("getcpu 0"),
        "{}",
        text(&record.stdout)
    );
}

#[test]
fn signals_inside_buffered_calls_replay_as_recorded() {
    // SIGALRM every 2 ms lands inside the library, at points between
    // buffered calls that look alike but for the buffer's count of calls,
    // and its handler calls the library again, while a call is under way
    // (the traced way) or not (buffered).
    for run in 0..3 {
        let (stdout, dump) = record_calls(&format!("syscallbuf-signals-{run}"), "signals", &[]);
        assert!(
            stdout.contains("rounds under signals wrote 100000, alarms some"),
            "{stdout}"
        );
        assert!(dump.contains(" signal SIGALRM "), "{dump}");
    }
}

#[test]
fn without_the_syscall_buffer_nothing_is_preloaded() {
    for flag in ["-n", "--no-syscall-buffer"] {
        let (stdout, dump) = record_calls("syscallbuf-off", "plain", &[flag]);
        assert!(stdout.starts_with("hook absent\n"), "{stdout}");
        assert!(stdout.contains("buffered none"), "{stdout}");
        assert!(flushes(&dump).is_empty());
    }
    // The environment's switch, which the suite's second run uses.
    let traces = Traces::with_syscall_buffer("syscallbuf-off-env");
    let mut command = traces.command();
    command.env(support::NO_SYSCALL_BUFFER, "1");
    let (_, recorded) = run_record(command, &traces, &[], &[]);
    assert!(recorded.status.success(), "{}", text(&recorded.stderr));
    assert!(
        text(&recorded.stdout).starts_with("hook absent\n"),
        "{}",
        text(&recorded.stdout)
    );
    // The default recording has it; a program that never calls the hook
    // runs as before.
    let traces = Traces::with_syscall_buffer("syscallbuf-hello");
    record_and_replay(&traces, &compile("hello", &[]), &[]);
}

#[test]
fn gdb_goes_back_and_forth_over_buffered_calls() {
    let served = support::gdb::serve_recording_in(
        Traces::with_syscall_buffer("syscallbuf-gdb"),
        "syscallbuf_calls",
        &[],
    );
    assert!(
        served.recorded.contains("buffered some"),
        "{}",
        served.recorded
    );
    // rounds() makes 1000 buffered calls; going back before them and
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
