//! rewind's benchmarks. Each prints a table of ratios measured in one run,
//! so that the noise of a shared machine affects both sides alike.
#![forbid(unsafe_code)]

mod record_replay;
mod reverse;
mod trace;

type Benchmark = fn() -> Result<(), String>;

const ALL: &[(&str, Benchmark)] = &[
    ("trace", trace::run),
    ("record", record_replay::run_all),
    ("reverse", reverse::run),
];

fn main() {
    let names: Vec<String> = std::env::args().skip(1).collect();
    for name in &names {
        if !ALL.iter().any(|(known, _)| known == name) {
            let known: Vec<&str> = ALL.iter().map(|(n, _)| *n).collect();
            eprintln!(
                "bench: no benchmark named {name}; known: {}",
                known.join(", ")
            );
            std::process::exit(2);
        }
    }
    for (name, run) in ALL {
        if names.is_empty() || names.iter().any(|n| n == name) {
            if let Err(e) = run() {
                eprintln!("bench: {name} failed: {e}");
                std::process::exit(1);
            }
        }
    }
}
