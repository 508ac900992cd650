//! `rewind dump`: one line per event.

use std::io::Write;
use std::path::PathBuf;

use argh::FromArgs;
use trace_format::{dir, DataRef, Event, MemoryWrite, TraceReader};

use crate::fail::{stdout_closed, Failure};

/// print a trace's events, one line each: number, thread, kind, details
#[derive(FromArgs)]
#[argh(subcommand, name = "dump")]
pub struct DumpArgs {
    /// also print the bytes each event wrote, in hex
    #[argh(switch)]
    data: bool,
    /// first event to print (default 1)
    #[argh(option, short = 'f', default = "1")]
    from: u64,
    /// trace directory or name (default: the latest trace)
    #[argh(positional)]
    trace: Option<PathBuf>,
}

pub fn run(args: &DumpArgs) -> Result<i32, Failure> {
    let path = dir::resolve_trace(args.trace.as_deref())?;
    let mut reader = TraceReader::open(&path)?;
    if let Some(early) = reader.early_end() {
        eprintln!("rewind: warning: {early}");
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for item in reader.events_from(args.from)? {
        let (number, record) = item?;
        let line = format!(
            "{number} {} {} {}",
            record.tid,
            record.event.kind_name(),
            super::describe::event_details(&record.event)
        );
        writeln!(out, "{}", line.trim_end()).map_err(|e| stdout_closed(&e))?;
        if let Event::BufferedSyscalls(flush) = &record.event {
            let bytes = reader.data().read(flush.records)?;
            for call in tracee::syscallbuf_abi::flushed(&bytes, flush.count) {
                let line = match call {
                    Ok(call) => {
                        let mut line =
                            super::describe::call_line(u64::from(call.nr), call.args, call.result);
                        if !call.out.is_empty() {
                            line.push_str(&format!(" [{} bytes out]", call.out.len()));
                        }
                        line
                    }
                    Err(bad) => format!("(unreadable: {bad:?})"),
                };
                writeln!(out, "    {line}").map_err(|e| stdout_closed(&e))?;
            }
        }
        if args.data {
            for write in memory_writes(&record.event) {
                let bytes = reader.data().read(write.data)?;
                write_hex(&mut out, write.addr, &bytes).map_err(|e| stdout_closed(&e))?;
            }
            if let Event::BufferedSyscalls(b) = &record.event {
                let bytes = reader.data().read(b.records)?;
                write_hex(&mut out, 0, &bytes).map_err(|e| stdout_closed(&e))?;
            }
        }
    }
    out.flush().map_err(|e| stdout_closed(&e))?;
    Ok(0)
}

fn memory_writes(event: &Event) -> Vec<MemoryWrite> {
    match event {
        Event::Exec(e) => e.mappings.iter().flat_map(|m| m.contents.clone()).collect(),
        Event::Syscall(e) => e.writes.clone(),
        Event::Signal(trace_format::SignalEvent {
            disposition: trace_format::SignalDisposition::Handler { frame, .. },
            ..
        }) => frame.clone(),
        _ => Vec::new(),
    }
}

fn write_hex(out: &mut impl Write, addr: u64, bytes: &[u8]) -> std::io::Result<()> {
    for (i, line) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        let text: String = line
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        writeln!(
            out,
            "    {:#014x}  {:<47}  |{}|",
            addr + (i * 16) as u64,
            hex.join(" "),
            text
        )?;
    }
    Ok(())
}

/// Describes a span for a one-line summary.
pub fn span(data: DataRef) -> String {
    format!("{} bytes", data.len)
}
