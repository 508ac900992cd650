//! Starting a tracee: fork, prepare the child, stop it, seize it, and run
//! it into its first exec.

use std::ffi::CString;
use std::io;

use crate::error::TraceeError;
use crate::ptrace::{self, Resume};
use crate::task::{SyscallStopKind, Task};
use crate::wait::{PtraceEvent, Stop};
use crate::Tid;

/// What the child execs, and how it is set up first.
pub struct SpawnSpec {
    /// The path to execute (already resolved; no PATH search happens).
    pub program: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    /// Replace stdin, stdout and stderr with /dev/null and leave the
    /// terminal's process group (replay: the tracee's I/O is emulated, and
    /// Ctrl-C typed into gdb must not reach it).
    pub detached: bool,
    /// The stack size limit (soft, hard) to start with, where it is not
    /// this process's own.
    pub stack_limit: Option<(u64, u64)>,
    /// Install the recording's seccomp filter (`crate::seccomp`) just
    /// before the exec, once traced.
    pub seccomp_filter: bool,
}

/// Forks a child that disables address-space randomization, makes rdtsc
/// trap (PR_TSC_SIGSEGV, inherited across exec), stops itself, and once
/// resumed execs `spec.program`. Returns it seized and stopped before the
/// exec.
pub fn spawn_stopped(spec: &SpawnSpec) -> Result<Task, TraceeError> {
    let argv: Vec<*const libc::c_char> = spec
        .argv
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let envp: Vec<*const libc::c_char> = spec
        .envp
        .iter()
        .map(|e| e.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let dev_null = c"/dev/null";
    let filter = libc::sock_fprog {
        len: crate::seccomp::FILTER.len() as u16,
        filter: crate::seccomp::FILTER.as_ptr() as *mut libc::sock_filter,
    };
    // One CPU for the whole tree, in recording and in replay alike:
    // CPUID reports the core it runs on (APIC ids, topology), and programs
    // read it without a syscall rewind could record. The tracer thread
    // (the caller) takes the same CPU, and the child inherits it: every
    // ptrace stop hands the CPU between tracee and tracer, and a wake-up
    // on another CPU costs an inter-processor interrupt, which in a
    // virtual machine made each stop about three times dearer.
    bind_calling_thread_to(first_allowed_cpu());
    let spawn_error = |what: &str| TraceeError::Spawn {
        what: what.to_string(),
        source: io::Error::last_os_error(),
    };

    // SAFETY: the child only makes async-signal-safe calls on memory
    // prepared before the fork, then execs or exits.
    let pid = unsafe { libc::fork() };
    if pid == -1 {
        return Err(spawn_error("cannot fork"));
    }
    if pid == 0 {
        // SAFETY: async-signal-safe calls only; pointers are valid C
        // strings and NULL-terminated arrays owned by this frame.
        unsafe {
            // The program starts as from a shell: nothing blocked (rewind
            // blocks SIGCHLD for itself), every signal at its default
            // (Rust's runtime ignores SIGPIPE, and ignored signals would
            // stay ignored across exec).
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            for signal in 1..libc::SIGRTMAX() {
                if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                    libc::signal(signal, libc::SIG_DFL);
                }
            }
            if let Some((soft, hard)) = spec.stack_limit {
                // Best effort: a hard limit above ours needs privilege;
                // the replay then reports where the stack ends differently.
                let limit = libc::rlimit {
                    rlim_cur: soft,
                    rlim_max: hard,
                };
                libc::setrlimit(libc::RLIMIT_STACK, &limit);
            }
            libc::personality(libc::ADDR_NO_RANDOMIZE as libc::c_ulong);
            libc::prctl(libc::PR_SET_TSC, libc::PR_TSC_SIGSEGV, 0, 0, 0);
            if spec.detached {
                libc::setpgid(0, 0);
                let fd = libc::open(dev_null.as_ptr(), libc::O_RDWR);
                if fd >= 0 {
                    for target in 0..3 {
                        libc::dup2(fd, target);
                    }
                    if fd > 2 {
                        libc::close(fd);
                    }
                }
            }
            libc::kill(libc::getpid(), libc::SIGSTOP);
            // Traced from here, with PTRACE_O_TRACESECCOMP set: the filter's
            // trace stops reach the tracer. Without privilege a filter needs
            // no_new_privs, which an unprivileged tracer's exec implies
            // anyway (it never gains the privileges of a set-user-id file).
            // The tracer reads the calls' results at their exit stops.
            if spec.seccomp_filter {
                // Root may install a filter without it, and keeps what a
                // set-user-id file or a security module's exec transition
                // gives (a tracer with CAP_SYS_PTRACE does not void them).
                if libc::geteuid() != 0 {
                    libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                }
                libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    0,
                    &filter as *const libc::sock_fprog,
                );
            }
            libc::execve(spec.program.as_ptr(), argv.as_ptr(), envp.as_ptr());
            libc::_exit(127);
        }
    }
    seize_stopped_child(pid)
}

