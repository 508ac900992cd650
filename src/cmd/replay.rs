//! `rewind replay`: replay a trace.

use std::path::PathBuf;

use argh::FromArgs;
use replayer::ReplayOptions;
use trace_format::dir;

use crate::fail::Failure;

/// replay a recorded trace exactly, verifying every event
#[derive(FromArgs)]
#[argh(subcommand, name = "replay")]
pub struct ReplayArgs {
    /// run to the end without a debugger and exit with the recorded status
    #[argh(switch, short = 'a')]
    autopilot: bool,
    /// do not reproduce the program's output on stdout and stderr
    #[argh(switch)]
    no_output: bool,
    /// trace directory or name (default: the latest trace)
    #[argh(positional)]
    trace: Option<PathBuf>,
}

pub fn run(args: &ReplayArgs) -> Result<i32, Failure> {
    if !args.autopilot {
        return Err(Failure::new(
            "replaying under gdb is not available yet; use `rewind replay -a` to replay without a debugger",
            2,
        ));
    }
    let trace_dir = dir::resolve_trace(args.trace.as_deref())?;
    let options = ReplayOptions {
        trace_dir,
        echo_output: !args.no_output,
    };
    match replayer::replay_to_end(&options) {
        Ok(status) => Ok(status.shell_code()),
        Err(e) => Err(Failure::new(&e, e.exit_code())),
    }
}
