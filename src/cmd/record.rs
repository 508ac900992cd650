//! `rewind record`: run a program and record it.

use std::ffi::OsString;
use std::path::PathBuf;

use argh::FromArgs;
use recorder::{RecordOptions, RecordOutcome};

use crate::fail::Failure;

/// run a program and record its execution into a new trace
#[derive(FromArgs)]
#[argh(subcommand, name = "record")]
pub struct RecordArgs {
    /// write the trace to this directory (it must not exist yet) instead of
    /// a new one in the trace directory
    #[argh(option, short = 'o')]
    output: Option<PathBuf>,
    /// the program to record, then its arguments (put -- before them when
    /// they start with a dash)
    #[argh(positional, greedy)]
    command: Vec<OsString>,
}

pub fn run(args: RecordArgs) -> Result<i32, Failure> {
    let mut command = args.command.into_iter();
    let Some(program) = command.next() else {
        return Err(Failure::new(
            "no program given; usage: rewind record [-o DIR] [--] PROGRAM [ARGS...]",
            2,
        ));
    };
    let options = RecordOptions {
        program,
        args: command.collect(),
        output_dir: args.output,
    };
    match recorder::record(&options) {
        Ok(RecordOutcome { trace_dir, status }) => {
            eprintln!("rewind: trace saved to {}", trace_dir.display());
            Ok(status.shell_code())
        }
        Err(e) => Err(Failure::new(&e, e.exit_code())),
    }
}
