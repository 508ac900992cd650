//! Moving back in gdb through a recording of about 10 s and 100k events
//! (bench/programs/reverse_history.c): the time each move takes, from the
//! end of the recording, and the copies of the replay it kept. Then one
//! move in a threaded recording (bench/programs/reverse_threads.c), whose
//! copies copy two threads, and step backs out of a stretch of two
//! billion passes of a loop (bench/programs/reverse_long.c).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::record_replay::{compile_from, rewind_binary};

/// A move that takes longer than this is reported as such and ends the run.
const MOVE_LIMIT: Duration = Duration::from_secs(60);

/// Each move is timed in gdb's Python and printed as `BENCH name seconds`.
const TIMED: &str = r#"python import time
python
def timed(name, command):
    start = time.time()
    gdb.execute(command)
    print("BENCH %s %.3f" % (name, time.time() - start), flush=True)
end
"#;

/// The moves through the single-threaded recording.
const SCRIPT: &str = r#"break finish
python timed("forward to the rounds' end (continue)", "continue")
python timed("reverse-stepi at a function's first stop", "reverse-stepi")
delete
break hit_1ms
python timed("reverse-continue, T = 1 ms", "reverse-continue")
delete
break hit_100ms
python timed("reverse-continue, T = 100 ms", "reverse-continue")
delete
break hit_5s
python timed("reverse-continue, T = 5 s", "reverse-continue")
monitor copies
delete
break inside_long
python timed("forward 5 s (continue)", "continue")
python timed("reverse-stepi at a call in a long computation", "reverse-stepi")
python timed("reverse-stepi again, before the call", "reverse-stepi")
stepi
python timed("reverse-next over the long computation", "reverse-next")
info line *$pc
"#;

/// Step backs out of a stretch of computation: the first replays it
/// whole and takes copies inside it; the next ones start from those.
const LONG_SCRIPT: &str = r#"break *after
python timed("long: forward to the end (continue)", "continue")
python timed("long: reverse-stepi at the call", "reverse-stepi")
python timed("long: reverse-stepi into the computation", "reverse-stepi")
python timed("long: reverse-stepi again", "reverse-stepi")
python timed("long: reverse-stepi a third time", "reverse-stepi")
stepi
python timed("long: reverse-next", "reverse-next")
monitor copies
"#;

/// The threaded recording's move: a breakpoint about 100 ms back.
const THREADS_SCRIPT: &str = r#"break finish
python timed("threads: forward to the end (continue)", "continue")
delete
break hit_100ms
python timed("threads: reverse-continue, T = 100 ms", "reverse-continue")
monitor copies
"#;

pub fn run() -> Result<(), String> {
    let rewind = rewind_binary()?;
    let scratch = std::env::temp_dir().join(format!("rewind-bench-rev-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let result = measure(&rewind, &scratch, "reverse_history", SCRIPT)
        .and_then(|()| measure(&rewind, &scratch, "reverse_threads", THREADS_SCRIPT))
        .and_then(|()| measure(&rewind, &scratch, "reverse_long", LONG_SCRIPT));
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn measure(rewind: &Path, scratch: &Path, name: &str, script_text: &str) -> Result<(), String> {
    let program = compile_from("bench/programs", name, &["-g"], scratch)?;
    let trace = scratch.join(format!("trace-{name}"));
    let start = Instant::now();
    let status = Command::new(&program).status().map_err(|e| e.to_string())?;
    let native = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("{} failed with {status}", program.display()));
    }
    let recorded = Command::new(rewind)
        .arg("record")
        .arg("-o")
        .arg(&trace)
        .arg(&program)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if !recorded.success() {
        return Err(format!("recording failed with {recorded}"));
    }
    let events = Command::new(rewind)
        .arg("dump")
        .arg(&trace)
        .output()
        .map(|out| out.stdout.iter().filter(|&&b| b == b'\n').count())
        .unwrap_or(0);
    let script = scratch.join(format!("moves-{name}.gdb"));
    std::fs::write(&script, format!("{TIMED}{script_text}")).map_err(|e| e.to_string())?;
    let wrapper = scratch.join("batch-gdb");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec gdb -batch -nx \"$@\" -x {}\n",
            script.display()
        ),
    )
    .map_err(|e| e.to_string())?;
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .map_err(|e| e.to_string())?;
    let output = scratch.join(format!("gdb-{name}.out"));
    let out_file = std::fs::File::create(&output).map_err(|e| e.to_string())?;
    let mut child = Command::new(rewind)
        .arg("replay")
        .arg("--debugger")
        .arg(&wrapper)
        .arg(&trace)
        .stdin(Stdio::null())
        .stdout(out_file.try_clone().map_err(|e| e.to_string())?)
        .stderr(out_file)
        .spawn()
        .map_err(|e| e.to_string())?;
    println!(
        "moving back in gdb: a recording of {native:.1} s native, {events} events \
         (one run; a move over {} s stops the run)",
        MOVE_LIMIT.as_secs()
    );
    let mut last_line = Instant::now();
    let mut printed = 0;
    loop {
        let text = std::fs::read_to_string(&output).unwrap_or_default();
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("BENCH ") || l.contains("copies of the replay"))
            .collect();
        for line in &lines[printed..] {
            match line.strip_prefix("BENCH ").and_then(|l| l.rsplit_once(' ')) {
                Some((name, seconds)) => println!("{name:<48} {seconds:>8} s"),
                None => println!("{line}"),
            }
            last_line = Instant::now();
        }
        printed = lines.len();
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        if last_line.elapsed() > MOVE_LIMIT {
            let done = lines.iter().filter(|l| l.starts_with("BENCH ")).count();
            let pending = script_text
                .split("timed(\"")
                .skip(1)
                .filter_map(|m| m.split('"').next())
                .nth(done)
                .unwrap_or("the next move");
            println!(
                "{pending:<48} {:>8}",
                format!("> {} s", MOVE_LIMIT.as_secs())
            );
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}
