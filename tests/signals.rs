//! Signals that land in the middle of user code: the recording delivers
//! each at an execution point, and the replay must run the handler at the
//! same instant (the programs print the loop iteration each signal
//! interrupted). Also fatal signals from shells and interpreters.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use support::*;

fn check(name: &str) -> String {
    let traces = Traces::new(name);
    let out = record_and_replay(&traces, &compile(name, &[]), &[]);
    text(&out.stdout)
}

/// The numbers after `word` in each line that has it.
fn numbers_after(output: &str, word: &str) -> Vec<u64> {
    output
        .lines()
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let at = words.iter().position(|w| *w == word)?;
            words.get(at + 1)?.trim_end_matches(',').parse().ok()
        })
        .collect()
}

#[test]
fn timer_signals_interrupt_a_loop_at_the_recorded_iterations() {
    let out = check("sigalrm_count");
    let at = numbers_after(&out, "iteration");
    assert_eq!(at.len(), 5, "{out}");
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{out}");
}

#[test]
fn cpu_time_timers_fire_in_user_code() {
    let out = check("itimer_cpu");
    assert_eq!(numbers_after(&out, "virtual").len(), 3, "{out}");
}

#[test]
fn a_signal_to_another_thread_lands_in_that_thread() {
    let out = check("signal_to_thread");
    assert!(out.contains("handled by the worker: 1"), "{out}");
    assert_eq!(numbers_after(&out, "iteration").len(), 3, "{out}");
}

