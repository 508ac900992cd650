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

#[test]
fn a_signal_sent_from_outside_while_the_program_computes() {
    let traces = Traces::new("signal-outside");
    let program = compile("signal_from_outside", &[]);
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
    let pid = ready.strip_prefix("ready ").unwrap_or_else(|| {
        let _ = record.kill();
        panic!("the program did not start: {ready:?}")
    });
    // The program is this test's grandchild; it computes until signalled.
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
    assert_eq!(text(&replay.stdout), recorded);
    assert_eq!(replay.status.code(), Some(0), "{}", text(&replay.stderr));
    assert_eq!(numbers_after(&recorded, "iteration").len(), 1, "{recorded}");
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
