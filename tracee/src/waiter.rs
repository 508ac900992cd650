//! Waiting for any tracee with a timeout. waitpid cannot time out, so the
//! recorder blocks SIGCHLD (which the kernel sends to a tracer at every
//! tracee stop) and sleeps in poll on a signalfd for it. The same signalfd
//! takes the signals that would otherwise kill the recorder (SIGTERM,
//! SIGHUP), so that it can end the recording cleanly instead.

use std::cell::Cell;
use std::io;
use std::time::Duration;

use crate::clock::Moment;

use crate::error::TraceeError;
use crate::wait::Stop;
use crate::Tid;

/// Blocks SIGCHLD in the calling thread. Call it before creating any other
/// thread (they inherit the mask), so that no thread consumes the signal
/// that wakes `ChildWaiter`.
pub fn block_sigchld() {
    block_signals(&[libc::SIGCHLD]);
}

/// Blocks `signals` in the calling thread (and the threads it creates
/// later), for a `ChildWaiter` to take them.
pub fn block_signals(signals: &[i32]) {
    let set = signal_set(signals);
    // SAFETY: `set` is a live sigset_t; the old mask is not wanted.
    unsafe {
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

fn signal_set(signals: &[i32]) -> libc::sigset_t {
    // SAFETY: sigset_t is plain bits, initialized by sigemptyset; sigaddset
    // rejects invalid numbers without touching memory elsewhere.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &signal in signals {
            libc::sigaddset(&mut set, signal);
        }
        set
    }
}

/// Whether the calling thread blocks SIGCHLD, which `ChildWaiter` needs.
pub fn sigchld_blocked() -> bool {
    // SAFETY: `current` is a local sigset_t that pthread_sigmask fills in;
    // a null new set only queries the mask.
    unsafe {
        let mut current: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut current) == 0
            && libc::sigismember(&current, libc::SIGCHLD) == 1
    }
}

/// Waits for stops of any tracee.
pub struct ChildWaiter {
    signal_fd: i32,
    /// Signals other than SIGCHLD that came, oldest first.
    received: Cell<Vec<i32>>,
}

impl ChildWaiter {
    /// Requires SIGCHLD blocked in every thread (see `block_sigchld`).
    pub fn new() -> Result<ChildWaiter, TraceeError> {
        ChildWaiter::taking(&[])
    }

    /// A waiter that also takes `signals`, which the caller has blocked
    /// (see `block_signals`): `wait_any` returns early when one comes, and
    /// `take_signals` hands them over.
    pub fn taking(signals: &[i32]) -> Result<ChildWaiter, TraceeError> {
        let mut all = vec![libc::SIGCHLD];
        all.extend_from_slice(signals);
        let set = signal_set(&all);
        // SAFETY: `set` is a live sigset_t; signalfd returns a new fd.
        let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
        if fd < 0 {
            return Err(TraceeError::Wait {
                tid: -1,
                source: io::Error::last_os_error(),
            });
        }
        Ok(ChildWaiter {
            signal_fd: fd,
            received: Cell::new(Vec::new()),
        })
    }

    /// The signals (other than SIGCHLD) that came since the last call.
    pub fn take_signals(&self) -> Vec<i32> {
        self.received.take()
    }

    /// The next stop of any tracee, waiting at most `timeout` (forever when
    /// `None`). `Ok(None)` means the time ran out, or a signal of those the
    /// waiter takes came.
    pub fn wait_any(&self, timeout: Option<Duration>) -> Result<Option<(Tid, Stop)>, TraceeError> {
        // Read the clock only once a sleep is due: most waits find a stop
        // already reported, and a clock read is a syscall here.
        let mut deadline = None;
        loop {
            if let Some(found) = poll_any()? {
                return Ok(Some(found));
            }
            // One may have come while another wait drained the signalfd.
            if self.has_signals() {
                return Ok(None);
            }
            let until = *deadline.get_or_insert_with(|| timeout.map(|t| Moment::now() + t));
            if !self.sleep_until(until, -1)? {
                return Ok(None);
            }
        }
    }

    /// Forgets every `signo` that came so far, those still unread
    /// included.
    pub fn forget(&self, signo: i32) {
        self.drain();
        let mut received = self.received.take();
        received.retain(|&s| s != signo);
        self.received.set(received);
    }

    fn has_signals(&self) -> bool {
        let received = self.received.take();
        let any = !received.is_empty();
        self.received.set(received);
        any
    }

    /// The next stop of `tid` alone, waiting at most `timeout`. Other
    /// tracees' stops stay queued in the kernel for their own waits.
    pub fn wait_for(&self, tid: Tid, timeout: Duration) -> Result<Option<Stop>, TraceeError> {
        let deadline = Some(Moment::now() + timeout);
        loop {
            if let Some(stop) = poll_one(tid)? {
                return Ok(Some(stop));
            }
            if !self.sleep_until(deadline, tid)? {
                return Ok(None);
            }
        }
    }

