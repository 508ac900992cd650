//! `rewind ls` and `rewind dump` on traces written through the trace-format
//! crate, intact, truncated and damaged.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use trace_format::*;

struct TempRoot(PathBuf);

impl TempRoot {
    fn new(tag: &str) -> TempRoot {
        let path = std::env::temp_dir().join(format!("rewind-cli-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("temp root");
        TempRoot(path)
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn rewind(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rewind"))
        .args(args)
        .env("REWIND_TRACE_DIR", root)
        .output()
        .expect("run rewind")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write_trace(root: &Path, events: u64) -> PathBuf {
    let dir = dir::create_trace_dir(root, "demo").expect("trace dir");
    let header = Header {
        uuid: [1; 16],
        recorder_version: "test".into(),
        kernel_release: "6.1".into(),
        cpu: CpuInfo::default(),
        tick_source: TickSourceKind::Software,
        page_size: 4096,
        argv: vec![b"demo".to_vec(), b"--flag".to_vec()],
        env: vec![],
        cwd: b"/".to_vec(),
        start_time_ns: 5,
        stack_limit: None,
    };
    let mut writer = TraceWriter::create(&dir, &header).expect("writer");
    for i in 0..events {
        let data = writer
            .append_data(format!("hello {i}\n").as_bytes())
            .expect("data");
        let regs = Registers {
            orig_rax: 1,
            rdi: 1,
            rip: 0x401000 + i,
            ..Registers::default()
        };
        writer
            .append_event(&EventRecord {
                tid: 4242,
                event: Event::Syscall(SyscallEvent {
                    regs,
                    result: data.len as i64,
                    writes: vec![MemoryWrite {
                        addr: 0x7fff_0000 + i,
                        data,
                    }],
                    action: SyscallAction::Emulate,
                    output: Some(OutputStream::Stdout),
                    file_changes: vec![],
                }),
            })
            .expect("event");
    }
    writer.finish(6).expect("finish");
    dir::set_latest(root, &dir).expect("latest");
    dir
}

#[test]
fn ls_lists_traces_with_event_counts() {
    let root = TempRoot::new("ls");
    write_trace(&root.0, 3);
    write_trace(&root.0, 5);
    let out = rewind(&root.0, &["ls"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(lines[3].starts_with("2 traces, "), "{stdout}");
    assert!(lines[3].contains(" on disk"), "{stdout}");
    assert!(
        lines[1].starts_with("demo-1") && lines[1].contains(" 3 "),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("demo-2") && lines[2].contains(" 5 "),
        "{stdout}"
    );
    assert!(lines[1].ends_with("demo --flag"), "{stdout}");
}

#[test]
fn dump_prints_one_line_per_event_and_data_on_request() {
    let root = TempRoot::new("dump");
    write_trace(&root.0, 4);
    let out = rewind(&root.0, &["dump"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 4, "{stdout}");
    assert!(
        stdout
            .lines()
            .next()
            .is_some_and(|l| l.starts_with("1 4242 syscall ")),
        "{stdout}"
    );
    let with_data = text(&rewind(&root.0, &["dump", "--data", "demo-1"]).stdout);
    assert!(with_data.contains("|hello 3.|"), "{with_data}");
    let from = text(&rewind(&root.0, &["dump", "-f", "3"]).stdout);
    assert!(from.starts_with("3 4242"), "{from}");
}

#[test]
fn truncated_trace_dumps_its_prefix_with_a_warning() {
    let root = TempRoot::new("trunc");
    let dir = write_trace(&root.0, 20_000);
    fs::remove_file(dir.join(layout::TRAILER)).expect("rm trailer");
    let events = dir.join(layout::EVENTS);
    let len = fs::metadata(&events).expect("meta").len();
    fs::OpenOptions::new()
        .write(true)
        .open(&events)
        .and_then(|f| f.set_len(len - 100))
        .expect("truncate");
    let out = rewind(&root.0, &["dump"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let printed = text(&out.stdout).lines().count();
    assert!(printed > 0 && printed < 20_000);
    assert!(
        stderr.contains(&format!("trace ends early after event {printed}")),
        "{stderr}"
    );
    let ls = text(&rewind(&root.0, &["ls"]).stdout);
    assert!(ls.contains(&format!("{printed} (incomplete)")), "{ls}");
}

#[test]
fn bit_flip_is_reported_with_file_and_offset() {
    let root = TempRoot::new("flip");
    let dir = write_trace(&root.0, 20_000);
    let events = dir.join(layout::EVENTS);
    let mut bytes = fs::read(&events).expect("read");
    let at = bytes.len() - 50;
    bytes[at] ^= 4;
    fs::write(&events, bytes).expect("write");
    let out = rewind(&root.0, &["dump"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "rewind: trace file {} is corrupt at byte ",
            events.display()
        )),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn missing_trace_is_one_sentence() {
    let root = TempRoot::new("missing");
    let out = rewind(&root.0, &["dump", "no-such-trace"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("rewind: no trace named no-such-trace"),
        "{stderr}"
    );
}
