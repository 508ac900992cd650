//! Debugging replays with real gdb: `rewind replay -s 0` serves the replay
//! and gdb, in batch mode, connects and runs commands; the tests read what
//! gdb printed.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::gdb::*;
use support::{children_of, compile, text, Traces};

#[test]
fn breakpoint_step_finish_and_recorded_random_value() {
    let served = serve_recording("gdb-basic", "gdb_target", &[]);
    let server = &served.server;
    let recorded = &served.recorded;
    let secret = field(recorded, "secret");
    let line = source_line("gdb_target", "line: after_secret");
    let out = server.gdb(&[
        &format!("break gdb_target.c:{line}"),
        "continue",
        "print secret",
        "step",
        "bt 1",
        "finish",
        "next",
        "print squared",
    ]);
    assert!(out.contains(&format!("$1 = {secret}")), "secret: {out}");
    assert!(out.contains("square (x=7)"), "step into square: {out}");
    assert!(out.contains("Value returned is $2 = 49"), "finish: {out}");
    assert!(out.contains("$3 = 49"), "next: {out}");
}

#[test]
fn function_breakpoint_and_libc_backtrace() {
    let served = serve_recording("gdb-bt", "gdb_target", &[]);
    let server = &served.server;
    let out = server.gdb(&[
        "break bump",
        "continue",
        "print by",
        "delete 1",
        "break compare",
        "continue",
        "bt",
        "info sharedlibrary",
    ]);
    assert!(out.contains("Breakpoint 1, bump (by=3)"), "bump: {out}");
    assert!(out.contains("$1 = 3"), "argument: {out}");
    assert!(out.contains("compare ("), "compare: {out}");
    assert!(out.contains("qsort"), "libc frames: {out}");
    assert!(out.contains("libc.so.6"), "libraries: {out}");
    assert!(
        out.contains("in main ()") || out.contains("main () at"),
        "main: {out}"
    );
}

#[test]
fn watchpoints_on_global_and_heap_variables() {
    let served = serve_recording("gdb-watch", "gdb_target", &[]);
    let server = &served.server;
    let out = server.gdb(&[
        "break bump",
        "continue",
        "delete",
        "watch counter",
        "watch *heap_total",
        "continue",
        "continue",
        "continue",
    ]);
    assert!(out.contains("Hardware watchpoint 2: counter"), "{out}");
    assert!(
        out.contains("Old value = 0") && out.contains("New value = 3"),
        "global: {out}"
    );
    assert!(out.contains("New value = 30"), "heap: {out}");
    assert!(out.contains("New value = 7"), "second write: {out}");
}

#[test]
fn continuing_to_the_end_reports_the_exit_status() {
    let served = serve_recording("gdb-exit", "gdb_target", &[]);
    let server = &served.server;
    let out = server.gdb(&["monitor when", "continue", "bt 1", "continue"]);
    assert!(out.contains("Current event:"), "monitor: {out}");
    // As rr shows it: the last thread stopped at its exit, stack and all.
    assert!(
        out.contains("Program received signal SIGKILL"),
        "end: {out}"
    );
    assert!(out.contains("#0  "), "the stack at the exit: {out}");
    assert!(out.contains("exited with code 05"), "exit: {out}");
}

#[test]
fn info_threads_lists_the_recorded_thread_ids() {
    require_gdb();
    let traces = Traces::new("gdb-threads");
    let (recorded, _) = record_program(&traces, "gdb_threads");
    let tids: Vec<&str> = recorded
        .lines()
        .filter_map(|l| l.strip_prefix("thread "))
        .collect();
    assert_eq!(tids.len(), 4, "{recorded}");
    let server = ReplayServer::start(&traces, &[]);
    let pid = tids[0];
    let out = server.gdb(&["break checkpoint", "continue", "info threads"]);
    for tid in &tids {
        let listed = format!("Thread {pid}.{tid} ");
        assert_eq!(out.matches(&listed).count(), 1, "{listed} missing: {out}");
    }
    let listing = out.split("Target Id").nth(1).unwrap_or_default();
    assert_eq!(
        listing.matches(&format!("Thread {pid}.")).count(),
        4,
        "{out}"
    );
    assert_eq!(listing.matches("\"worker\"").count(), 3, "names: {out}");
    assert_eq!(
        listing.matches("\"coordinator\"").count(),
        1,
        "names: {out}"
    );
}

