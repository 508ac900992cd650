//! Running backwards in gdb: reverse-continue to breakpoints and
//! watchpoints, reverse stepping, going back across syscalls, signals and
//! threads, the ends of the recording, and `run` starting over.

mod support;

use support::gdb::*;

/// Each scenario runs twice: replays started again from the trace's start
/// (these recordings are shorter than the default interval between copies),
/// and from copies of the replay taken at every event boundary.
macro_rules! both_ways {
    ($($name:ident),* $(,)?) => {
        mod from_the_start {
            $(#[test]
            fn $name() {
                super::$name(&[])
            })*
        }
        mod from_copies {
            $(#[test]
            fn $name() {
                super::$name(&["--copy-interval", "0"])
            })*
        }
    };
}

both_ways!(
    reverse_continue_finds_the_last_write_to_a_watched_global,
    reverse_continue_to_breakpoints_of_each_kind,
    access_and_location_watchpoints_going_back,
    memory_a_read_wrote_has_its_old_contents_before_the_call,
    reverse_stepping_in_the_program_and_in_libc,
    the_start_of_the_recording_ends_reverse_execution,
    going_back_from_the_end_and_forward_to_the_exit_again,
    run_starts_the_replay_again,
    monitor_goto_goes_to_an_event_either_way,
    a_move_gdb_did_not_ask_for_drops_the_signal_it_resumes_with,
    a_breakpoint_another_thread_hit_earlier_stops_in_that_thread,
    shared_memory_going_back_holds_its_old_contents,
    going_back_across_signals_and_a_crash,
    going_back_stops_at_an_exec_of_the_debugged_process,
    functions_called_from_gdb_run_in_a_copy_and_the_replay_goes_on,
    reverse_stepi_from_a_function_entry_lands_on_its_call,
    stepping_back_out_of_a_long_computation,
    stepping_back_from_a_crash_at_the_end_of_a_long_loop,
    stepping_back_out_of_a_long_computation_in_a_thread,
    stepping_back_out_of_a_loop_of_short_instructions,
    step_backs_in_a_long_computation_begin_from_copies_inside_it,
    reverse_continue_to_a_breakpoint_hit_millions_of_times,
    a_scan_counting_hits_gives_way_to_the_name_it_follows,
    memory_a_fork_leaves_out_means_no_copies,
    conditions_and_ignore_counts_going_back,
    conditions_are_evaluated_in_the_replay,
);

/// gdb showed one instruction, compute's `ret`, and `print sink` then
/// gave the sum of 0 .. 2,999,999 as `$1`.
fn assert_back_at_the_ret_of_compute(out: &str) {
    let shown = instructions_shown(out);
    assert_eq!(shown.len(), 1, "{out}");
    assert!(
        shown[0].contains("<compute+") && shown[0].contains("ret"),
        "{out}"
    );
    assert!(out.contains("$1 = 4499998500000"), "{out}");
}

/// rev_compute_long.c's sum of 0 .. 299,999,999.
const LONG_SUM: i64 = 300_000_000 * (300_000_000 - 1) / 2;

/// The lines of gdb's `x/i $pc` output, in order.
fn instructions_shown(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| l.trim_start().starts_with("=> "))
        .collect()
}

/// The source file as gdb names it.
fn program_source(name: &str) -> String {
    format!("{}/tests/programs/{name}.c", env!("CARGO_MANIFEST_DIR"))
}

/// The value of `counter` after `bump(0)` .. `bump(last)`.
fn counter_after(last: i32) -> i32 {
    (0..=last).fold(0i32, |c, i| c.wrapping_mul(3).wrapping_add(i))
}

fn reverse_continue_finds_the_last_write_to_a_watched_global(server_args: &[&str]) {
    let served = serve_recording("rev-watch", "reverse_target", server_args);
    let out = served.server.gdb(&[
        "break bump if i == 150",
        "continue",
        "delete 1",
        "watch counter",
        "reverse-continue",
        "print i",
        "reverse-continue",
        "print i",
        "continue",
        "print i",
    ]);
    let write = source_line("reverse_target", "/* the write */");
    // Going back, each stop is at the write, with the old value in memory.
    assert!(
        out.contains(&format!(
            "Old value = {}\nNew value = {}\nbump (i=149)",
            counter_after(149),
            counter_after(148)
        )),
        "{out}"
    );
    assert!(out.contains("$1 = 149"), "{out}");
    assert!(
        out.contains(&format!(
            "Old value = {}\nNew value = {}\nbump (i=148)",
            counter_after(148),
            counter_after(147)
        )),
        "{out}"
    );
    assert!(out.contains("$2 = 148"), "{out}");
    assert!(out.contains(&format!("reverse_target.c:{write}")), "{out}");
    // Forward again, the same write changes it back.
    assert!(
        out.contains(&format!(
            "Old value = {}\nNew value = {}",
            counter_after(147),
            counter_after(148)
        )),
        "{out}"
    );
    assert!(out.contains("$3 = 148"), "{out}");
}

