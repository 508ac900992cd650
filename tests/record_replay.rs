//! Record and replay of the C programs in tests/programs: each program's
//! replay must reproduce its stdout, stderr and exit status exactly, with
//! every event verified.

mod support;

use support::*;

/// One test per program: compile, record, replay, compare.
fn check(name: &str, flags: &[&str], args: &[&str]) -> String {
    let program = compile(name, flags);
    let traces = Traces::new(name);
    let work = TempDir::new(&format!("work-{name}"));
    let mut all_args: Vec<&str> = Vec::new();
    let work_path = work.path().to_string_lossy().into_owned();
    for arg in args {
        all_args.push(if *arg == "WORKDIR" { &work_path } else { arg });
    }
    let record = record_and_replay(&traces, &program, &all_args);
    text(&record.stdout)
}

#[test]
fn hello_output_and_status() {
    let out = check("hello", &[], &[]);
    assert!(out.contains("hello from stdout") && out.contains("raw write"));
}

#[test]
fn file_io() {
    let out = check("file_io", &[], &["WORKDIR"]);
    assert!(out.contains("readv=10"), "{out}");
}

#[test]
fn stat_fields() {
    let out = check("stat_fields", &[], &["WORKDIR"]);
    assert!(out.contains("fstat size=5 mode=640"), "{out}");
}

#[test]
fn dir_listing() {
    let out = check("dir_listing", &[], &["WORKDIR"]);
    assert!(out.contains("file3\nrenamed\nrmdir=0"), "{out}");
}

#[test]
fn links() {
    check("links", &[], &["WORKDIR"]);
}

#[test]
fn cwd() {
    check("cwd", &[], &["WORKDIR"]);
}

#[test]
fn fcntl_dup() {
    let out = check("fcntl_dup", &[], &["WORKDIR"]);
    assert!(out.contains("dup2=20 dup3=21"), "{out}");
}

#[test]
fn pipe_self() {
    let out = check("pipe_self", &[], &[]);
    assert!(out.contains("'through the pipe'"), "{out}");
}

#[test]
fn time_calls() {
    check("time_calls", &[], &[]);
}

#[test]
fn rdtsc() {
    check("rdtsc", &[], &[]);
}

#[test]
fn random() {
    check("random", &[], &[]);
}

#[test]
fn at_random() {
    check("at_random", &[], &[]);
}

#[test]
fn identity() {
    check("identity", &[], &[]);
}

#[test]
fn limits() {
    check("limits", &[], &[]);
}

#[test]
fn mmap_anon() {
    let out = check("mmap_anon", &[], &[]);
    assert!(out.contains("moved to requested place 1 value 1"), "{out}");
}

#[test]
fn mmap_file() {
    check("mmap_file", &[], &["WORKDIR"]);
}

#[test]
fn brk_malloc() {
    let out = check("brk_malloc", &[], &[]);
    assert!(out.contains("grew 1"), "{out}");
}

#[test]
fn tcp_epoll() {
    let out = check("tcp_epoll", &[], &[]);
    assert!(out.contains("received 9 'message 2'"), "{out}");
}

#[test]
fn udp_loopback() {
    let out = check("udp_loopback", &[], &[]);
    assert!(out.contains("'datagram 2'"), "{out}");
}

#[test]
fn socketpair_msg() {
    let out = check("socketpair_msg", &[], &[]);
    assert!(out.contains("a='scat' b='ter-gather'"), "{out}");
}

#[test]
fn select_poll() {
    check("select_poll", &[], &[]);
}

#[test]
fn eventfd_timerfd() {
    let out = check("eventfd_timerfd", &[], &[]);
    assert!(out.contains("eventfd value 12"), "{out}");
}

#[test]
fn env_args() {
    let out = check("env_args", &[], &["one", "two words"]);
    assert!(out.contains("argv[2]=two words"), "{out}");
}

#[test]
fn vdso_time() {
    let out = check("vdso_time", &[], &[]);
    assert!(out.contains("backwards 0"), "{out}");
}

#[test]
fn static_executable() {
    check("static_prog", &["-static"], &[]);
}

#[test]
fn non_pie_executable() {
    check("nonpie", &["-no-pie"], &[]);
}

#[test]
fn ioctl_term() {
    check("ioctl_term", &[], &[]);
}

#[test]
fn rseq_fails_with_enosys() {
    let out = check("rseq_check", &[], &[]);
    assert!(out.contains("errno=ENOSYS"), "{out}");
}

#[test]
fn exit_code() {
    check("exit_code", &[], &[]);
}

#[test]
fn large_output() {
    check("large_output", &[], &[]);
}

#[test]
fn sockopt_misc() {
    check("sockopt_misc", &[], &[]);
}

#[test]
fn proc_self_files() {
    let out = check("readdir_proc", &[], &[]);
    assert!(out.contains("mentions the rewind page: 1"), "{out}");
}

#[test]
fn stdin_is_recorded() {
    let program = compile("stdin_read", &[]);
    let traces = Traces::new("stdin");
    let record = traces
        .command()
        .arg("record")
        .arg(&program)
        .stdin(std::fs::File::open("/etc/passwd").expect("open passwd"))
        .output()
        .expect("record");
    assert!(record.status.success(), "{}", text(&record.stderr));
    let replay = traces.replay();
    assert!(replay.status.success(), "{}", text(&replay.stderr));
    assert_eq!(text(&replay.stdout), text(&record.stdout));
    assert!(!text(&record.stdout).contains("stdin 0 bytes"));
}
