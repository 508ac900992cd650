//! What recording promises beyond reproducing output: determinism proofs,
//! independence from the host, bounded memory, clear errors.

mod support;

use std::fs;
use std::process::Stdio;

use support::*;

#[test]
fn two_recordings_differ_and_each_replays_itself() {
    let program = compile("determinism", &[]);
    let first = Traces::new("det-a");
    let second = Traces::new("det-b");
    let a = record_and_replay(&first, &program, &[]);
    let b = record_and_replay(&second, &program, &[]);
    assert_ne!(
        text(&a.stdout),
        text(&b.stdout),
        "two runs read the same tsc, clock and random bytes"
    );
    for traces in [&first, &second] {
        let again = traces.replay();
        let original = if std::ptr::eq(traces, &first) { &a } else { &b };
        assert_eq!(
            text(&again.stdout),
            text(&original.stdout),
            "a second replay differs"
        );
    }
}

#[test]
fn replay_does_not_need_the_original_files_environment_or_directory() {
    let work = TempDir::new("independence");
    let exe = work.path().join("reader");
    fs::copy(compile("mmap_big", &[]), &exe).expect("copy program");
    let input = work.path().join("input.dat");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 17 % 256) as u8).collect();
    fs::write(&input, &data).expect("write input");
    let traces = Traces::new("independence");
    let record = traces
        .command()
        .arg("record")
        .arg(&exe)
        .arg(&input)
        .current_dir(work.path())
        .env("REWIND_TEST_MARKER", "present")
        .stdin(Stdio::null())
        .output()
        .expect("record");
    assert!(record.status.success(), "{}", text(&record.stderr));
    fs::remove_file(&input).expect("delete input");
    fs::rename(&exe, work.path().join("renamed")).expect("rename exe");
    let elsewhere = TempDir::new("elsewhere");
    let replay = traces
        .command()
        .args(["replay", "-a"])
        .current_dir(elsewhere.path())
        .env_clear()
        .env("REWIND_TRACE_DIR", traces.root.path())
        .env("PATH", "/nonexistent")
        .output()
        .expect("replay");
    assert!(replay.status.success(), "{}", text(&replay.stderr));
    assert_eq!(text(&replay.stdout), text(&record.stdout));
    assert!(text(&record.stdout).starts_with("mapped 3000000 bytes"));
}

fn peak_rss_kib(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("rewind: stats: record peak_rss_kib="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no stats line in {stderr}"))
}

/// A 200 MiB file read through read() and through mmap: the recorder
/// streams it into the trace and its memory does not grow with it.
#[test]
fn two_hundred_mib_without_growing_the_recorder() {
    let work = TempDir::new("big");
    let input = work.path().join("big.dat");
    {
        use std::io::Write;
        let mut file = std::io::BufWriter::new(fs::File::create(&input).expect("create"));
        let block: Vec<u8> = (0..1u32 << 20)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for round in 0..200u8 {
            let shifted: Vec<u8> = block.iter().map(|b| b ^ round).collect();
            file.write_all(&shifted).expect("write");
        }
    }
    for program in ["big_read", "mmap_big"] {
        let exe = compile(program, &[]);
        let traces = Traces::new(program);
        let record = traces
            .command()
            .env("REWIND_LOG", "stats")
            .arg("record")
            .arg(&exe)
            .arg(&input)
            .stdin(Stdio::null())
            .output()
            .expect("record");
        let stderr = text(&record.stderr);
        assert!(record.status.success(), "{stderr}");
        let peak = peak_rss_kib(&stderr);
        println!("{program}: recorder peak RSS {peak} KiB for a 200 MiB input");
        assert!(
            peak < 64 * 1024,
            "{program}: the recorder's peak RSS was {peak} KiB"
        );
        let replay = traces.replay();
        assert!(replay.status.success(), "{}", text(&replay.stderr));
        assert_eq!(text(&replay.stdout), text(&record.stdout));
    }
}

#[test]
fn missing_program_is_127_and_leaves_no_trace() {
    let traces = Traces::new("missing");
    let out = traces
        .command()
        .args(["record", "no-such-program-anywhere"])
        .output()
        .expect("record");
    assert_eq!(out.status.code(), Some(127));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("rewind: no-such-program-anywhere: command not found"),
        "{stderr}"
    );
    let left = fs::read_dir(traces.root.path()).map_or(0, |d| d.count());
    assert_eq!(left, 0, "a trace was left behind");
}

#[test]
fn non_executable_program_is_126() {
    let work = TempDir::new("noexec");
    let file = work.path().join("data.txt");
    fs::write(&file, "not a program").expect("write");
    let traces = Traces::new("noexec");
    let out = traces.record(&file, &[]);
    assert_eq!(out.status.code(), Some(126));
    assert!(
        text(&out.stderr).contains("cannot be executed"),
        "{}",
        text(&out.stderr)
    );
}

fn recorded_trace(tag: &str) -> (Traces, std::path::PathBuf) {
    let traces = Traces::new(tag);
    let out = traces.record(&compile("large_output", &[]), &[]);
    assert!(out.status.success());
    let dir = traces.latest();
    (traces, dir)
}

