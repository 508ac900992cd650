//! Helpers for tests that run the real `rewind` binary on real programs.
#![allow(dead_code)]

pub mod gdb;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

pub fn rewind_bin() -> &'static str {
    env!("CARGO_BIN_EXE_rewind")
}

/// A fresh directory, removed with everything in it when dropped (also when
/// the test fails).
pub struct TempDir(PathBuf);

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Compiles `tests/programs/NAME.c` with the machine's C compiler, once per
/// set of flags, and returns the executable.
pub fn compile(name: &str, flags: &[&str]) -> PathBuf {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(format!("{name}.c"));
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("programs");
    std::fs::create_dir_all(&out_dir).expect("programs dir");
    let suffix: String = flags
        .iter()
        .map(|f| f.trim_start_matches('-'))
        .collect::<Vec<_>>()
        .join("_");
    let exe = out_dir.join(if suffix.is_empty() {
        name.to_string()
    } else {
        format!("{name}-{suffix}")
    });
    let fresh = std::fs::metadata(&exe)
        .and_then(|e| e.modified())
        .ok()
        .zip(std::fs::metadata(&source).and_then(|s| s.modified()).ok())
        .is_some_and(|(built, written)| built >= written);
    if fresh {
        return exe;
    }
    let tmp = out_dir.join(format!(
        ".{name}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let status = Command::new("cc")
        .args(["-O1", "-g", "-Wall", "-pthread", "-o"])
        .arg(&tmp)
        .arg(&source)
        .args(flags)
        .status()
        .expect("run cc");
    assert!(status.success(), "compiling {} failed", source.display());
    std::fs::rename(&tmp, &exe).expect("move compiled program");
    exe
}

/// The variable that makes every recording one with `-n`: the suite runs
/// once with it (README).
pub const NO_SYSCALL_BUFFER: &str = "REWIND_NO_SYSCALL_BUFFER";

/// A trace root for one test: every trace the test records goes there.
pub struct Traces {
    pub root: TempDir,
    /// Record with the syscall buffer even where the suite runs without.
    with_buffer: bool,
}

impl Traces {
    pub fn new(tag: &str) -> Traces {
        Traces {
            root: TempDir::new(&format!("traces-{tag}")),
            with_buffer: false,
        }
    }

    /// For tests of the syscall buffer itself.
    pub fn with_syscall_buffer(tag: &str) -> Traces {
        Traces {
            with_buffer: true,
            ..Traces::new(tag)
        }
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(rewind_bin());
        command.env("REWIND_TRACE_DIR", self.root.path());
        if self.with_buffer {
            command.env_remove(NO_SYSCALL_BUFFER);
        }
        command
    }

    /// `rewind record PROGRAM ARGS...` with stdin from `/dev/null`.
    pub fn record(&self, program: &Path, args: &[&str]) -> Output {
        self.command()
            .arg("record")
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run rewind record")
    }

    /// `record` in a process group of its own, led by rewind, whose
    /// parent (the test) is in the same session: a job-control stop
    /// (SIGTSTP) then stops the program as it does under a shell. Where
    /// the tests run as a background job of a shell that has exited,
    /// their own group is orphaned, and the kernel discards SIGTSTP there
    /// (natively too).
    pub fn record_job(&self, program: &Path, args: &[&str]) -> Output {
        use std::os::unix::process::CommandExt;
        self.command()
            .arg("record")
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .process_group(0)
            .output()
            .expect("run rewind record")
    }

    /// `rewind replay -a` of the latest trace.
    pub fn replay(&self) -> Output {
        self.command()
            .args(["replay", "-a"])
            .stdin(Stdio::null())
            .output()
            .expect("run rewind replay")
    }

    /// `rewind dump` of the latest trace, which must succeed.
    pub fn dump(&self) -> String {
        let dump = self
            .command()
            .arg("dump")
            .output()
            .expect("run rewind dump");
        assert!(dump.status.success(), "dump failed: {}", text(&dump.stderr));
        text(&dump.stdout)
    }

    /// The directory of the latest trace.
    pub fn latest(&self) -> PathBuf {
        std::fs::canonicalize(self.root.path().join("latest-trace")).expect("latest trace")
    }
}

/// Whether the first buffer registration in a dump let calls that may
/// block through: rewind answered 1, since it counts the thread's context
/// switches.
pub fn blocking_allowed(dump: &str) -> bool {
    dump.lines()
        .find(|l| l.contains(" syscall syscall_1024("))
        .is_some_and(|l| l.ends_with(") = 1"))
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The recorder's own lines (its warnings, where the trace went) are not
/// the program's output.
pub fn program_stderr(record: &Output) -> String {
    text(&record.stderr)
        .lines()
        .filter(|l| !l.starts_with("rewind: "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Records `program`, replays it, and checks that the replay reproduced
/// stdout, stderr and the exit status with clean verification. Returns the
/// recording's output.
pub fn record_and_replay(traces: &Traces, program: &Path, args: &[&str]) -> Output {
    replays_as_recorded(traces, program, traces.record(program, args))
}

/// Checks that the latest trace, whose recording gave `record`, replays
/// with the same output and status; returns `record`.
pub fn replays_as_recorded(traces: &Traces, program: &Path, record: Output) -> Output {
    let record_err = text(&record.stderr);
    assert!(
        record_err.contains("rewind: trace saved to "),
        "recording {} failed (status {:?}): {record_err}",
        program.display(),
        record.status.code()
    );
    let replay = traces.replay();
    let replay_err = text(&replay.stderr);
    assert!(
        !replay_err.contains("diverged"),
        "replay diverged: {replay_err}"
    );
    assert_eq!(
        replay.status.code(),
        record.status.code(),
        "exit status differs; replay stderr: {replay_err}"
    );
    assert_eq!(text(&replay.stdout), text(&record.stdout), "stdout differs");
    assert_eq!(replay_err, program_stderr(&record), "stderr differs");
    record
}

/// The pids of `pid`'s children, whichever of its threads started them.
pub fn children_of(pid: u32) -> Vec<String> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|dir| dir.flatten().map(|e| e.path()).collect::<Vec<_>>())
        .unwrap_or_default();
    tasks
        .iter()
        .filter_map(|task| std::fs::read_to_string(task.join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}
