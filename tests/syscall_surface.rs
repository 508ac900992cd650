//! Calls the kernel refuses, and the less common parts of the syscall
//! surface: each program is recorded and replayed, and its output must
//! show that the calls did what they do outside rewind.

mod support;

use support::*;

fn check(name: &str) -> String {
    let program = compile(name, &[]);
    let traces = Traces::new(name);
    text(&record_and_replay(&traces, &program, &[]).stdout)
}

fn assert_lines(out: &str, expected: &[&str]) {
    for line in expected {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}

#[test]
fn unknown_syscall_numbers_get_enosys_with_one_warning_each() {
    let program = compile("syscall_unknown", &[]);
    let traces = Traces::new("syscall-unknown");
    let record = record_and_replay(&traces, &program, &[]);
    assert_lines(
        &text(&record.stdout),
        &[
            "syscall(-1) = -1 errno=ENOSYS",
            "syscall(1000) = -1 errno=ENOSYS",
            "still alive after unknown syscalls",
        ],
    );
    let stderr = text(&record.stderr);
    let warnings = stderr
        .lines()
        .filter(|l| l.starts_with("rewind: warning: the program called syscall number"))
        .count();
    assert_eq!(warnings, 3, "{stderr}");
}

#[test]
fn ioctls_the_kernel_refuses_and_the_common_ones_that_succeed() {
    let out = check("ioctl_refused");
    assert_lines(
        &out,
        &[
            "on file: -1 ENOTTY",
            "FIONREAD on pipe: 0",
            "avail=5",
            "SIOCGIFINDEX lo: 0",
            "index=1",
            "SIOCGIFCONF: 0",
        ],
    );
}

#[test]
fn an_unnamed_ioctl_that_succeeds_stops_the_recording_by_name() {
    let traces = Traces::new("ioctl-unnamed");
    let out = traces.record(&compile("ioctl_unnamed", &[]), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("ioctl request 0x5456 succeeded, and rewind cannot tell what it changed"),
        "{stderr}"
    );
}

#[test]
fn sendmmsg_and_recvmmsg() {
    let out = check("mmsg");
    assert_lines(
        &out,
        &["sendmmsg=3 msg_len: 12 12 12", "[2] len=12 head=msg2"],
    );
    assert!(
        out.contains("from=127.0.0.1 same_port=1 namelen=16"),
        "{out}"
    );
}

#[test]
fn process_vm_readv_and_writev() {
    check("process_vm");
}

#[test]
fn namespaces_user_uts_mount_net_pid_and_setns() {
    let out = check("namespaces");
    assert!(!out.contains("exit=1"), "{out}");
}

#[test]
fn system_v_semaphores_and_message_queues() {
    let out = check("sysv_sem");
    assert_lines(&out, &["child round 3", "GETVAL 0=0 1=7"]);
    let out = check("sysv_msg");
    assert_lines(&out, &["parent got 8: CHARLIE", "qnum=3 lspid_is_child=1"]);
}

#[test]
fn posix_message_queues() {
    let out = check("posix_mq");
    assert_lines(
        &out,
        &[
            "received 5 prio=9: high",
            "timedreceive on empty: -1 ETIMEDOUT",
        ],
    );
}

#[test]
fn keys_memory_policy_quota_sysfs_io_ports_bpf_and_perf_events() {
    let out = check("misc_syscalls");
    assert_lines(
        &out,
        &[
            "KEYCTL_READ=10: payload-42",
            "sysfs(3): ok",
            "read 8 bytes: 1",
        ],
    );
}

#[test]
fn modify_ldt_is_run_again_in_the_replay() {
    let out = check("modify_ldt");
    assert!(out.contains("read via gs: 0x5eed1234"), "{out}");
}

#[test]
fn a_program_that_uses_ptrace_is_refused_by_name_and_its_trace_kept() {
    let traces = Traces::new("ptrace");
    let out = traces.record(&compile("unsupported_syscall", &[]), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("rewind: syscall ptrace (101) cannot be recorded"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the trace of what ran until then is kept in"),
        "{stderr}"
    );
    assert_eq!(text(&out.stdout), "before\n");
    let replay = traces.replay();
    let replayed = text(&replay.stderr);
    assert_eq!(text(&replay.stdout), "before\n", "{replayed}");
    assert!(
        replayed.contains("trace ends early after event"),
        "{replayed}"
    );
}

#[test]
fn system_v_shared_memory_between_processes() {
    let out = check("sysv_shm");
    assert_lines(
        &out,
        &[
            "parent sees: child wrote this, byte 5000=Z",
            "shmat after RMID: EINVAL",
        ],
    );
}

#[test]
fn clone_and_clone3_into_new_namespaces() {
    let out = check("clone_namespaces");
    assert_lines(
        &out,
        &[
            "nodename clone-uts, pid 1",
            "clone3: child exited 4",
            "parent's hostname unchanged: 1",
        ],
    );
}
