//! One binary to copy onto a host: statically linked, needing nothing else
//! of rewind's; it says what it is, sums up each recording, and refuses to
//! replay a trace from a CPU with other features.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::{compile, rewind_bin, text, TempDir, Traces};

/// `rewind ARGS` from `binary`, with only PATH and REWIND_TRACE_DIR set.
fn bare(binary: &Path, traces: &Path, args: &[&str]) -> Output {
    Command::new(binary)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("REWIND_TRACE_DIR", traces)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run rewind")
}

#[test]
fn the_binary_is_static_and_records_and_replays_alone() {
    let bytes = std::fs::read(rewind_bin()).expect("read the rewind binary");
    let elf = goblin::elf::Elf::parse(&bytes).expect("rewind is an ELF file");
    assert_eq!(elf.interpreter, None, "rewind has a program interpreter");
    assert!(elf.libraries.is_empty(), "rewind needs {:?}", elf.libraries);

    let alone = TempDir::new("alone");
    let binary = alone.path().join("rewind");
    std::fs::copy(rewind_bin(), &binary).expect("copy rewind");
    let traces = alone.path().join("traces");
    std::fs::create_dir(&traces).expect("trace dir");
    let program = compile("hello", &[]);
    let recorded = bare(
        &binary,
        &traces,
        &["record", program.to_str().expect("path")],
    );
    assert_eq!(
        recorded.status.code(),
        Some(3),
        "{}",
        text(&recorded.stderr)
    );
    let replayed = bare(&binary, &traces, &["replay", "-a"]);
    assert_eq!(
        replayed.status.code(),
        Some(3),
        "{}",
        text(&replayed.stderr)
    );
    assert_eq!(text(&replayed.stdout), text(&recorded.stdout));
    assert!(text(&replayed.stdout).contains("hello from stdout"));
}

#[test]
fn version_names_the_trace_format_and_the_tick_source() {
    let out = Command::new(rewind_bin())
        .arg("--version")
        .output()
        .expect("run rewind --version");
    assert!(out.status.success());
    let printed = text(&out.stdout);
    assert!(
        printed.starts_with(&format!("rewind {}\n", env!("CARGO_PKG_VERSION"))),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("trace format version {}", trace_format::VERSION)),
        "{printed}"
    );
    assert!(printed.contains("tick source: software"), "{printed}");
}

#[test]
fn record_ends_with_a_summary() {
    let traces = Traces::new("summary");
    let out = traces.record(Path::new("/bin/sh"), &["-c", "/bin/true; /bin/true"]);
    let said = text(&out.stderr);
    let line = said
        .lines()
        .find(|l| l.contains("trace saved to"))
        .unwrap_or_else(|| panic!("{said}"));
    let events = traces.command().arg("dump").output().expect("dump");
    // Buffered calls are listed under their flush event, indented.
    let count = text(&events.stdout)
        .lines()
        .filter(|l| !l.starts_with(' '))
        .count();
    assert!(
        line.contains(&format!(": {count} events, 3 processes, ")),
        "{line}"
    );
    assert!(line.contains("KiB, ") || line.contains("MiB, "), "{line}");
    assert!(line.ends_with(" s"), "{line}");
}

