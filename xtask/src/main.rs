//! `cargo xtask`: project tasks that are more than one cargo command.
#![forbid(unsafe_code)]

use std::process::{exit, Command};

use argh::FromArgs;

/// rewind's project tasks
#[derive(FromArgs)]
struct Xtask {
    #[argh(subcommand)]
    task: Task,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Task {
    Bench(BenchArgs),
}

/// build in release mode and run benchmarks (all, or the named ones), printing ratios
#[derive(FromArgs)]
#[argh(subcommand, name = "bench")]
struct BenchArgs {
    /// benchmarks to run: trace, record, reverse (default: all)
    #[argh(positional)]
    names: Vec<String>,
}

fn main() {
    let xtask: Xtask = argh::from_env();
    let Task::Bench(args) = xtask.task;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(["build", "--release", "--quiet", "--workspace"])
        .status()
        .and_then(|built| {
            if !built.success() {
                return Ok(built);
            }
            Command::new(&cargo)
                .args(["run", "--release", "--quiet", "--package", "bench", "--"])
                .args(&args.names)
                .status()
        });
    match status {
        Ok(s) => exit(s.code().unwrap_or(1)),
        Err(e) => {
            eprintln!("xtask: cannot run {cargo}: {e}");
            exit(1);
        }
    }
}
