//! One client's session: reads packets, acts on the target, replies.
//! Packet families with state of their own (`qXfer`, `vFile`, `qRcmd`)
//! live in their own modules as further `impl Session` blocks.

use std::io;

use crate::connection::{ClientInterrupt, Connection};
use crate::framing::{Incoming, PacketIo};
use crate::packets::{
    self, push_thread_id, ClientFeatures, Command, ResumeRequest, ThreadOp, ThreadSel,
};
use crate::registers;
use crate::stop_reply;
use crate::target::{
    BreakpointKind, ResumeAction, StopReason, Target, TargetError, TargetResult, ThreadId,
};
use crate::vfile::FileTable;
use crate::xfer::XferCache;
use crate::{log, SessionEnd};

/// The payload size advertised in qSupported: the largest packet the
/// client may send, and the size replies are cut to. It bounds every
/// memory read, file read and transfer chunk.
pub(crate) const PACKET_SIZE: usize = 0x4000;

/// How the dispatch loop goes on after a packet.
pub(crate) enum Flow {
    Continue,
    Detach,
    Kill,
    Disconnected,
}

pub(crate) struct Session<'t, C: Connection> {
    pub(crate) io: PacketIo<C>,
    pub(crate) target: &'t mut dyn Target,
    pub(crate) features: ClientFeatures,
    /// The thread of the last stop; `Hg 0` and `Hc 0` mean this one.
    current: Option<ThreadId>,
    /// Chosen with `Hg`: registers and memory.
    general: Option<ThreadId>,
    /// Chosen with `Hc`: what `s` and `vCont;s` without a thread step.
    resume_thread: Option<ThreadId>,
    /// qfThreadInfo's snapshot, handed out by qsThreadInfo.
    thread_list: Vec<ThreadId>,
    thread_list_next: usize,
    pub(crate) xfer_cache: XferCache,
    pub(crate) files: FileTable,
}

/// `Exx` for a target error where the protocol has no room for text.
pub(crate) fn error_reply(err: &TargetError) -> Vec<u8> {
    match err {
        TargetError::Errno(errno) => {
            let code = u8::try_from(*errno).ok().filter(|&c| c != 0).unwrap_or(1);
            format!("E{code:02x}").into_bytes()
        }
        TargetError::Unsupported | TargetError::Message(_) => b"E01".to_vec(),
    }
}

/// `E.text` where gdb shows it (it warns "Remote failure reply: E.text"
/// when a resume fails). `$`, `#`, `*` and `}` are replaced: gdb reads a
/// plain reply without unescaping, and `*` would be taken for run-length.
fn error_reply_with_text(err: &TargetError) -> Vec<u8> {
    match err {
        TargetError::Message(text) => {
            let mut out = b"E.".to_vec();
            out.extend(text.bytes().map(|b| match b {
                b'$' | b'#' | b'*' | b'}' => b'?',
                b if b.is_ascii_graphic() || b == b' ' => b,
                _ => b' ',
            }));
            out
        }
        _ => error_reply(err),
    }
}

