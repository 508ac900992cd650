//! `REWIND_LOG=stats`: a line on stderr with what a command used, for
//! benchmarks and memory checks. Off by default; never on stdout, which
//! belongs to the replayed program.

/// Whether REWIND_LOG asks for statistics.
pub fn wanted() -> bool {
    std::env::var("REWIND_LOG").is_ok_and(|v| v.split(',').any(|part| part.trim() == "stats"))
}

/// This process's peak resident memory in KiB (VmHWM).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn report(command: &str) {
    if wanted() {
        let peak = peak_rss_kib().map_or_else(|| "unknown".into(), |k| k.to_string());
        eprintln!("rewind: stats: {command} peak_rss_kib={peak}");
    }
}
