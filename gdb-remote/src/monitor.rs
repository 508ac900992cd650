//! `qRcmd`: gdb's `monitor` command. The target's text goes to gdb's
//! console in `O` packets, then `OK` ends the command.

use std::io;

use crate::connection::Connection;
use crate::hex;
use crate::session::{error_reply, Flow, Session, PACKET_SIZE};
use crate::target::TargetError;

/// Console output per `O` packet: two hex digits a byte, plus the `O`.
const OUTPUT_CHUNK: usize = (PACKET_SIZE - 1) / 2;

impl<C: Connection> Session<'_, C> {
    pub(crate) fn monitor(&mut self, command: &[u8]) -> io::Result<Flow> {
        let command = String::from_utf8_lossy(command);
        match self.target.monitor(command.trim()) {
            Ok(text) => {
                self.console_output(text.as_bytes())?;
                self.reply(b"OK")
            }
            // gdb says "Target does not support this command."
            Err(TargetError::Unsupported) => self.reply(b""),
            // gdb shows a qRcmd error only as "Protocol error with Rcmd", so
            // the message goes to the console first.
            Err(TargetError::Message(text)) => {
                let mut text = text.into_bytes();
                if !text.ends_with(b"\n") {
                    text.push(b'\n');
                }
                self.console_output(&text)?;
                self.reply(b"E01")
            }
            Err(e) => self.reply(&error_reply(&e)),
        }
    }

    pub(crate) fn console_output(&mut self, text: &[u8]) -> io::Result<()> {
        for piece in text.chunks(OUTPUT_CHUNK) {
            let mut packet = Vec::with_capacity(1 + piece.len() * 2);
            packet.push(b'O');
            hex::push_bytes(&mut packet, piece);
            self.io.send_packet(&packet)?;
        }
        Ok(())
    }
}
