//! rewind's record session: runs a program under ptrace and writes
//! everything replay needs into a trace (ARCHITECTURE.md "Recording").
#![forbid(unsafe_code)]

mod desched;
mod error;
mod exec;
mod files;
mod handlers;
mod header;
mod outputs;
mod patch;
mod patching;
mod point;
pub mod preload;
mod program;
mod scheduler;
mod scratch;
mod session;
mod shared;
mod signals;
mod syscall;
mod syscallbuf;
mod task;
mod vdso;

use std::ffi::{CString, OsString};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use trace_format::{dir, ExitStatus, TraceWriter};
use tracee::spawn::{self, FirstExec, SpawnSpec};

pub use error::RecordError;
pub use program::resolve_program;

pub struct RecordOptions {
    /// Randomize scheduling (rr's chaos mode) with this seed.
    pub chaos_seed: Option<u64>,
    /// The program as the user named it (searched on PATH without a slash).
    pub program: OsString,
    pub args: Vec<OsString>,
    /// Where to write the trace; by default a new `<exe>-<N>` in the trace
    /// root, which then becomes the latest trace.
    pub output_dir: Option<PathBuf>,
    /// Preload the syscall-buffering library (`preload`).
    pub syscall_buffer: bool,
}

pub struct RecordOutcome {
    pub trace_dir: PathBuf,
    pub status: ExitStatus,
    /// The signal (SIGTERM or SIGHUP) that made the recorder end the
    /// recording early, killing the recorded processes.
    pub ended_by: Option<i32>,
    /// Events in the trace, and processes recorded (the first, and each
    /// fork or vfork).
    pub events: u64,
    pub processes: u64,
    /// The context switch counters the recording opened, of each kind.
    pub counters: SwitchCounters,
}

/// How many context switch counters a recording opened (ARCHITECTURE.md
/// "syscallbuf", "Blocking calls").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SwitchCounters {
    /// Counting every switch (the software event).
    pub every_switch: u32,
    /// Counting switches into a sleep (the sched_switch tracepoint).
    pub sleeps: u32,
}

/// What a finished recording leaves beside the trace.
struct Recorded {
    status: ExitStatus,
    ended_by: Option<i32>,
    events: u64,
    processes: u64,
    counters: SwitchCounters,
}

/// Records the program to its end.
pub fn record(options: &RecordOptions) -> Result<RecordOutcome, RecordError> {
    let program = resolve_program(&options.program)?;
    let argv: Vec<OsString> = std::iter::once(options.program.clone())
        .chain(options.args.iter().cloned())
        .collect();
    let (trace_dir, root) = make_trace_dir(options, &program)?;
    let started = Started {
        trace_dir: &trace_dir,
        root: root.as_deref(),
    };
    let preload = if options.syscall_buffer {
        match preload::write_into(&trace_dir) {
            Ok(path) => path,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&trace_dir);
                return Err(e);
            }
        }
    } else {
        None
    };
    match record_into(
        started,
        &program,
        &argv,
        options.chaos_seed,
        preload.as_deref(),
    ) {
        Ok(recorded) => Ok(RecordOutcome {
            trace_dir,
            status: recorded.status,
            ended_by: recorded.ended_by,
            events: recorded.events,
            processes: recorded.processes,
            counters: recorded.counters,
        }),
        Err(RecordFailure::BeforeStart(e)) => {
            // Nothing of the program ran: no trace to keep.
            let _ = std::fs::remove_dir_all(&trace_dir);
            Err(e)
        }
        Err(RecordFailure::Recording(e)) => Err(RecordError::Kept {
            error: Box::new(e),
            trace_dir,
        }),
    }
}

/// Where a new recording goes.
#[derive(Clone, Copy)]
struct Started<'a> {
    trace_dir: &'a Path,
    /// The trace root, whose `latest-trace` is to name the new trace.
    root: Option<&'a Path>,
}

/// A recording that failed, and whether the trace holds anything.
enum RecordFailure {
    /// Before the program's first instruction.
    BeforeStart(RecordError),
    /// While the program ran: the trace holds everything up to then.
    Recording(RecordError),
}

impl<E: Into<RecordError>> From<E> for RecordFailure {
    fn from(e: E) -> RecordFailure {
        RecordFailure::BeforeStart(e.into())
    }
}

