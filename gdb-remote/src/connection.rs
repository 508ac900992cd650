//! The client's byte stream, and noticing its Ctrl-C while the target runs.

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use crate::framing::{InputBuffer, INTERRUPT_BYTE, MAX_INCOMING_PAYLOAD};
use crate::target::Interrupt;

/// A stream to one client. Reads must be switchable to non-blocking: while
/// the target runs, the server peeks at the stream for an interrupt
/// request without giving up the thread.
pub trait Connection: Read + Write {
    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()>;
}

impl Connection for TcpStream {
    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        TcpStream::set_nonblocking(self, nonblocking)
    }
}

impl Connection for UnixStream {
    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        UnixStream::set_nonblocking(self, nonblocking)
    }
}

/// How often the stream is looked at. A look is a system call; targets
/// ask between events, which can be microseconds apart, and a person's
/// Ctrl-C does not need a faster answer than this.
const POLL_INTERVAL: Duration = Duration::from_millis(1);

/// The [`Interrupt`] handed to a resuming target. Bytes read while looking
/// for Ctrl-C are kept in the connection's input buffer, so a packet that
/// follows is not lost.
pub(crate) struct ClientInterrupt<'a, C: Connection> {
    conn: RefCell<&'a mut C>,
    input: RefCell<&'a mut InputBuffer>,
    requested: Cell<bool>,
    disconnected: Cell<bool>,
    polling: bool,
    last_poll: Cell<Option<Instant>>,
}

impl<'a, C: Connection> ClientInterrupt<'a, C> {
    pub(crate) fn new(conn: &'a mut C, input: &'a mut InputBuffer) -> ClientInterrupt<'a, C> {
        // In all-stop mode the client sends nothing but Ctrl-C while the
        // target runs, so a 0x03 already buffered (it came in right behind
        // the resume packet) is a request.
        let already = input.pending().contains(&INTERRUPT_BYTE);
        let polling = conn.set_nonblocking(true).is_ok();
        ClientInterrupt {
            conn: RefCell::new(conn),
            input: RefCell::new(input),
            requested: Cell::new(already),
            disconnected: Cell::new(false),
            polling,
            last_poll: Cell::new(None),
        }
    }

    fn poll(&self) {
        let (Ok(mut conn), Ok(mut input)) =
            (self.conn.try_borrow_mut(), self.input.try_borrow_mut())
        else {
            return;
        };
        let mut chunk = [0u8; 1024];
        // A client that floods the stream while the target runs is left
        // to the kernel's buffer instead of growing ours without bound.
        while input.pending().len() < MAX_INCOMING_PAYLOAD {
            match conn.read(&mut chunk) {
                Ok(0) => {
                    self.disconnected.set(true);
                    break;
                }
                Ok(n) => {
                    if chunk[..n].contains(&INTERRUPT_BYTE) {
                        self.requested.set(true);
                    }
                    input.append(&chunk[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    self.disconnected.set(true);
                    break;
                }
            }
        }
        // Nobody is left to debug: stop the target where it is, so a
        // client that reconnects finds it there rather than at the end.
        if self.disconnected.get() {
            self.requested.set(true);
        }
    }

    /// Puts the stream back into blocking mode; true if the client went
    /// away during the resume.
    pub(crate) fn finish(self) -> bool {
        let conn = self.conn.into_inner();
        let restored = conn.set_nonblocking(false).is_ok();
        self.disconnected.get() || !restored
    }
}

impl<C: Connection> Interrupt for ClientInterrupt<'_, C> {
    fn requested(&self) -> bool {
        if self.requested.get() || !self.polling {
            return self.requested.get();
        }
        let now = Instant::now();
        let due = self
            .last_poll
            .get()
            .is_none_or(|last| now.duration_since(last) >= POLL_INTERVAL);
        if due {
            self.last_poll.set(Some(now));
            self.poll();
        }
        self.requested.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn interrupt_byte_is_seen_and_following_bytes_kept() {
        let (mut server, mut client) = UnixStream::pair().unwrap();
        let mut input = InputBuffer::default();
        let interrupt = ClientInterrupt::new(&mut server, &mut input);
        assert!(!interrupt.requested());
        client.write_all(b"\x03$g#67").unwrap();
        let start = Instant::now();
        while !interrupt.requested() {
            assert!(start.elapsed() < Duration::from_secs(10));
            thread::sleep(Duration::from_millis(1));
        }
        assert!(!interrupt.finish());
        assert_eq!(input.pending(), b"\x03$g#67");
    }

    #[test]
    fn buffered_interrupt_counts() {
        let (mut server, _client) = UnixStream::pair().unwrap();
        let mut input = InputBuffer::default();
        input.append(b"\x03");
        let interrupt = ClientInterrupt::new(&mut server, &mut input);
        assert!(interrupt.requested());
    }

    #[test]
    fn disconnect_stops_the_target() {
        let (mut server, client) = UnixStream::pair().unwrap();
        drop(client);
        let mut input = InputBuffer::default();
        let interrupt = ClientInterrupt::new(&mut server, &mut input);
        assert!(interrupt.requested());
        assert!(interrupt.finish());
    }
}