#[test]
fn truncated_trace_replays_its_prefix_and_says_so() {
    let (traces, dir) = recorded_trace("trunc-replay");
    fs::remove_file(dir.join("trailer")).expect("remove trailer");
    let events = dir.join("events");
    let len = fs::metadata(&events).expect("meta").len();
    fs::OpenOptions::new()
        .write(true)
        .open(&events)
        .and_then(|f| f.set_len(len / 2))
        .expect("truncate");
    let out = traces.replay();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("warning: trace ends early after event "),
        "{stderr}"
    );
    assert!(stderr.contains("the replay stopped there"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn corrupted_trace_is_an_error_naming_file_and_offset() {
    let (traces, dir) = recorded_trace("corrupt-replay");
    let data = dir.join("data");
    let mut bytes = fs::read(&data).expect("read");
    let at = bytes.len() / 3;
    bytes[at] ^= 0x40;
    fs::write(&data, bytes).expect("write");
    let out = traces.replay();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "trace file {} is corrupt at byte ",
            data.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn dump_names_syscalls_and_their_effects() {
    let (traces, _dir) = recorded_trace("dump");
    let out = traces.command().arg("dump").output().expect("dump");
    assert!(out.status.success());
    let dump = text(&out.stdout);
    assert!(
        dump.lines().next().is_some_and(|l| l.contains(" exec ")),
        "{dump}"
    );
    assert!(dump.contains(" syscall openat("), "{dump}");
    assert!(dump.contains("(stdout)"), "{dump}");
    assert!(dump.contains("[map "), "{dump}");
    assert!(dump
        .lines()
        .last()
        .is_some_and(|l| l.contains("exit process exited with status 0")));
}

#[test]
fn no_output_replays_silently() {
    let (traces, _dir) = recorded_trace("no-output");
    let out = traces
        .command()
        .args(["replay", "-a", "--no-output"])
        .output()
        .expect("replay");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
}

/// Rewrites a recorded trace with one syscall's recorded first argument
/// changed, as if the replay had taken another path: the replay must stop
/// at that event with both values.
#[test]
fn divergence_names_event_thread_and_values() {
    use trace_format::Event;
    let (traces, dir) = recorded_trace("diverge");
    let mut target = None;
    let tampered_dir = rewrite_trace(&traces, &dir, |number, record| {
        if let Event::Syscall(s) = &mut record.event {
            if target.is_none() && tracee::syscalls::name(s.number()) == "write" {
                s.regs.rdi ^= 0x10;
                target = Some((number, record.tid, s.regs.rdi));
            }
        }
    });
    let (number, tid, changed) = target.expect("the program writes");
    let stderr = replay_diverges(&traces, &tampered_dir);
    let expected = format!(
        "rewind: replay diverged from the recording at event {number} (thread {tid}, syscall write): \
         rdi was {changed:#x} in the recording, {:#x} in the replay",
        changed ^ 0x10
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

/// A thread spinning towards a recorded state that never comes (a
/// register of its preemption point changed) is given up on once it has
/// run far longer than the recording did: a divergence, not a hang.
#[test]
fn a_point_that_never_recurs_ends_the_replay() {
    use trace_format::Event;
    let traces = Traces::new("never-recurs");
    let out = traces.record(&compile("spin_flag", &[]), &["20"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut changed = None;
    let tampered_dir = rewrite_trace(&traces, &traces.latest(), |number, record| {
        if let Event::Preemption(point) = &mut record.event {
            if changed.is_none() {
                point.regs.r15 ^= 1 << 40;
                changed = Some(number);
            }
        }
    });
    let number = changed.expect("the spinner is preempted");
    let stderr = replay_diverges(&traces, &tampered_dir);
    assert!(
        stderr.contains(&format!("diverged from the recording at event {number} ")),
        "{stderr}"
    );
    assert!(stderr.contains("of user CPU time"), "{stderr}");
}

/// Replays the trace at `dir`, which must diverge; returns its stderr.
fn replay_diverges(traces: &Traces, dir: &std::path::Path) -> String {
    let out = traces
        .command()
        .args(["replay", "-a"])
        .arg(dir)
        .output()
        .expect("replay");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(70), "{stderr}");
    stderr
}

/// A copy of the trace at `dir`, in a new directory under `traces`, with
/// each event passed through `edit` first.
fn rewrite_trace(
    traces: &Traces,
    dir: &std::path::Path,
    mut edit: impl FnMut(u64, &mut trace_format::EventRecord),
) -> std::path::PathBuf {
    use trace_format::{TraceReader, TraceWriter};
    let mut reader = TraceReader::open(dir).expect("open");
    let tampered_dir = traces.root.path().join("tampered");
    fs::create_dir(&tampered_dir).expect("dir");
    let mut writer = TraceWriter::create(&tampered_dir, reader.header()).expect("writer");
    let records: Vec<_> = reader.events().map(|e| e.expect("event")).collect();
    for (number, mut record) in records {
        let mut refs = record.event.data_refs();
        let mut moved = Vec::new();
        for span in &mut refs {
            let bytes = reader.data().read(*span).expect("data");
            moved.push(writer.append_data(&bytes).expect("append"));
        }
        remap_data(&mut record.event, &moved);
        edit(number, &mut record);
        writer.append_event(&record).expect("append");
    }
    writer.finish(0).expect("finish");
    for entry in fs::read_dir(dir.join("files")).expect("files") {
        let entry = entry.expect("entry");
        fs::copy(
            entry.path(),
            tampered_dir.join("files").join(entry.file_name()),
        )
        .expect("copy file");
    }
    tampered_dir
}

/// Points the event's data refs, in `data_refs` order, at `moved`.
fn remap_data(event: &mut trace_format::Event, moved: &[trace_format::DataRef]) {
    use trace_format::Event;
    let mut next = moved.iter();
    let mut take = |r: &mut trace_format::DataRef| {
        if let Some(m) = next.next() {
            *r = *m;
        }
    };
    match event {
        Event::Exec(e) => e
            .mappings
            .iter_mut()
            .for_each(|m| m.contents.iter_mut().for_each(|w| take(&mut w.data))),
        Event::Syscall(e) => e.writes.iter_mut().for_each(|w| take(&mut w.data)),
        _ => {}
    }
}
