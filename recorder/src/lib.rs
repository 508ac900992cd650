//! rewind's record session: runs a program under ptrace and writes
//! everything replay needs into a trace (ARCHITECTURE.md "Recording").
#![forbid(unsafe_code)]

mod error;
mod exec;
mod files;
mod handlers;
mod header;
mod outputs;
mod point;
mod program;
mod scheduler;
mod scratch;
mod session;
mod signals;
mod syscall;
mod task;
mod vdso;

use std::ffi::{CString, OsString};
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
}

pub struct RecordOutcome {
    pub trace_dir: PathBuf,
    pub status: ExitStatus,
}

/// Records the program to its end.
pub fn record(options: &RecordOptions) -> Result<RecordOutcome, RecordError> {
    let program = resolve_program(&options.program)?;
    let argv: Vec<OsString> = std::iter::once(options.program.clone())
        .chain(options.args.iter().cloned())
        .collect();
    let (trace_dir, root) = make_trace_dir(options, &program)?;
    let result = record_into(&trace_dir, &program, &argv, options.chaos_seed);
    match result {
        Ok(status) => {
            if let Some(root) = root {
                dir::set_latest(&root, &trace_dir)?;
            }
            Ok(RecordOutcome { trace_dir, status })
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&trace_dir);
            Err(e)
        }
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

fn record_into(
    trace_dir: &Path,
    program: &Path,
    argv: &[OsString],
    chaos_seed: Option<u64>,
) -> Result<ExitStatus, RecordError> {
    // Before any thread exists: the record loop waits for tracee stops on
    // a signalfd for SIGCHLD, which no thread may consume.
    tracee::waiter::block_sigchld();
    let header = header::build(argv);
    let writer = TraceWriter::create(trace_dir, &header)?;
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
    };
    let mut task = spawn::spawn_stopped(&spec)?;
    let pid = task.tid;
    let outcome = (|| {
        if let FirstExec::Failed(errno) = spawn::run_to_first_exec(&mut task)? {
            return Err(RecordError::NotExecutable {
                path: program.to_path_buf(),
                reason: std::io::Error::from_raw_os_error(errno).to_string(),
            });
        }
        let files = files::FileCapture::new(writer.files_dir());
        let mut session = session::Session::new(task, writer, files, chaos_seed)?;
        session.record_exec(pid)?;
        let status = session.run()?;
        session
            .into_writer()
            .finish(header::now_ns())
            .map_err(RecordError::from)?;
        Ok(status)
    })();
    if outcome.is_err() {
        // Other tracees die with this process (PTRACE_O_EXITKILL).
        tracee::kill_process(pid, libc::SIGKILL);
        tracee::reap(pid);
    }
    outcome
}