#[test]
fn a_second_connection_finds_the_replay_where_the_first_left_it() {
    let served = serve_recording("gdb-reconnect", "gdb_target", &[]);
    let server = &served.server;
    let first = server.gdb(&[
        "break bump",
        "continue",
        "continue",
        "print counter",
        "detach",
    ]);
    assert!(first.contains("$1 = 3"), "first session: {first}");
    let second = server.gdb(&["print counter", "bt 1"]);
    assert!(second.contains("$1 = 3"), "second session: {second}");
    assert!(second.contains("bump (by=4)"), "second session: {second}");
}

#[test]
fn stepping_commands_and_breakpoint_kinds() {
    let served = serve_recording("gdb-stepping", "gdb_target", &[]);
    let server = &served.server;
    let bump_twice = source_line("gdb_target", "bump(4);");
    let sorted = source_line("gdb_target", "qsort(values");
    let out = server.gdb(&[
        "tbreak square",
        "hbreak bump",
        "continue",
        "print/x $pc",
        "stepi",
        "print/x $pc",
        "nexti",
        "print/x $pc",
        "info breakpoints",
        "continue",
        "disable 2",
        &format!("advance {bump_twice}"),
        "next",
        &format!("until {sorted}"),
        "print counter",
    ]);
    assert!(
        out.contains("Temporary breakpoint 1, square (x=7)"),
        "tbreak: {out}"
    );
    let pcs: Vec<&str> = ["$1 = ", "$2 = ", "$3 = "]
        .iter()
        .map(|p| {
            out.split(p)
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .unwrap_or_else(|| panic!("no {p} in {out}"))
        })
        .collect();
    assert!(
        pcs[0] != pcs[1] && pcs[1] != pcs[2],
        "stepi/nexti moved: {pcs:?}"
    );
    assert!(out.contains("hw breakpoint"), "info breakpoints: {out}");
    assert!(
        out.contains("Hardware assisted breakpoint 2"),
        "hbreak: {out}"
    );
    assert!(
        out.contains("Breakpoint 2, bump (by=3)"),
        "hbreak hit: {out}"
    );
    assert!(
        out.contains("main () at ") && out.contains(&format!(":{bump_twice}")),
        "advance: {out}"
    );
    assert!(out.contains("$4 = 7"), "until: {out}");
}

#[test]
fn registers_include_sse_and_avx() {
    let served = serve_recording("gdb-registers", "gdb_target", &[]);
    let server = &served.server;
    let out = server.gdb(&[
        "break square",
        "continue",
        "info registers rip",
        "print $rdi",
        "print $xmm0.v4_int32",
        "print $mxcsr",
        "print/x $fs_base",
        "info registers eflags",
        "print $rcx = 77",
        "print $rcx",
    ]);
    assert!(out.contains("$6 = 77"), "register write: {out}");
    assert!(out.contains("eflags         0x"), "eflags: {out}");
    assert!(out.contains("<square+"), "rip: {out}");
    assert!(out.contains("$1 = 7"), "rdi holds the argument: {out}");
    assert!(out.contains("$2 = {"), "xmm0: {out}");
    assert!(out.contains("[ IM DM ZM OM UM PM ]"), "mxcsr: {out}");
    assert!(out.contains("$4 = 0x7ffff7"), "fs_base: {out}");
    let avx = std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|c| c.contains(" avx "));
    if avx {
        let ymm = server.gdb(&["print $ymm0.v8_int32"]);
        assert!(ymm.contains("$1 = {"), "ymm0: {ymm}");
    } else {
        eprintln!("no AVX on this CPU: ymm registers not checked");
    }
}

