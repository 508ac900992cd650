//! `rewind replay`: replay a trace, under gdb or on its own.

use std::path::{Path, PathBuf};
use std::process::Command;

use argh::FromArgs;
use replayer::debug::{DebugOptions, ReplayTarget};
use replayer::ReplayOptions;
use trace_format::dir;

use crate::fail::{Failure, EXIT_FAILURE};

/// replay a recorded trace exactly, verifying every event; by default in
/// gdb, which can then step, break and watch inside the recorded run
#[derive(FromArgs)]
#[argh(subcommand, name = "replay")]
pub struct ReplayArgs {
    /// run to the end without a debugger and exit with the recorded status
    #[argh(switch, short = 'a')]
    autopilot: bool,
    /// do not reproduce the program's output on stdout and stderr (with -a)
    #[argh(switch)]
    no_output: bool,
    /// only serve gdb on this port of 127.0.0.1 (0 picks a free one) and
    /// print the command that connects
    #[argh(option, short = 's')]
    server: Option<u16>,
    /// the debugger first sees the program at the start of this event
    #[argh(option, short = 'g')]
    goto: Option<u64>,
    /// debug this process of the tree (default: the first that ran a
    /// program; `rewind ps` lists them)
    #[argh(option, short = 'p')]
    pid: Option<i32>,
    /// replay time in milliseconds between the copies of the replay that
    /// moves back start from (default 200; 0 copies wherever it can)
    #[argh(option)]
    copy_interval: Option<u64>,
    /// the gdb to run (default: gdb on PATH)
    #[argh(option)]
    debugger: Option<PathBuf>,
    /// trace directory or name (default: the latest trace)
    #[argh(positional)]
    trace: Option<PathBuf>,
}

pub fn run(args: &ReplayArgs) -> Result<i32, Failure> {
    let trace_dir = dir::resolve_trace(args.trace.as_deref())?;
    if args.autopilot {
        if args.server.is_some()
            || args.goto.is_some()
            || args.debugger.is_some()
            || args.pid.is_some()
            || args.copy_interval.is_some()
        {
            return Err(Failure::new(
                "-a replays every process without a debugger, so -s, -g, -p, --copy-interval and --debugger do not apply; drop one or the other",
                2,
            ));
        }
        let options = ReplayOptions {
            trace_dir,
            echo_output: !args.no_output,
        };
        return match replayer::replay_to_end(&options) {
            Ok(status) => Ok(status.shell_code()),
            Err(e) => Err(Failure::new(&e, e.exit_code())),
        };
    }
    let debugger = match args.server {
        Some(_) => None,
        None => Some(find_debugger(args.debugger.as_deref())?),
    };
    let server = gdb_remote::Server::bind(args.server.unwrap_or(0)).map_err(|e| {
        Failure::new(
            format!("cannot listen for gdb on 127.0.0.1: {e}; choose another port with -s"),
            EXIT_FAILURE,
        )
    })?;
    let options = DebugOptions {
        trace_dir,
        pid: args.pid,
        goto_event: args.goto,
        copy_interval: args.copy_interval.map_or(
            replayer::debug::COPY_INTERVAL,
            std::time::Duration::from_millis,
        ),
    };
    let target = replayer::debug::start(&options).map_err(|e| Failure::new(&e, e.exit_code()))?;
    let address = format!("127.0.0.1:{}", server.local_port());
    match debugger {
        None => {
            println!("rewind: replay ready for gdb at {address}; connect with:");
            println!("gdb -ex 'target extended-remote {address}'");
            serve(server, target)
        }
        Some(gdb) => run_gdb(&gdb, &address, server, target),
    }
}

fn serve(mut server: gdb_remote::Server, mut target: ReplayTarget) -> Result<i32, Failure> {
    let served = server.serve(&mut target);
    if let Some(e) = target.finish() {
        return Err(Failure::new(&e, e.exit_code()));
    }
    served
        .map(|_| 0)
        .map_err(|e| Failure::new(format!("the connection to gdb failed: {e}"), EXIT_FAILURE))
}

