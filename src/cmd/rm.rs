//! `rewind rm`: remove a trace.

use std::path::PathBuf;

use argh::FromArgs;
use trace_format::dir;

use crate::fail::{say, Failure};

/// remove a trace (a name in the trace directory, or a path); files it
/// shares with other traces stay theirs
#[derive(FromArgs)]
#[argh(subcommand, name = "rm")]
pub struct RmArgs {
    /// the trace to remove
    #[argh(positional)]
    trace: PathBuf,
}

pub fn run(args: &RmArgs) -> Result<i32, Failure> {
    let root = dir::trace_root()?;
    let trace = dir::resolve_trace(Some(&args.trace))?;
    dir::remove_trace(&root, &trace)?;
    say(format!("removed {}", trace.display()));
    Ok(0)
}
