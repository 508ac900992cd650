//! The x86-64 syscall table: for every syscall, what the recorder must
//! capture and what the replayer must do (ARCHITECTURE.md "Recording"). The
//! recorder and replayer read this table instead of matching numbers.

use crate::{RemoteAddr, TraceeError};

pub mod bpf;
pub mod commands;
pub mod ioctl;
mod table;

pub use table::TABLE;

/// Memory the kernel writes during a syscall, described by the syscall's
/// arguments (indices 0..6) and result. Each is captured after the
/// syscall and written back by replay. Capturing bytes the kernel left
/// unchanged is harmless (replay writes what is already there), so fixed
/// outputs are captured whenever their pointer is readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// `len` bytes at the pointer in argument `arg`.
    Fixed { arg: u8, len: u32 },
    /// As many bytes as the (non-negative) result, at argument `arg`.
    ResultBytes { arg: u8 },
    /// `result * size` bytes at argument `arg`.
    ResultElements { arg: u8, size: u32 },
    /// `args[count] * size` bytes at argument `arg`.
    ArgElements { arg: u8, count: u8, size: u32 },
    /// As many bytes as argument `size` says, at argument `arg`.
    ArgBytes { arg: u8, size: u8 },
    /// An iovec array at `arg` of `args[count]` entries, filled in order
    /// with as many bytes as the result.
    Iovecs { arg: u8, count: u8 },
    /// A socket address buffer at `arg` whose length is the socklen_t at
    /// argument `len` (in: buffer size, out: address size).
    SockAddr { arg: u8, len: u8 },
    /// A `struct msghdr` at `arg`, as recvmsg fills it.
    MsgHdr { arg: u8 },
    /// The fd_sets of select: arguments 1, 2 and 3, sized by argument 0.
    FdSets,
    /// A NUL-terminated string of at most `max` bytes at argument `arg`.
    CString { arg: u8, max: u32 },
    /// As many bytes as the result, but no more than argument `size`
    /// (the result says how much there was, the size how much fit).
    ResultBytesUpTo { arg: u8, size: u8 },
    /// A bitmap of `args[bits]` bits at argument `arg`, in whole longs.
    Bitmap { arg: u8, bits: u8 },
    /// A message buffer (`long mtype` then the text) at `arg`, as msgrcv
    /// fills it: 8 bytes more than the result.
    MessageBuffer { arg: u8 },
    /// A `struct file_handle` at `arg`, as long as its `handle_bytes`.
    FileHandle { arg: u8 },
    /// A `struct mmsghdr` array at `arg` of as many entries as the result,
    /// each filled as recvmsg fills a msghdr.
    MmsgHdrs { arg: u8 },
    /// A `struct ifconf` at `arg` and the buffer it points to.
    IfConf { arg: u8 },
    /// A `struct fiemap` at `arg` and the extents after it.
    Fiemap { arg: u8 },
    /// A `struct file_dedupe_range` at `arg` and its info entries.
    DedupeRange { arg: u8 },
    /// `len` bytes at `addr`, found at entry through pointers inside an
    /// argument's struct (bpf).
    Absolute { addr: u64, len: u32 },
    /// One byte per page of the `args[len]` bytes of memory described
    /// (mincore's vector), at argument `arg`.
    PerPage { arg: u8, len: u8 },
}

/// What needs logic of its own on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    Mmap,
    Brk,
    Mremap,
    Execve,
    Ioctl,
    Fcntl,
    Prctl,
    /// seccomp(2): only SECCOMP_GET_NOTIF_SIZES writes to memory.
    Seccomp,
    ArchPrctl,
    /// Made to fail with ENOSYS so that libc does not use it.
    Rseq,
    /// clone, fork, vfork, clone3: a new task.
    Clone,
    /// shmat: maps a System V segment, shared with whoever attaches it.
    Shmat,
    /// shmdt: unmaps one.
    Shmdt,
    /// shmctl, semctl, msgctl: what they write depends on the command.
    IpcControl,
    /// quotactl, quotactl_fd: likewise.
    Quotactl,
    /// keyctl: likewise.
    Keyctl,
    /// bpf: likewise, through pointers inside its attribute union.
    Bpf,
    /// process_vm_writev: writes another process's memory.
    ProcessVmWritev,
    /// setrlimit, prlimit64: the stack limit decides where the stack stops
    /// growing, which the replay must reproduce.
    Rlimit,
}

