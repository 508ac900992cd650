//! Calls through the syscall buffer that block (ARCHITECTURE.md
//! "syscallbuf", "Blocking calls"): where rewind counts a thread's context
//! switches, reads and writes of pipes go through the buffer, and one that
//! blocks is given up and made the traced way while the other threads run.
//! Where the kernel refuses the count, they take the traced way from the
//! start.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};

use support::*;

/// Records `program ARGS` with the syscall buffer, checks that it replays
/// as recorded, and returns its output and the dump.
fn record_dumped(traces: &Traces, program: &std::path::Path, args: &[&str]) -> (Output, String) {
    let record = replays_as_recorded(traces, program, traces.record(program, args));
    (record, traces.dump())
}

/// `record_dumped` of blocking_calls in `mode`, in a trace tagged `tag`.
fn record_mode(tag: &str, mode: &str) -> (Output, String) {
    let program = compile("blocking_calls", &[]);
    let traces = Traces::with_syscall_buffer(tag);
    record_dumped(&traces, &program, &[mode])
}

fn desched_lines(dump: &str) -> Vec<&str> {
    dump.lines()
        .filter(|l| l.split(' ').nth(2) == Some("desched"))
        .collect()
}

/// The reader blocked in `call` in nearly every round (the writer waits
/// for its word), and nowhere else; the replay ran it to each of those
/// points before the writer went on, or the writer would have waited for
/// the word forever.
fn assert_reader_blocked_in(dump: &str, call: &str) {
    let blocked = desched_lines(dump);
    assert!(blocked.len() >= 100, "{dump}");
    let wanted = format!(" {call} blocked in the syscall buffer");
    assert!(blocked.iter().all(|l| l.contains(&wanted)), "{dump}");
}

/// Whether this machine lets a process that is not privileged count the
/// kernel's context switches of its own children.
fn unprivileged_counting_allowed() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .ok()
        .and_then(|v| v.trim().parse::<i32>().ok())
        .is_some_and(|level| level <= 1)
}

fn running_as_root() -> bool {
    text(
        &Command::new("id")
            .arg("-u")
            .output()
            .expect("run id")
            .stdout,
    )
    .trim()
        == "0"
}

#[test]
fn a_blocked_read_lets_the_writer_run_and_sees_what_came_before() {
    let (record, dump) = record_mode("blocking-threads", "threads");
    assert_eq!(
        text(&record.stdout),
        "read 200 bytes, sum 19900; the writer saw 19900\n"
    );
    if !blocking_allowed(&dump) {
        assert!(
            text(&record.stderr).contains("rewind: notice: the kernel refused a count"),
            "{}",
            text(&record.stderr)
        );
        return;
    }
    assert_reader_blocked_in(&dump, "read");
    // The writer's writes into the pipe, which had room, did not stop
    // (all but the first, at whose exit the site was patched).
    let buffered_writes = dump
        .lines()
        .filter(|l| l.starts_with("    write(0x4, ") && l.ends_with(" = 1"))
        .count();
    assert_eq!(buffered_writes, 199, "{dump}");
}

#[test]
fn a_blocked_poll_is_given_up_and_its_array_replays() {
    let (record, dump) = record_mode("blocking-polls", "polls");
    assert_eq!(
        text(&record.stdout),
        "200 polls ready, read 200 bytes, sum 19900; the writer saw 19900\n"
    );
    if !blocking_allowed(&dump) {
        return;
    }
    // The library copies each entry's fd and events into the record before
    // the call; a poll that blocked was given up, and in replay what it
    // copied lay over the next call's recorded output until rewind laid
    // that in again (the replay of the reads after it checks it).
    assert_reader_blocked_in(&dump, "poll");
}

#[test]
fn processes_ping_pong_through_pipes_each_hearing_its_own_blocks() {
    let program = compile("blocking_calls", &[]);
    let traces = Traces::with_syscall_buffer("blocking-processes");
    let (record, dump) = record_dumped(&traces, &program, &["processes"]);
    assert_eq!(
        text(&record.stdout),
        "200 round trips, sum 20100, child status 0\n"
    );
    if blocking_allowed(&dump) {
        // The forked child's blocks are heard too: its reads of the pipe
        // are desched events of its own.
        let threads: std::collections::BTreeSet<&str> = desched_lines(&dump)
            .iter()
            .filter_map(|l| l.split(' ').nth(1))
            .collect();
        assert_eq!(threads.len(), 2, "{dump}");
    }
}

/// The recording's `rewind: stats: record` line (REWIND_LOG=stats): how
/// many counters of every switch, and of switches into a sleep, it opened.
fn switch_counters(record: &Output) -> (u32, u32) {
    let stderr = text(&record.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("rewind: stats: record switch_counters="))
        .unwrap_or_else(|| panic!("no counter statistics: {stderr}"));
    let count = |name: &str| -> u32 {
        line.split(' ')
            .find_map(|field| field.strip_prefix(name))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line}"))
    };
    (count("switch_counters="), count("sleep_counters="))
}

