//! The `rewind` command line: parse, call a crate, print.
#![forbid(unsafe_code)]

mod cmd;
mod fail;
mod stats;

use argh::FromArgs;

use fail::Failure;

/// rewind: record a Linux program once, replay it exactly as often as you
/// like, and debug the replay with gdb.
#[derive(FromArgs)]
struct Cli {
    /// print the version, the trace format version and the tick source
    /// this machine would record with
    #[argh(switch)]
    version: bool,
    #[argh(subcommand)]
    command: Option<Command>,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Command {
    Record(cmd::record::RecordArgs),
    Replay(cmd::replay::ReplayArgs),
    Ls(cmd::ls::LsArgs),
    Ps(cmd::ps::PsArgs),
    Dump(cmd::dump::DumpArgs),
    Rm(cmd::rm::RmArgs),
}

fn main() {
    let cli: Cli = argh::from_env();
    let command = match (cli.version, cli.command) {
        (true, _) => {
            print_version();
            return;
        }
        (false, Some(command)) => command,
        (false, None) => {
            fail::say("no command given; `rewind --help` lists them");
            std::process::exit(2);
        }
    };
    let name = match &command {
        Command::Record(_) => "record",
        Command::Replay(_) => "replay",
        Command::Ls(_) => "ls",
        Command::Ps(_) => "ps",
        Command::Dump(_) => "dump",
        Command::Rm(_) => "rm",
    };
    let result = match command {
        Command::Record(args) => cmd::record::run(args),
        Command::Replay(args) => cmd::replay::run(&args),
        Command::Ls(args) => cmd::ls::run(&args),
        Command::Ps(args) => cmd::ps::run(&args),
        Command::Dump(args) => cmd::dump::run(&args),
        Command::Rm(args) => cmd::rm::run(&args),
    };
    stats::report(name);
    match result {
        Ok(code) => std::process::exit(code),
        Err(Failure { message, exit_code }) => {
            if !message.is_empty() {
                fail::say(message);
            }
            std::process::exit(exit_code);
        }
    }
}

fn print_version() {
    println!("rewind {}", env!("CARGO_PKG_VERSION"));
    println!("trace format version {}", trace_format::VERSION);
    println!(
        "tick source: software (time slices from a task-clock event, \
         preemptions placed by state fingerprints; no hardware counter needed)"
    );
}