/// How a syscall is recorded and replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Recording stops rather than produce a trace that would diverge; the
    /// reason says why it cannot be recorded.
    Unsupported(&'static str),
    /// Recorded when the kernel refuses it (it then did nothing); rewind
    /// cannot describe what a success does, so one stops the recording.
    OnlyFailing,
    /// Replay skips it and applies the recorded result and outputs.
    Emulate(&'static [Output]),
    /// Replay runs it again (it changes state of the replayed process that
    /// later execution depends on); the result must match.
    Execute,
    Special(Special),
}

/// One syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyscallSpec {
    pub number: u32,
    pub name: &'static str,
    pub handling: Handling,
}

/// The entry for syscall number `nr`.
pub fn lookup(nr: u64) -> Option<&'static SyscallSpec> {
    let index = TABLE
        .binary_search_by_key(&nr, |s| u64::from(s.number))
        .ok()?;
    TABLE.get(index)
}

/// Where the signal mask lies that a waiting syscall installs while it
/// waits (pselect6, ppoll, epoll_pwait, epoll_pwait2, rt_sigsuspend), or
/// None when it installs none.
pub fn temporary_sigmask(task: &crate::Task, regs: &trace_format::Registers) -> Option<u64> {
    let a = regs.syscall_args();
    let mask = match regs.orig_rax as i64 {
        libc::SYS_pselect6 => {
            if a[5] == 0 {
                return None;
            }
            task.read_u64(crate::RemoteAddr(a[5])).ok()?
        }
        libc::SYS_ppoll => a[3],
        libc::SYS_epoll_pwait | libc::SYS_epoll_pwait2 => a[4],
        libc::SYS_rt_sigsuspend => a[0],
        _ => return None,
    };
    (mask != 0).then_some(mask)
}

