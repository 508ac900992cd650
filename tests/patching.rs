//! Patched syscall sites (ARCHITECTURE.md "syscallbuf", "Patching"): an
//! ordinary libc program's calls, libc's internal ones included, reach
//! the syscall buffer through the sites the recorder patches, and replay
//! patches the same sites at the same moments.

mod support;

use std::path::Path;

use support::gdb::{require_gdb, ReplayServer};
use support::{blocking_allowed, compile, replays_as_recorded, text, TempDir, Traces};

/// Records `program ARGS` with the syscall buffer, checks that the replay
/// matches, and returns the program's output and the dump.
fn record_dumped(tag: &str, program: &Path, args: &[&str]) -> (String, String) {
    let traces = Traces::with_syscall_buffer(tag);
    let record = replays_as_recorded(&traces, program, traces.record(program, args));
    (text(&record.stdout), traces.dump())
}

/// The buffered calls a dump lists (the indented lines under flushes).
fn buffered<'a>(dump: &'a str, call: &str) -> Vec<&'a str> {
    let prefix = format!("    {call}(");
    dump.lines().filter(|l| l.starts_with(&prefix)).collect()
}

/// The traced syscall events of `call` whose first argument is `arg`.
fn traced<'a>(dump: &'a str, call: &str, arg: &str) -> Vec<(usize, &'a str)> {
    let wanted = format!(" syscall {call}({arg},");
    dump.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with(' ') && l.contains(&wanted))
        .collect()
}

#[test]
fn libc_calls_reach_the_buffer_through_patched_sites() {
    let scratch = TempDir::new("patched-calls");
    let dir = scratch.path().to_str().expect("a UTF-8 path");
    let program = compile("patched_calls", &[]);
    let (stdout, dump) = record_dumped("patched-calls", &program, &[dir]);
    assert!(
        stdout.contains(
            "lines 100 sum 4950 size 900 listed 1 clock moved getppid 1000 queries 15 \
             vectored 12 messages 9 polled 6 ready 9 wakes 3 accepted 3"
        ),
        "{stdout}"
    );
    assert!(dump.contains(" patch syscall site "), "{dump}");
    // stdio's writes and reads of the file, inside fprintf, fclose and
    // fgets, went through the buffer.
    assert!(buffered(&dump, "write").len() >= 99, "{dump}");
    assert!(buffered(&dump, "read").len() >= 14, "{dump}");
    assert!(!buffered(&dump, "getdents64").is_empty(), "{dump}");
    // The second fopen's open (the first truncates, which stays traced,
    // and patched the site) and the closes, each after a stat of what
    // they open.
    assert!(!buffered(&dump, "openat").is_empty(), "{dump}");
    assert!(buffered(&dump, "close").len() >= 2, "{dump}");
    // The vDSO's clock_gettime (rewind makes it a syscall), and libc's
    // syscall() and getppid().
    assert!(buffered(&dump, "clock_gettime").len() >= 1000, "{dump}");
    assert!(buffered(&dump, "getppid").len() >= 1990, "{dump}");
    // Queries of descriptors and of the system.
    for call in ["ioctl", "fcntl", "dup", "getcwd", "uname", "getrandom"] {
        assert!(buffered(&dump, call).len() >= 2, "{call}: {dump}");
    }
    // Vectored reads and writes of the file, futex wakes; the socket's
    // messages, the polls, the epoll waits and the accepted connections
    // where rewind hears a thread block (a socket may wait).
    for call in ["pwritev", "preadv", "writev", "readv", "futex"] {
        assert!(buffered(&dump, call).len() >= 2, "{call}: {dump}");
    }
    let counted = blocking_allowed(&dump);
    for call in [
        "sendto",
        "sendmsg",
        "recvfrom",
        "poll",
        "ppoll",
        "epoll_wait",
        "epoll_pwait",
        "epoll_pwait2",
        "accept4",
    ] {
        let through = buffered(&dump, call).len();
        assert!(
            if counted { through >= 2 } else { through == 0 },
            "{call}: {dump}"
        );
    }
}

