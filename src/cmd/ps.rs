//! `rewind ps`: the processes of a trace.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use argh::FromArgs;
use trace_format::{dir, CloneKind, Event, ExitStatus, TraceReader};

use crate::fail::{stdout_closed, Failure};

/// list the processes a trace recorded: pid, parent pid, exit status, command line
#[derive(FromArgs)]
#[argh(subcommand, name = "ps")]
pub struct PsArgs {
    /// trace directory or name (default: the latest trace)
    #[argh(positional)]
    trace: Option<PathBuf>,
}

#[derive(Default)]
struct Process {
    parent: Option<i32>,
    exit: Option<ExitStatus>,
    command: String,
}

pub fn run(args: &PsArgs) -> Result<i32, Failure> {
    let path = dir::resolve_trace(args.trace.as_deref())?;
    let reader = TraceReader::open(&path)?;
    if let Some(early) = reader.early_end() {
        eprintln!("rewind: warning: {early}");
    }
    let mut processes: BTreeMap<i32, Process> = BTreeMap::new();
    let mut order: Vec<i32> = Vec::new();
    // Thread id -> process id, as the recording saw them.
    let mut process_of: BTreeMap<i32, i32> = BTreeMap::new();
    for item in reader.events() {
        let (_, record) = item?;
        let pid = *process_of.entry(record.tid).or_insert(record.tid);
        match &record.event {
            Event::Exec(exec) => {
                let process = processes.entry(pid).or_default();
                if !order.contains(&pid) {
                    order.push(pid);
                }
                process.command = exec.argv.join(" ");
            }
            Event::Clone(clone) => match clone.kind {
                CloneKind::Thread => {
                    process_of.insert(clone.child_tid, pid);
                }
                CloneKind::Fork | CloneKind::Vfork => {
                    process_of.insert(clone.child_tid, clone.child_tid);
                    let inherited = processes
                        .get(&pid)
                        .map(|p| p.command.clone())
                        .unwrap_or_default();
                    processes.insert(
                        clone.child_tid,
                        Process {
                            parent: Some(pid),
                            exit: None,
                            command: inherited,
                        },
                    );
                    order.push(clone.child_tid);
                }
            },
            Event::Exit(exit) if exit.process_exit => {
                processes.entry(pid).or_default().exit = Some(exit.status);
            }
            _ => {}
        }
    }
    let mut out = std::io::stdout().lock();
    let mut print = || -> std::io::Result<()> {
        writeln!(out, "{:>8} {:>8} {:>10}  COMMAND", "PID", "PPID", "EXIT")?;
        for pid in &order {
            let Some(process) = processes.get(pid) else {
                continue;
            };
            let exit = match process.exit {
                None => "-".to_string(),
                Some(ExitStatus::Exited(code)) => code.to_string(),
                Some(ExitStatus::Killed { signal, .. }) => tracee::signal_name(signal),
            };
            let parent = process
                .parent
                .map_or_else(|| "-".to_string(), |p| p.to_string());
            writeln!(out, "{pid:>8} {parent:>8} {exit:>10}  {}", process.command)?;
        }
        Ok(())
    };
    print().map_err(|e| stdout_closed(&e))?;
    Ok(0)
}
