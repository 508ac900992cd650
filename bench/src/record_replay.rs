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

/// `command` with no input and its output discarded.
fn silenced(command: &mut Command) -> &mut Command {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
}

fn run(command: &mut Command) -> Result<f64, String> {
    let start = Instant::now();
    let status = silenced(command)
        .status()
        .map_err(|e| format!("{command:?}: {e}"))?;
    if !status.success() {
        return Err(format!("{command:?} failed with {status}"));
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Like `run`; also the peak resident KiB of the largest process of the
/// tree (the program's memory; at least the bench's own peak, a few MiB,
/// which a spawned child starts from).
fn run_native(command: &mut Command) -> Result<(f64, u64), String> {
    let start = Instant::now();
    let child = silenced(command)
        .spawn()
        .map_err(|e| format!("{command:?}: {e}"))?;
    let (status, peak) = tracee::resources::wait_with_peak(child.id() as i32)
        .map_err(|e| format!("waiting for {command:?}: {e}"))?;
    let elapsed = start.elapsed().as_secs_f64();
    if status != 0 {
        return Err(format!("{command:?} failed with wait status {status:#x}"));
    }
    Ok((elapsed, peak))
}

/// Like `run`; also the peak resident KiB of the started process alone,
/// not its children (the recorder's memory, without the program's), read
/// every few milliseconds while it runs.
fn run_watched(command: &mut Command) -> Result<(f64, u64), String> {
    let start = Instant::now();
    let mut child = silenced(command)
        .spawn()
        .map_err(|e| format!("{command:?}: {e}"))?;
    let mut peak = 0;
    let status = loop {
        if let Some(now) = tracee::resources::peak_resident_kib(child.id() as i32) {
            peak = peak.max(now);
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(2)),
            Err(e) => return Err(format!("waiting for {command:?}: {e}")),
        }
    };
    let elapsed = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("{command:?} failed with {status}"));
    }
    Ok((elapsed, peak))
}

/// What `measure` found: seconds for all runs, and peak memory in KiB.
struct Measured {
    /// Native, record, replay, record -n, replay -n, strace.
    seconds: [Option<f64>; 6],
    /// The largest native process.
    program_kib: u64,
    /// The recorder alone, recording with the buffer.
    recorder_kib: u64,
}

/// Seconds for `runs` native runs, recordings and replays with the
/// library and without it (`-n`), and strace runs.
fn measure(
    w: &Workload,
    rewind: &Path,
    strace: Option<&Path>,
    scratch: &Path,
) -> Result<Measured, String> {
    let mut native = 0.0;
    let mut program_kib = 0;
    let mut recorder_kib = 0;
    let mut recorded = [[0.0; 2]; 2];
    let mut traced = 0.0;
    // Untimed: the first run of `ls -lR /usr` reads the inodes from disk,
    // and whichever row came first paid for the cache.
    run(Command::new(&w.program).args(&w.args))?;
    for i in 0..w.runs {
        let (seconds, peak) = run_native(Command::new(&w.program).args(&w.args))?;
        native += seconds;
        program_kib = program_kib.max(peak);
        for (flags, times) in [&[][..], &["-n"][..]].into_iter().zip(recorded.iter_mut()) {
            let trace = scratch.join(format!("trace-{i}"));
            let _ = std::fs::remove_dir_all(&trace);
            let (seconds, peak) = run_watched(
                Command::new(rewind)
                    .arg("record")
                    .args(flags)
                    .arg("-o")
                    .arg(&trace)
                    .arg(&w.program)
                    .args(&w.args),
            )?;
            times[0] += seconds;
            if flags.is_empty() {
                recorder_kib = recorder_kib.max(peak);
            }
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
    Ok(Measured {
        seconds: [
            Some(native),
            Some(recorded[0][0]),
            Some(recorded[0][1]),
            Some(recorded[1][0]),
            Some(recorded[1][1]),
            strace.map(|_| traced),
        ],
        program_kib,
        recorder_kib,
    })
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
        // Written a block at a time: a child's peak memory (wait4's
        // ru_maxrss, the program's column) starts from the peak of the
        // bench's own pages when it is spawned.
        use std::io::Write;
        let mut block: Vec<u8> = (0..1u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        let mut file = std::fs::File::create(&big).map_err(|e| e.to_string())?;
        for round in 0..200u8 {
            block.iter_mut().for_each(|b| *b = b.wrapping_add(round));
            file.write_all(&block).map_err(|e| e.to_string())?;
        }
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
    println!("memory: the largest native process, and the recorder alone (with the buffer), peak resident MiB");
    println!(
        "{:<32} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "workload",
        "native s",
        "record",
        "replay",
        "record -n",
        "replay -n",
        "strace",
        "prog MiB",
        "rec MiB"
    );
    let result = (|| {
        for w in &workloads {
            let measured = measure(w, &rewind, strace.as_deref(), &scratch)?;
            let [native, record, replay, record_n, replay_n, traced] = measured.seconds;
            let native = native.unwrap_or(f64::NAN);
            let ratio = |t: Option<f64>| {
                t.map_or_else(|| "-".to_string(), |t| format!("{:.1}x", t / native))
            };
            let mib = |kib: u64| format!("{:.0}", kib as f64 / 1024.0);
            println!(
                "{:<32} {:>10.2} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                w.name,
                native,
                ratio(record),
                ratio(replay),
                ratio(record_n),
                ratio(replay_n),
                ratio(traced),
                mib(measured.program_kib),
                mib(measured.recorder_kib)
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
