//! Record and replay of process trees and threads: each program's replay
//! must reproduce its output and status exactly.

mod support;

use support::*;

fn check(name: &str, args: &[&str]) -> String {
    let program = compile(name, &[]);
    let traces = Traces::new(name);
    let record = record_and_replay(&traces, &program, args);
    text(&record.stdout)
}

#[test]
fn mutex_contention() {
    check("threads_mutex", &[]);
}

#[test]
fn condvar_ping_pong() {
    check("threads_condvar", &[]);
}

#[test]
fn barrier() {
    check("threads_barrier", &[]);
}

#[test]
fn rwlock() {
    check("threads_rwlock", &[]);
}

#[test]
fn thread_local_storage() {
    check("threads_tls", &[]);
}

#[test]
fn detached_threads() {
    check("threads_detached", &[]);
}

#[test]
fn thread_exits_while_another_blocks() {
    check("thread_exit_while_blocked", &[]);
}

#[test]
fn spin_on_atomic_flag() {
    check("spin_flag", &[]);
}

#[test]
fn racing_unlocked_counter() {
    check("race_counter", &[]);
}

#[test]
fn cpu_bound_threads_with_progress() {
    check("cpu_threads_progress", &[]);
}

#[test]
fn fork_exec_with_pipes() {
    check("fork_exec_pipe", &[]);
}

#[test]
fn fork_and_wait() {
    check("fork_wait", &[]);
}

#[test]
fn vfork_and_exec() {
    check("vfork_exec", &[]);
}

#[test]
fn exec_from_a_thread() {
    check("exec_from_thread", &[]);
}

#[test]
fn shared_memory_between_processes() {
    check("shared_mmap_fork", &[]);
}

#[test]
fn futex_operations() {
    check("futex_ops", &[]);
}

#[test]
fn raw_clone_and_clone3() {
    check("clone_raw", &[]);
}

#[test]
fn scheduling_calls() {
    check("sched_calls", &[]);
}
