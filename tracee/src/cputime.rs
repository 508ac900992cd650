//! A thread's user CPU time, from /proc. Clock-tick granular, and derived
//! by the kernel from sampling, but the same measure in the recording and
//! in the replay: the replay runs the same user code.

use std::time::Duration;

use crate::Tid;

/// User CPU time of thread `tid` so far; None when /proc has no such
/// thread or its stat line does not parse.
pub fn user_time(tid: Tid) -> Option<Duration> {
    // /proc/<tid>/stat would be the whole thread group's.
    let stat = std::fs::read_to_string(format!("/proc/{tid}/task/{tid}/stat")).ok()?;
    user_time_from_stat(&stat, clock_ticks_per_second())
}

fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
}

/// Field 14 of a /proc/<tid>/stat line (utime, in clock ticks). The
/// command name before it is in parentheses and may hold anything, so
/// fields are counted from its closing one.
fn user_time_from_stat(stat: &str, ticks_per_second: u64) -> Option<Duration> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Fields 3.. follow the name; utime is the 12th of them.
    let ticks: u64 = after_name.split_whitespace().nth(11)?.parse().ok()?;
    Some(Duration::from_nanos(
        ticks.saturating_mul(1_000_000_000 / ticks_per_second.max(1)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utime_is_read_after_a_name_with_spaces_and_parentheses() {
        let stat = "1234 (a) b (c) R 1 1234 1234 0 -1 4194304 100 0 0 0 250 30 0 0 20 0 1 0";
        assert_eq!(
            user_time_from_stat(stat, 100),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(user_time_from_stat("1234 (x) R 1", 100), None);
        assert_eq!(user_time_from_stat("garbage", 100), None);
    }

    #[test]
    fn this_thread_has_a_user_time() {
        let tid = i32::try_from(std::process::id()).unwrap_or(0);
        assert!(user_time(tid).is_some());
    }
}
