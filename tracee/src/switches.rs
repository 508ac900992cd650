//! A count of a tracee thread's context switches that signals the
//! recorder at each one (ARCHITECTURE.md "syscallbuf", "Blocking calls").
//! A call through the preload library never stops the thread, so without
//! it the recorder could not tell that the thread is waiting in the kernel
//! (for a pipe, a futex, a peer) while the thread it waits on is held
//! stopped. rr arms the same software event from inside the tracee; here
//! the recorder owns it, so it needs no descriptor in the program and
//! nothing to replay.
//!
//! The event is the kernel's sched_switch tracepoint filtered to switches
//! into an interruptible sleep where tracefs names it, else the software
//! event `PERF_COUNT_SW_CONTEXT_SWITCHES` (every switch, ptrace stops
//! included). Neither needs a hardware counter, but counting in the
//! kernel needs `perf_event_paranoid` ≤ 1 or CAP_PERFMON, and container
//! profiles often refuse `perf_event_open` altogether.

use std::cell::Cell;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

use crate::Tid;

/// The signal the counters send the recorder: blocked in all its threads
/// and read from its waiter's signalfd.
pub const NOTICE_SIGNAL: i32 = libc::SIGIO;

const PERF_TYPE_SOFTWARE: u32 = 1;
const PERF_TYPE_TRACEPOINT: u32 = 2;
const PERF_COUNT_SW_CONTEXT_SWITCHES: u64 = 3;
/// `perf_event_attr` as its first version laid it out; the kernel takes
/// any size it knows.
const ATTR_SIZE_VER0: usize = 64;

const PERF_FLAG_FD_CLOEXEC: u64 = 1 << 3;
const F_SETSIG: i32 = 10;
const F_SETOWN_EX: i32 = 15;
const F_OWNER_TID: i32 = 0;
const PERF_EVENT_IOC_ENABLE: u64 = 0x2400;
const PERF_EVENT_IOC_DISABLE: u64 = 0x2401;
const PERF_EVENT_IOC_SET_FILTER: u64 = 0x4008_2406;

/// The kernel's `struct f_owner_ex`.
#[repr(C)]
struct OwnerEx {
    kind: i32,
    tid: Tid,
}

/// The calling thread's id, which a counter notifies.
pub fn this_thread() -> Tid {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as Tid }
}

/// A thread's context-switch counter; closing it stops the notices.
#[derive(Debug)]
pub struct SwitchCounter {
    fd: OwnedFd,
    /// Between `pause` and `resume`: the switches go uncounted.
    paused: Cell<bool>,
    /// Only the switches into a sleep (`open_sleeps`).
    sleeps: bool,
}

impl SwitchCounter {
    /// Counts `tid`'s context switches from now on and sends
    /// `NOTICE_SIGNAL` to this process's thread `notified` at every one
    /// (a signal to the process could go to a thread that does not block
    /// it, and end the process).
    ///
    /// Every switch, ptrace stops included; see `open_sleeps`.
    pub fn open(tid: Tid, notified: Tid) -> io::Result<SwitchCounter> {
        SwitchCounter::notifying(open_switches(tid)?, notified, false)
    }

    /// Like `open`, but only the switches into an interruptible sleep,
    /// where tracefs names the kernel's sched_switch tracepoint and the
    /// kernel takes the filter. The kernel registers its probe at the
    /// first such counter in the system and unregisters it at the last
    /// one's close, which waits for an RCU grace period (30-40 ms here):
    /// worth it for a long recording only.
    pub fn open_sleeps(tid: Tid, notified: Tid) -> io::Result<SwitchCounter> {
        let id = sleep_tracepoint().ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        SwitchCounter::notifying(open_sleeps(tid, id)?, notified, true)
    }

    /// Whether it counts only the switches into a sleep.
    pub fn counts_sleeps(&self) -> bool {
        self.sleeps
    }

    /// The counter of event `fd`, which sends `notified` its notices.
    fn notifying(fd: OwnedFd, notified: Tid, sleeps: bool) -> io::Result<SwitchCounter> {
        let raw = fd.as_raw_fd();
        let owner = OwnerEx {
            kind: F_OWNER_TID,
            tid: notified,
        };
        // SAFETY: fcntl on a descriptor this function owns; F_SETOWN_EX
        // reads one `f_owner_ex`, which `owner` is.
        let set_up = unsafe {
            libc::fcntl(raw, F_SETOWN_EX, &owner as *const OwnerEx) == 0
                && libc::fcntl(raw, F_SETSIG, NOTICE_SIGNAL) == 0
                && libc::fcntl(raw, libc::F_SETFL, libc::O_ASYNC | libc::O_NONBLOCK) == 0
        };
        if !set_up {
            return Err(io::Error::last_os_error());
        }
        Ok(SwitchCounter {
            fd,
            paused: Cell::new(false),
            sleeps,
        })
    }

