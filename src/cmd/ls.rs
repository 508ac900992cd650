//! `rewind ls`: the traces in the trace directory.

use std::io::Write;

use argh::FromArgs;
use trace_format::{dir, TraceReader};

use super::human_size;
use crate::fail::{stdout_closed, Failure};

/// list recorded traces, oldest first: name, size, events, command line;
/// then the total on disk
#[derive(FromArgs)]
#[argh(subcommand, name = "ls")]
pub struct LsArgs {}

struct Row {
    start_ns: u64,
    name: String,
    size: u64,
    events: String,
    command: String,
}

pub fn run(_args: &LsArgs) -> Result<i32, Failure> {
    let root = dir::trace_root()?;
    let traces = dir::list_traces(&root)?;
    let shared = dir::shared_files(&root);
    let mut everything: Vec<&std::path::Path> = traces.iter().map(|p| p.as_path()).collect();
    everything.push(&shared);
    let total = dir::disk_usage_of(&everything);
    let mut rows: Vec<Row> = traces
        .iter()
        .map(|path| {
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let size = dir::disk_usage(path);
            match TraceReader::open(path) {
                Ok(reader) => Row {
                    start_ns: reader.header().start_time_ns,
                    name,
                    size,
                    events: match reader.early_end() {
                        None => reader.event_count().to_string(),
                        Some(_) => format!("{} (incomplete)", reader.event_count()),
                    },
                    command: reader.header().command_line(),
                },
                Err(e) => Row {
                    start_ns: 0,
                    name,
                    size,
                    events: "?".into(),
                    command: format!("(unreadable: {e})"),
                },
            }
        })
        .collect();
    rows.sort_by(|a, b| (a.start_ns, &a.name).cmp(&(b.start_ns, &b.name)));

    let mut out = std::io::stdout().lock();
    let name_width = rows.iter().map(|r| r.name.len()).max().unwrap_or(0).max(5);
    let events_width = rows
        .iter()
        .map(|r| r.events.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let mut print = || -> std::io::Result<()> {
        writeln!(
            out,
            "{:<name_width$}  {:>8}  {:>events_width$}  COMMAND",
            "TRACE", "SIZE", "EVENTS"
        )?;
        for row in &rows {
            writeln!(
                out,
                "{:<name_width$}  {:>8}  {:>events_width$}  {}",
                row.name,
                human_size(row.size),
                row.events,
                row.command
            )?;
        }
        writeln!(
            out,
            "{} trace{}, {} on disk (files traces share counted once)",
            rows.len(),
            if rows.len() == 1 { "" } else { "s" },
            human_size(total)
        )?;
        Ok(())
    };
    print().map_err(|e| stdout_closed(&e))?;
    Ok(0)
}