fn reverse_continue_to_breakpoints_of_each_kind(server_args: &[&str]) {
    let served = serve_recording("rev-break", "reverse_target", server_args);
    let out = served.server.gdb(&[
        "break square",
        "continue",
        "continue",
        "continue",
        "print x",
        "reverse-continue",
        "print x",
        "delete",
        "hbreak bump",
        "reverse-continue",
        "print i",
        "delete",
        "break bump if i == 190",
        "reverse-continue",
        "print i",
        "delete",
        "break bump",
        "ignore 4 2",
        "reverse-continue",
        "print i",
    ]);
    assert!(out.contains("$1 = 2"), "{out}");
    assert!(out.contains("$2 = 1"), "{out}");
    // The last call before the loop of squares.
    assert!(out.contains("$3 = 199"), "{out}");
    assert!(out.contains("$4 = 190"), "{out}");
    // Two hits ignored going back: 189, 188; then 187.
    assert!(out.contains("$5 = 187"), "{out}");
}

fn access_and_location_watchpoints_going_back(server_args: &[&str]) {
    let served = serve_recording("rev-awatch", "reverse_target", server_args);
    let out = served.server.gdb(&[
        "break square",
        "continue",
        "watch -l history[10]",
        "reverse-continue",
        "print i",
        "delete",
        "rwatch counter",
        "reverse-continue",
        "print i",
    ]);
    // history[10] was last written by bump(138) (138 % 64 == 10).
    assert!(
        out.contains(&format!("New value = {}", counter_after(74))),
        "{out}"
    );
    assert!(out.contains("$1 = 138"), "{out}");
    // The last read of counter before that: bump(138)'s second line.
    assert!(
        out.contains(&format!("Value = {}", counter_after(138))),
        "{out}"
    );
    assert!(out.contains("$2 = 138"), "{out}");
}

fn memory_a_read_wrote_has_its_old_contents_before_the_call(server_args: &[&str]) {
    let served = serve_recording("rev-read", "reverse_target", server_args);
    let after = source_line("reverse_target", "/* after the read */");
    let out = served.server.gdb(&[
        &format!("break reverse_target.c:{after}"),
        "continue",
        "print buf",
        "watch buf[0]",
        "reverse-continue",
        "bt 2",
        "up",
        "print buf",
        "continue",
        "up",
        "print buf",
    ]);
    assert!(out.contains("$1 = \"fresh data"), "{out}");
    assert!(out.contains("$2 = 'o' <repeats 31 times>"), "{out}");
    assert!(out.contains("#0  0x") && out.contains("read ("), "{out}");
    assert!(out.contains("$3 = \"fresh data"), "{out}");
}

fn reverse_stepping_in_the_program_and_in_libc(server_args: &[&str]) {
    let served = serve_recording("rev-step", "reverse_target", server_args);
    let calls = source_line("reverse_target", "/* the calls */");
    let pipe = source_line("reverse_target", "if (pipe(p)");
    let looping = source_line("reverse_target", "for (int i = 0; i < 5; i++)");
    let out = served.server.gdb(&[
        "break square if x == 3",
        "continue",
        "next",
        "info registers rip",
        "reverse-stepi",
        "reverse-stepi",
        "stepi",
        "stepi",
        "info registers rip",
        "delete",
        "reverse-finish",
        "print i",
        "reverse-next",
        "reverse-step",
        "bt 1",
        "break write",
        "reverse-continue",
        "reverse-finish",
        "monitor when",
        "next",
    ]);
    // `next`, then two instructions back and forward again: the same pc.
    let rips: Vec<&str> = out.lines().filter(|l| l.starts_with("rip ")).collect();
    assert_eq!(rips.len(), 2, "{out}");
    assert_eq!(rips[0], rips[1], "{out}");
    // reverse-finish: back to the call in main.
    assert!(
        out.contains(&format!(
            "in main () at {}:{calls}",
            program_source("reverse_target")
        )),
        "{out}"
    );
    assert!(out.contains("$1 = 3"), "{out}");
    // reverse-next to the call's line, reverse-step to the loop's.
    assert!(
        out.contains(&format!(
            "#0  main () at {}:{looping}",
            program_source("reverse_target")
        )),
        "{out}"
    );
    // Into libc and back out to the caller.
    assert!(out.contains("Breakpoint 2, "), "{out}");
    assert!(out.contains("write (fd=4"), "{out}");
    assert!(
        out.contains(&format!(
            "in main () at {}:{pipe}",
            program_source("reverse_target")
        )),
        "{out}"
    );
    assert!(out.contains("Current event: "), "{out}");
}

