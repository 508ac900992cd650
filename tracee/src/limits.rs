//! The stack size limit, which decides where a process's stack stops
//! growing: recorded with the trace and given to the replayed program.

/// This process's stack limit (soft, hard); `RLIM_INFINITY` is `u64::MAX`.
pub fn stack_limit() -> Option<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one struct rlimit, which `limit` is.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut limit) };
    (got == 0).then_some((limit.rlim_cur, limit.rlim_max))
}