/// Records `name`, which prints "ready PID" and then waits (computing or
/// blocked) for a SIGUSR1 that the test sends from outside; replays it.
/// Returns the recorded and the replayed output.
fn record_with_signal_from_outside(name: &str) -> (String, String) {
    let traces = Traces::new(name);
    let program = compile(name, &[]);
    let mut record = traces
        .command()
        .arg("record")
        .arg(&program)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rewind record");
    let stdout = record.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let ready = lines.next().and_then(Result::ok).unwrap_or_default();
    let Some(pid) = ready.strip_prefix("ready ") else {
        let _ = record.kill();
        let _ = record.wait();
        panic!("the program did not start: {ready:?}");
    };
    // The program is this test's grandchild; it waits until signalled.
    std::thread::sleep(std::time::Duration::from_millis(100));
    let sent = Command::new("kill")
        .args(["-USR1", pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = record.wait().expect("wait for rewind record");
    assert!(status.success(), "recording failed: {status:?}");
    let recorded = format!("{ready}\n{}\n", rest.join("\n"));
    let replay = traces.replay();
    assert_eq!(replay.status.code(), Some(0), "{}", text(&replay.stderr));
    (recorded, text(&replay.stdout))
}

#[test]
fn a_signal_sent_from_outside_while_the_program_computes() {
    let (recorded, replayed) = record_with_signal_from_outside("signal_from_outside");
    assert_eq!(replayed, recorded);
    assert_eq!(numbers_after(&recorded, "iteration").len(), 1, "{recorded}");
}

#[test]
fn handler_flags_siginfo_resethand_nodefer_onstack() {
    let out = check("sig_handler_flags");
    for expected in [
        "si_code 0 (SI_USER 0), si_pid is ours 1",
        "SA_RESETHAND: ran 1, default again 1",
        "SA_NODEFER: nested depth 2",
        "alternate stack 1",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
}

#[test]
fn masks_pending_sigtimedwait_sigsuspend() {
    let out = check("sig_masks");
    for expected in [
        "pending while blocked: 1, handled: 0",
        "sigtimedwait took 10",
        "sigtimedwait with nothing pending: -1",
        "sigsuspend returned after the handler: 1",
        "thread blocks SIGUSR2: 1",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
}

#[test]
fn synchronous_faults_with_handlers() {
    let out = check("sig_faults");
    for expected in [
        "SIGSEGV: si_code 2, at the page 1, write done 1",
        "SIGBUS: si_code 2",
        "SIGFPE: si_code 1",
        "SIGILL: si_code 2",
        "SIGTRAP: handler ran 2 times",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
}

#[test]
fn abort_kills_with_sigabrt() {
    let traces = Traces::new("sig_abort");
    let out = record_and_replay(&traces, &compile("sig_abort", &[]), &[]);
    assert_eq!(out.status.code(), Some(128 + 6));
}

#[test]
fn sigsys_from_the_programs_own_seccomp_filter() {
    let out = check("sig_seccomp");
    assert!(
        out.contains("SIGSYS for syscall 110 (getppid 110), si_code 1"),
        "{out}"
    );
}

#[test]
fn sigchld_signalfd_and_posix_timers() {
    let out = check("sig_chld");
    assert!(
        out.contains("reaped 3 children, statuses sum 3, handler ran 1"),
        "{out}"
    );
    let out = check("sig_signalfd");
    assert_eq!(out.matches("read 128 bytes").count(), 2, "{out}");
    let out = check("sig_timer_create");
    assert!(out.contains("value and code as sent: 1"), "{out}");
    assert_eq!(numbers_after(&out, "at").len(), 3, "{out}");
}

#[test]
fn interrupted_and_restarted_syscalls() {
    let out = check("sig_eintr");
    assert!(
        out.contains("without SA_RESTART: read -1, EINTR 1, alarms 1"),
        "{out}"
    );
    assert!(
        out.contains("with SA_RESTART: read 1 'x', alarms 2"),
        "{out}"
    );
}

#[test]
fn signals_between_processes_of_the_tree() {
    let out = check("sig_between_processes");
    assert_eq!(numbers_after(&out, "iteration").len(), 1, "{out}");
    assert!(out.contains("parent: child exited 0"), "{out}");
}

#[test]
fn a_signal_from_outside_interrupts_a_blocking_read() {
    let (recorded, replayed) = record_with_signal_from_outside("sig_blocked_from_outside");
    assert!(
        recorded.contains("read -1, EINTR 1, handler ran 1"),
        "{recorded}"
    );
    assert_eq!(replayed, recorded);
}

#[test]
fn queued_realtime_signals_keep_their_values() {
    let out = check("sig_queued_values");
    assert!(out.contains("values: 100 101 102 103 104 105"), "{out}");
    assert!(out.contains("si_code SI_QUEUE each time: 1"), "{out}");
}

#[test]
fn shell_killing_itself_and_python_aborting() {
    let traces = Traces::new("sh-kill");
    let out = traces.record(
        std::path::Path::new("sh"),
        &["-c", "echo before; kill -TERM $$; echo after"],
    );
    assert_eq!(out.status.code(), Some(128 + 15), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "before\n");
    let replay = traces.replay();
    assert_eq!(
        replay.status.code(),
        out.status.code(),
        "{}",
        text(&replay.stderr)
    );
    assert_eq!(text(&replay.stdout), "before\n");

    let traces = Traces::new("py-abort");
    let out = traces.record(
        std::path::Path::new("python3"),
        &["-c", "import os; print('x', flush=True); os.abort()"],
    );
    assert_eq!(out.status.code(), Some(128 + 6), "{}", text(&out.stderr));
    let replay = traces.replay();
    assert_eq!(
        replay.status.code(),
        Some(128 + 6),
        "{}",
        text(&replay.stderr)
    );
    assert_eq!(text(&replay.stdout), "x\n");
}

/// The recorded program's pid: the child of the `rewind record` process.
fn tracee_of(recorder: u32) -> Option<String> {
    children_of(recorder).into_iter().next()
}

#[test]
fn a_program_killed_from_outside_while_it_loops() {
    for (signal, status) in [("-TERM", 128 + 15), ("-KILL", 128 + 9)] {
        let traces = Traces::new("killed-outside");
        let program = compile("compute_loop", &[]);
        let mut record = traces
            .command()
            .arg("record")
            .arg(&program)
            .arg("100000000000")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run rewind record");
        // Until the program runs (slow machines take a while), then a
        // little longer so that it is inside its loop.
        let started = std::time::Instant::now();
        let mut found = None;
        while found.is_none() && started.elapsed() < std::time::Duration::from_secs(20) {
            std::thread::sleep(std::time::Duration::from_millis(50));
            found = tracee_of(record.id());
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        let Some(pid) = found else {
            let _ = record.kill();
            let _ = record.wait();
            panic!("no recorded process under rewind record");
        };
        let sent = Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        let recorded = record.wait_with_output().expect("wait for rewind record");
        assert_eq!(
            recorded.status.code(),
            Some(status),
            "{}",
            text(&recorded.stderr)
        );
        let replay = traces.replay();
        assert_eq!(
            replay.status.code(),
            Some(status),
            "{}",
            text(&replay.stderr)
        );
    }
}

/// An inner loop whose register states repeat on every outer pass (here a
/// vectorized memcpy called again and again), the outer state being a
/// global in memory: registers, the top of the stack and the words that
/// change between two passes cannot tell the outer passes apart, and the
/// replay would deliver the signal at the first one with the same inner
/// state. The hash of the program's data segments in the fingerprint can.
#[test]
fn a_signal_during_repeated_memcpy_calls() {
    let out = check("sig_during_copy");
    assert_eq!(numbers_after(&out, "after").len(), 3, "{out}");
}

/// A handler that reads the trap number and error code of its signal
/// frame: the kernel fills them from the thread's last trap, so the replay
/// must reach the delivery point with the same kind of trap as the
/// recording did.
#[test]
fn a_handler_sees_the_recorded_trap_number() {
    let out = check("sig_trapno");
    assert_eq!(numbers_after(&out, "trapno").len(), 3, "{out}");
}
