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