/// Changes rewind makes to a syscall's arguments before it runs, in
/// recording and replay alike (both call this at the entry stop, where
/// `regs` are the thread's registers):
/// - MADV_FREE lets the kernel free the pages whenever memory runs short,
///   or never; MADV_DONTNEED frees them now (rr does the same);
/// - CLONE_UNTRACED would let the new task escape the recording.
///
/// For clone3 the flags live in the program's `struct clone_args`, which
/// is changed in place.
pub fn apply_rewrites(
    task: &crate::Task,
    regs: &trace_format::Registers,
) -> Result<(), TraceeError> {
    let untraced = libc::CLONE_UNTRACED as u64;
    match regs.orig_rax as i64 {
        libc::SYS_madvise if regs.rdx == libc::MADV_FREE as u64 => {
            let mut changed = *regs;
            changed.rdx = libc::MADV_DONTNEED as u64;
            task.set_regs(&changed)
        }
        libc::SYS_clone if regs.rdi & untraced != 0 => {
            let mut changed = *regs;
            changed.rdi &= !untraced;
            task.set_regs(&changed)
        }
        libc::SYS_clone3 => match task.read_u64(RemoteAddr(regs.rdi)) {
            Ok(flags) if flags & untraced != 0 => {
                task.write_bytes(RemoteAddr(regs.rdi), &(flags & !untraced).to_le_bytes())
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// A word the kernel writes during a clone-family syscall, as an int.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloneWord {
    /// CLONE_PIDFD's new descriptor, in the parent.
    Pidfd,
    /// CLONE_PARENT_SETTID's id of the new task, in the parent, as the
    /// parent's PID namespace numbers it.
    ParentTid,
    /// CLONE_CHILD_SETTID's id, in the child, as the child's own
    /// namespace numbers it.
    ChildTid,
}

impl CloneWord {
    fn flag(self) -> i32 {
        match self {
            CloneWord::Pidfd => libc::CLONE_PIDFD,
            CloneWord::ParentTid => libc::CLONE_PARENT_SETTID,
            CloneWord::ChildTid => libc::CLONE_CHILD_SETTID,
        }
    }

    /// clone(2)'s argument for it: its pidfd goes where the parent's tid
    /// would (the kernel refuses the two together).
    fn clone_argument(self, regs: &trace_format::Registers) -> u64 {
        match self {
            CloneWord::Pidfd | CloneWord::ParentTid => regs.rdx,
            CloneWord::ChildTid => regs.r10,
        }
    }

    /// Its pointer's offset in clone3's `struct clone_args`.
    fn clone3_field(self) -> u64 {
        match self {
            CloneWord::Pidfd => 8,
            CloneWord::ChildTid => 16,
            CloneWord::ParentTid => 24,
        }
    }
}

/// Where a clone-family syscall (its entry `regs`, its `flags`) has the
/// kernel write `word`, if it asked for it.
pub fn clone_word(
    task: &crate::Task,
    regs: &trace_format::Registers,
    flags: u64,
    word: CloneWord,
) -> Option<u64> {
    if flags & word.flag() as u64 == 0 {
        return None;
    }
    let addr = match regs.orig_rax as i64 {
        libc::SYS_clone => word.clone_argument(regs),
        libc::SYS_clone3 => task
            .read_u64(RemoteAddr(regs.rdi + word.clone3_field()))
            .ok()?,
        _ => return None,
    };
    (addr != 0).then_some(addr)
}

/// The name of syscall `nr`, or `syscall_N`.
pub fn name(nr: u64) -> String {
    lookup(nr).map_or_else(|| format!("syscall_{}", nr as i64), |s| s.name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in TABLE.windows(2) {
            assert!(
                pair[0].number < pair[1].number,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
    }

    #[test]
    fn every_syscall_of_the_architecture_has_an_entry() {
        for sysno in syscalls::Sysno::iter() {
            let spec = lookup(sysno.id() as u64)
                .unwrap_or_else(|| panic!("no table entry for {}", sysno.name()));
            assert_eq!(spec.name, sysno.name(), "name of syscall {}", sysno.id());
        }
        for spec in TABLE {
            let sysno = syscalls::Sysno::new(spec.number as usize)
                .unwrap_or_else(|| panic!("{} is not an x86-64 syscall", spec.name));
            assert_eq!(sysno.name(), spec.name);
        }
    }

    #[test]
    fn numbers_agree_with_libc() {
        let libc_numbers: &[(i64, &str)] = &[
            (libc::SYS_read, "read"),
            (libc::SYS_write, "write"),
            (libc::SYS_open, "open"),
            (libc::SYS_close, "close"),
            (libc::SYS_stat, "stat"),
            (libc::SYS_fstat, "fstat"),
            (libc::SYS_lstat, "lstat"),
            (libc::SYS_poll, "poll"),
            (libc::SYS_lseek, "lseek"),
            (libc::SYS_mmap, "mmap"),
            (libc::SYS_mprotect, "mprotect"),
            (libc::SYS_munmap, "munmap"),
            (libc::SYS_brk, "brk"),
            (libc::SYS_rt_sigaction, "rt_sigaction"),
            (libc::SYS_rt_sigprocmask, "rt_sigprocmask"),
            (libc::SYS_rt_sigreturn, "rt_sigreturn"),
            (libc::SYS_ioctl, "ioctl"),
            (libc::SYS_pread64, "pread64"),
            (libc::SYS_pwrite64, "pwrite64"),
            (libc::SYS_readv, "readv"),
            (libc::SYS_writev, "writev"),
            (libc::SYS_access, "access"),
            (libc::SYS_pipe, "pipe"),
            (libc::SYS_select, "select"),
            (libc::SYS_sched_yield, "sched_yield"),
            (libc::SYS_mremap, "mremap"),
            (libc::SYS_msync, "msync"),
            (libc::SYS_mincore, "mincore"),
            (libc::SYS_madvise, "madvise"),
            (libc::SYS_shmget, "shmget"),
            (libc::SYS_shmat, "shmat"),
            (libc::SYS_shmctl, "shmctl"),
            (libc::SYS_dup, "dup"),
            (libc::SYS_dup2, "dup2"),
            (libc::SYS_pause, "pause"),
            (libc::SYS_nanosleep, "nanosleep"),
            (libc::SYS_getitimer, "getitimer"),
            (libc::SYS_alarm, "alarm"),
            (libc::SYS_setitimer, "setitimer"),
            (libc::SYS_getpid, "getpid"),
            (libc::SYS_sendfile, "sendfile"),
            (libc::SYS_socket, "socket"),
            (libc::SYS_connect, "connect"),
            (libc::SYS_accept, "accept"),
            (libc::SYS_sendto, "sendto"),
            (libc::SYS_recvfrom, "recvfrom"),
            (libc::SYS_sendmsg, "sendmsg"),
            (libc::SYS_recvmsg, "recvmsg"),
            (libc::SYS_shutdown, "shutdown"),
            (libc::SYS_bind, "bind"),
            (libc::SYS_listen, "listen"),
            (libc::SYS_getsockname, "getsockname"),
            (libc::SYS_getpeername, "getpeername"),
            (libc::SYS_socketpair, "socketpair"),
            (libc::SYS_setsockopt, "setsockopt"),
            (libc::SYS_getsockopt, "getsockopt"),
            (libc::SYS_clone, "clone"),
            (libc::SYS_fork, "fork"),
            (libc::SYS_vfork, "vfork"),
            (libc::SYS_execve, "execve"),
            (libc::SYS_exit, "exit"),
            (libc::SYS_wait4, "wait4"),
            (libc::SYS_kill, "kill"),
            (libc::SYS_uname, "uname"),
            (libc::SYS_semget, "semget"),
            (libc::SYS_semop, "semop"),
            (libc::SYS_semctl, "semctl"),
            (libc::SYS_shmdt, "shmdt"),
            (libc::SYS_msgget, "msgget"),
            (libc::SYS_msgsnd, "msgsnd"),
            (libc::SYS_msgrcv, "msgrcv"),
            (libc::SYS_msgctl, "msgctl"),
            (libc::SYS_fcntl, "fcntl"),
            (libc::SYS_flock, "flock"),
            (libc::SYS_fsync, "fsync"),
            (libc::SYS_fdatasync, "fdatasync"),
            (libc::SYS_truncate, "truncate"),
            (libc::SYS_ftruncate, "ftruncate"),
            (libc::SYS_getdents, "getdents"),
            (libc::SYS_getcwd, "getcwd"),
            (libc::SYS_chdir, "chdir"),
            (libc::SYS_fchdir, "fchdir"),
            (libc::SYS_rename, "rename"),
            (libc::SYS_mkdir, "mkdir"),
            (libc::SYS_rmdir, "rmdir"),
            (libc::SYS_creat, "creat"),
            (libc::SYS_link, "link"),
            (libc::SYS_unlink, "unlink"),
            (libc::SYS_symlink, "symlink"),
            (libc::SYS_readlink, "readlink"),
            (libc::SYS_chmod, "chmod"),
            (libc::SYS_fchmod, "fchmod"),
            (libc::SYS_chown, "chown"),
            (libc::SYS_fchown, "fchown"),
            (libc::SYS_lchown, "lchown"),
            (libc::SYS_umask, "umask"),
            (libc::SYS_gettimeofday, "gettimeofday"),
            (libc::SYS_getrlimit, "getrlimit"),
            (libc::SYS_getrusage, "getrusage"),
            (libc::SYS_sysinfo, "sysinfo"),
            (libc::SYS_times, "times"),
            (libc::SYS_ptrace, "ptrace"),
            (libc::SYS_getuid, "getuid"),
            (libc::SYS_syslog, "syslog"),
            (libc::SYS_getgid, "getgid"),
            (libc::SYS_setuid, "setuid"),
            (libc::SYS_setgid, "setgid"),
            (libc::SYS_geteuid, "geteuid"),
            (libc::SYS_getegid, "getegid"),
            (libc::SYS_setpgid, "setpgid"),
            (libc::SYS_getppid, "getppid"),
            (libc::SYS_getpgrp, "getpgrp"),
            (libc::SYS_setsid, "setsid"),
            (libc::SYS_setreuid, "setreuid"),
            (libc::SYS_setregid, "setregid"),
            (libc::SYS_getgroups, "getgroups"),
            (libc::SYS_setgroups, "setgroups"),
            (libc::SYS_setresuid, "setresuid"),
            (libc::SYS_getresuid, "getresuid"),
            (libc::SYS_setresgid, "setresgid"),
            (libc::SYS_getresgid, "getresgid"),
            (libc::SYS_getpgid, "getpgid"),
            (libc::SYS_setfsuid, "setfsuid"),
            (libc::SYS_setfsgid, "setfsgid"),
            (libc::SYS_getsid, "getsid"),
            (libc::SYS_capget, "capget"),
            (libc::SYS_capset, "capset"),
            (libc::SYS_rt_sigpending, "rt_sigpending"),
            (libc::SYS_rt_sigtimedwait, "rt_sigtimedwait"),
            (libc::SYS_rt_sigqueueinfo, "rt_sigqueueinfo"),
            (libc::SYS_rt_sigsuspend, "rt_sigsuspend"),
            (libc::SYS_sigaltstack, "sigaltstack"),
            (libc::SYS_utime, "utime"),
            (libc::SYS_mknod, "mknod"),
            (libc::SYS_uselib, "uselib"),
            (libc::SYS_personality, "personality"),
            (libc::SYS_ustat, "ustat"),
            (libc::SYS_statfs, "statfs"),
            (libc::SYS_fstatfs, "fstatfs"),
            (libc::SYS_sysfs, "sysfs"),
            (libc::SYS_getpriority, "getpriority"),
            (libc::SYS_setpriority, "setpriority"),
            (libc::SYS_sched_setparam, "sched_setparam"),
            (libc::SYS_sched_getparam, "sched_getparam"),
            (libc::SYS_sched_setscheduler, "sched_setscheduler"),
            (libc::SYS_sched_getscheduler, "sched_getscheduler"),
            (libc::SYS_sched_get_priority_max, "sched_get_priority_max"),
            (libc::SYS_sched_get_priority_min, "sched_get_priority_min"),
            (libc::SYS_sched_rr_get_interval, "sched_rr_get_interval"),
            (libc::SYS_mlock, "mlock"),
            (libc::SYS_munlock, "munlock"),
            (libc::SYS_mlockall, "mlockall"),
            (libc::SYS_munlockall, "munlockall"),
            (libc::SYS_vhangup, "vhangup"),
            (libc::SYS_modify_ldt, "modify_ldt"),
            (libc::SYS_pivot_root, "pivot_root"),
            (libc::SYS__sysctl, "_sysctl"),
            (libc::SYS_prctl, "prctl"),
            (libc::SYS_arch_prctl, "arch_prctl"),
            (libc::SYS_adjtimex, "adjtimex"),
            (libc::SYS_setrlimit, "setrlimit"),
            (libc::SYS_chroot, "chroot"),
            (libc::SYS_sync, "sync"),
            (libc::SYS_acct, "acct"),
            (libc::SYS_settimeofday, "settimeofday"),
            (libc::SYS_mount, "mount"),
            (libc::SYS_umount2, "umount2"),
            (libc::SYS_swapon, "swapon"),
            (libc::SYS_swapoff, "swapoff"),
            (libc::SYS_reboot, "reboot"),
            (libc::SYS_sethostname, "sethostname"),
            (libc::SYS_setdomainname, "setdomainname"),
            (libc::SYS_iopl, "iopl"),
            (libc::SYS_ioperm, "ioperm"),
            (libc::SYS_init_module, "init_module"),
            (libc::SYS_delete_module, "delete_module"),
            (libc::SYS_quotactl, "quotactl"),
            (libc::SYS_nfsservctl, "nfsservctl"),
            (libc::SYS_getpmsg, "getpmsg"),
            (libc::SYS_putpmsg, "putpmsg"),
            (libc::SYS_afs_syscall, "afs_syscall"),
            (libc::SYS_tuxcall, "tuxcall"),
            (libc::SYS_security, "security"),
            (libc::SYS_gettid, "gettid"),
            (libc::SYS_readahead, "readahead"),
            (libc::SYS_setxattr, "setxattr"),
            (libc::SYS_lsetxattr, "lsetxattr"),
            (libc::SYS_fsetxattr, "fsetxattr"),
            (libc::SYS_getxattr, "getxattr"),
            (libc::SYS_lgetxattr, "lgetxattr"),
            (libc::SYS_fgetxattr, "fgetxattr"),
            (libc::SYS_listxattr, "listxattr"),
            (libc::SYS_llistxattr, "llistxattr"),
            (libc::SYS_flistxattr, "flistxattr"),
            (libc::SYS_removexattr, "removexattr"),
            (libc::SYS_lremovexattr, "lremovexattr"),
            (libc::SYS_fremovexattr, "fremovexattr"),
            (libc::SYS_tkill, "tkill"),
            (libc::SYS_time, "time"),
            (libc::SYS_futex, "futex"),
            (libc::SYS_sched_setaffinity, "sched_setaffinity"),
            (libc::SYS_sched_getaffinity, "sched_getaffinity"),
            (libc::SYS_set_thread_area, "set_thread_area"),
            (libc::SYS_io_setup, "io_setup"),
            (libc::SYS_io_destroy, "io_destroy"),
            (libc::SYS_io_getevents, "io_getevents"),
            (libc::SYS_io_submit, "io_submit"),
            (libc::SYS_io_cancel, "io_cancel"),
            (libc::SYS_get_thread_area, "get_thread_area"),
            (libc::SYS_lookup_dcookie, "lookup_dcookie"),
            (libc::SYS_epoll_create, "epoll_create"),
            (libc::SYS_epoll_ctl_old, "epoll_ctl_old"),
            (libc::SYS_epoll_wait_old, "epoll_wait_old"),
            (libc::SYS_remap_file_pages, "remap_file_pages"),
            (libc::SYS_getdents64, "getdents64"),
            (libc::SYS_set_tid_address, "set_tid_address"),
            (libc::SYS_restart_syscall, "restart_syscall"),
            (libc::SYS_semtimedop, "semtimedop"),
            (libc::SYS_fadvise64, "fadvise64"),
            (libc::SYS_timer_create, "timer_create"),
            (libc::SYS_timer_settime, "timer_settime"),
            (libc::SYS_timer_gettime, "timer_gettime"),
            (libc::SYS_timer_getoverrun, "timer_getoverrun"),
            (libc::SYS_timer_delete, "timer_delete"),
            (libc::SYS_clock_settime, "clock_settime"),
            (libc::SYS_clock_gettime, "clock_gettime"),
            (libc::SYS_clock_getres, "clock_getres"),
            (libc::SYS_clock_nanosleep, "clock_nanosleep"),
            (libc::SYS_exit_group, "exit_group"),
            (libc::SYS_epoll_wait, "epoll_wait"),
            (libc::SYS_epoll_ctl, "epoll_ctl"),
            (libc::SYS_tgkill, "tgkill"),
            (libc::SYS_utimes, "utimes"),
            (libc::SYS_vserver, "vserver"),
            (libc::SYS_mbind, "mbind"),
            (libc::SYS_set_mempolicy, "set_mempolicy"),
            (libc::SYS_get_mempolicy, "get_mempolicy"),
            (libc::SYS_mq_open, "mq_open"),
            (libc::SYS_mq_unlink, "mq_unlink"),
            (libc::SYS_mq_timedsend, "mq_timedsend"),
            (libc::SYS_mq_timedreceive, "mq_timedreceive"),
            (libc::SYS_mq_notify, "mq_notify"),
            (libc::SYS_mq_getsetattr, "mq_getsetattr"),
            (libc::SYS_kexec_load, "kexec_load"),
            (libc::SYS_waitid, "waitid"),
            (libc::SYS_add_key, "add_key"),
            (libc::SYS_request_key, "request_key"),
            (libc::SYS_keyctl, "keyctl"),
            (libc::SYS_ioprio_set, "ioprio_set"),
            (libc::SYS_ioprio_get, "ioprio_get"),
            (libc::SYS_inotify_init, "inotify_init"),
            (libc::SYS_inotify_add_watch, "inotify_add_watch"),
            (libc::SYS_inotify_rm_watch, "inotify_rm_watch"),
            (libc::SYS_migrate_pages, "migrate_pages"),
            (libc::SYS_openat, "openat"),
            (libc::SYS_mkdirat, "mkdirat"),
            (libc::SYS_mknodat, "mknodat"),
            (libc::SYS_fchownat, "fchownat"),
            (libc::SYS_futimesat, "futimesat"),
            (libc::SYS_newfstatat, "newfstatat"),
            (libc::SYS_unlinkat, "unlinkat"),
            (libc::SYS_renameat, "renameat"),
            (libc::SYS_linkat, "linkat"),
            (libc::SYS_symlinkat, "symlinkat"),
            (libc::SYS_readlinkat, "readlinkat"),
            (libc::SYS_fchmodat, "fchmodat"),
            (libc::SYS_faccessat, "faccessat"),
            (libc::SYS_pselect6, "pselect6"),
            (libc::SYS_ppoll, "ppoll"),
            (libc::SYS_unshare, "unshare"),
            (libc::SYS_set_robust_list, "set_robust_list"),
            (libc::SYS_get_robust_list, "get_robust_list"),
            (libc::SYS_splice, "splice"),
            (libc::SYS_tee, "tee"),
            (libc::SYS_sync_file_range, "sync_file_range"),
            (libc::SYS_vmsplice, "vmsplice"),
            (libc::SYS_move_pages, "move_pages"),
            (libc::SYS_utimensat, "utimensat"),
            (libc::SYS_epoll_pwait, "epoll_pwait"),
            (libc::SYS_signalfd, "signalfd"),
            (libc::SYS_timerfd_create, "timerfd_create"),
            (libc::SYS_eventfd, "eventfd"),
            (libc::SYS_fallocate, "fallocate"),
            (libc::SYS_timerfd_settime, "timerfd_settime"),
            (libc::SYS_timerfd_gettime, "timerfd_gettime"),
            (libc::SYS_accept4, "accept4"),
            (libc::SYS_signalfd4, "signalfd4"),
            (libc::SYS_eventfd2, "eventfd2"),
            (libc::SYS_epoll_create1, "epoll_create1"),
            (libc::SYS_dup3, "dup3"),
            (libc::SYS_pipe2, "pipe2"),
            (libc::SYS_inotify_init1, "inotify_init1"),
            (libc::SYS_preadv, "preadv"),
            (libc::SYS_pwritev, "pwritev"),
            (libc::SYS_rt_tgsigqueueinfo, "rt_tgsigqueueinfo"),
            (libc::SYS_perf_event_open, "perf_event_open"),
            (libc::SYS_recvmmsg, "recvmmsg"),
            (libc::SYS_fanotify_init, "fanotify_init"),
            (libc::SYS_fanotify_mark, "fanotify_mark"),
            (libc::SYS_prlimit64, "prlimit64"),
            (libc::SYS_name_to_handle_at, "name_to_handle_at"),
            (libc::SYS_open_by_handle_at, "open_by_handle_at"),
            (libc::SYS_clock_adjtime, "clock_adjtime"),
            (libc::SYS_syncfs, "syncfs"),
            (libc::SYS_sendmmsg, "sendmmsg"),
            (libc::SYS_setns, "setns"),
            (libc::SYS_getcpu, "getcpu"),
            (libc::SYS_process_vm_readv, "process_vm_readv"),
            (libc::SYS_process_vm_writev, "process_vm_writev"),
            (libc::SYS_kcmp, "kcmp"),
            (libc::SYS_finit_module, "finit_module"),
            (libc::SYS_sched_setattr, "sched_setattr"),
            (libc::SYS_sched_getattr, "sched_getattr"),
            (libc::SYS_renameat2, "renameat2"),
            (libc::SYS_seccomp, "seccomp"),
            (libc::SYS_getrandom, "getrandom"),
            (libc::SYS_memfd_create, "memfd_create"),
            (libc::SYS_kexec_file_load, "kexec_file_load"),
            (libc::SYS_bpf, "bpf"),
            (libc::SYS_execveat, "execveat"),
            (libc::SYS_userfaultfd, "userfaultfd"),
            (libc::SYS_membarrier, "membarrier"),
            (libc::SYS_mlock2, "mlock2"),
            (libc::SYS_copy_file_range, "copy_file_range"),
            (libc::SYS_preadv2, "preadv2"),
            (libc::SYS_pwritev2, "pwritev2"),
            (libc::SYS_pkey_mprotect, "pkey_mprotect"),
            (libc::SYS_pkey_alloc, "pkey_alloc"),
            (libc::SYS_pkey_free, "pkey_free"),
            (libc::SYS_statx, "statx"),
            (libc::SYS_rseq, "rseq"),
            (libc::SYS_pidfd_send_signal, "pidfd_send_signal"),
            (libc::SYS_io_uring_setup, "io_uring_setup"),
            (libc::SYS_io_uring_enter, "io_uring_enter"),
            (libc::SYS_io_uring_register, "io_uring_register"),
            (libc::SYS_open_tree, "open_tree"),
            (libc::SYS_move_mount, "move_mount"),
            (libc::SYS_fsopen, "fsopen"),
            (libc::SYS_fsconfig, "fsconfig"),
            (libc::SYS_fsmount, "fsmount"),
            (libc::SYS_fspick, "fspick"),
            (libc::SYS_pidfd_open, "pidfd_open"),
            (libc::SYS_clone3, "clone3"),
            (libc::SYS_close_range, "close_range"),
            (libc::SYS_openat2, "openat2"),
            (libc::SYS_pidfd_getfd, "pidfd_getfd"),
            (libc::SYS_faccessat2, "faccessat2"),
            (libc::SYS_process_madvise, "process_madvise"),
            (libc::SYS_epoll_pwait2, "epoll_pwait2"),
            (libc::SYS_mount_setattr, "mount_setattr"),
            (libc::SYS_quotactl_fd, "quotactl_fd"),
            (libc::SYS_landlock_create_ruleset, "landlock_create_ruleset"),
            (libc::SYS_landlock_add_rule, "landlock_add_rule"),
            (libc::SYS_landlock_restrict_self, "landlock_restrict_self"),
            (libc::SYS_memfd_secret, "memfd_secret"),
            (libc::SYS_process_mrelease, "process_mrelease"),
            (libc::SYS_futex_waitv, "futex_waitv"),
            (libc::SYS_set_mempolicy_home_node, "set_mempolicy_home_node"),
        ];
        for &(number, name) in libc_numbers {
            let spec = lookup(number as u64).unwrap_or_else(|| panic!("no entry for {name}"));
            assert_eq!(spec.name, name);
        }
    }

    #[test]
    fn output_arguments_are_valid_indices() {
        for spec in TABLE {
            if let Handling::Emulate(outputs) = spec.handling {
                for output in outputs {
                    let args: Vec<u8> = match *output {
                        Output::Fixed { arg, .. }
                        | Output::ResultBytes { arg }
                        | Output::ResultElements { arg, .. }
                        | Output::MsgHdr { arg } => vec![arg],
                        Output::ArgElements { arg, count, .. } => vec![arg, count],
                        Output::ArgBytes { arg, size } => vec![arg, size],
                        Output::Iovecs { arg, count } => vec![arg, count],
                        Output::SockAddr { arg, len } => vec![arg, len],
                        Output::FdSets | Output::Absolute { .. } => vec![],
                        Output::CString { arg, .. }
                        | Output::MessageBuffer { arg }
                        | Output::FileHandle { arg }
                        | Output::MmsgHdrs { arg }
                        | Output::IfConf { arg }
                        | Output::Fiemap { arg }
                        | Output::DedupeRange { arg } => vec![arg],
                        Output::ResultBytesUpTo { arg, size } => vec![arg, size],
                        Output::PerPage { arg, len } => vec![arg, len],
                        Output::Bitmap { arg, bits } => vec![arg, bits],
                    };
                    assert!(args.iter().all(|&a| a < 6), "{}", spec.name);
                }
            }
        }
    }
}
