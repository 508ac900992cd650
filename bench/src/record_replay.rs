//! Record and replay against native runs and strace, on kinds of
//! workload: CPU-bound, syscall-heavy (file copies, a build, a pipeline,
//! threads waking each other), startup-dominated, each with the
//! syscall-buffering library (the default) and without it (`-n`). Ratios
//! are to the native wall time measured in the same run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

struct Workload {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    runs: u32,
}

pub fn rewind_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the bench binary: {e}"))?;
    let rewind = exe.with_file_name("rewind");
    if rewind.is_file() {
        Ok(rewind)
    } else {
        Err(format!(
            "{} is missing; run through `cargo xtask bench`",
            rewind.display()
        ))
    }
}

fn which(name: &str) -> Option<PathBuf> {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!path.is_empty()).then(|| PathBuf::from(path))
}

/// The Python interpreter itself (a pyenv shim would add a fork and a
/// shell to every run).
fn python() -> Result<PathBuf, String> {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn run(command: &mut Command) -> Result<f64, String> {
    let start = Instant::now();
    let status = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("{command:?}: {e}"))?;
    if !status.success() {
        return Err(format!("{command:?} failed with {status}"));
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Seconds for `runs` native runs, recordings and replays with the
/// library and without it (`-n`), and strace runs.
fn measure(
    w: &Workload,
    rewind: &Path,
    strace: Option<&Path>,
    scratch: &Path,
) -> Result<[Option<f64>; 6], String> {
    let mut native = 0.0;
    let mut recorded = [[0.0; 2]; 2];
    let mut traced = 0.0;
    // Untimed: the first run of `ls -lR /usr` reads the inodes from disk,
    // and whichever row came first paid for the cache.
    run(Command::new(&w.program).args(&w.args))?;
    for i in 0..w.runs {
        native += run(Command::new(&w.program).args(&w.args))?;
        for (flags, times) in [&[][..], &["-n"][..]].into_iter().zip(recorded.iter_mut()) {
            let trace = scratch.join(format!("trace-{i}"));
            let _ = std::fs::remove_dir_all(&trace);
            times[0] += run(Command::new(rewind)
                .arg("record")
                .args(flags)
                .arg("-o")
                .arg(&trace)
                .arg(&w.program)
                .args(&w.args))?;
            times[1] += run(Command::new(rewind).args(["replay", "-a"]).arg(&trace))?;
            let _ = std::fs::remove_dir_all(&trace);
        }
        if let Some(strace) = strace {
            traced += run(Command::new(strace)
                .args(["-f", "-o", "/dev/null"])
                .arg(&w.program)
                .args(&w.args))?;
        }
    }
    Ok([
        Some(native),
        Some(recorded[0][0]),
        Some(recorded[0][1]),
        Some(recorded[1][0]),
        Some(recorded[1][1]),
        strace.map(|_| traced),
    ])
}

/// Compiles one of the test suite's C programs into `scratch`.
fn compile(name: &str, scratch: &Path) -> Result<PathBuf, String> {
    compile_from("tests/programs", name, &[], scratch)
}

/// Compiles `DIR/NAME.c` of the repository into `scratch`.
pub fn compile_from(
    dir: &str,
    name: &str,
    flags: &[&str],
    scratch: &Path,
) -> Result<PathBuf, String> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(dir)
        .join(format!("{name}.c"));
    let exe = scratch.join(name);
    let status = Command::new("cc")
        .args(["-O1", "-pthread"])
        .args(flags)
        .arg("-o")
        .arg(&exe)
        .arg(&source)
        .status()
        .map_err(|e| format!("cannot run cc: {e}"))?;
    if !status.success() {
        return Err(format!("compiling {} failed", source.display()));
    }
    Ok(exe)
}

pub fn run_all() -> Result<(), String> {
    let rewind = rewind_binary()?;
    let strace = which("strace");
    let scratch = std::env::temp_dir().join(format!("rewind-bench-rr-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let big = scratch.join("input-200mib");
    {
        let mut block: Vec<u8> = (0..1u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        let mut data = Vec::with_capacity(200 << 20);
        for round in 0..200u8 {
            block.iter_mut().for_each(|b| *b = b.wrapping_add(round));
            data.extend_from_slice(&block);
        }
        std::fs::write(&big, data).map_err(|e| e.to_string())?;
    }
    // tmpfs, so that the copy measures syscalls rather than a disk.
    let copy = Path::new("/dev/shm").join(format!("rewind-bench-copy-{}", std::process::id()));
    let project = make_project(&scratch)?;
    let shell = |script: String| vec!["-c".to_string(), script];
    let workloads = [
        Workload {
            name: "cp -r /usr/include to tmpfs",
            program: PathBuf::from("/bin/sh"),
            args: shell(format!(
                "rm -rf {0} && cp -r --reflink=never /usr/include {0}",
                copy.display()
            )),
            runs: 1,
        },
        Workload {
            name: "make -j1 of 40 C files",
            program: PathBuf::from("/bin/sh"),
            args: shell(format!(
                "rm -f {0}/*.o && make -s -j1 -C {0}",
                project.display()
            )),
            runs: 1,
        },
        Workload {
            name: "head -c 100M /dev/zero | sha256sum",
            program: PathBuf::from("/bin/sh"),
            args: shell("head -c 100M /dev/zero | sha256sum".into()),
            runs: 1,
        },
        Workload {
            name: "socketpair ping-pong 20k",
            program: compile_from("bench/programs", "pingpong", &[], &scratch)?,
            args: vec!["20000".into()],
            runs: 1,
        },
        Workload {
            name: "sha256sum 200 MiB (CPU)",
            program: which("sha256sum").ok_or("sha256sum is not installed")?,
            args: vec![big.to_string_lossy().into_owned()],
            runs: 1,
        },
        Workload {
            name: "ls -lR /usr (syscalls)",
            program: which("ls").ok_or("ls is not installed")?,
            args: vec!["-lR".into(), "/usr".into()],
            runs: 1,
        },
        Workload {
            name: "python3 -c pass x20 (startup)",
            program: python()?,
            args: vec!["-c".into(), "pass".into()],
            runs: 20,
        },
        Workload {
            name: "spin on flag, main sleeps 20 ms",
            program: compile("spin_flag", &scratch)?,
            args: vec!["20".into()],
            runs: 5,
        },
        Workload {
            name: "4 CPU-bound threads",
            program: compile("cpu_threads_progress", &scratch)?,
            args: vec!["1".into()],
            runs: 1,
        },
        // A test program that calls the hook itself, 200k times: the
        // library's cost alone, without libc around it.
        Workload {
            name: "200k calls through the hook",
            program: compile_from("tests/programs", "syscallbuf_calls", &["-ldl"], &scratch)?,
            args: vec![
                scratch.join("hook-file").to_string_lossy().into_owned(),
                "plain".into(),
                "50000".into(),
            ],
            runs: 1,
        },
    ];
    println!("record/replay wall time as a ratio to native (one run of each; -n: without the syscall buffer)");
    println!(
        "{:<32} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "workload", "native s", "record", "replay", "record -n", "replay -n", "strace"
    );
    let result = (|| {
        for w in &workloads {
            let [native, record, replay, record_n, replay_n, traced] =
                measure(w, &rewind, strace.as_deref(), &scratch)?;
            let native = native.unwrap_or(f64::NAN);
            let ratio = |t: Option<f64>| {
                t.map_or_else(|| "-".to_string(), |t| format!("{:.1}x", t / native))
            };
            println!(
                "{:<32} {:>10.2} {:>9} {:>9} {:>9} {:>9} {:>9}",
                w.name,
                native,
                ratio(record),
                ratio(replay),
                ratio(record_n),
                ratio(replay_n),
                ratio(traced)
            );
        }
        Ok(())
    })();
    if strace.is_none() {
        println!("(strace is not installed: `apt-get install strace` adds its column)");
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let _ = std::fs::remove_dir_all(&copy);
    result
}

/// A directory of 40 small C files and a Makefile that compiles each and
/// links them.
fn make_project(scratch: &Path) -> Result<PathBuf, String> {
    let dir = scratch.join("project");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut objects = Vec::new();
    for i in 0..40 {
        let body = if i == 0 {
            "#include <stdio.h>\nint main(void) { puts(\"built\"); return 0; }\n".to_string()
        } else {
            format!(
                "#include <string.h>\nint f{i}(const char *s) {{ int n = 0; \
                 for (int k = 0; k < {i}; k++) n += (int)strlen(s) * k; return n; }}\n"
            )
        };
        std::fs::write(dir.join(format!("f{i}.c")), body).map_err(|e| e.to_string())?;
        objects.push(format!("f{i}.o"));
    }
    let makefile = format!(
        "program: {0}\n\tcc -o $@ {0}\n%.o: %.c\n\tcc -O1 -c -o $@ $<\n",
        objects.join(" ")
    );
    std::fs::write(dir.join("Makefile"), makefile).map_err(|e| e.to_string())?;
    Ok(dir)
}
