//! Debugging a replay with gdb (ARCHITECTURE.md "Debugging: gdb-remote"). The
//! replay runs on a thread of its own, which alone traces the replayed
//! processes; the gdb server talks to it through `ReplayTarget`. Going
//! back starts the replay again (timeline.rs) and finds the instant by
//! its name (position.rs).

pub(crate) mod breakpoints;
pub(crate) mod controller;
mod copies;
mod plan;
mod position;
mod protocol;
mod registers;
mod run;
mod target;
mod timeline;

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use trace_format::TraceReader;

pub use target::ReplayTarget;

use crate::error::ReplayError;
use controller::Debugger;

pub(crate) type DebugLink = Rc<RefCell<Debugger>>;

pub struct DebugOptions {
    pub trace_dir: PathBuf,
    /// The recorded process to debug; the first one that exec'd if None.
    pub pid: Option<i32>,
    /// Show the program to gdb first at the start of this event.
    pub goto_event: Option<u64>,
    /// Replay time between the copies moves back start from.
    pub copy_interval: Duration,
}

pub use copies::INTERVAL as COPY_INTERVAL;

/// Where gdb first sees the replay.
#[derive(Clone, Copy)]
pub(crate) struct DebugStart {
    pub pid: i32,
    pub goto_event: Option<u64>,
    pub copy_interval: Duration,
    /// The process never runs a program of its own (a forked copy): gdb
    /// first sees it when it is created.
    pub on_creation: bool,
}

/// Starts the replay and runs it to the first stop gdb sees.
pub fn start(options: &DebugOptions) -> Result<ReplayTarget, ReplayError> {
    let trace_dir = std::fs::canonicalize(&options.trace_dir)
        .map_err(|e| trace_format::TraceError::io(&options.trace_dir, e))?;
    let reader = TraceReader::open(&trace_dir)?;
    crate::cpu::check(&reader.header().cpu)?;
    if let Some(early) = reader.early_end() {
        eprintln!("rewind: warning: {early}");
    }
    let (pid, on_creation) = match options.pid {
        Some(pid) => (pid, !execs(&reader, pid)?),
        None => (first_exec(&reader)?, false),
    };
    let start = DebugStart {
        pid,
        goto_event: options.goto_event,
        on_creation,
        copy_interval: options.copy_interval,
    };
    let stub = crate::replay_stub()?;
    // Stops of the replayed processes wake the replay thread through a
    // signalfd, which only works if no thread takes SIGCHLD itself.
    tracee::waiter::block_sigchld();
    let (request_tx, request_rx) = mpsc::channel();
    let (answer_tx, answer_rx) = mpsc::channel();
    let interrupt = Arc::new(AtomicBool::new(false));
    let replay_interrupt = Arc::clone(&interrupt);
    let replay = std::thread::Builder::new()
        .name("replay".into())
        .spawn(move || {
            // As the recorder (tracee::clock): the tracees trap rdtsc too.
            let _trapped = tracee::clock::TscTrapped::begin();
            let debugger = Debugger::new(
                request_rx,
                answer_tx,
                replay_interrupt,
                pid,
                start.copy_interval,
            )?;
            let debugger = Rc::new(RefCell::new(debugger));
            timeline::run(&trace_dir, &stub, debugger, start, reader)
        })
        .map_err(|e| {
            ReplayError::Tracee(tracee::TraceeError::Spawn {
                what: "cannot start the replay thread".into(),
                source: e,
            })
        })?;
    let mut target = ReplayTarget::new(request_tx, answer_rx, interrupt, replay);
    target.wait_for_start()?;
    Ok(target)
}

/// Whether process `pid` runs a program of its own; an error if the trace
/// has no such process.
fn execs(reader: &TraceReader, pid: i32) -> Result<bool, ReplayError> {
    let mut created = false;
    for item in reader.events() {
        let (_, record) = item?;
        match &record.event {
            trace_format::Event::Exec(_) if record.tid == pid => return Ok(true),
            trace_format::Event::Clone(clone) if clone.child_tid == pid => {
                created = clone.flags & libc::CLONE_THREAD as u64 == 0;
            }
            _ => {}
        }
    }
    if created {
        Ok(false)
    } else {
        Err(ReplayError::BadTrace {
            event: 0,
            reason: format!("process {pid} is not in this trace (`rewind ps` lists its processes)"),
        })
    }
}

/// The recorded id of the first process that exec'd.
fn first_exec(reader: &TraceReader) -> Result<i32, ReplayError> {
    for item in reader.events() {
        let (_, record) = item?;
        if matches!(record.event, trace_format::Event::Exec(_)) {
            return Ok(record.tid);
        }
    }
    Err(ReplayError::BadTrace {
        event: 0,
        reason: "no process in the trace ever started a program".into(),
    })
}
