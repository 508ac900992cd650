//! Time for a tracer thread that traps its own time stamp counter reads,
//! as its tracees do (PR_SET_TSC).
//!
//! The kernel writes CR4 at every context switch between a thread that
//! traps rdtsc and one that does not, and in a virtual machine that write
//! leaves to the hypervisor: on the VM rewind is developed on, 20,000
//! traced syscalls took 0.90 s with only the tracee trapping and 0.47 s
//! with both. A thread that traps cannot use the vDSO's clocks, which read
//! the counter, so `Moment` reads the monotonic clock by syscall, and
//! `read_tsc` lifts the trap around its one read.

use std::cell::Cell;
use std::ops::Add;
use std::sync::Once;
use std::time::Duration;

/// A reading of the monotonic clock, taken by syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Moment(Duration);

impl Moment {
    pub fn now() -> Moment {
        Moment(monotonic())
    }

    pub fn elapsed(&self) -> Duration {
        monotonic().saturating_sub(self.0)
    }

    pub fn saturating_duration_since(&self, earlier: Moment) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Moment {
    type Output = Moment;

    fn add(self, later: Duration) -> Moment {
        Moment(self.0.saturating_add(later))
    }
}

/// Time since an arbitrary start (CLOCK_MONOTONIC), without the vDSO.
pub fn monotonic() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, a live local. The raw
    // syscall, not libc's wrapper, which would read the counter in the
    // vDSO and fault while the thread traps it.
    let done = unsafe {
        libc::syscall(
            libc::SYS_clock_gettime,
            libc::CLOCK_MONOTONIC,
            &mut now as *mut libc::timespec,
        )
    };
    if done != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

/// Time since an arbitrary start, to the kernel's tick (a few
/// milliseconds): CLOCK_MONOTONIC_COARSE, which the vDSO answers from its
/// data page without reading the counter, so without a syscall even in a
/// thread that traps rdtsc. For deadlines of a second or so, checked at
/// every stop (the trace writer's flush, the recording's age).
pub fn coarse() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, a live local.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut now) } != 0 {
        return monotonic();
    }
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

thread_local! {
    static TRAPPING: Cell<bool> = const { Cell::new(false) };
}

/// While it lives, the calling thread traps its own rdtsc, like its
/// tracees. Best effort: where the kernel refuses, nothing changes but
/// speed.
pub struct TscTrapped(());

impl TscTrapped {
    /// The thread must not read the vDSO's clocks meanwhile (std's
    /// `Instant` and `SystemTime` do): use `Moment`. One that does anyway
    /// is not killed: the fault lifts the trap for good, and the
    /// instruction runs again.
    pub fn begin() -> TscTrapped {
        install_fault_handler();
        if set_tsc_mode(libc::PR_TSC_SIGSEGV) {
            TRAPPING.with(|t| t.set(true));
        }
        TscTrapped(())
    }
}

impl Drop for TscTrapped {
    fn drop(&mut self) {
        if TRAPPING.with(|t| t.replace(false)) {
            set_tsc_mode(libc::PR_TSC_ENABLE);
        }
    }
}

/// The time stamp counter, as rdtsc gives it, whether or not the calling
/// thread traps it.
pub fn read_tsc() -> u64 {
    untrapped(crate::cpu::read_tsc)
}

/// The time stamp counter and TSC_AUX, as rdtscp gives them.
pub fn read_tscp() -> (u64, u32) {
    untrapped(crate::cpu::read_tscp)
}

fn untrapped<T>(read: fn() -> T) -> T {
    if !TRAPPING.with(|t| t.get()) {
        return read();
    }
    set_tsc_mode(libc::PR_TSC_ENABLE);
    let value = read();
    set_tsc_mode(libc::PR_TSC_SIGSEGV);
    value
}

fn set_tsc_mode(mode: i32) -> bool {
    // SAFETY: PR_SET_TSC changes only the calling thread's TSC mode.
    unsafe { libc::prctl(libc::PR_SET_TSC, mode, 0, 0, 0) == 0 }
}

/// The SIGSEGV disposition before ours, for faults that are not a
/// trapped rdtsc.
static mut PREVIOUS: Option<libc::sigaction> = None;
static INSTALL: Once = Once::new();

