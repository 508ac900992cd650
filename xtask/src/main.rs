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
    BuildPreload(BuildPreloadArgs),
}

/// build the preload library (syscallbuf/) alone, as `cargo build` does for the binary that embeds it, and print its path
#[derive(FromArgs)]
#[argh(subcommand, name = "build-preload")]
struct BuildPreloadArgs {}

/// build in release mode and run benchmarks (all, or the named ones), printing ratios
#[derive(FromArgs)]
#[argh(subcommand, name = "bench")]
struct BenchArgs {
    /// benchmarks to run: trace, record, reverse (default: all)
    #[argh(positional)]
    names: Vec<String>,
}

include!("../../syscallbuf/preload_build.rs");

fn main() {
    let xtask: Xtask = argh::from_env();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let args = match xtask.task {
        Task::Bench(args) => args,
        Task::BuildPreload(BuildPreloadArgs {}) => {
            let xtask_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            let root = xtask_dir.parent().unwrap_or(xtask_dir);
            let built = build_preload(
                cargo.as_ref(),
                &root.join("syscallbuf"),
                &root.join("target/syscallbuf"),
            );
            match built {
                Ok(path) => println!("{}", path.display()),
                Err(e) => {
                    eprintln!("xtask: {e}");
                    exit(1);
                }
            }
            return;
        }
    };
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
