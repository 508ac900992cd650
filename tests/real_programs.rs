//! Programs from the machine, recorded and replayed.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

fn which(name: &str) -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .expect("run sh");
    let path = text(&out.stdout).trim().to_string();
    assert!(!path.is_empty(), "{name} is not installed");
    PathBuf::from(path)
}

#[test]
fn ls_la_usr_bin() {
    let traces = Traces::new("ls");
    let out = record_and_replay(&traces, &which("ls"), &["-la", "/usr/bin"]);
    assert!(text(&out.stdout).lines().count() > 100);
}

#[test]
fn cat_of_a_10_mib_file() {
    let work = TempDir::new("cat");
    let file = work.path().join("ten-mib");
    let block: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    let mut contents = Vec::new();
    for round in 0..10u8 {
        contents.extend(block.iter().map(|b| b.wrapping_add(round)));
    }
    std::fs::write(&file, &contents).expect("write file");
    let traces = Traces::new("cat");
    let out = record_and_replay(&traces, &which("cat"), &[&file.to_string_lossy()]);
    assert_eq!(out.stdout.len(), 10 << 20);
}

#[test]
fn sha256sum() {
    let traces = Traces::new("sha256sum");
    let out = record_and_replay(
        &traces,
        &which("sha256sum"),
        &["/etc/passwd", "/etc/hostname"],
    );
    assert_eq!(text(&out.stdout).lines().count(), 2);
}

#[test]
fn date() {
    let traces = Traces::new("date");
    record_and_replay(&traces, &which("date"), &["+%s.%N"]);
}

#[test]
fn gzip_to_stdout() {
    let traces = Traces::new("gzip");
    let out = record_and_replay(&traces, &which("gzip"), &["-c", "/etc/services"]);
    assert_eq!(&out.stdout[..2], &[0x1f, 0x8b]);
}

/// The interpreter itself, not a wrapper script (pyenv's shim is a shell
/// script that forks, which the processes issue covers).
fn real_python() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("run python3");
    let path = PathBuf::from(text(&out.stdout).trim());
    assert!(Path::new(&path).is_file(), "no python3 executable found");
    path
}

#[test]
fn python_random_time_pid() {
    let traces = Traces::new("python");
    let out = record_and_replay(
        &traces,
        &real_python(),
        &[
            "-c",
            "import random,time,os; print(random.random(), time.time(), os.getpid())",
        ],
    );
    assert_eq!(text(&out.stdout).split_whitespace().count(), 3);
}
