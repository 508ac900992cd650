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
    let count = text(&events.stdout).lines().count();
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
