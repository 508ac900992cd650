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

/// A tree of `dirs` directories holding `files_per_dir` small files each.
fn make_tree(root: &Path, dirs: usize, files_per_dir: usize) {
    for d in 0..dirs {
        let dir = root.join(format!("dir{d}")).join("nested");
        std::fs::create_dir_all(&dir).expect("create dir");
        for f in 0..files_per_dir {
            let body = format!("file {f} of dir {d}\n").repeat(f + 1);
            std::fs::write(dir.join(format!("f{f}.txt")), body).expect("write file");
        }
    }
}

/// coreutils' cp tries the FICLONE ioctl on every file first (refused by
/// most file systems), then copies.
#[test]
fn cp_r_of_a_tree_of_three_hundred_files() {
    let work = TempDir::new("cp-tree");
    let source = work.path().join("source");
    make_tree(&source, 20, 15);
    let copy = work.path().join("copy");
    let traces = Traces::new("cp");
    record_and_replay(
        &traces,
        &which("cp"),
        &["-r", &source.to_string_lossy(), &copy.to_string_lossy()],
    );
    let copied = std::fs::read_to_string(copy.join("dir19/nested/f14.txt")).expect("copied");
    assert_eq!(copied, "file 14 of dir 19\n".repeat(15));
}

/// A CPU-bound process beside the test, ended when dropped.
struct CpuHog(std::process::Child);

impl CpuHog {
    fn start() -> CpuHog {
        CpuHog(
            Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .spawn()
                .expect("start a CPU hog"),
        )
    }
}

impl Drop for CpuHog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `make -j2` runs two compilers at once, each a tree of vfork and exec
/// (cc, cc1, as, collect2, ld), in an order the machine's load decides:
/// every one of ten recordings beside a CPU hog must replay exactly.
#[test]
fn make_j2_of_a_dozen_files_replays_exactly_ten_times_beside_a_cpu_hog() {
    let project = TempDir::new("make-j2");
    let mut objects = String::from("main.o");
    let mut main = String::from("#include <stdio.h>\n");
    let mut calls = String::new();
    for i in 1..=12 {
        std::fs::write(
            project.path().join(format!("f{i}.c")),
            format!("int f{i}(int x) {{ return x * {i} + {i}; }}\n"),
        )
        .expect("write source");
        objects.push_str(&format!(" f{i}.o"));
        main.push_str(&format!("int f{i}(int);\n"));
        calls.push_str(&format!("s += f{i}({i}); "));
    }
    main.push_str(&format!(
        "int main(void) {{ int s = 0; {calls}printf(\"%d\\n\", s); return 0; }}\n"
    ));
    std::fs::write(project.path().join("main.c"), main).expect("write main");
    std::fs::write(
        project.path().join("Makefile"),
        format!("prog: {objects}\n\tcc -o $@ $^\n%.o: %.c\n\tcc -c -o $@ $<\n"),
    )
    .expect("write Makefile");
    let dir = project.path().to_string_lossy().into_owned();
    let make = which("make");
    let _hog = CpuHog::start();
    for round in 0..10 {
        for entry in std::fs::read_dir(project.path()).expect("list project") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "o") || path.ends_with("prog") {
                std::fs::remove_file(&path).expect("clean");
            }
        }
        let traces = Traces::new(&format!("make-j2-{round}"));
        record_and_replay(&traces, &make, &["-s", "-j2", "-C", &dir]);
        assert!(project.path().join("prog").exists(), "round {round}");
    }
}