fn install_fault_handler() {
    INSTALL.call_once(|| {
        // SAFETY: sigaction with a handler that only reads the faulting
        // instruction and makes async-signal-safe calls; PREVIOUS is
        // written here once, before the handler can run.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction =
                on_fault as extern "C" fn(i32, *mut libc::siginfo_t, *mut libc::c_void) as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            let mut previous: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGSEGV, &action, &mut previous) == 0 {
                PREVIOUS = Some(previous);
            }
        }
    });
}

extern "C" fn on_fault(_: i32, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo and ucontext. A trapped
    // rdtsc is a general protection fault (SI_KERNEL), so the instruction
    // pointer is mapped code and its first bytes can be read.
    unsafe {
        let context = &mut *context.cast::<libc::ucontext_t>();
        let rip = context.uc_mcontext.gregs[libc::REG_RIP as usize] as *const u8;
        if (*info).si_code == libc::SI_KERNEL && is_tsc_read(rip) {
            // Runs again, untrapped. The flag is a plain thread-local
            // cell, which needs no initialisation to write.
            libc::prctl(libc::PR_SET_TSC, libc::PR_TSC_ENABLE, 0, 0, 0);
            TRAPPING.with(|t| t.set(false));
            return;
        }
        // Any other fault: the previous disposition, then the same fault
        // again, which it handles (Rust's stack overflow message, or the
        // default end).
        #[allow(static_mut_refs)]
        match PREVIOUS.as_ref() {
            Some(previous) => libc::sigaction(libc::SIGSEGV, previous, std::ptr::null_mut()),
            None => {
                libc::signal(libc::SIGSEGV, libc::SIG_DFL);
                0
            }
        };
    }
}

/// rdtsc (0f 31) or rdtscp (0f 01 f9) at `rip`.
///
/// # Safety
/// `rip` points to at least three readable bytes.
unsafe fn is_tsc_read(rip: *const u8) -> bool {
    // SAFETY: the caller's promise.
    let bytes = unsafe { std::slice::from_raw_parts(rip, 3) };
    matches!(bytes, [0x0f, 0x31, _] | [0x0f, 0x01, 0xf9])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coarse_clock_runs_with_the_fine_one_while_rdtsc_traps() {
        let _trapped = TscTrapped::begin();
        let before = monotonic();
        let coarse_before = coarse();
        std::thread::sleep(Duration::from_millis(30));
        let moved = coarse().saturating_sub(coarse_before);
        assert!(moved >= Duration::from_millis(20), "coarse moved {moved:?}");
        // Same base: one tick apart at most (HZ 100 at the slowest).
        assert!(coarse_before.abs_diff(before) <= Duration::from_millis(10));
    }

    #[test]
    fn moments_move_forward() {
        let first = Moment::now();
        std::thread::sleep(Duration::from_millis(2));
        assert!(first.elapsed() >= Duration::from_millis(2));
        assert!(Moment::now().saturating_duration_since(first) >= Duration::from_millis(2));
        assert_eq!(
            (first + Duration::from_secs(1)).saturating_duration_since(first),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn a_trapping_thread_reads_the_counter_and_survives_the_vdso() {
        std::thread::spawn(|| {
            let trapped = TscTrapped::begin();
            assert_eq!(current_mode(), libc::PR_TSC_SIGSEGV);
            let before = read_tsc();
            assert!(read_tsc() >= before);
            // The vDSO's clock reads the counter: the fault lifts the trap.
            let _ = std::time::Instant::now();
            assert!(!TRAPPING.with(|t| t.get()));
            assert_eq!(current_mode(), libc::PR_TSC_ENABLE);
            drop(trapped);
            assert_eq!(current_mode(), libc::PR_TSC_ENABLE);
        })
        .join()
        .expect("the trapping thread");
    }

    fn current_mode() -> i32 {
        let mut mode = 0i32;
        // SAFETY: PR_GET_TSC writes one int.
        unsafe { libc::prctl(libc::PR_GET_TSC, &mut mode as *mut i32, 0, 0, 0) };
        mode
    }
}
