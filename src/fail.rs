//! How a command fails: one sentence for the user and an exit status.

use std::fmt::Display;

/// Exit status for an internal or environment error (sysexits' EX_SOFTWARE
/// is 70, used for divergence; this is the generic one).
pub const EXIT_FAILURE: i32 = 1;

#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub exit_code: i32,
}

impl Failure {
    pub fn new(message: impl Display, exit_code: i32) -> Failure {
        Failure {
            message: message.to_string(),
            exit_code,
        }
    }
}

impl From<trace_format::TraceError> for Failure {
    fn from(e: trace_format::TraceError) -> Failure {
        Failure::new(e, EXIT_FAILURE)
    }
}

/// Writes "rewind: LINE" on stderr. A terminal that hung up (the SIGHUP
/// that ends a recording) makes the write fail; that must not end rewind
/// before it has finished its work, as `eprintln!` would by panicking.
pub fn say(line: impl Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "rewind: {line}");
}

/// Writing to a closed stdout (`rewind dump | head`) ends the command
/// quietly, as it would for any Unix filter.
pub fn stdout_closed(e: &std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Failure::new("", 0)
    } else {
        Failure::new(
            format!("cannot write to standard output: {e}"),
            EXIT_FAILURE,
        )
    }
}