/// Runs gdb connected to the server; the replay ends when gdb does.
fn run_gdb(
    gdb: &Path,
    address: &str,
    mut server: gdb_remote::Server,
    mut target: ReplayTarget,
) -> Result<i32, Failure> {
    tracee::signals::ignore_interrupt_key();
    let commands = GdbCommands::write()?;
    let mut child = Command::new(gdb)
        .arg("-q")
        .arg("-x")
        .arg(&commands.0)
        .arg("-ex")
        .arg(format!("target extended-remote {address}"))
        .spawn()
        .map_err(|e| Failure::new(format!("cannot run {}: {e}", gdb.display()), EXIT_FAILURE))?;
    // A gdb that ends without connecting (or fails to) must not leave the
    // server waiting: once it is gone, a connection of our own ends the
    // wait.
    let waker_address = address.to_owned();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = std::net::TcpStream::connect(waker_address);
        status
    });
    let served = server.serve_one(&mut target);
    let status = waiter
        .join()
        .map_err(|_| Failure::new("waiting for gdb failed", EXIT_FAILURE))?;
    if let Some(e) = target.finish() {
        return Err(Failure::new(&e, e.exit_code()));
    }
    served.map_err(|e| Failure::new(format!("the connection to gdb failed: {e}"), EXIT_FAILURE))?;
    match status {
        Ok(s) => Ok(s.code().unwrap_or_else(|| {
            128 + std::os::unix::process::ExitStatusExt::signal(&s).unwrap_or(0)
        })),
        Err(e) => Err(Failure::new(
            format!("cannot wait for gdb: {e}"),
            EXIT_FAILURE,
        )),
    }
}

/// rr's spellings of checkpoints, as gdb commands over rewind's monitor
/// commands. They replace gdb's own, which fork a live process. gdb does
/// not know that a monitor command moved the program: it is told by
/// flushing its register cache.
const GDB_COMMANDS: &str = "set confirm off
define checkpoint
  monitor checkpoint
end
document checkpoint
Remember this stop of the replay; `restart N` comes back to it.
end
define restart
  monitor restart $arg0
  maintenance flush register-cache
  maintenance flush dcache
  frame
end
document restart
Go back (or forward) to checkpoint N of the replay.
end
define info checkpoints
  monitor checkpoints
end
document info checkpoints
List the replay's checkpoints.
end
define delete checkpoint
  monitor delete checkpoint $arg0
end
document delete checkpoint
Forget checkpoint N of the replay.
end
set confirm on
";

/// The file of `GDB_COMMANDS` gdb reads at its start; removed when dropped.
struct GdbCommands(PathBuf);

impl GdbCommands {
    fn write() -> Result<GdbCommands, Failure> {
        let path = std::env::temp_dir().join(format!("rewind-gdb-{}.gdb", std::process::id()));
        std::fs::write(&path, GDB_COMMANDS).map_err(|e| {
            Failure::new(
                format!(
                    "cannot write gdb's commands to {}: {e}; set TMPDIR to a writable directory",
                    path.display()
                ),
                EXIT_FAILURE,
            )
        })?;
        Ok(GdbCommands(path))
    }
}

impl Drop for GdbCommands {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The debugger to run: `--debugger`, or gdb on PATH.
fn find_debugger(chosen: Option<&Path>) -> Result<PathBuf, Failure> {
    if let Some(path) = chosen {
        if path.is_file() {
            return Ok(path.to_owned());
        }
        return Err(Failure::new(
            format!(
                "the debugger {} does not exist; name an installed gdb with --debugger",
                path.display()
            ),
            EXIT_FAILURE,
        ));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("gdb"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            Failure::new(
                "gdb was not found on PATH; install gdb, name one with --debugger PATH, or serve with -s PORT and connect a debugger yourself",
                EXIT_FAILURE,
            )
        })
}