#[test]
fn a_trace_from_a_cpu_with_other_features_is_refused_by_name() {
    let traces = Traces::new("other-cpu");
    let out = traces.record(&compile("hello", &[]), &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let dir = traces.latest();
    let mut header = trace_format::TraceReader::open(&dir)
        .expect("open trace")
        .header()
        .clone();
    let leaf = header
        .cpu
        .cpuid
        .iter_mut()
        .find(|l| (l.leaf, l.subleaf) == (7, 0))
        .expect("leaf 7 recorded");
    // The other machine differs in AVX2 from this one, either way.
    let had_avx2 = leaf.ebx & (1 << 5) != 0;
    leaf.ebx ^= 1 << 5;
    trace_format::write_header(&dir, &header).expect("write header");
    let expected = if had_avx2 {
        "here but not in the recording: avx2"
    } else {
        "missing here: avx2"
    };
    let replayed = traces.replay();
    let said = text(&replayed.stderr);
    assert_eq!(replayed.status.code(), Some(1), "{said}");
    assert!(said.contains(expected), "{said}");
    assert!(said.contains("the recording's CPU features"), "{said}");
    assert!(!said.contains("hello"), "the replay ran: {said}");
    let served = traces
        .command()
        .args(["replay", "-s", "0"])
        .stdin(Stdio::null())
        .output()
        .expect("run rewind replay -s");
    assert_eq!(served.status.code(), Some(1), "{}", text(&served.stderr));
    assert!(text(&served.stderr).contains(expected));
}

/// The captured copy of `program` in a trace's `files/`.
fn stored_copy(trace: &Path, program: &str) -> std::fs::Metadata {
    let files = std::fs::read_dir(trace.join("files")).expect("files/");
    let entry = files
        .filter_map(Result::ok)
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .ends_with(&format!("-{program}"))
        })
        .unwrap_or_else(|| panic!("{program} is not in {}", trace.display()));
    entry.metadata().expect("metadata")
}

#[test]
fn files_are_stored_once_per_root_and_each_trace_stays_whole() {
    use std::os::unix::fs::MetadataExt;
    let traces = Traces::new("shared-files");
    // Built by this test, so it is ours: it is copied, not linked. Its own
    // build (the flag), which no other test replaces while this one runs.
    let program = compile("hello", &["-DSTORED_ONCE"]);
    for _ in 0..2 {
        let out = traces.record(&program, &[]);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    }
    let mut recorded = trace_format::dir::list_traces(traces.root.path()).expect("traces");
    recorded.sort();
    let [first, second] = recorded.as_slice() else {
        panic!("two traces expected: {recorded:?}");
    };
    let name = program.file_name().and_then(|n| n.to_str()).expect("name");
    let (a, b) = (stored_copy(first, name), stored_copy(second, name));
    assert_eq!((a.dev(), a.ino()), (b.dev(), b.ino()), "stored twice");
    let ls = text(&traces.command().arg("ls").output().expect("ls").stdout);
    assert!(ls.contains("2 traces, "), "{ls}");
    let together = trace_format::dir::disk_usage_of(&[first, second]);
    let apart = trace_format::dir::disk_usage(first) + trace_format::dir::disk_usage(second);
    assert!(together < apart, "{together} {apart}");

    // One trace directory copied alone replays.
    let elsewhere = TempDir::new("copied-trace");
    let copy = elsewhere.path().join("trace");
    let copied = Command::new("cp")
        .arg("-r")
        .arg(second)
        .arg(&copy)
        .status()
        .expect("cp");
    assert!(copied.success());
    let replayed = traces
        .command()
        .args(["replay", "-a"])
        .arg(&copy)
        .output()
        .expect("replay");
    assert_eq!(
        replayed.status.code(),
        Some(3),
        "{}",
        text(&replayed.stderr)
    );

    // rm refuses what is not a trace, and leaves the other trace whole.
    let refused = traces
        .command()
        .arg("rm")
        .arg(elsewhere.path())
        .output()
        .expect("rm");
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("is not a rewind trace"));
    assert!(copy.is_dir());
    let removed = traces.command().arg("rm").arg(first).output().expect("rm");
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    assert!(!first.exists());
    let left = traces
        .command()
        .args(["replay", "-a"])
        .arg(second)
        .output()
        .expect("replay");
    assert_eq!(left.status.code(), Some(3), "{}", text(&left.stderr));
    assert_eq!(
        stored_copy(second, name).nlink(),
        2,
        "the store keeps its link"
    );
    let removed = traces.command().arg("rm").arg(second).output().expect("rm");
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    let store = trace_format::dir::shared_files(traces.root.path());
    let kept: Vec<_> = std::fs::read_dir(&store).expect("store").collect();
    assert!(kept.is_empty(), "files no trace uses: {kept:?}");
}