#[test]
fn read_and_access_watchpoints() {
    let served = serve_recording("gdb-rwatch", "gdb_target", &[]);
    let server = &served.server;
    let out = server.gdb(&[
        "break bump",
        "continue",
        "delete",
        "awatch counter",
        "continue",
        "continue",
        "delete",
        "rwatch counter",
        "continue",
    ]);
    assert!(out.contains("atchpoint 2: counter"), "awatch: {out}");
    assert!(out.contains("Value = 0"), "awatch read: {out}");
    assert!(
        out.contains("Old value = 0") && out.contains("New value = 3"),
        "awatch write: {out}"
    );
    assert!(out.contains("read watchpoint 3: counter"), "rwatch: {out}");
    let rwatch = out
        .rsplit("read watchpoint 3: counter")
        .next()
        .unwrap_or_default();
    assert!(rwatch.contains("Value = 3"), "rwatch hit: {out}");
}

#[test]
fn changed_memory_is_dropped_when_the_replay_goes_on() {
    let served = serve_recording("gdb-setvar", "gdb_target", &[]);
    let server = &served.server;
    let out = server.gdb(&[
        "break bump",
        "continue",
        "set var counter = 100",
        "print counter",
        "next",
        "print counter",
        "delete",
        "continue",
        "continue",
    ]);
    assert!(out.contains("$1 = 100"), "write: {out}");
    // The replay follows its recording: bump(3) made counter 3, not 103.
    assert!(out.contains("without the changes gdb made"), "{out}");
    assert!(out.contains("$2 = 3"), "{out}");
    assert!(out.contains("exited with code 05"), "{out}");
}

#[test]
fn goto_event_and_monitor_commands() {
    let served = serve_recording("gdb-goto", "gdb_target", &["-g", "20"]);
    let server = &served.server;
    let out = server.gdb(&[
        "monitor when",
        "monitor help",
        "monitor bogus",
        "print/x $pc",
        "stepi",
        "print/x $pc",
    ]);
    let pc = |p: &str| {
        out.split(p)
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .map(str::to_owned)
    };
    assert!(
        pc("$1 = ").is_some() && pc("$1 = ") != pc("$2 = "),
        "stepi at an event: {out}"
    );
    assert!(out.contains("Current event: 20"), "goto: {out}");
    assert!(out.contains("when"), "help: {out}");
    assert!(out.contains("unknown monitor command"), "bogus: {out}");
}

#[test]
fn thread_switching_and_per_thread_registers() {
    require_gdb();
    let traces = Traces::new("gdb-thread-switch");
    let (recorded, _) = record_program(&traces, "gdb_threads");
    let ids: Vec<&str> = recorded
        .lines()
        .filter_map(|l| l.strip_prefix("thread "))
        .collect();
    let (pid, worker_tid) = (ids[0], ids[1]);
    let server = ReplayServer::start(&traces, &[]);
    let out = server.gdb(&[
        "break worker",
        "continue",
        "print $_gthread",
        "next",
        "thread 1",
        "print $_gthread",
        "bt 1",
        "thread 2",
        "info registers rip",
    ]);
    assert!(out.contains("Breakpoint 1, worker"), "worker: {out}");
    assert!(
        out.contains(&format!("[Switching to Thread {pid}.{worker_tid}]")),
        "the stop names the worker {worker_tid}: {out}"
    );
    assert!(out.contains("$1 = 2"), "the worker is thread 2: {out}");
    assert!(out.contains("$2 = 1"), "thread 1 selected: {out}");
    let after_switch = out
        .split("[Switching to thread 2")
        .nth(1)
        .unwrap_or_default();
    assert!(
        after_switch.contains("<worker+"),
        "thread 2 registers: {out}"
    );
}

#[test]
fn replay_runs_gdb_and_ends_with_it() {
    require_gdb();
    let traces = Traces::new("gdb-launch");
    record_program(&traces, "gdb_target");
    let out = replay_with_gdb(&traces, &["break square", "continue", "print x"]);
    assert!(out.contains("$1 = 7"), "{out}");

    let missing = traces
        .command()
        .args(["replay", "--debugger", "/nonexistent/gdb"])
        .output()
        .expect("run rewind replay");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("--debugger"),
        "{}",
        text(&missing.stderr)
    );
}

/// The pid `rewind ps` lists for the process whose program (the command
/// line's first word) ends with `program`.
fn pid_in_ps(traces: &Traces, program: &str) -> String {
    let ps = traces.command().arg("ps").output().expect("rewind ps");
    let listing = text(&ps.stdout);
    listing
        .lines()
        .find(|l| {
            l.split_whitespace()
                .nth(3)
                .is_some_and(|c| c.ends_with(program))
        })
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no process {program} in {listing}"))
        .to_owned()
}

