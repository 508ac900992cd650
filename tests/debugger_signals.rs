//! gdb sees the replay's signals as it sees a live process's: stops at
//! them (as `handle` says), the stack and variables where they came, the
//! recorded deaths, and a refusal of signals the recording had not.

mod support;

use support::gdb::*;

#[test]
fn a_crash_stops_at_the_faulting_instruction_with_its_stack() {
    let served = serve_recording("gdb-crash", "gdb_crash", &[]);
    let out = served.server.gdb(&[
        "continue",
        "continue",
        "bt",
        "print *list",
        "info registers rip",
        "continue",
    ]);
    // The handled fault first, then the crash through the pointer.
    assert_eq!(
        out.matches("Program received signal SIGSEGV").count(),
        2,
        "{out}"
    );
    let crash = source_line("gdb_crash", "// crash here");
    assert!(out.contains(&format!("gdb_crash.c:{crash}")), "{out}");
    assert!(out.contains("in sum_list (list="), "{out}");
    assert!(out.contains("in main () at"), "{out}");
    assert!(out.contains("value = 1"), "{out}");
    assert!(out.contains("rip "), "{out}");
    assert!(
        out.contains("Program terminated with signal SIGSEGV"),
        "{out}"
    );
}

#[test]
fn handle_decides_which_recorded_signals_stop() {
    let served = serve_recording("gdb-handle", "gdb_crash", &[]);
    // gdb passes SIGALRM by default: the first stop is the fault.
    let out = served.server.gdb(&["continue"]);
    assert!(out.contains("Program received signal SIGSEGV"), "{out}");
    assert!(!out.contains("SIGALRM"), "{out}");
    // Asked to, it stops at each of the three.
    let served = serve_recording("gdb-handle-stop", "gdb_crash", &[]);
    let out = served.server.gdb(&[
        "handle SIGALRM stop print",
        "continue",
        "continue",
        "continue",
        "continue",
    ]);
    assert_eq!(
        out.matches("Program received signal SIGALRM").count(),
        3,
        "{out}"
    );
    assert!(out.contains("Program received signal SIGSEGV"), "{out}");
}

#[test]
fn a_step_at_a_signal_enters_its_handler() {
    let served = serve_recording("gdb-signal-step", "gdb_crash", &[]);
    let out = served
        .server
        .gdb(&["handle SIGALRM stop print", "continue", "stepi", "bt 1"]);
    assert!(out.contains("Program received signal SIGALRM"), "{out}");
    assert!(out.contains("#0  on_alarm ("), "{out}");
}

#[test]
fn a_signal_the_recording_lacked_is_refused() {
    let served = serve_recording("gdb-signal-refused", "gdb_crash", &[]);
    let out = served
        .server
        .gdb(&["signal SIGUSR1", "info registers rip", "continue"]);
    assert!(out.contains("the recording has no SIGUSR1 here"), "{out}");
    // The replay is where it was, and goes on as recorded.
    assert!(out.contains("Program received signal SIGSEGV"), "{out}");
}

/// The replay's own debug-register trap at an execution point stops the
/// thread on the instruction before it runs; a gdb breakpoint at that very
/// address must still be hit once per pass, as natively: never skipped,
/// never twice around the signal delivered there.
#[test]
fn a_breakpoint_at_an_execution_point_is_hit_once_per_pass() {
    require_gdb();
    let traces = support::Traces::new("gdb-point-breakpoint");
    let record = traces.record(&support::compile("gdb_point_loop", &[]), &[]);
    assert!(support::text(&record.stderr).contains("trace saved"));
    let dump = traces.command().arg("dump").output().expect("rewind dump");
    let dump = support::text(&dump.stdout);
    // The signals land at execution points, all at one instruction the
    // loop passes once per round.
    let point = dump
        .lines()
        .filter(|l| l.contains(" signal SIGVTALRM "))
        .find_map(|l| l.split("at rip=").nth(1))
        .map(|rip| rip.split_whitespace().next().unwrap_or(rip).to_owned())
        .unwrap_or_else(|| panic!("no signal at an execution point in:\n{dump}"));
    let server = ReplayServer::start(&traces, &[]);
    let out = server.gdb(&[
        &format!("break *{point}"),
        "ignore 1 1000000",
        "continue",
        "info breakpoints",
    ]);
    assert!(out.contains("breakpoint already hit 1500 times"), "{out}");
}