fn make_trace_dir(
    options: &RecordOptions,
    program: &Path,
) -> Result<(PathBuf, Option<PathBuf>), RecordError> {
    if let Some(dir) = &options.output_dir {
        std::fs::create_dir(dir)
            .map_err(|e| RecordError::Trace(trace_format::TraceError::io(dir, e)))?;
        return Ok((dir.clone(), None));
    }
    let root = dir::trace_root()?;
    let exe = program
        .file_name()
        .map_or_else(|| "trace".into(), |n| n.to_string_lossy().into_owned());
    Ok((dir::create_trace_dir(&root, &exe)?, Some(root)))
}

fn c_string(bytes: &[u8]) -> Result<CString, RecordError> {
    CString::new(bytes).map_err(|_| RecordError::NotExecutable {
        path: PathBuf::from(String::from_utf8_lossy(bytes).into_owned()),
        reason: "an argument or environment entry contains a NUL byte".into(),
    })
}

/// The signals the recorder takes itself: SIGTERM and SIGHUP end the
/// recording cleanly; SIGINT is left to the program (see
/// `Session::on_recorder_signal`).
const RECORDER_SIGNALS: [i32; 3] = [libc::SIGTERM, libc::SIGHUP, libc::SIGINT];

fn record_into(
    started: Started<'_>,
    program: &Path,
    argv: &[OsString],
    chaos_seed: Option<u64>,
    preload: Option<&Path>,
) -> Result<Recorded, RecordFailure> {
    // Before any thread exists (they inherit the mask): the record loop
    // waits for tracee stops on a signalfd for SIGCHLD, which no thread may
    // consume, and takes the signals meant for the recorder there too.
    tracee::waiter::block_signals(&[libc::SIGCHLD]);
    tracee::waiter::block_signals(&RECORDER_SIGNALS);
    tracee::waiter::block_signals(&[tracee::switches::NOTICE_SIGNAL]);
    let header = header::build(argv, preload);
    let mut writer = TraceWriter::create(started.trace_dir, &header)?;
    writer.set_clock(tracee::clock::coarse);
    let spec = SpawnSpec {
        program: c_string(program.as_os_str().as_bytes())?,
        argv: argv
            .iter()
            .map(|a| c_string(a.as_bytes()))
            .collect::<Result<_, _>>()?,
        envp: header
            .env
            .iter()
            .map(|e| c_string(e))
            .collect::<Result<_, _>>()?,
        detached: false,
        stack_limit: None,
        seccomp_filter: preload.is_some() && !tracee::seccomp::inherited(),
    };
    let mut task = spawn::spawn_stopped(&spec)?;
    let pid = task.tid;
    let outcome = (|| {
        let filtered = match spawn::run_to_first_exec(&mut task)? {
            FirstExec::Done { filtered } => filtered,
            FirstExec::Failed(errno) => {
                return Err(RecordFailure::BeforeStart(RecordError::NotExecutable {
                    path: program.to_path_buf(),
                    reason: std::io::Error::from_raw_os_error(errno).to_string(),
                }))
            }
        };
        if preload.is_some() && !filtered {
            let why = if spec.seccomp_filter {
                "the kernel refused rewind's seccomp filter"
            } else {
                "rewind runs under a seccomp filter already (a container's, say), which the \
                 program inherits and which would outrank rewind's"
            };
            // Not eprintln!: see the record loop's warnings.
            let _ = writeln!(
                std::io::stderr(),
                "rewind: warning: {why}, so every syscall of the program stops it, buffered \
                 ones too; recording works, only slower"
            );
        }
        let shared = started.root.map(dir::shared_files);
        let files = files::FileCapture::new(writer.files_dir(), shared);
        let mut session =
            session::Session::new(task, writer, files, chaos_seed, &RECORDER_SIGNALS, filtered)?;
        // From the program's first instruction on, the trace is worth
        // keeping whatever happens: it is the latest.
        if let Some(root) = started.root {
            dir::set_latest(root, started.trace_dir)?;
        }
        let recorded = {
            let _trapped = tracee::clock::TscTrapped::begin();
            session.record_exec(pid).and_then(|()| session.run())
        }
        .map_err(RecordFailure::Recording)?;
        let ended_by = session.ended_by();
        let processes = session.processes;
        let counters = session.counters;
        let written = session
            .into_writer()
            .finish(header::now_ns())
            .map_err(|e| RecordFailure::Recording(e.into()))?;
        Ok(Recorded {
            status: recorded,
            ended_by,
            events: written.event_count,
            processes,
            counters,
        })
    })();
    if outcome.is_err() {
        // Other tracees die with this process (PTRACE_O_EXITKILL).
        tracee::kill_process(pid, libc::SIGKILL);
        tracee::reap(pid);
    }
    outcome
}
