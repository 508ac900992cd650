//! The trace survives its recorder: stopped by SIGTERM or SIGHUP it ends
//! the recording cleanly, SIGINT is left to the program, and killed
//! outright it leaves a trace that replays to within about a second of its
//! death. `ticker` prints a numbered line every 50 ms.

mod support;

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Stdio};

use support::*;

/// Lines `ticker` prints in a second: the most a killed recorder may lose.
const LINES_PER_SECOND: usize = 20;

struct Recording {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    seen: Vec<String>,
}

impl Recording {
    fn start(traces: &Traces, args: &[&str]) -> Recording {
        let mut child = traces
            .command()
            .arg("record")
            .arg(compile("ticker", &[]))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run rewind record");
        let stdout = child.stdout.take().expect("stdout");
        Recording {
            child,
            lines: BufReader::new(stdout).lines(),
            seen: Vec::new(),
        }
    }

    /// Reads until the program has printed `count` lines in all.
    fn read_until(&mut self, count: usize) {
        while self.seen.len() < count {
            match self.lines.next() {
                Some(Ok(line)) => self.seen.push(line),
                _ => panic!("the program stopped after {} lines", self.seen.len()),
            }
        }
    }

    fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
    }

    /// Reads what is left and waits for the recorder: (status code or
    /// signal, every line the program printed, the recorder's stderr).
    fn finish(&mut self) -> (Option<i32>, Vec<String>, String) {
        self.seen.extend(self.lines.by_ref().map_while(Result::ok));
        let status = self.child.wait().expect("wait for rewind");
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("stderr");
        }
        (status.code(), std::mem::take(&mut self.seen), stderr)
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        // A failed assertion must not leave the recorder running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines_of(out: &[u8]) -> Vec<String> {
    text(out).lines().map(str::to_owned).collect()
}

/// The replayed lines are the first of the recorded ones, with at most
/// `missing` left out at the end.
fn assert_prefix(replayed: &[String], recorded: &[String], missing: usize) {
    assert!(
        recorded.starts_with(replayed),
        "the replay printed lines the recording did not: {replayed:?} vs {recorded:?}"
    );
    assert!(
        recorded.len() - replayed.len() <= missing,
        "the replay lost {} of {} lines",
        recorded.len() - replayed.len(),
        recorded.len()
    );
}

#[test]
fn sigterm_and_sighup_end_the_recording_and_keep_the_trace() {
    for (signal, name, code) in [("-TERM", "SIGTERM", 143), ("-HUP", "SIGHUP", 129)] {
        let traces = Traces::new("recorder-term");
        let mut recording = Recording::start(&traces, &[]);
        recording.read_until(5);
        // The trace being written is already the latest.
        let latest = traces.latest();
        assert!(latest.join("header").is_file(), "{}", latest.display());
        recording.signal(signal);
        let (status, recorded, stderr) = recording.finish();
        assert_eq!(status, Some(code), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "{name} ended the recording and killed the program"
            )),
            "{stderr}"
        );
        assert!(latest.join("trailer").is_file(), "no clean end: {stderr}");
        let replay = traces.replay();
        let replayed = text(&replay.stderr);
        assert_eq!(replay.status.code(), Some(128 + 9), "{replayed}");
        assert!(!replayed.contains("ends early"), "{replayed}");
        // The last line may be out before the recorder saw its write.
        assert_prefix(&lines_of(&replay.stdout), &recorded, 1);
    }
}

#[test]
fn sigint_to_the_recorder_alone_leaves_the_program_running() {
    let traces = Traces::new("recorder-int");
    let mut recording = Recording::start(&traces, &["30"]);
    recording.read_until(5);
    recording.signal("-INT");
    let (status, recorded, stderr) = recording.finish();
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(recorded.len(), 30, "{stderr}");
    let replay = traces.replay();
    assert_eq!(replay.status.code(), Some(0), "{}", text(&replay.stderr));
    assert_eq!(lines_of(&replay.stdout), recorded);
}

#[test]
fn a_killed_recorder_leaves_a_trace_that_replays_to_within_a_second() {
    let traces = Traces::new("recorder-kill");
    let mut recording = Recording::start(&traces, &[]);
    recording.read_until(3 * LINES_PER_SECOND);
    recording.signal("-KILL");
    let (status, recorded, _) = recording.finish();
    assert_eq!(status, None, "killed by a signal");
    let replay = traces.replay();
    let replayed = text(&replay.stderr);
    assert_eq!(replay.status.code(), Some(1), "{replayed}");
    assert!(
        replayed.contains("trace ends early after event"),
        "{replayed}"
    );
    assert!(!replayed.contains("panicked"), "{replayed}");
    // Lines may be written just after the last flush, and one more while
    // the recorder died.
    assert_prefix(&lines_of(&replay.stdout), &recorded, LINES_PER_SECOND + 2);
    let ls = traces.command().arg("ls").output().expect("rewind ls");
    assert!(
        text(&ls.stdout).contains("(incomplete)"),
        "{}",
        text(&ls.stdout)
    );
}
