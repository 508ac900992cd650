//! A mock target and a minimal protocol client for driving the server.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use gdb_remote::{
    BreakpointKind, Breakpoints, HostFiles, Interrupt, Restart, ResumeAction, ReverseExecution,
    ServeEnd, Server, Signals, StopReason, Target, TargetError, TargetResult, ThreadId, WatchKind,
    X86Registers,
};

pub const PID: i32 = 0x64;
pub const MAIN: ThreadId = ThreadId {
    pid: PID,
    tid: 0x64,
};
pub const WORKER: ThreadId = ThreadId {
    pid: PID,
    tid: 0x65,
};
pub const MEM_BASE: u64 = 0x1000;
pub const MEM_LEN: usize = 0x100;
pub const MAIN_RIP: u64 = 0x40_1000;
pub const WORKER_RIP: u64 = 0x40_2000;

/// Everything a test may want to set up or check afterwards.
pub struct MockTarget {
    pub threads: Vec<ThreadId>,
    pub regs: HashMap<ThreadId, X86Registers>,
    pub memory: Vec<u8>,
    pub stop: StopReason,
    /// Stops that the next continues return, in order; when empty a
    /// continue runs until the client interrupts.
    pub script: VecDeque<StopReason>,
    pub resumes: Vec<ResumeAction>,
    /// The signal each resume gave.
    pub resume_signals: Vec<Option<i32>>,
    pub breakpoints: Option<BreakpointTable>,
    /// The last `QPassSignals` list, where the target takes them.
    pub passed: Option<PassedSignals>,
    pub reverse: Option<ReverseLog>,
    pub restart: Option<RestartLog>,
    pub files: Option<MockFiles>,
    pub auxv: Vec<u8>,
    pub exec_file: Option<String>,
}

#[derive(Default)]
pub struct BreakpointTable {
    pub inserted: Vec<(BreakpointKind, u64, u64)>,
}

impl Breakpoints for BreakpointTable {
    fn insert(&mut self, kind: BreakpointKind, addr: u64, len: u64) -> TargetResult<()> {
        if kind == BreakpointKind::Watch(WatchKind::Access) {
            return Err(TargetError::Unsupported);
        }
        if addr == 0 {
            return Err(TargetError::Errno(14));
        }
        self.inserted.push((kind, addr, len));
        Ok(())
    }

    fn remove(&mut self, kind: BreakpointKind, addr: u64, len: u64) -> TargetResult<()> {
        let at = self
            .inserted
            .iter()
            .position(|&b| b == (kind, addr, len))
            .ok_or(TargetError::Errno(2))?;
        self.inserted.remove(at);
        Ok(())
    }
}

#[derive(Default)]
pub struct ReverseLog {
    pub resumes: Vec<ResumeAction>,
}

impl ReverseExecution for ReverseLog {
    fn resume_reverse(
        &mut self,
        action: ResumeAction,
        _interrupt: &dyn Interrupt,
    ) -> TargetResult<StopReason> {
        self.resumes.push(action);
        let thread = match action {
            ResumeAction::Step(thread) => thread,
            ResumeAction::Continue => MAIN,
        };
        Ok(StopReason::HistoryEnd {
            thread,
            at_start: true,
        })
    }
}

#[derive(Default)]
pub struct RestartLog {
    pub kills: usize,
    pub runs: Vec<Vec<String>>,
}

impl Restart for RestartLog {
    fn kill(&mut self) {
        self.kills += 1;
    }

    fn run(&mut self, args: &[String]) -> TargetResult<StopReason> {
        self.runs.push(args.to_vec());
        if !args.is_empty() {
            return Err(TargetError::Message("no arguments".into()));
        }
        Ok(StopReason::Signal {
            thread: MAIN,
            signo: 5,
        })
    }
}

/// Serves files from a directory as if it were `/`.
pub struct MockFiles {
    pub root: PathBuf,
}

impl HostFiles for MockFiles {
    fn open(&mut self, path: &str) -> TargetResult<File> {
        File::open(self.root.join(path.trim_start_matches('/')))
            .map_err(|e| TargetError::Errno(e.raw_os_error().unwrap_or(5)))
    }