/// The lowest-numbered CPU this process may run on.
fn first_allowed_cpu() -> Option<usize> {
    // SAFETY: cpu_set_t is plain bits; sched_getaffinity writes at most
    // its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        (0..libc::CPU_SETSIZE as usize).find(|&cpu| libc::CPU_ISSET(cpu, &set))
    }
}

/// Best effort: without a CPU to name, or where the kernel refuses, the
/// tree runs wherever the scheduler puts it, only slower.
fn bind_calling_thread_to(cpu: Option<usize>) {
    let Some(cpu) = cpu else { return };
    // SAFETY: cpu_set_t is plain bits; sched_setaffinity reads its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn seize_stopped_child(pid: Tid) -> Result<Task, TraceeError> {
    let mut status = 0;
    // SAFETY: waitpid writes one int.
    let got = unsafe { libc::waitpid(pid, &mut status, libc::WUNTRACED) };
    if got != pid || !libc::WIFSTOPPED(status) {
        return Err(TraceeError::Spawn {
            what: "the new process did not stop before exec".into(),
            source: io::Error::last_os_error(),
        });
    }
    ptrace::seize(pid)?;
    let task = Task::new(pid)?;
    // Seizing a stopped task makes the kernel report its stop to us as a
    // group-stop event.
    match task.wait()? {
        Stop::Event(PtraceEvent::Stop, _) => Ok(task),
        other => Err(TraceeError::UnexpectedStop {
            tid: pid,
            expected: "the group stop of a freshly seized child",
            got: format!("{other:?}"),
        }),
    }
}

/// How the first exec went.
pub enum FirstExec {
    /// The tracee is at the exit stop of a successful execve; `filtered`
    /// says whether the seccomp filter asked for is in place.
    Done { filtered: bool },
    /// execve failed with this errno; the child will exit.
    Failed(i32),
}

/// Runs a freshly spawned tracee through its execve, to the syscall exit
/// stop after the new program is loaded. The memory file is reopened for
/// the new address space.
pub fn run_to_first_exec(task: &mut Task) -> Result<FirstExec, TraceeError> {
    let unexpected = |got: Stop, expected: &'static str| TraceeError::UnexpectedStop {
        tid: task.tid,
        expected,
        got: format!("{got:?}"),
    };
    // The child's own calls before the exec: the filter's installation.
    let mut filtered = false;
    loop {
        let stop = task.step(Resume::Syscall, 0)?;
        if stop != Stop::Syscall || task.syscall_stop_kind()? != SyscallStopKind::Entry {
            return Err(unexpected(stop, "the entry of execve"));
        }
        let nr = task.regs()?.orig_rax as i64;
        if nr == libc::SYS_execve {
            break;
        }
        let stop = task.step(Resume::Syscall, 0)?;
        if stop != Stop::Syscall || task.syscall_stop_kind()? != SyscallStopKind::Exit {
            return Err(unexpected(stop, "the exit of the child's set-up call"));
        }
        if nr == libc::SYS_seccomp {
            filtered = task.regs()?.rax == 0;
        }
    }
    let mut stop = task.step(Resume::Syscall, 0)?;
    if let Stop::Event(PtraceEvent::Seccomp, _) = stop {
        stop = task.step(Resume::Syscall, 0)?;
    }
    match stop {
        Stop::Event(PtraceEvent::Exec, _) => {}
        Stop::Syscall => {
            let errno = -(task.regs()?.rax as i64);
            return Ok(FirstExec::Failed(errno as i32));
        }
        other => return Err(unexpected(other, "the exec of the new program")),
    }
    let stop = task.step(Resume::Syscall, 0)?;
    if stop != Stop::Syscall || task.syscall_stop_kind()? != SyscallStopKind::Exit {
        return Err(unexpected(stop, "the exit of execve"));
    }
    task.reopen_memory()?;
    Ok(FirstExec::Done { filtered })
}