fn the_start_of_the_recording_ends_reverse_execution(server_args: &[&str]) {
    let served = serve_recording("rev-start", "reverse_target", server_args);
    let out = served.server.gdb(&[
        "reverse-stepi",
        "break square",
        "continue",
        "reverse-continue",
        "info registers rip",
        "continue",
        "print x",
    ]);
    assert_eq!(
        out.matches("No more reverse-execution history.").count(),
        2,
        "{out}"
    );
    assert!(out.contains("Breakpoint 1, square (x=0)"), "{out}");
    assert!(out.contains("$1 = 0"), "{out}");
}

fn going_back_from_the_end_and_forward_to_the_exit_again(server_args: &[&str]) {
    let served = serve_recording("rev-end", "reverse_target", server_args);
    let out = served.server.gdb(&[
        "continue",
        "break square",
        "reverse-continue",
        "print x",
        "continue",
        "continue",
    ]);
    assert!(out.contains("Program received signal SIGKILL"), "{out}");
    assert!(out.contains("$1 = 4"), "{out}");
    assert!(out.contains("exited normally"), "{out}");
}

fn run_starts_the_replay_again(server_args: &[&str]) {
    let served = serve_recording("rev-run", "reverse_target", server_args);
    let out = served.server.gdb(&[
        "break square",
        "continue",
        "continue",
        "run",
        "print x",
        "continue",
        "print x",
    ]);
    assert!(out.contains("$1 = 0"), "{out}");
    assert!(out.contains("$2 = 1"), "{out}");
}

fn monitor_goto_goes_to_an_event_either_way(server_args: &[&str]) {
    let served = serve_recording("rev-goto", "reverse_target", server_args);
    let out = served.server.gdb(&[
        "break square",
        "continue",
        "monitor when",
        "delete",
        "monitor goto 3",
        "monitor when",
        "maintenance flush register-cache",
        "continue",
        "continue",
    ]);
    let whens: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("Current event: "))
        .collect();
    assert_eq!(whens.len(), 2, "{out}");
    assert_eq!(whens[1], "Current event: 3", "{out}");
    assert!(out.contains("exited normally"), "{out}");
}

fn a_move_gdb_did_not_ask_for_drops_the_signal_it_resumes_with(server_args: &[&str]) {
    let served = serve_recording("rev-goto-kill", "reverse_target", server_args);
    // From the SIGKILL stop at the end, gdb's next continue gives SIGKILL
    // again: it learns of no new stop from `monitor goto`.
    let out = served.server.gdb(&[
        "continue",
        "monitor goto 3",
        "maintenance flush register-cache",
        "continue",
        "continue",
    ]);
    assert!(!out.contains("the recording has no"), "{out}");
    assert_eq!(out.matches("received signal SIGKILL").count(), 2, "{out}");
    assert!(out.contains("exited normally"), "{out}");
}

fn a_breakpoint_another_thread_hit_earlier_stops_in_that_thread(server_args: &[&str]) {
    let served = serve_recording("rev-threads", "gdb_threads", server_args);
    let out = served.server.gdb(&[
        "break checkpoint",
        "continue",
        "monitor copies",
        "break worker",
        "reverse-continue",
        "info threads",
        "print $_thread",
        "delete",
        "continue",
        "continue",
    ]);
    assert!(out.contains("hit Breakpoint 2, worker"), "{out}");
    assert!(
        !out.contains("$1 = 1\n"),
        "stopped in the main thread: {out}"
    );
    // Workers that named themselves before the stop keep their names,
    // in a replay from a copy too.
    assert!(out.contains("\"worker\""), "{out}");
    // Every thread of the replay started again exits, and main joins
    // them: the kernel clears each thread's id word as it did recording.
    assert!(out.contains("exited normally"), "{out}");
    if server_args.contains(&"--copy-interval") {
        // Copies are taken while all four threads live, some waiting in
        // the barrier's futex.
        assert!(
            out.contains(" copies of the replay, before events "),
            "{out}"
        );
    }
}