    fn readlink(&mut self, path: &str) -> TargetResult<String> {
        match path {
            "/proc/100/exe" => Ok("/prog".to_string()),
            _ => Err(TargetError::Errno(2)),
        }
    }
}

fn registers_with(rip: u64, seed: u64) -> X86Registers {
    let mut regs = X86Registers::default();
    for (i, g) in regs.general.iter_mut().enumerate() {
        *g = seed + i as u64;
    }
    regs.general[16] = rip;
    regs.eflags = 0x246;
    regs.segments = [0x33, 0x2b, 0, 0, 0, 0];
    regs.fs_base = 0x7fff_f7d8_a740;
    // fcw: all exceptions masked, double extended precision.
    regs.fxsave[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
    regs.fxsave[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
    // xmm0 holds the int32s 1, 2, 3, 4; ymm0's upper half 5, 6, 7, 8.
    for (i, v) in [1u32, 2, 3, 4].iter().enumerate() {
        regs.fxsave[160 + 4 * i..164 + 4 * i].copy_from_slice(&v.to_le_bytes());
    }
    for (i, v) in [5u32, 6, 7, 8].iter().enumerate() {
        regs.ymm_high[0][4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
    regs
}

impl MockTarget {
    pub fn new() -> MockTarget {
        let mut regs = HashMap::new();
        regs.insert(MAIN, registers_with(MAIN_RIP, 0x100));
        regs.insert(WORKER, registers_with(WORKER_RIP, 0x200));
        let mut auxv = Vec::new();
        // A long vector with bytes that need escaping, to exercise chunks.
        for i in 0..0x300u64 {
            auxv.extend_from_slice(&(i | 0x2300_0000_0024_2a7d).to_le_bytes());
        }
        MockTarget {
            threads: vec![MAIN, WORKER],
            regs,
            memory: (0..MEM_LEN).map(|i| i as u8).collect(),
            stop: StopReason::Signal {
                thread: MAIN,
                signo: 5,
            },
            script: VecDeque::new(),
            resumes: Vec::new(),
            resume_signals: Vec::new(),
            breakpoints: Some(BreakpointTable::default()),
            passed: Some(PassedSignals::default()),
            reverse: Some(ReverseLog::default()),
            restart: Some(RestartLog::default()),
            files: None,
            auxv,
            exec_file: Some("/prog".to_string()),
        }
    }

    /// No optional extensions at all.
    pub fn bare() -> MockTarget {
        MockTarget {
            passed: None,
            breakpoints: None,
            reverse: None,
            restart: None,
            files: None,
            ..MockTarget::new()
        }
    }
}

impl Target for MockTarget {
    fn current_stop(&mut self) -> StopReason {
        self.stop.clone()
    }

    fn threads(&mut self) -> Vec<ThreadId> {
        self.threads.clone()
    }

    fn read_registers(&mut self, thread: ThreadId) -> TargetResult<X86Registers> {
        self.regs.get(&thread).cloned().ok_or(TargetError::Errno(3))
    }

    fn write_registers(&mut self, thread: ThreadId, regs: &X86Registers) -> TargetResult<()> {
        let slot = self.regs.get_mut(&thread).ok_or(TargetError::Errno(3))?;
        *slot = regs.clone();
        Ok(())
    }

    fn read_memory(&mut self, _thread: ThreadId, addr: u64, len: usize) -> TargetResult<Vec<u8>> {
        let end = MEM_BASE + MEM_LEN as u64;
        if addr < MEM_BASE || addr >= end {
            return Err(TargetError::Errno(14));
        }
        let start = (addr - MEM_BASE) as usize;
        let stop = start.saturating_add(len).min(MEM_LEN);
        Ok(self.memory[start..stop].to_vec())
    }

    fn write_memory(&mut self, _thread: ThreadId, addr: u64, data: &[u8]) -> TargetResult<()> {
        let end = MEM_BASE + MEM_LEN as u64;
        if addr < MEM_BASE || addr + data.len() as u64 > end {
            return Err(TargetError::Errno(14));
        }
        let start = (addr - MEM_BASE) as usize;
        self.memory[start..start + data.len()].copy_from_slice(data);
        Ok(())
    }

    fn resume(
        &mut self,
        action: ResumeAction,
        signal: Option<i32>,
        interrupt: &dyn Interrupt,
    ) -> TargetResult<StopReason> {
        self.resumes.push(action);
        self.resume_signals.push(signal);
        let stop = match action {
            ResumeAction::Step(thread) => {
                let regs = self.regs.get_mut(&thread).ok_or(TargetError::Errno(3))?;
                regs.general[16] += 1;
                StopReason::Signal { thread, signo: 5 }
            }
            ResumeAction::Continue => match self.script.pop_front() {
                // Like a real target, stop at the breakpoint's address.
                Some(StopReason::Breakpoint { thread, hardware }) => {
                    let inserted = self.breakpoints.as_ref().and_then(|b| b.inserted.first());
                    if let (Some(&(_, addr, _)), Some(regs)) =
                        (inserted, self.regs.get_mut(&thread))
                    {
                        regs.general[16] = addr;
                    }
                    StopReason::Breakpoint { thread, hardware }
                }
                Some(stop) => stop,
                None => {
                    let deadline = Instant::now() + Duration::from_secs(20);
                    while !interrupt.requested() {
                        if Instant::now() > deadline {
                            return Err(TargetError::Message("never interrupted".into()));
                        }
                        thread::sleep(Duration::from_micros(200));
                    }
                    StopReason::Interrupted { thread: WORKER }
                }
            },
        };
        self.stop = stop.clone();
        Ok(stop)
    }

    fn auxv(&mut self, pid: i32) -> TargetResult<Vec<u8>> {
        if pid != PID {
            return Err(TargetError::Errno(3));
        }
        Ok(self.auxv.clone())
    }

    fn exec_file(&mut self, pid: i32) -> TargetResult<String> {
        if pid != PID {
            return Err(TargetError::Errno(3));
        }
        self.exec_file.clone().ok_or(TargetError::Unsupported)
    }

    fn thread_name(&mut self, thread: ThreadId) -> Option<String> {
        match thread {
            MAIN => Some("main".to_string()),
            WORKER => Some("work<&>".to_string()),
            _ => None,
        }
    }

    fn monitor(&mut self, command: &str) -> TargetResult<String> {
        match command {
            "when" => Ok("Current event: 42\n".to_string()),
            "big" => Ok("x".repeat(20_000)),
            "fail" => Err(TargetError::Message("it broke".to_string())),
            _ => Err(TargetError::Unsupported),
        }
    }

    fn breakpoints(&mut self) -> Option<&mut dyn Breakpoints> {
        self.breakpoints.as_mut().map(|b| b as &mut dyn Breakpoints)
    }

    fn reverse(&mut self) -> Option<&mut dyn ReverseExecution> {
        self.reverse
            .as_mut()
            .map(|r| r as &mut dyn ReverseExecution)
    }

    fn host_files(&mut self) -> Option<&mut dyn HostFiles> {
        self.files.as_mut().map(|f| f as &mut dyn HostFiles)
    }

    fn signals(&mut self) -> Option<&mut dyn Signals> {
        self.passed.as_mut().map(|p| p as &mut dyn Signals)
    }

    fn restart(&mut self) -> Option<&mut dyn Restart> {
        self.restart.as_mut().map(|r| r as &mut dyn Restart)
    }
}

#[derive(Default)]
pub struct PassedSignals {
    pub lists: Vec<Vec<i32>>,
}

impl Signals for PassedSignals {
    fn pass(&mut self, signals: &[i32]) {
        self.lists.push(signals.to_vec());
    }
}

/// A server with a mock target, serving on a thread.
pub struct Running {
    pub port: u16,
    done: mpsc::Receiver<(MockTarget, io::Result<ServeEnd>)>,
}

pub fn start(mut target: MockTarget) -> Running {
    let mut server = Server::bind(0).expect("bind");
    let port = server.local_port();
    let (tx, done) = mpsc::channel();
    thread::spawn(move || {
        let end = server.serve(&mut target);
        let _ = tx.send((target, end));
    });
    Running { port, done }
}

impl Running {
    pub fn connect(&self) -> Client {
        Client::connect(self.port)
    }

    /// Waits for `serve` to return.
    pub fn finish(self) -> (MockTarget, ServeEnd) {
        let (target, end) = self
            .done
            .recv_timeout(Duration::from_secs(20))
            .expect("serve did not return");
        (target, end.expect("serve failed"))
    }

    /// True if `serve` is still running after a short wait.
    pub fn still_serving(&self) -> bool {
        matches!(
            self.done.recv_timeout(Duration::from_millis(200)),
            Err(mpsc::RecvTimeoutError::Timeout)
        )
    }
}

pub fn checksum(data: &[u8]) -> u8 {
    data.iter().fold(0u8, |s, &b| s.wrapping_add(b))
}

pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut v = vec![b'$'];
    v.extend_from_slice(payload);
    v.extend_from_slice(format!("#{:02x}", checksum(payload)).as_bytes());
    v
}

/// Undoes the `}` escape of binary replies.
pub fn unescape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut bytes = data.iter();
    while let Some(&b) = bytes.next() {
        if b == b'}' {
            out.push(bytes.next().expect("dangling escape") ^ 0x20);
        } else {
            out.push(b);
        }
    }
    out
}

pub fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(text: &[u8]) -> Vec<u8> {
    assert!(
        text.len().is_multiple_of(2),
        "odd hex {:?}",
        String::from_utf8_lossy(text)
    );
    text.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// Just enough of a gdb to talk to the server, strict about what it gets.
pub struct Client {
    stream: TcpStream,
    ack: bool,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        // Like gdb: small writes go out at once.
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Client { stream, ack: true }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    pub fn read_byte(&mut self) -> u8 {
        let mut b = [0u8];
        self.stream.read_exact(&mut b).expect("read from server");
        b[0]
    }

    pub fn expect_ack(&mut self) {
        assert_eq!(self.read_byte(), b'+', "expected an ack");
    }

    pub fn send(&mut self, payload: &[u8]) {
        self.send_raw(&frame(payload));
        if self.ack {
            self.expect_ack();
        }
    }

    /// The next packet's payload, still escaped; acknowledged.
    pub fn recv(&mut self) -> Vec<u8> {
        let mut b = self.read_byte();
        while b == b'+' {
            b = self.read_byte();
        }
        assert_eq!(b, b'$', "expected a packet, got {b:#x}");
        let mut payload = Vec::new();
        loop {
            match self.read_byte() {
                b'#' => break,
                b => payload.push(b),
            }
        }
        let sum = [self.read_byte(), self.read_byte()];
        let sum = u8::from_str_radix(std::str::from_utf8(&sum).unwrap(), 16).unwrap();
        assert_eq!(sum, checksum(&payload), "bad checksum from server");
        // Binary data escapes `*` too, so a bare one would be taken for
        // run-length encoding by gdb.
        assert!(!payload.contains(&b'*'), "bare '*' in a reply");
        if self.ack {
            self.send_raw(b"+");
        }
        payload
    }

    pub fn request(&mut self, payload: &[u8]) -> Vec<u8> {
        self.send(payload);
        self.recv()
    }

    pub fn ask(&mut self, payload: &str) -> String {
        String::from_utf8_lossy(&self.request(payload.as_bytes())).into_owned()
    }

    pub fn start_no_ack(&mut self) {
        assert_eq!(self.ask("QStartNoAckMode"), "OK");
        self.ack = false;
    }

    /// qSupported as gdb 13 sends it, and `?`.
    pub fn handshake(&mut self) -> String {
        let supported = self.ask(
            "qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;\
             vfork-events+;exec-events+;vContSupported+;QThreadEvents+;no-resumed+;\
             xmlRegisters=i386",
        );
        let stop = self.ask("?");
        assert!(stop.starts_with('T'), "{stop}");
        supported
    }

    /// True once the server has closed the connection.
    pub fn closed(&mut self) -> bool {
        let mut b = [0u8];
        matches!(self.stream.read(&mut b), Ok(0) | Err(_))
    }

    pub fn shutdown(self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}