#[test]
fn a_thread_waiting_inside_a_site_holds_off_its_patch() {
    // The multithreaded path of libc's read is `syscall; cmp rax, ...`:
    // its patch replaces the instruction the waiting thread returns to, so
    // it waits until that thread has left.
    let scratch = TempDir::new("patched-blocked");
    let dir = scratch.path().to_str().expect("a UTF-8 path");
    let program = compile("patched_calls", &[]);
    let (stdout, dump) = record_dumped("patched-blocked", &program, &[dir, "blocked"]);
    assert!(
        stdout.contains("before 87980, woken 1, after 87980"),
        "{stdout}"
    );
    let fd_after = |label: &str| {
        let fd: u64 = stdout
            .split(label)
            .nth(1)
            .and_then(|rest| rest.split([',', '\n']).next())
            .and_then(|fd| fd.parse().ok())
            .unwrap_or_else(|| panic!("no {label} in {stdout}"));
        format!("{fd:#x}")
    };
    let arg = fd_after("file fd ");
    let wake = format!(" syscall write({},", fd_after("pipe write fd "));
    let pipe_write = dump
        .lines()
        .position(|l| l.contains(&wake))
        .expect("the write that wakes the waiter");
    // The loader's reads of the same descriptor number read 832 bytes.
    let traced_before = traced(&dump, "read", &arg)
        .iter()
        .filter(|(line, call)| *line < pipe_write && call.contains(", 0x40, "))
        .count();
    assert_eq!(traced_before, 20, "reads while the waiter sits: {dump}");
    let prefix = format!("    read({arg},");
    assert!(
        dump.lines().filter(|l| l.starts_with(&prefix)).count() >= 15,
        "reads after it left go through the buffer: {dump}"
    );
}

#[test]
fn a_thread_cancelled_inside_a_stub_unwinds_through_it() {
    // Its blocked read is the stub's syscall: the stub area's call-frame
    // information leads the cancellation's unwind into the thread's own
    // frames, whose cleanup then runs (without it the unwind stops at the
    // stub and skips them).
    let program = compile("cancel_blocked", &["-fexceptions"]);
    let (stdout, dump) = record_dumped("patched-cancel", &program, &[]);
    assert!(stdout.contains("cancelled 1, cleaned up 1"), "{stdout}");
    assert!(
        dump.contains(" bytes at ") && dump.contains("the thread goes on at"),
        "{dump}"
    );
}

#[test]
fn gdb_backtraces_a_thread_blocked_in_a_stub_into_its_own_frames() {
    require_gdb();
    let traces = Traces::with_syscall_buffer("patched-gdb");
    let program = compile("cancel_blocked", &["-fexceptions"]);
    replays_as_recorded(&traces, &program, traces.record(&program, &[]));
    let dump = traces
        .command()
        .arg("dump")
        .output()
        .expect("run rewind dump");
    let dump = text(&dump.stdout);
    let blocked: u64 = dump
        .lines()
        .rfind(|l| l.contains(" syscall-entry read("))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no blocked read: {dump}"));
    let goto = (blocked + 1).to_string();
    let server = ReplayServer::start(&traces, &["-g", &goto]);
    let out = server.gdb(&["thread apply all bt"]);
    assert!(out.contains("in rewind_stub_area ()"), "{out}");
    assert!(out.contains("read ("), "the site's function: {out}");
    assert!(
        out.contains(" in reader ("),
        "the thread's own frames: {out}"
    );
    assert!(out.contains("start_thread"), "{out}");
}

#[test]
fn a_static_program_keeps_its_syscalls_traced() {
    let scratch = TempDir::new("patched-static");
    let dir = scratch.path().to_str().expect("a UTF-8 path");
    let program = compile("patched_calls", &["-static"]);
    let (stdout, dump) = record_dumped("patched-static", &program, &[dir]);
    assert!(stdout.contains("lines 100 sum 4950"), "{stdout}");
    assert!(!dump.contains(" patch "), "{dump}");
    assert!(!dump.contains(" buffered-syscalls "), "{dump}");
    let getppid = dump
        .lines()
        .filter(|l| l.contains(" syscall getppid("))
        .count();
    assert!(getppid >= 2000, "{dump}");
}
