//! A GDB Remote Serial Protocol server for rewind's replays.
//!
//! The server speaks the protocol over TCP to one client at a time, in
//! all-stop mode, on top of a [`Target`]; it knows nothing of ptrace or
//! traces. It offers what a stock gdb needs to debug an x86-64 GNU/Linux
//! process: registers (general, segment, x87, SSE, AVX upper halves) with
//! their target description, memory, breakpoints and watchpoints, stepping
//! and continuing forwards and backwards, thread lists, the auxiliary
//! vector and executable name, reading the program's files (`vFile`), and
//! `monitor` commands. Optional parts follow the target's extensions: no
//! [`Breakpoints`] means no `Z` packets, no [`ReverseExecution`] means no
//! reverse execution offered, no [`HostFiles`] means gdb reads files itself.
//!
//! Signal numbers in [`StopReason`] are Linux's; the server translates
//! them to gdb's numbering.
//!
//! Sessions: one client at a time (a second connection waits in the listen
//! backlog until the first ends). The server answers `qAttached` with 1, so
//! gdb detaches (`D`) rather than kills when the user quits, and the target
//! stays where it was for the next client. A client that drops while the
//! target runs interrupts the run, so a reconnecting client finds the
//! target stopped, not at the end. [`Server::serve`] ends on `k`/`vKill`,
//! or on a disconnect without detach after the program has ended;
//! [`Server::serve_one`] serves a single client for a caller that runs
//! gdb itself and stops when gdb does.
//!
//! Resuming: all-stop only. `vCont` with a step for a thread becomes
//! [`ResumeAction::Step`] of that thread, any other mix of continues
//! becomes [`ResumeAction::Continue`] (a continue limited to some threads
//! resumes all of them); signals given with `C`/`S` are dropped. While the
//! target runs, the stream is checked for Ctrl-C at most once a
//! millisecond when the target asks [`Interrupt::requested`].
//!
//! `REWIND_LOG=gdb-remote` logs every packet on stderr.

#![forbid(unsafe_code)]

pub mod agent;
pub mod target;
pub use target::*;

mod connection;
mod framing;
mod hex;
mod log;
mod monitor;
mod packets;
mod registers;
mod session;
mod stop_reply;
mod target_xml;
mod vfile;
mod xfer;

pub use connection::Connection;

use std::io;
use std::net::{Ipv4Addr, TcpListener, TcpStream};

/// How one client's session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// The client sent `D`: it may come back and find the target as it was.
    Detached,
    /// The connection closed (or failed) without a detach.
    Disconnected,
    /// The client sent `k` or `vKill`: debugging is over.
    Killed,
}

/// Why [`Server::serve`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServeEnd {
    /// A client sent `k` or `vKill`.
    Killed,
    /// The program had exited (or died of a signal) and the client then
    /// disconnected without detaching: nothing is left to debug, and gdb
    /// closes the connection this way after the program's end.
    Exited,
}

/// A listening socket on the loopback interface.
pub struct Server {
    listener: TcpListener,
    port: u16,
}

impl Server {
    /// Listens on 127.0.0.1:`port`; 0 picks any free port (see
    /// [`Server::local_port`]).
    pub fn bind(port: u16) -> io::Result<Server> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        let port = listener.local_addr()?.port();
        Ok(Server { listener, port })
    }

    /// The port clients connect to.
    pub fn local_port(&self) -> u16 {
        self.port
    }

    /// Waits for one client and serves it until it detaches, disconnects
    /// or kills. For a caller that runs gdb itself and stops when gdb ends.
    pub fn serve_one(&mut self, target: &mut dyn Target) -> io::Result<SessionEnd> {
        let stream = self.accept()?;
        serve_connection(stream, target)
    }

    /// Serves clients one after another, each until it detaches or
    /// disconnects; the target stays where the last one left it. Returns
    /// when a client kills the target ([`ServeEnd::Killed`]) or disconnects
    /// without detaching after the program ended ([`ServeEnd::Exited`]).
    /// A connection's I/O failure counts as a disconnect; only a failure of
    /// the listening socket is an error.
    pub fn serve(&mut self, target: &mut dyn Target) -> io::Result<ServeEnd> {
        loop {
            let stream = self.accept()?;
            let end = serve_connection(stream, target).unwrap_or_else(|e| {
                log::note(&format!("connection failed: {e}"));
                SessionEnd::Disconnected
            });
            match end {
                SessionEnd::Killed => return Ok(ServeEnd::Killed),
                SessionEnd::Detached => {}
                SessionEnd::Disconnected => {
                    if stop_reply::is_exit(&target.current_stop()) {
                        return Ok(ServeEnd::Exited);
                    }
                }
            }
        }
    }

    fn accept(&self) -> io::Result<TcpStream> {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    // Packets are small and strictly request/reply: with
                    // Nagle's algorithm on, exchanges stall on delayed acks.
                    // Failing to turn it off only costs speed.
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Serves one client over `conn` until it detaches, disconnects or kills.
/// The stream may be a TCP connection or one end of a Unix socket pair
/// (tests drive the server that way).
pub fn serve_connection<C: Connection>(conn: C, target: &mut dyn Target) -> io::Result<SessionEnd> {
    session::Session::new(conn, target).run()
}
