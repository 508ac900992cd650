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
    #[argh(subcommand)]
    command: Command,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Command {
    Record(cmd::record::RecordArgs),
    Replay(cmd::replay::ReplayArgs),
    Ls(cmd::ls::LsArgs),
    Ps(cmd::ps::PsArgs),
    Dump(cmd::dump::DumpArgs),
}

fn main() {
    let cli: Cli = argh::from_env();
    let name = match &cli.command {
        Command::Record(_) => "record",
        Command::Replay(_) => "replay",
        Command::Ls(_) => "ls",
        Command::Ps(_) => "ps",
        Command::Dump(_) => "dump",
    };
    let result = match cli.command {
        Command::Record(args) => cmd::record::run(args),
        Command::Replay(args) => cmd::replay::run(&args),
        Command::Ls(args) => cmd::ls::run(&args),
        Command::Ps(args) => cmd::ps::run(&args),
        Command::Dump(args) => cmd::dump::run(&args),
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
