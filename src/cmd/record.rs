//! `rewind record`: run a program and record it.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Instant;

use argh::FromArgs;
use recorder::{RecordOptions, RecordOutcome};
use trace_format::dir;

use super::human_size;
use crate::fail::{say, Failure};

/// run a program and record its execution into a new trace
#[derive(FromArgs)]
#[argh(subcommand, name = "record")]
pub struct RecordArgs {
    /// write the trace to this directory (it must not exist yet) instead of
    /// a new one in the trace directory
    #[argh(option, short = 'o')]
    output: Option<PathBuf>,
    /// randomize thread scheduling (slice lengths and the choice of the
    /// next thread) so that rare interleavings show up
    #[argh(switch)]
    chaos: bool,
    /// seed for --chaos (default: a random one, printed)
    #[argh(option)]
    chaos_seed: Option<u64>,
    /// record without the syscall-buffering library (every syscall then
    /// takes ptrace stops); so does REWIND_NO_SYSCALL_BUFFER=1 in the
    /// environment
    #[argh(switch, short = 'n')]
    no_syscall_buffer: bool,
    /// the program to record, then its arguments (put -- before them when
    /// they start with a dash)
    #[argh(positional, greedy)]
    command: Vec<OsString>,
}

/// REWIND_NO_SYSCALL_BUFFER set (to anything but empty or 0) is `-n` for
/// every recording made beneath it: a test suite that records, run once
/// each way.
fn buffer_off_by_environment() -> bool {
    std::env::var_os("REWIND_NO_SYSCALL_BUFFER").is_some_and(|v| !v.is_empty() && v != "0")
}

pub fn run(args: RecordArgs) -> Result<i32, Failure> {
    let mut command = args.command.into_iter();
    let Some(program) = command.next() else {
        return Err(Failure::new(
            "no program given; usage: rewind record [-o DIR] [--] PROGRAM [ARGS...]",
            2,
        ));
    };
    let chaos_seed = match (args.chaos, args.chaos_seed) {
        (_, Some(seed)) => Some(seed),
        (true, None) => Some(random_seed()),
        (false, None) => None,
    };
    if let Some(seed) = chaos_seed {
        say(format!("chaos mode, seed {seed}"));
    }
    let options = RecordOptions {
        chaos_seed,
        program,
        args: command.collect(),
        output_dir: args.output,
        syscall_buffer: !args.no_syscall_buffer && !buffer_off_by_environment(),
    };
    let started = Instant::now();
    match recorder::record(&options) {
        Ok(RecordOutcome {
            trace_dir,
            status,
            ended_by,
            events,
            processes,
            counters,
        }) => {
            if crate::stats::wanted() {
                eprintln!(
                    "rewind: stats: record switch_counters={} sleep_counters={}",
                    counters.every_switch, counters.sleeps
                );
            }
            let summary = format!(
                ": {events} events, {processes} process{}, {}, {:.2} s",
                if processes == 1 { "" } else { "es" },
                human_size(dir::disk_usage(&trace_dir)),
                started.elapsed().as_secs_f64()
            );
            let Some(signal) = ended_by else {
                say(format!("trace saved to {}{summary}", trace_dir.display()));
                return Ok(status.shell_code());
            };
            say(format!(
                "{} ended the recording and killed the program; trace saved to {}{summary}",
                tracee::signal_name(signal),
                trace_dir.display()
            ));
            Ok(128 + signal)
        }
        Err(e) => Err(Failure::new(&e, e.exit_code())),
    }
}

fn random_seed() -> u64 {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    let from_urandom =
        std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    match from_urandom {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
    }
}
