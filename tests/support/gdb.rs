//! Real gdb against `rewind replay -s 0`: the server, recordings for it,
//! and reading what gdb printed.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{compile, text, TempDir, Traces};

/// gdb's own time limit per session; a hung server fails the test.
pub const GDB_TIMEOUT: Duration = Duration::from_secs(120);

/// The tests need gdb (the README lists it with the test requirements): a
/// machine without it fails them rather than passing them unchecked.
pub fn require_gdb() {
    let found = Command::new("gdb")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(found, "gdb is not installed; the debugger tests need it");
}

/// A `rewind replay -s 0` process, ended (by its pid) when dropped.
pub struct ReplayServer {
    pub child: Child,
    pub address: String,
}

impl ReplayServer {
    pub fn start(traces: &Traces, extra: &[&str]) -> ReplayServer {
        let mut child = traces
            .command()
            .args(["replay", "-s", "0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run rewind replay -s");
        let stdout = child.stdout.take().expect("server stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut address = None;
        for line in lines.by_ref() {
            let line = line.expect("read server output");
            if let Some(rest) = line.strip_prefix("gdb -ex 'target extended-remote ") {
                address = Some(rest.trim_end_matches('\'').to_owned());
                break;
            }
        }
        let Some(address) = address else {
            let _ = child.kill();
            let status = child.wait();
            panic!("the replay server printed no gdb command (status {status:?})");
        };
        // Keep draining the server's stdout so that it never blocks.
        std::thread::spawn(move || for _ in lines {});
        ReplayServer { child, address }
    }

    /// Runs gdb in batch mode with `commands` against the server.
    pub fn gdb(&self, commands: &[&str]) -> String {
        let mut gdb = Command::new("gdb");
        gdb.args(["-batch", "-nx", "-ex", "set pagination off", "-ex"])
            .arg(format!("target extended-remote {}", self.address));
        for command in commands {
            gdb.arg("-ex").arg(command);
        }
        let mut child = gdb
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run gdb");
        // Read as gdb writes: output beyond a pipe's buffer (a debug log)
        // would otherwise block gdb until the timeout.
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let started = Instant::now();
        let timed_out = loop {
            if child.try_wait().expect("wait for gdb").is_some() {
                break false;
            }
            if started.elapsed() > GDB_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                break true;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        let all = format!("{}{}", text(&stdout), text(&stderr));
        assert!(
            !timed_out,
            "gdb did not finish in {GDB_TIMEOUT:?}; it printed:\n{all}"
        );
        eprintln!("--- gdb {commands:?}:\n{all}");
        all
    }
}

/// Reads `pipe` to its end on a thread of its own.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Records `name` (compiled without optimization) from a copy that is
/// deleted afterwards: gdb must get the program from the trace.
pub fn record_program(traces: &Traces, name: &str) -> (String, PathBuf) {
    let exe = compile(name, &["-O0"]);
    let scratch = TempDir::new(&format!("gdb-{name}"));
    let copy = scratch.path().join(name);
    std::fs::copy(&exe, &copy).expect("copy program");
    let record = traces.record(&copy, &[]);
    assert!(
        text(&record.stderr).contains("trace saved"),
        "recording failed: {}",
        text(&record.stderr)
    );
    drop(scratch);
    assert!(!copy.exists());
    (text(&record.stdout), copy)
}

/// A recording of `name` served for gdb: the server first, so that it ends
/// before its trace is removed.
pub struct Served {
    pub server: ReplayServer,
    pub recorded: String,
    pub traces: Traces,
}

pub fn serve_recording(tag: &str, name: &str, server_args: &[&str]) -> Served {
    serve_recording_in(Traces::new(tag), name, server_args)
}

pub fn serve_recording_in(traces: Traces, name: &str, server_args: &[&str]) -> Served {
    require_gdb();
    let (recorded, _) = record_program(&traces, name);
    let server = ReplayServer::start(&traces, server_args);
    Served {
        server,
        recorded,
        traces,
    }
}

pub fn field(output: &str, name: &str) -> String {
    let words: Vec<&str> = output.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| *w == name)
        .unwrap_or_else(|| panic!("no {name} in {output}"));
    words[at + 1].to_owned()
}

pub fn source_line(name: &str, marker: &str) -> usize {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(format!("{name}.c"));
    let text = std::fs::read_to_string(source).expect("read source");
    text.lines()
        .position(|l| l.contains(marker))
        .map(|i| i + 1)
        .expect("marker line")
}

/// A recording of `/bin/sh -c "exec gdb_target"`: the debugged process
/// runs a second program.
pub fn serve_exec_recording(tag: &str, server_args: &[&str]) -> (ReplayServer, Traces) {
    require_gdb();
    let traces = Traces::new(tag);
    let exe = compile("gdb_target", &["-O0"]);
    let script = format!("exec {}", exe.display());
    let record = traces.record(Path::new("/bin/sh"), &["-c", &script]);
    assert!(text(&record.stderr).contains("trace saved"));
    let server = ReplayServer::start(&traces, server_args);
    (server, traces)
}

/// Runs `rewind replay` on the latest trace with gdb in batch mode, which
/// runs `commands` after the ones rewind gives it.
pub fn replay_with_gdb(traces: &Traces, commands: &[&str]) -> String {
    let scratch = TempDir::new("gdb-wrapper");
    let wrapper = scratch.path().join("batch-gdb");
    let mut script = String::from("#!/bin/sh\nexec gdb -batch -nx \"$@\"");
    for command in commands {
        script.push_str(&format!(" -ex '{command}'"));
    }
    script.push('\n');
    std::fs::write(&wrapper, script).expect("write wrapper");
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod wrapper");
    let output = traces
        .command()
        .arg("replay")
        .arg("--debugger")
        .arg(&wrapper)
        .stdin(Stdio::null())
        .output()
        .expect("run rewind replay");
    let out = format!("{}{}", text(&output.stdout), text(&output.stderr));
    eprintln!("--- rewind replay with gdb {commands:?}:\n{out}");
    assert_eq!(output.status.code(), Some(0), "{out}");
    out
}
