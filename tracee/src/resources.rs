//! How much memory a process used, for the benchmarks' memory targets.

use std::io;

/// Waits for the child process `pid` to end. Returns its wait status and
/// the peak resident set, in KiB, of the largest of it and the
/// descendants it waited for (wait4's `ru_maxrss`).
pub fn wait_with_peak(pid: i32) -> io::Result<(i32, u64)> {
    let mut status = 0;
    // SAFETY: wait4 writes one int and one rusage, both live locals.
    let (got, usage) = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let got = libc::wait4(pid, &mut status, 0, &mut usage);
        (got, usage)
    };
    if got != pid {
        return Err(io::Error::last_os_error());
    }
    Ok((status, u64::try_from(usage.ru_maxrss).unwrap_or(0)))
}

/// The peak resident set of process `pid` itself so far (`VmHWM`, its
/// children not included), in KiB; None once it is gone.
pub fn peak_resident_kib(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    high_water_mark(&status)
}

fn high_water_mark(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line["VmHWM:".len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_high_water_mark_is_read_in_kib() {
        let status = "Name:\trewind\nVmPeak:\t  30000 kB\nVmHWM:\t   12345 kB\nVmRSS:\t 100 kB\n";
        assert_eq!(high_water_mark(status), Some(12345));
        assert_eq!(high_water_mark("Name:\tx\n"), None);
    }

    #[test]
    fn this_process_has_a_peak() {
        let peak = peak_resident_kib(std::process::id() as i32).expect("own status");
        assert!(peak > 0);
    }
}