#[test]
fn threads_move_to_the_sleep_tracepoint_midway_and_their_blocks_are_still_heard() {
    // 2,500 round trips: each process's read blocks in every one, and
    // after 2,000 notices of the software event each thread's counter
    // becomes the sched_switch tracepoint, at its next resume.
    let program = compile("blocking_calls", &[]);
    let traces = Traces::with_syscall_buffer("blocking-tracepoint");
    let record = traces
        .command()
        .env("REWIND_LOG", "stats")
        .arg("record")
        .arg(&program)
        .args(["processes", "2500"])
        .stdin(Stdio::null())
        .output()
        .expect("run rewind record");
    let record = replays_as_recorded(&traces, &program, record);
    assert_eq!(
        text(&record.stdout),
        "2500 round trips, sum 313066, child status 0\n"
    );
    let dump = traces.dump();
    if !blocking_allowed(&dump) {
        return;
    }
    let (every_switch, sleeps) = switch_counters(&record);
    assert_eq!(every_switch, 2, "{}", text(&record.stderr));
    let tracepoint_named =
        std::fs::read_to_string("/sys/kernel/tracing/events/sched/sched_switch/id").is_ok();
    assert_eq!(sleeps, if tracepoint_named { 2 } else { 0 });
    // Both blocked in every round but the last, before the move and
    // after it.
    let mut blocks = std::collections::BTreeMap::<&str, usize>::new();
    for line in desched_lines(&dump) {
        if let Some(thread) = line.split(' ').nth(1) {
            *blocks.entry(thread).or_default() += 1;
        }
    }
    assert_eq!(blocks.len(), 2, "{blocks:?}");
    assert!(blocks.values().all(|&n| n >= 2490), "{blocks:?}");
}

#[test]
fn a_signal_cuts_a_blocked_buffered_read_short_as_natively() {
    let program = compile("blocking_calls", &[]);
    let native = Command::new(&program)
        .arg("signals")
        .output()
        .expect("run the program");
    let expected = "without SA_RESTART: -1 (Interrupted system call), 1 alarm\n\
                    with SA_RESTART: 1 'z', 2 alarms\n";
    assert_eq!(text(&native.stdout), expected);
    let traces = Traces::with_syscall_buffer("blocking-signals");
    let (record, dump) = record_dumped(&traces, &program, &["signals"]);
    assert_eq!(text(&record.stdout), expected);
    if blocking_allowed(&dump) {
        // The first blocked read was in the buffer when the alarm came.
        assert!(!desched_lines(&dump).is_empty(), "{dump}");
        assert!(dump.contains(" signal SIGALRM handler="), "{dump}");
    }
}

#[test]
fn a_user_without_perf_events_records_blocking_calls_the_traced_way() {
    // perf_event_paranoid 2 (the default of many distributions) refuses a
    // count of kernel events to anyone without CAP_PERFMON: rewind says so
    // once and records pipes with ptrace stops.
    let program = compile("blocking_calls", &[]);
    let traces = Traces::with_syscall_buffer("blocking-unprivileged");
    let open_to_all = std::fs::Permissions::from_mode(0o777);
    std::fs::set_permissions(traces.root.path(), open_to_all).expect("open the trace root");
    let mut command = if running_as_root() {
        let mut as_nobody = Command::new("setpriv");
        as_nobody.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            rewind_bin(),
        ]);
        as_nobody
    } else {
        Command::new(rewind_bin())
    };
    let record = command
        .env("REWIND_TRACE_DIR", traces.root.path())
        .env_remove(NO_SYSCALL_BUFFER)
        .arg("record")
        .arg(&program)
        .arg("threads")
        .stdin(Stdio::null())
        .output()
        .expect("run rewind record as another user");
    let record = replays_as_recorded(&traces, &program, record);
    assert_eq!(
        text(&record.stdout),
        "read 200 bytes, sum 19900; the writer saw 19900\n"
    );
    let notices = text(&record.stderr)
        .lines()
        .filter(|l| l.starts_with("rewind: notice: the kernel refused a count of context switches"))
        .count();
    let dump = traces.dump();
    if unprivileged_counting_allowed() {
        assert_eq!(notices, 0, "{}", text(&record.stderr));
        return;
    }
    assert_eq!(notices, 1, "once: {}", text(&record.stderr));
    assert!(!blocking_allowed(&dump), "{dump}");
    assert!(desched_lines(&dump).is_empty(), "{dump}");
    // The reads of the pipe stopped, each after its fstat in the buffer.
    let traced_reads = dump
        .lines()
        .filter(|l| l.contains(" syscall read(0x3, ") && l.contains(" = 1 wrote 1@"))
        .count();
    assert!(traced_reads >= 190, "{dump}");
}