#[test]
fn debugging_a_chosen_process_of_the_tree() {
    require_gdb();
    let traces = Traces::new("gdb-pid");
    let exe = compile("gdb_target", &["-O0"]);
    let script = format!("{}; true", exe.display());
    let record = traces.record(Path::new("/bin/sh"), &["-c", &script]);
    assert!(text(&record.stderr).contains("trace saved"));
    let pid = pid_in_ps(&traces, "/gdb_target-O0");
    let server = ReplayServer::start(&traces, &["-p", &pid]);
    let out = server.gdb(&[
        "break square",
        "continue",
        "info inferiors",
        "continue",
        "continue",
    ]);
    assert!(out.contains("Breakpoint 1, square (x=7)"), "{out}");
    assert!(out.contains(&format!("process {pid}")), "{out}");
    assert!(out.contains("exited with code 05"), "{out}");

    // A forked child that never runs a program of its own.
    let forks = Traces::new("gdb-fork-child");
    let record = forks.record(&compile("fork_wait", &[]), &[]);
    assert!(text(&record.stderr).contains("trace saved"));
    let listing = text(&forks.command().arg("ps").output().expect("ps").stdout);
    let child = listing
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some("3"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no child exiting with 3 in {listing}"))
        .to_owned();
    let server = ReplayServer::start(&forks, &["-p", &child]);
    let out = server.gdb(&["info inferiors", "continue", "continue"]);
    assert!(out.contains("exited with code 03"), "{out}");

    let missing = forks
        .command()
        .args(["replay", "-s", "0", "-p", "999999"])
        .output()
        .expect("replay");
    assert_ne!(missing.status.code(), Some(0));
    assert!(
        text(&missing.stderr).contains("rewind ps"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn continuing_past_the_end_of_a_cut_recording_stops_with_a_message() {
    require_gdb();
    let traces = Traces::new("gdb-cut");
    let record = traces.record(&compile("many_syscalls", &[]), &["20000"]);
    assert!(record.status.success(), "{}", text(&record.stderr));
    let dir = traces.latest();
    std::fs::remove_file(dir.join("trailer")).expect("remove trailer");
    let events = dir.join("events");
    let len = std::fs::metadata(&events).expect("events").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&events)
        .and_then(|f| f.set_len(len * 3 / 4))
        .expect("truncate");
    let server = ReplayServer::start(&traces, &[]);
    let out = server.gdb(&["continue", "continue", "stepi"]);
    assert_eq!(
        out.matches("No more reverse-execution history").count(),
        3,
        "{out}"
    );
    assert!(out.contains("end of the recording"), "{out}");
}

#[test]
fn ctrl_c_interrupts_a_running_replay() {
    let served = serve_recording("gdb-interrupt", "compute_loop", &[]);
    let out = interrupt_while_running(&served.server, &["print $_siginfo.si_signo"]);
    assert!(out.contains("SIGINT"), "{out}");
    assert!(out.contains("exited normally"), "{out}");
    assert!(!served.recorded.is_empty());
}

/// A thread spinning towards a preemption point runs inside the replay's
/// trampoline, a copy of its loop: Ctrl-C must still show gdb the
/// program's own code, and the replay must go on from there.
#[test]
fn ctrl_c_in_a_spinning_thread_stops_in_the_program() {
    require_gdb();
    let traces = Traces::new("gdb-spin-interrupt");
    let record = traces.record(&compile("spin_flag", &[]), &["1500"]);
    assert!(text(&record.stderr).contains("trace saved"));
    let server = ReplayServer::start(&traces, &[]);
    let out = interrupt_while_running(&server, &["info symbol $pc", "thread"]);
    assert!(out.contains("SIGINT"), "{out}");
    assert!(out.contains("spinner + "), "{out}");
    assert!(out.contains("exited normally"), "{out}");
}

/// Runs gdb on `server` with `continue`, sends it Ctrl-C once the replayed
/// program computes, then runs `commands` and `continue`; returns gdb's
/// output.
fn interrupt_while_running(server: &ReplayServer, commands: &[&str]) -> String {
    let mut gdb = Command::new("gdb");
    gdb.args(["-batch", "-nx", "-ex"])
        .arg(format!("target extended-remote {}", server.address))
        .args(["-ex", "continue"]);
    for command in commands {
        gdb.arg("-ex").arg(command);
    }
    // To the SIGKILL stop at the end, then to the exit.
    gdb.args(["-ex", "continue", "-ex", "continue"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = gdb.spawn().expect("run gdb");
    // Wait until the replayed program computes (gdb has continued it).
    let started = Instant::now();
    while !replayed_program_running(server.child.id()) {
        assert!(
            started.elapsed() < GDB_TIMEOUT,
            "the replay never started running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    // Ctrl-C as a terminal would send it, to the gdb this test started.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let output = child.wait_with_output().expect("gdb output");
    format!("{}{}", text(&output.stdout), text(&output.stderr))
}

/// Whether a thread of the process the replay server traces is running
/// (state R).
fn replayed_program_running(server: u32) -> bool {
    children_of(server).iter().any(|pid| {
        let Ok(threads) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return false;
        };
        threads.flatten().any(|thread| {
            std::fs::read_to_string(thread.path().join("stat"))
                .ok()
                .and_then(|stat| {
                    let after = stat.rfind(')')?;
                    stat[after + 1..]
                        .split_whitespace()
                        .next()
                        .map(|s| s == "R")
                })
                .unwrap_or(false)
        })
    })
}

#[test]
fn threads_spinning_between_preemptions_replay_under_gdb() {
    require_gdb();
    let traces = Traces::new("gdb-spin");
    let exe = compile("spin_flag", &[]);
    let record = traces.record(&exe, &["20"]);
    assert!(text(&record.stderr).contains("trace saved"));
    let server = ReplayServer::start(&traces, &[]);
    let out = server.gdb(&["continue", "continue"]);
    assert!(out.contains("exited normally"), "{out}");
}

#[test]
fn breakpoints_in_code_a_vfork_child_runs() {
    let served = serve_recording("gdb-vfork", "vfork_exec", &[]);
    let server = &served.server;
    let out = server.gdb(&[
        "break execve",
        "break show",
        "continue",
        "continue",
        "continue",
        "continue",
        "continue",
    ]);
    assert_eq!(out.matches("Breakpoint 2, show").count(), 3, "{out}");
    assert!(out.contains("exited normally"), "{out}");
}

#[test]
fn a_signal_handler_runs_at_the_recorded_iteration_under_gdb() {
    let served = serve_recording("gdb-signal", "sigalrm_count", &[]);
    let first = served
        .recorded
        .lines()
        .find_map(|l| l.strip_prefix("tick 0 at iteration "))
        .expect("the recorded first tick")
        .to_owned();
    let out = served
        .server
        .gdb(&["break on_alarm", "continue", "print counter", "continue"]);
    assert!(out.contains("Breakpoint 1, on_alarm"), "{out}");
    assert!(
        out.contains(&format!("$1 = {first}")),
        "counter {first}: {out}"
    );
}

#[test]
fn gdb_follows_an_exec_of_the_debugged_process() {
    let (server, _traces) = serve_exec_recording("gdb-exec", &[]);
    let out = server.gdb(&[
        "set breakpoint pending on",
        "break square",
        "continue",
        "continue",
        "continue",
    ]);
    assert!(out.contains("is executing new program"), "{out}");
    assert!(out.contains("Breakpoint 1, square (x=7)"), "{out}");
    assert!(out.contains("exited with code 05"), "{out}");
}

#[test]
fn a_watchpoint_sees_what_a_syscall_wrote() {
    let served = serve_recording("gdb-kernel-write", "gdb_target", &[]);
    let out = served.server.gdb(&[
        "break main",
        "continue",
        "watch secret",
        "continue",
        "continue",
        "bt 1",
    ]);
    // The first change of `secret` is getrandom's, stopped in getrandom.
    let first = out
        .split("Old value = 0")
        .nth(1)
        .unwrap_or_else(|| panic!("no watchpoint stop: {out}"));
    let stop_line = first.lines().nth(2).unwrap_or_default();
    assert!(
        stop_line.contains("getrandom"),
        "stopped in getrandom: {out}"
    );
}