fn shared_memory_going_back_holds_its_old_contents(server_args: &[&str]) {
    let served = serve_recording("rev-shared", "rev_shared", server_args);
    let out = served.server.gdb(&[
        "break mark if round == 39",
        "continue",
        "monitor checkpoint",
        "delete",
        "break mark if round == 45",
        "continue",
        "print anon_counter[2]",
        "print file_counter[1]",
        "monitor copies",
        "monitor restart 1",
        "maintenance flush register-cache",
        "maintenance flush dcache",
        "print round",
        "print anon_counter[0]",
        "print anon_counter[2]",
        "print file_counter[1]",
    ]);
    assert!(out.contains("$1 = 40"), "{out}");
    assert!(out.contains("$2 = 40"), "{out}");
    // Back at round 39, the counters written in round 30 and again in
    // round 40 hold 30: the copy of the replay the move began from shares
    // no page with the replay that went on to round 45.
    assert!(out.contains("$3 = 39"), "{out}");
    assert!(out.contains("$4 = 1038"), "{out}");
    assert!(out.contains("$5 = 30"), "{out}");
    assert!(out.contains("$6 = 30"), "{out}");
    if server_args.contains(&"--copy-interval") {
        assert!(
            out.contains(" copies of the replay, before events "),
            "{out}"
        );
    }
}

/// Only with the usual copy interval: a copy at each of its 40,000 events
/// would take minutes.
#[test]
fn ctrl_c_gives_a_long_reverse_continue_up() {
    let served = serve_recording("rev-interrupt", "rev_long", &[]);
    // gdb's Python sends gdb the Ctrl-C a terminal would, a second into a
    // reverse-continue that takes a few seconds.
    let out = served.server.gdb(&[
        "continue",
        "break first",
        "python import threading, os, signal; threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()",
        "reverse-continue",
        "monitor when",
        "reverse-continue",
        "bt 1",
    ]);
    assert!(out.contains("Program received signal SIGINT"), "{out}");
    assert!(
        out.contains("rewind: reverse execution interrupted")
            || out.contains("rewind: the move was interrupted"),
        "{out}"
    );
    // Going on from where the interrupt left it finds the hit.
    assert!(out.contains("Breakpoint 1, first ()"), "{out}");
    assert!(out.contains("#0  first ()"), "{out}");
}

fn going_back_across_signals_and_a_crash(server_args: &[&str]) {
    let served = serve_recording("rev-signals", "gdb_crash", server_args);
    let out = served.server.gdb(&[
        "continue",
        "continue",
        "watch -l list[1].next",
        "reverse-continue",
        "bt",
        "delete",
        "break on_alarm",
        "reverse-continue",
        "print alarms",
        "reverse-continue",
        "print alarms",
        "reverse-continue",
        "print alarms",
    ]);
    let corrupt = source_line("gdb_crash", "// corrupt the pointer");
    assert!(
        out.contains("Hardware watchpoint 1: -location list[1].next"),
        "{out}"
    );
    assert!(out.contains(&format!("gdb_crash.c:{corrupt}")), "{out}");
    // Going back, the handled fault comes first, then the handler's runs.
    assert_eq!(
        out.matches("Program received signal SIGSEGV").count(),
        3,
        "{out}"
    );
    assert!(out.contains("$1 = 3"), "{out}");
    assert!(out.contains("Breakpoint 2, on_alarm"), "{out}");
    assert!(out.contains("$2 = 2"), "{out}");
    assert!(out.contains("$3 = 1"), "{out}");
}

fn going_back_stops_at_an_exec_of_the_debugged_process(server_args: &[&str]) {
    let (server, _traces) = serve_exec_recording("rev-exec", server_args);
    let out = server.gdb(&[
        "set breakpoint pending on",
        "break square",
        "continue",
        "continue",
        "reverse-continue",
        "reverse-continue",
        "info registers rip",
    ]);
    assert!(out.contains("Breakpoint 1, square (x=7)"), "{out}");
    assert!(out.contains("No more reverse-execution history."), "{out}");
    assert!(out.contains("rip "), "{out}");
}

