//! The trace header for a new recording.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use trace_format::{Header, TickSourceKind};

/// The header of a recording of `argv`, whose environment gets `preload`
/// in front of any LD_PRELOAD it has.
pub fn build(argv: &[OsString], preload: Option<&Path>) -> Header {
    let mut uuid = [0u8; 16];
    if let Ok(mut urandom) = std::fs::File::open("/dev/urandom") {
        let _ = urandom.read_exact(&mut uuid);
    }
    let mut env: Vec<Vec<u8>> = std::env::vars_os()
        .map(|(key, value)| {
            let mut pair = key.as_bytes().to_vec();
            pair.push(b'=');
            pair.extend_from_slice(value.as_bytes());
            pair
        })
        .collect();
    if let Some(preload) = preload {
        crate::preload::add_to_env(&mut env, preload);
    }
    Header {
        uuid,
        recorder_version: format!("rewind {}", env!("CARGO_PKG_VERSION")),
        kernel_release: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        cpu: tracee::cpu::cpu_info(),
        tick_source: TickSourceKind::Software,
        page_size: 4096,
        argv: argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
        env,
        cwd: std::env::current_dir()
            .map(|d| d.as_os_str().as_bytes().to_vec())
            .unwrap_or_default(),
        start_time_ns: now_ns(),
        // The program inherits the recorder's.
        stack_limit: tracee::limits::stack_limit(),
    }
}

pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