    /// Sleeps until a SIGCHLD arrives or `deadline` passes; false when the
    /// deadline had already passed. `tid` names the wait in errors.
    fn sleep_until(&self, deadline: Option<Moment>, tid: Tid) -> Result<bool, TraceeError> {
        let left = match deadline {
            None => None,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Moment::now());
                if left.is_zero() {
                    return Ok(false);
                }
                Some(libc::timespec {
                    tv_sec: left.as_secs() as libc::time_t,
                    tv_nsec: libc::c_long::from(left.subsec_nanos()),
                })
            }
        };
        let mut pfd = libc::pollfd {
            fd: self.signal_fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let timeout = left
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: one valid pollfd; the timeout is null or points to a
        // live timespec; no signal mask change.
        let ready = unsafe { libc::ppoll(&mut pfd, 1, timeout, std::ptr::null()) };
        if ready < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return Err(TraceeError::Wait {
                tid,
                source: io::Error::last_os_error(),
            });
        }
        self.drain();
        Ok(true)
    }

    fn drain(&self) {
        // Struct signalfd_siginfo, 128 bytes each, whose first field is
        // the number; a read returns as many as are pending and fit.
        const SIGINFO: usize = 128;
        let mut infos = [0u8; 8 * SIGINFO];
        let mut received = self.received.take();
        loop {
            // SAFETY: reads at most the buffer's size into it; the fd is
            // non-blocking.
            let got = unsafe { libc::read(self.signal_fd, infos.as_mut_ptr().cast(), infos.len()) };
            if got <= 0 {
                break;
            }
            let got = got as usize;
            for info in infos[..got].chunks_exact(SIGINFO) {
                let signo = i32::from_le_bytes([info[0], info[1], info[2], info[3]]);
                if signo != libc::SIGCHLD {
                    received.push(signo);
                }
            }
            // Fewer than fit: none was left.
            if got < infos.len() {
                break;
            }
        }
        self.received.set(received);
    }
}

impl Drop for ChildWaiter {
    fn drop(&mut self) {
        // SAFETY: closes the fd this waiter owns.
        unsafe {
            libc::close(self.signal_fd);
        }
    }
}

/// One pending stop of any tracee, without blocking.
pub fn poll_any() -> Result<Option<(Tid, Stop)>, TraceeError> {
    let mut status = 0;
    // SAFETY: waitpid writes one int.
    let got = unsafe { libc::waitpid(-1, &mut status, libc::__WALL | libc::WNOHANG) };
    match got {
        0 => Ok(None),
        -1 => {
            let source = io::Error::last_os_error();
            match source.raw_os_error() {
                Some(libc::ECHILD) => Ok(None),
                Some(libc::EINTR) => Ok(None),
                _ => Err(TraceeError::Wait { tid: -1, source }),
            }
        }
        tid => Ok(Some((tid, Stop::decode(status)))),
    }
}

/// One pending stop of `tid`, without blocking.
fn poll_one(tid: Tid) -> Result<Option<Stop>, TraceeError> {
    let mut status = 0;
    // SAFETY: waitpid writes one int.
    let got = unsafe { libc::waitpid(tid, &mut status, libc::__WALL | libc::WNOHANG) };
    match got {
        0 => Ok(None),
        -1 => {
            let source = io::Error::last_os_error();
            match source.raw_os_error() {
                Some(libc::EINTR) => Ok(None),
                _ => Err(TraceeError::Wait { tid, source }),
            }
        }
        _ => Ok(Some(Stop::decode(status))),
    }
}

/// The state letter of `/proc/TID/stat` (R running, S sleeping, D disk
/// wait, t traced stop, Z zombie...).
pub fn thread_state(tid: Tid) -> Option<char> {
    use std::io::Read;
    // One read of the line's start: the recorder asks at every notice of
    // a running thread, and reading the whole file costs six more calls.
    // The name is at most 15 bytes, so the last ')' of the first 128
    // bytes closes it.
    let mut start = [0u8; 128];
    let got = std::fs::File::open(format!("/proc/{tid}/stat"))
        .and_then(|mut f| f.read(&mut start))
        .ok()?;
    state_letter(&start[..got])
}

fn state_letter(stat_start: &[u8]) -> Option<char> {
    let after_name = stat_start.iter().rposition(|&b| b == b')')?;
    stat_start[after_name + 1..]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .map(|&b| char::from(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_follows_the_last_parenthesis_of_the_name() {
        assert_eq!(state_letter(b"27846 (pp) S 27842 27836"), Some('S'));
        assert_eq!(state_letter(b"1 (a) b) (c) R 0 1"), Some('R'));
        assert_eq!(state_letter(b"1 (cut"), None);
    }

    #[test]
    fn this_thread_runs() {
        assert_eq!(thread_state(crate::switches::this_thread()), Some('R'));
    }
}