fn functions_called_from_gdb_run_in_a_copy_and_the_replay_goes_on(server_args: &[&str]) {
    let served = serve_recording("rev-call", "reverse_target", server_args);
    let out = served.server.gdb(&[
        "break bump if i == 100",
        "continue",
        "print counter",
        "print square(12)",
        "call bump(1000)",
        "print counter",
        "print (int)getpid() > 0",
        "print (long)write(1, \"\", 0)",
        "next",
        "next",
        "print counter",
        "reverse-finish",
        "print i",
    ]);
    let before = counter_after(99);
    assert!(out.contains(&format!("$1 = {before}")), "{out}");
    assert!(out.contains("$2 = 144"), "{out}");
    // The call's own write, in the copy.
    let called = before.wrapping_mul(3).wrapping_add(1000);
    assert!(out.contains(&format!("$3 = {called}")), "{out}");
    // Syscalls run for real there.
    assert!(out.contains("$4 = 1"), "{out}");
    assert!(out.contains("$5 = 0"), "{out}");
    // Then the replay goes on as recorded.
    assert!(
        out.contains(&format!("$6 = {}", counter_after(100))),
        "{out}"
    );
    assert!(out.contains("$7 = 100"), "{out}");
}

#[test]
fn checkpoints_with_rr_spellings() {
    require_gdb();
    let traces = support::Traces::new("rev-checkpoints");
    record_program(&traces, "reverse_target");
    let out = replay_with_gdb(
        &traces,
        &[
            "break square",
            "continue",
            "continue",
            "checkpoint",
            "continue",
            "continue",
            "checkpoint",
            "info checkpoints",
            "restart 1",
            "print x",
            "restart 2",
            "print x",
            "delete checkpoint 1",
            "info checkpoints",
            "restart 1",
            "monitor checkpoints",
        ],
    );
    assert!(out.contains("Checkpoint 1 at event "), "{out}");
    assert!(out.contains("Checkpoint 2 at event "), "{out}");
    let listed = out.matches("Id   Event").count();
    assert_eq!(listed, 3, "{out}");
    assert!(out.contains("$1 = 1"), "{out}");
    assert!(out.contains("$2 = 3"), "{out}");
    assert!(out.contains("there is no checkpoint 1"), "{out}");
}