    /// No notices until `resume`: for a thread in a traced syscall, whose
    /// stops and sleeps the recorder knows of, and each of whose notices
    /// costs the kernel an interrupt and a signal.
    pub fn pause(&self) {
        if !self.paused.replace(true) {
            self.control(PERF_EVENT_IOC_DISABLE);
        }
    }

    /// Notices again from the next switch on.
    pub fn resume(&self) {
        if self.paused.replace(false) {
            self.control(PERF_EVENT_IOC_ENABLE);
        }
    }

    fn control(&self, request: u64) {
        // SAFETY: an argument-less perf ioctl on a descriptor this counter
        // owns. It cannot fail on a live counter; one that did would only
        // cost speed (extra notices) or a blocked buffered call waiting
        // for the end of its time slice, as without a counter.
        unsafe {
            libc::ioctl(self.fd.as_raw_fd(), request as _, 0);
        }
    }

    /// The descriptor, as the notices name it (`si_fd`).
    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }
}

/// A software event: every context switch of `tid`.
fn open_switches(tid: Tid) -> io::Result<OwnedFd> {
    open_event(tid, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES)
}

/// The sched_switch tracepoint, filtered to `tid`'s switches into an
/// interruptible sleep (TASK_INTERRUPTIBLE, 1, 'S'): not its ptrace stops
/// ('t') nor its preemptions, whose notices each cost the kernel an
/// interrupt and a signal for nothing. A bit test rather than equality:
/// kernels before 4.14 report the raw state, other flags included.
/// Counting a tracepoint needs the same privilege as the software event,
/// and its id needs tracefs.
fn open_sleeps(tid: Tid, tracepoint: u64) -> io::Result<OwnedFd> {
    let fd = open_event(tid, PERF_TYPE_TRACEPOINT, tracepoint)?;
    let filter = c"prev_state & 1";
    // SAFETY: SET_FILTER reads the NUL-terminated string, which lives
    // through the call, on a descriptor this function owns.
    let filtered = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            PERF_EVENT_IOC_SET_FILTER as _,
            filter.as_ptr(),
        )
    };
    if filtered != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

/// The id of the kernel's sched_switch tracepoint, read once from tracefs;
/// None where tracefs is not mounted or not readable.
fn sleep_tracepoint() -> Option<u64> {
    static ID: OnceLock<Option<u64>> = OnceLock::new();
    *ID.get_or_init(|| {
        ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
            .iter()
            .find_map(|root| {
                std::fs::read_to_string(format!("{root}/events/sched/sched_switch/id")).ok()
            })
            .and_then(|id| id.trim().parse().ok())
    })
}

/// One perf event of `kind` and `config` on thread `tid`, with an overflow
/// (and so a notice) at each.
fn open_event(tid: Tid, kind: u32, config: u64) -> io::Result<OwnedFd> {
    let mut attr = [0u8; ATTR_SIZE_VER0];
    attr[0..4].copy_from_slice(&kind.to_le_bytes());
    attr[4..8].copy_from_slice(&(ATTR_SIZE_VER0 as u32).to_le_bytes());
    attr[8..16].copy_from_slice(&config.to_le_bytes());
    // sample_period: an overflow at every one.
    attr[16..24].copy_from_slice(&1u64.to_le_bytes());
    // Every flag clear: enabled from the start, this thread alone (not
    // its children), kernel and user both counted.
    // SAFETY: `attr` is a perf_event_attr of the size it names, read by
    // the kernel only; the call returns a new descriptor or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            tid,
            -1i32,
            -1i32,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the kernel lets this process count its own switches, a sleep
    /// makes a notice.
    #[test]
    fn a_sleep_sends_a_notice() {
        sleeping_notifies(|tid| SwitchCounter::open(tid, tid));
    }

    #[test]
    fn a_sleep_sends_a_notice_through_the_tracepoint_too() {
        if sleep_tracepoint().is_none() {
            return;
        }
        sleeping_notifies(|tid| SwitchCounter::open_sleeps(tid, tid));
    }

    fn sleeping_notifies(open: impl Fn(Tid) -> io::Result<SwitchCounter>) {
        crate::waiter::block_signals(&[NOTICE_SIGNAL]);
        let tid = this_thread();
        let counter = match open(tid) {
            Ok(counter) => counter,
            // A machine that refuses it: what the recorder then does is
            // tested in tests/blocking.rs.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => return,
            Err(e) => panic!("perf_event_open: {e}"),
        };
        std::thread::sleep(std::time::Duration::from_millis(5));
        // SAFETY: `set` is a live sigset_t; sigtimedwait writes `info`.
        let got = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, NOTICE_SIGNAL);
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let timeout = libc::timespec {
                tv_sec: 1,
                tv_nsec: 0,
            };
            libc::sigtimedwait(&set, &mut info, &timeout)
        };
        assert_eq!(got, NOTICE_SIGNAL);
        drop(counter);
    }
}
