//! `REWIND_LOG=gdb-remote`: every packet in and out on stderr, for finding
//! out what a client really sent. Off by default; stdout is never used.

use std::sync::OnceLock;

fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| {
        std::env::var("REWIND_LOG")
            .is_ok_and(|v| v.split(',').any(|part| part.trim() == "gdb-remote"))
    })
}

fn printable(data: &[u8]) -> String {
    // Binary payloads are cut short: the header says enough.
    const SHOWN: usize = 200;
    let mut text: String = data
        .iter()
        .take(SHOWN)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect();
    if data.len() > SHOWN {
        text.push_str(&format!("... ({} bytes)", data.len()));
    }
    text
}

pub(crate) fn packet_in(raw: &[u8]) {
    if enabled() {
        eprintln!("gdb-remote: <- {}", printable(raw));
    }
}

pub(crate) fn packet_out(payload: &[u8]) {
    if enabled() {
        eprintln!("gdb-remote: -> {}", printable(payload));
    }
}

pub(crate) fn packet_note(what: &str, raw: &[u8]) {
    if enabled() {
        eprintln!("gdb-remote: {what}: {}", printable(raw));
    }
}

pub(crate) fn note(what: &str) {
    if enabled() {
        eprintln!("gdb-remote: {what}");
    }
}