#[test]
fn monitor_copies_lists_the_copies_moves_back_start_from() {
    let served = serve_recording("rev-copies", "reverse_target", &["--copy-interval", "0"]);
    let out = served.server.gdb(&[
        "monitor copies",
        "break square",
        "continue",
        "monitor copies",
        "reverse-continue",
    ]);
    assert!(out.contains("No copies of the replay yet."), "{out}");
    let line = out
        .lines()
        .find(|l| l.contains(" copies of the replay, before events "))
        .unwrap_or_else(|| panic!("no copies listed: {out}"));
    let count: usize = line
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(count > 0, "{line}");
    let replayed_kib: u64 = line
        .split("the replayed processes ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(replayed_kib > 0, "{line}");
    // The first call to square is gdb's first stop going back: the
    // start of the history, as a reverse-continue from it finds.
    assert!(out.contains("No more reverse-execution history"), "{out}");
}

/// The first stop in a function goes back through its call site (found on
/// the stack) rather than single-stepping from the event before.
fn reverse_stepi_from_a_function_entry_lands_on_its_call(server_args: &[&str]) {
    let served = serve_recording("rev-entry", "reverse_target", server_args);
    let out = served.server.gdb(&[
        "break *square",
        "continue",
        "reverse-stepi",
        "x/i $pc",
        "stepi",
        "print $pc == (long)&square",
    ]);
    let call = out
        .lines()
        .find(|l| l.trim_start().starts_with("=> "))
        .unwrap_or_else(|| panic!("no instruction shown: {out}"));
    assert!(call.contains("call") && call.contains("<square>"), "{out}");
    assert!(out.contains("$1 = 1"), "{out}");
}

/// The instruction before the call of after() is compute's `ret`, some
/// 20 million instructions after the last syscall: single-stepping there
/// would take an hour. The step back counts the loop's passes instead and
/// steps only the last few instructions; reverse-next then goes back over
/// the whole call, and forward again reaches the same instants.
fn stepping_back_out_of_a_long_computation(server_args: &[&str]) {
    let served = serve_recording("rev-compute", "rev_compute", server_args);
    let out = served.server.gdb(&[
        "break *after",
        "continue",
        "reverse-stepi",
        "x/i $pc",
        "reverse-stepi",
        "x/i $pc",
        "print sink",
        "reverse-stepi",
        "x/i $pc",
        "print $rax",
        "stepi",
        "stepi",
        "x/i $pc",
        "reverse-next",
        "print sink",
        "next",
        "print sink",
        "monitor copies",
    ]);
    if server_args.contains(&"--copy-interval") {
        // The step back's count took copies inside the computation (a
        // chunk of arrivals each), which the moves after it began from.
        assert!(out.contains("inside events at event "), "{out}");
    }
    let shown = instructions_shown(&out);
    assert_eq!(shown.len(), 4, "{out}");
    assert!(
        shown[0].contains("call") && shown[0].contains("<after>"),
        "{out}"
    );
    assert!(
        shown[1].contains("<compute+") && shown[1].contains("ret"),
        "{out}"
    );
    // The instruction before it (the loop's last branch, or a frame's
    // pop where the compiler keeps frame pointers).
    assert!(
        shown[2].contains("<compute+") && shown[2] != shown[1],
        "{out}"
    );
    assert!(
        shown[3].contains("call") && shown[3].contains("<after>"),
        "{out}"
    );
    // The loop is done at its last instructions: sink holds the sum of
    // 0 .. 2,999,999 and i (in rax) is 3,000,000.
    assert!(out.contains("$1 = 4499998500000"), "{out}");
    assert!(out.contains("$2 = 3000000"), "{out}");
    // Back over the call to the line that makes it, before any pass.
    assert!(out.contains("compute(3000000);"), "{out}");
    assert!(out.contains("$3 = 0"), "{out}");
    assert!(out.contains("$4 = 4499998500000"), "{out}");
}

/// The loop's instructions are all shorter than the counter's jump.
fn stepping_back_out_of_a_loop_of_short_instructions(server_args: &[&str]) {
    let served = serve_recording("rev-compute-short", "rev_compute_short", server_args);
    // reverse-stepi until the thread stands in compute: its `ret`.
    let back_into_compute = "python import gdb; lo = int(gdb.parse_and_eval('(long)&compute')); \
         next((n for n in range(40) if gdb.execute('reverse-stepi') or \
         lo <= int(gdb.parse_and_eval('$pc')) < lo + 64), None)";
    let out = served.server.gdb(&[
        "break *after",
        "continue",
        back_into_compute,
        "x/i $pc",
        "print $rax",
        "stepi",
        "print $pc > (long)&main && $pc < (long)&main + 200",
        "continue",
    ]);
    let expected = (0..3_000_000i64).fold(0i64, |s, i| s.wrapping_add(i ^ (s >> 3)));
    let shown = instructions_shown(&out);
    assert_eq!(shown.len(), 1, "{out}");
    assert!(
        shown[0].contains("<compute+") && shown[0].contains("ret"),
        "{out}"
    );
    assert!(out.contains(&format!("$1 = {expected}")), "{out}");
    // Forward again: back in main, and on to the breakpoint.
    assert!(out.contains("$2 = 1"), "{out}");
    assert_eq!(out.matches("Breakpoint 1, ").count(), 2, "{out}");
}

/// A computation of about 0.1 s. With copies due at every event, the
/// forward run finds where the thread spends its time, the first step
/// back takes copies inside the computation as it counts the arrivals
/// there (listed), and the moves after it begin from those; either way
/// they reach the same instants: the loop's last instructions, with the
/// sum and the counter they hold, and forward again the breakpoint with
/// the same sum. gdb's breakpoint on after() lies right behind the loop's
/// last branch and compute's `ret`: were it in the counter's copy of the
/// loop, no counter would go in, and the step back would single-step 1.8
/// billion instructions.
fn step_backs_in_a_long_computation_begin_from_copies_inside_it(server_args: &[&str]) {
    let served = serve_recording("rev-compute-long", "rev_compute_long", server_args);
    let out = served.server.gdb(&[
        "break *after",
        "continue",
        "reverse-stepi",
        "monitor copies",
        "reverse-stepi",
        "x/i $pc",
        "print sink",
        "reverse-stepi",
        "reverse-stepi",
        "x/i $pc",
        "print $rax",
        "stepi",
        "reverse-next",
        "print sink",
        "continue",
        "print sink",
    ]);
    let shown = instructions_shown(&out);
    assert_eq!(shown.len(), 2, "{out}");
    assert!(
        shown[0].contains("<compute+") && shown[0].contains("ret"),
        "{out}"
    );
    assert!(
        shown[1].contains("<compute+") && shown[1].contains("cmp"),
        "{out}"
    );
    assert!(out.contains(&format!("$1 = {LONG_SUM}")), "{out}");
    assert!(out.contains("$2 = 300000000"), "{out}");
    assert!(out.contains(&format!("$3 = {LONG_SUM}")), "{out}");
    if server_args.contains(&"--copy-interval") {
        assert!(out.contains("inside events at event "), "{out}");
    }
    assert_eq!(out.matches("Breakpoint 1, ").count(), 2, "{out}");
    assert!(out.contains(&format!("$4 = {LONG_SUM}")), "{out}");
}

/// reverse-continue through two million hits of a breakpoint: the scan
/// counts them in the tracee, and the next reverse-continue (and the hits
/// an ignore count skips) come from the hits it kept.
fn reverse_continue_to_a_breakpoint_hit_millions_of_times(server_args: &[&str]) {
    let served = serve_recording("rev-hits", "rev_hits", server_args);
    let out = served.server.gdb(&[
        "break after",
        "continue",
        "break hit",
        "reverse-continue",
        "print i",
        "reverse-continue",
        "print i",
        "ignore 2 3",
        "reverse-continue",
        "print i",
        "continue",
        "print i",
        "print sink",
    ]);
    assert!(out.contains("$1 = 1999999"), "{out}");
    assert!(out.contains("$2 = 1999998"), "{out}");
    // Three hits skipped going back: 1999997 .. 1999995.
    assert!(out.contains("$3 = 1999994"), "{out}");
    // Forward again to the next hit, with the sum of 0 .. 1999994.
    assert!(out.contains("$4 = 1999995"), "{out}");
    // hit() adds i eight times; the call for 1999995 has not run yet.
    let sum: i64 = 8 * (0..1_999_995).sum::<i64>() + 1;
    assert!(out.contains(&format!("$5 = {sum}")), "{out}");
}

/// A scan counting a breakpoint's hits in the background (those of the
/// first loop) meets the stop its goal is named after (mid); from there
/// its goal's name steps and counts the same hits one by one (gdb steps
/// over each breakpoint it continues from): the count gives way, and
/// each reverse-continue stops at the hit before, across mid too.
fn a_scan_counting_hits_gives_way_to_the_name_it_follows(server_args: &[&str]) {
    let served = serve_recording("rev-hits-mid", "rev_hits", server_args);
    let out = served.server.gdb(&[
        "break mid",
        "continue",
        "break hit",
        "continue",
        "continue",
        "continue",
        "continue",
        "continue",
        "print i",
        "reverse-continue",
        "print i",
        "reverse-continue",
        "reverse-continue",
        "reverse-continue",
        "print i",
        "reverse-continue",
        "print i",
        "reverse-continue",
        "print i",
    ]);
    assert!(out.contains("$1 = 1000004"), "{out}");
    assert!(out.contains("$2 = 1000003"), "{out}");
    assert!(out.contains("$3 = 1000000"), "{out}");
    // Back to mid (breakpoint 1; no `i` to print there), then into the
    // first loop.
    assert_eq!(out.matches("Breakpoint 1, mid").count(), 2, "{out}");
    assert!(out.contains("$4 = 999999"), "{out}");
}

/// The same in a second thread, while the first waits in pthread_join.
fn stepping_back_out_of_a_long_computation_in_a_thread(server_args: &[&str]) {
    let served = serve_recording("rev-compute-threads", "rev_compute_threads", server_args);
    let out = served.server.gdb(&[
        "break *after",
        "continue",
        "reverse-stepi",
        "reverse-stepi",
        "x/i $pc",
        "print sink",
        "info threads",
        "continue",
        "continue",
        "continue",
    ]);
    assert_back_at_the_ret_of_compute(&out);
    // Forward again: the breakpoint in the second thread, the SIGKILL
    // stop before the last thread exits, then the exit.
    assert_eq!(
        out.matches("Thread 2 \"rev_compute_thr\" hit Breakpoint 1, ")
            .count(),
        2,
        "{out}"
    );
    assert!(out.contains("received signal SIGKILL"), "{out}");
    assert!(out.contains("exited normally"), "{out}");
}

/// The step back from the fault counts the loop's passes, and the fault
/// is taken where the counter runs its copy of the loop: the counter goes
/// before the replay looks at the faulting thread.
fn stepping_back_from_a_crash_at_the_end_of_a_long_loop(server_args: &[&str]) {
    let served = serve_recording("rev-crash-loop", "rev_crash_loop", server_args);
    let out = served.server.gdb(&[
        "continue",
        "reverse-stepi",
        "print i",
        "print sink",
        "stepi",
        "bt 1",
    ]);
    assert_eq!(
        out.matches("Program received signal SIGSEGV").count(),
        2,
        "{out}"
    );
    assert!(out.contains("$1 = 2999999"), "{out}");
    assert!(out.contains("$2 = 4499998500000"), "{out}");
    assert!(out.contains("#0  0x") && out.contains("compute ("), "{out}");
}

/// A copy of a process with MADV_DONTFORK memory would lack that memory:
/// none is taken after the madvise, even with a copy due at every event,
/// and moves back replay from an earlier copy or the start instead.
fn memory_a_fork_leaves_out_means_no_copies(server_args: &[&str]) {
    let served = serve_recording("rev-dontfork", "rev_dontfork", server_args);
    let out = served.server.gdb(&[
        "break mark",
        "continue",
        "monitor when",
        "delete",
        "break mark if round == 40",
        "continue",
        "delete",
        "break mark",
        "reverse-continue",
        "print round",
        "print (int)kept[0]",
        "reverse-stepi",
        "reverse-continue",
        "print round",
        "monitor copies",
    ]);
    assert!(out.contains("$1 = 39"), "{out}");
    assert!(out.contains("$2 = 39"), "{out}");
    assert!(out.contains("$3 = 38"), "{out}");
    // The first mark comes after the madvise, before the next event.
    let first: u64 = field(&out, "event:").parse().expect("an event number");
    let copies: Vec<u64> = out
        .lines()
        .find_map(|l| l.split_once("before events "))
        .map(|(_, rest)| {
            let listed = rest.split(';').next().unwrap_or_default();
            listed
                .split(", ")
                .map(|n| n.trim().parse().expect("an event number"))
                .collect()
        })
        .unwrap_or_default();
    assert!(copies.iter().all(|&at| at < first), "{copies:?} {out}");
}

/// gdb evaluates conditions and ignore counts itself, going back one hit
/// at a time; the hits a scan noted answer those moves.
fn conditions_and_ignore_counts_going_back(server_args: &[&str]) {
    let served = serve_recording("rev-cond", "reverse_target", server_args);
    let out = served.server.gdb(&[
        "break square",
        "continue",
        "delete",
        "break bump if i == 190",
        "reverse-continue",
        "print i",
        "print counter",
        "delete",
        "break bump",
        "ignore 3 5",
        "reverse-continue",
        "print i",
    ]);
    assert!(out.contains("$1 = 190"), "{out}");
    assert!(
        out.contains(&format!("$2 = {}", counter_after(189))),
        "{out}"
    );
    assert!(out.contains("$3 = 184"), "{out}");
}

fn conditions_are_evaluated_in_the_replay(server_args: &[&str]) {
    let served = serve_recording("rev-agent", "rev_shared", server_args);
    // gdb sends the condition as an agent expression with the breakpoint:
    // its false hits (44 forward, 14 back) cost no packets. gdb's own
    // stops at library loads make a few continues.
    let out = served.server.gdb(&[
        "break mark if round == 45",
        "set debug remote 1",
        "continue",
        "set debug remote 0",
        "print round",
        "delete",
        "break mark if round == 3 || anon_counter[2] == 20",
        "set debug remote 1",
        "reverse-continue",
        "set debug remote 0",
        "print round",
        "print anon_counter[2]",
    ]);
    assert!(
        out.contains(";X"),
        "no condition sent with the breakpoint: {out}"
    );
    assert!(out.contains("$1 = 45"), "{out}");
    // The second part holds from round 21 to 30 (round 30 writes 30
    // after its mark): 30 is the last hit before 45.
    assert!(out.contains("$2 = 30"), "{out}");
    assert!(out.contains("$3 = 20"), "{out}");
    let continues = out.matches("Sending packet: $vCont;c").count();
    let reverses = out.matches("Sending packet: $bc").count();
    assert!(continues < 10, "{continues} continues: {out}");
    assert_eq!(reverses, 1, "{out}");
}