impl<'t, C: Connection> Session<'t, C> {
    pub(crate) fn new(conn: C, target: &'t mut dyn Target) -> Session<'t, C> {
        Session {
            io: PacketIo::new(conn),
            target,
            features: ClientFeatures::default(),
            current: None,
            general: None,
            resume_thread: None,
            thread_list: Vec::new(),
            thread_list_next: 0,
            xfer_cache: XferCache::default(),
            files: FileTable::default(),
        }
    }

    pub(crate) fn run(mut self) -> io::Result<SessionEnd> {
        match self.serve_packets() {
            Ok(end) => Ok(end),
            Err(e) if is_disconnect(&e) => Ok(SessionEnd::Disconnected),
            Err(e) => Err(e),
        }
    }

    fn serve_packets(&mut self) -> io::Result<SessionEnd> {
        loop {
            let flow = match self.io.read_packet()? {
                Incoming::Packet(packet) => self.handle(packets::parse(&packet))?,
                Incoming::Oversized | Incoming::Malformed => {
                    self.io.send_packet(b"E01")?;
                    Flow::Continue
                }
                Incoming::Eof => Flow::Disconnected,
            };
            match flow {
                Flow::Continue => {}
                Flow::Detach => return Ok(SessionEnd::Detached),
                Flow::Kill => return Ok(SessionEnd::Killed),
                Flow::Disconnected => return Ok(SessionEnd::Disconnected),
            }
        }
    }

    pub(crate) fn reply(&mut self, payload: &[u8]) -> io::Result<Flow> {
        self.io.send_packet(payload)?;
        Ok(Flow::Continue)
    }

    fn handle(&mut self, command: Command<'_>) -> io::Result<Flow> {
        match command {
            Command::Supported(features) => {
                self.features = features;
                let reply = self.supported_reply();
                self.reply(&reply)
            }
            Command::StartNoAckMode => {
                // The OK itself is still acknowledged; acks stop after it.
                self.reply(b"OK")?;
                self.io.disable_acks();
                Ok(Flow::Continue)
            }
            // The process existed before gdb came: on quit gdb detaches
            // (and the replay stays) instead of killing it.
            Command::Attached => self.reply(b"1"),
            Command::CurrentThread => {
                let mut reply = Vec::new();
                if let Some(thread) = self.current_thread() {
                    reply.extend_from_slice(b"QC");
                    push_thread_id(&mut reply, thread, self.features.multiprocess);
                }
                self.reply(&reply)
            }
            Command::ThreadInfoFirst => {
                self.thread_list = self.target.threads();
                self.thread_list_next = 0;
                let reply = self.thread_list_chunk();
                self.reply(&reply)
            }
            Command::ThreadInfoNext => {
                let reply = self.thread_list_chunk();
                self.reply(&reply)
            }
            Command::SymbolLookupDone => self.reply(b"OK"),
            Command::Xfer(request) => {
                let reply = self.xfer(request);
                self.reply(&reply)
            }
            Command::Monitor(command) => self.monitor(&command),
            Command::StopQuery => {
                let stop = self.target.current_stop();
                self.note_stop(&stop);
                self.reply(&stop_reply::format(&stop, self.features))
            }
            Command::SetThread { op, thread } => {
                let Some(chosen) = self.resolve_selection(thread) else {
                    return self.reply(b"E01");
                };
                match op {
                    ThreadOp::General => self.general = chosen,
                    ThreadOp::Continue => self.resume_thread = chosen,
                }
                self.reply(b"OK")
            }
            Command::ThreadAlive(thread) => {
                let alive = match thread {
                    ThreadSel::Thread { .. } => self.find_thread(thread).is_some(),
                    _ => !self.target.threads().is_empty(),
                };
                self.reply(if alive { b"OK" } else { b"E01" })
            }
            Command::ReadRegisters => {
                let reply = self.with_registers(|regs| Some(registers::encode_all(regs)));
                self.reply(&reply)
            }
            Command::ReadRegister(regnum) => {
                let reply = self.with_registers(|regs| registers::encode_one(regs, regnum));
                self.reply(&reply)
            }
            Command::WriteRegisters(values) => {
                let reply = self.update_registers(|regs| registers::decode_all(regs, values));
                self.reply(&reply)
            }
            Command::WriteRegister { regnum, value } => {
                let reply =
                    self.update_registers(|regs| registers::decode_one(regs, regnum, value));
                self.reply(&reply)
            }
            Command::ReadMemory { addr, len } => {
                // Two hex digits per byte must fit one reply.
                let reply = match self.read_memory(addr, len.min(PACKET_SIZE / 2)) {
                    Ok(bytes) => {
                        let mut hex = Vec::with_capacity(bytes.len() * 2);
                        crate::hex::push_bytes(&mut hex, &bytes);
                        hex
                    }
                    Err(reply) => reply,
                };
                self.reply(&reply)
            }
            Command::ReadMemoryBinary { addr, len } => {
                // Bounded so that even all-escaped data fits one reply.
                let reply = match self.read_memory(addr, len.min((PACKET_SIZE - 1) / 2)) {
                    Ok(bytes) => {
                        let mut out = Vec::with_capacity(bytes.len() + 1);
                        out.push(b'b');
                        crate::framing::escape_binary(&bytes, &mut out, PACKET_SIZE - 1);
                        out
                    }
                    Err(reply) => reply,
                };
                self.reply(&reply)
            }
            Command::WriteMemory { addr, data } => {
                let reply = self.write_memory(addr, &data);
                self.reply(&reply)
            }
            Command::ResumeQuery => self.reply(b"vCont;c;C;s;S"),
            Command::Resume(request, signal) => self.resume(request, signal, false),
            Command::ReverseResume(request) => self.resume(request, None, true),
            Command::PassSignals(signals) => match self.target.signals() {
                Some(filter) => {
                    filter.pass(&signals);
                    self.reply(b"OK")
                }
                None => self.reply(b""),
            },
            Command::Breakpoint {
                insert,
                kind,
                addr,
                len,
                conditions,
            } => {
                let instruction =
                    matches!(kind, BreakpointKind::Software | BreakpointKind::Hardware);
                let result = match self.target.breakpoints() {
                    None => return self.reply(b""),
                    Some(breakpoints) if insert => {
                        breakpoints.insert(kind, addr, len).and_then(|()| {
                            if instruction {
                                breakpoints.set_conditions(kind, addr, conditions)
                            } else {
                                Ok(())
                            }
                        })
                    }
                    Some(breakpoints) => breakpoints.remove(kind, addr, len),
                };
                match result {
                    Ok(()) => self.reply(b"OK"),
                    // Empty: gdb then knows this Z type is not available.
                    Err(TargetError::Unsupported) => self.reply(b""),
                    Err(e) => self.reply(&error_reply(&e)),
                }
            }
            Command::File(request) => {
                let reply = self.file_request(request);
                self.reply(&reply)
            }
            // gdb does not wait for a reply to `k`.
            Command::Kill => Ok(Flow::Kill),
            Command::KillProcess => match self.target.restart() {
                // The process is gone, but the target can run it again.
                Some(restart) => {
                    restart.kill();
                    self.reply(b"OK")
                }
                None => {
                    self.reply(b"OK")?;
                    Ok(Flow::Kill)
                }
            },
            Command::ExtendedMode => match self.target.restart() {
                Some(_) => self.reply(b"OK"),
                None => self.reply(b""),
            },
            Command::Run(words) => {
                let Some(restart) = self.target.restart() else {
                    return self.reply(b"");
                };
                let args: Vec<String> = words
                    .iter()
                    .skip(1)
                    .map(|w| String::from_utf8_lossy(w).into_owned())
                    .collect();
                let result = restart.run(&args);
                self.report_stop(result)
            }
            Command::Detach => {
                self.reply(b"OK")?;
                Ok(Flow::Detach)
            }
            Command::Unsupported => self.reply(b""),
            Command::Malformed => self.reply(b"E01"),
        }
    }

    fn supported_reply(&mut self) -> Vec<u8> {
        let mut reply = format!(
            "PacketSize={PACKET_SIZE:x};QStartNoAckMode+;multiprocess+;vContSupported+;\
             qXfer:features:read+;qXfer:auxv:read+;qXfer:exec-file:read+;\
             qXfer:threads:read+;binary-upload+;exec-events+"
        );
        if let Some(breakpoints) = self.target.breakpoints() {
            reply.push_str(";swbreak+;hwbreak+");
            if breakpoints.evaluates_conditions() {
                reply.push_str(";ConditionalBreakpoints+");
            }
        }
        if self.target.reverse().is_some() {
            reply.push_str(";ReverseStep+;ReverseContinue+");
        }
        if self.target.signals().is_some() {
            reply.push_str(";QPassSignals+");
        }
        reply.into_bytes()
    }

    /// `m<id>,<id>...` up to a packet's worth, then `l` when none are left.
    fn thread_list_chunk(&mut self) -> Vec<u8> {
        let remaining = self.thread_list.get(self.thread_list_next..).unwrap_or(&[]);
        if remaining.is_empty() {
            return b"l".to_vec();
        }
        let mut reply = b"m".to_vec();
        for (i, &thread) in remaining.iter().enumerate() {
            // A `p<pid>.<tid>` id is at most 20 bytes with its comma.
            if i > 0 {
                if reply.len() + 20 > PACKET_SIZE {
                    break;
                }
                reply.push(b',');
            }
            push_thread_id(&mut reply, thread, self.features.multiprocess);
            self.thread_list_next += 1;
        }
        reply
    }

    /// The thread that `0` means: the last stop's, else the first alive.
    pub(crate) fn current_thread(&mut self) -> Option<ThreadId> {
        if self.current.is_none() {
            self.current = self.target.threads().first().copied();
        }
        self.current
    }

    pub(crate) fn general_thread(&mut self) -> Option<ThreadId> {
        self.general.or_else(|| self.current_thread())
    }

    fn find_thread(&mut self, selection: ThreadSel) -> Option<ThreadId> {
        let threads = self.target.threads();
        match selection {
            ThreadSel::Thread { pid, tid } => threads
                .into_iter()
                .find(|t| t.tid == tid && pid.is_none_or(|pid| t.pid == pid)),
            ThreadSel::Process(pid) => threads.into_iter().find(|t| t.pid == pid),
            ThreadSel::Any | ThreadSel::All => threads.first().copied(),
        }
    }

    /// What `H` stores: `Some(None)` for "the current thread",
    /// `Some(Some(t))` for one thread, `None` for a thread that is not.
    fn resolve_selection(&mut self, selection: ThreadSel) -> Option<Option<ThreadId>> {
        match selection {
            ThreadSel::Any | ThreadSel::All => Some(None),
            // gdb sends `Hc p<pid>.0` before `bs` to mean "whichever thread
            // of the process you stopped in", which is the current one.
            ThreadSel::Process(pid) if self.current_thread().is_some_and(|t| t.pid == pid) => {
                Some(None)
            }
            ThreadSel::Process(_) | ThreadSel::Thread { .. } => {
                self.find_thread(selection).map(Some)
            }
        }
    }

    fn note_stop(&mut self, stop: &StopReason) {
        if let Some(thread) = stop.thread() {
            // gdb takes the stopped thread as the `Hg` thread from here on
            // (it will not resend `Hg` for it), but keeps believing its last
            // `Hc`, so that one stays.
            self.current = Some(thread);
            self.general = None;
        }
    }

    fn with_registers(
        &mut self,
        encode: impl FnOnce(&crate::target::X86Registers) -> Option<Vec<u8>>,
    ) -> Vec<u8> {
        let Some(thread) = self.general_thread() else {
            return b"E01".to_vec();
        };
        match self.target.read_registers(thread) {
            Ok(regs) => encode(&regs).unwrap_or_else(|| b"E01".to_vec()),
            Err(e) => error_reply(&e),
        }
    }

    /// Read, change, write back: registers not in the packet keep their
    /// values, including FXSAVE bytes no gdb register shows.
    fn update_registers(
        &mut self,
        change: impl FnOnce(&mut crate::target::X86Registers) -> Option<()>,
    ) -> Vec<u8> {
        let Some(thread) = self.general_thread() else {
            return b"E01".to_vec();
        };
        let mut regs = match self.target.read_registers(thread) {
            Ok(regs) => regs,
            Err(e) => return error_reply(&e),
        };
        if change(&mut regs).is_none() {
            return b"E01".to_vec();
        }
        match self.target.write_registers(thread, &regs) {
            Ok(()) => b"OK".to_vec(),
            Err(e) => error_reply(&e),
        }
    }

    /// The readable prefix of `len` bytes at `addr`; the error reply when
    /// not even one byte is readable.
    fn read_memory(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, Vec<u8>> {
        // A range running past the top of the address space is cut there.
        let room = usize::try_from(u64::MAX - addr).map_or(usize::MAX, |r| r.saturating_add(1));
        let len = len.min(room);
        if len == 0 {
            return Ok(Vec::new());
        }
        let thread = self.general_thread().ok_or_else(|| b"E01".to_vec())?;
        match self.target.read_memory(thread, addr, len) {
            Ok(mut bytes) if !bytes.is_empty() => {
                bytes.truncate(len);
                Ok(bytes)
            }
            // EFAULT: nothing there.
            Ok(_) => Err(b"E0e".to_vec()),
            Err(e) => Err(error_reply(&e)),
        }
    }

    fn write_memory(&mut self, addr: u64, data: &[u8]) -> Vec<u8> {
        // `X addr,0:` is gdb asking whether binary writes work.
        if data.is_empty() {
            return b"OK".to_vec();
        }
        let Some(thread) = self.general_thread() else {
            return b"E01".to_vec();
        };
        match self.target.write_memory(thread, addr, data) {
            Ok(()) => b"OK".to_vec(),
            Err(e) => error_reply(&e),
        }
    }

    fn resume(
        &mut self,
        request: ResumeRequest,
        signal: Option<i32>,
        reverse: bool,
    ) -> io::Result<Flow> {
        if reverse && self.target.reverse().is_none() {
            return self.reply(b"");
        }
        let action = match request {
            ResumeRequest::Continue => ResumeAction::Continue,
            ResumeRequest::Step(Some(selection)) => match self.find_thread(selection) {
                Some(thread) => ResumeAction::Step(thread),
                None => return self.reply(b"E01"),
            },
            ResumeRequest::Step(None) => {
                let thread = match self.resume_thread {
                    Some(thread) => Some(thread),
                    None => self.current_thread(),
                };
                match thread {
                    Some(thread) => ResumeAction::Step(thread),
                    None => return self.reply(b"E01"),
                }
            }
        };
        let (conn, input) = self.io.parts();
        let interrupt = ClientInterrupt::new(conn, input);
        let result = if reverse {
            match self.target.reverse() {
                Some(reverse_execution) => reverse_execution.resume_reverse(action, &interrupt),
                None => Err(TargetError::Unsupported),
            }
        } else {
            self.target.resume(action, signal, &interrupt)
        };
        if interrupt.finish() {
            log::note("client went away while the target ran");
            return Ok(Flow::Disconnected);
        }
        self.report_stop(result)
    }

    /// Answers a packet that ran the target: its stop reply, or the error.
    fn report_stop(&mut self, result: TargetResult<StopReason>) -> io::Result<Flow> {
        match result {
            Ok(stop) => {
                self.note_stop(&stop);
                // Output packets may precede the stop reply of a resume.
                if let Some(message) = self.target.stop_message() {
                    self.console_output(message.as_bytes())?;
                }
                self.reply(&stop_reply::format(&stop, self.features))
            }
            Err(e) => self.reply(&error_reply_with_text(&e)),
        }
    }

    /// The process gdb debugs: that of the current thread.
    pub(crate) fn current_pid(&mut self) -> Option<i32> {
        self.general_thread().map(|t| t.pid)
    }
}

fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_replies() {
        assert_eq!(error_reply(&TargetError::Errno(14)), b"E0e");
        assert_eq!(error_reply(&TargetError::Errno(0)), b"E01");
        assert_eq!(error_reply(&TargetError::Errno(-3)), b"E01");
        assert_eq!(error_reply(&TargetError::Errno(300)), b"E01");
        assert_eq!(error_reply(&TargetError::Unsupported), b"E01");
        assert_eq!(error_reply(&TargetError::Message("no".to_string())), b"E01");
        assert_eq!(
            error_reply_with_text(&TargetError::Message("bad $#*} end\n".to_string())),
            b"E.bad ???? end "
        );
    }
}
