//! One traced thread: registers, memory, resuming and waiting.

use std::cell::Cell;
use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::time::Duration;

use trace_format::Registers;

use crate::addr::RemoteAddr;
use crate::error::TraceeError;
use crate::ptrace::{self, Resume};
use crate::wait::{self, PtraceEvent, Stop};
use crate::waiter::ChildWaiter;
use crate::Tid;

/// Which side of a syscall a syscall stop is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyscallStopKind {
    Entry,
    Exit,
    Seccomp,
    /// Reported as a syscall stop, but the thread is in another stop now:
    /// a SIGKILL (another thread's execve kills the rest) took it out of
    /// the syscall stop before the tracer looked, and its exit stop is
    /// reported next.
    Left,
}

/// A thread under ptrace, stopped whenever the caller holds it.
pub struct Task {
    pub tid: Tid,
    /// `/proc/TID/mem`: reads and writes of any mapped page, including
    /// read-only ones (the kernel applies FOLL_FORCE for the tracer).
    mem: File,
    /// A PTRACE_INTERRUPT whose stop has not been seen: the thread stopped
    /// for another reason first, and the kernel reports the interrupt at
    /// its next resume, where `step` swallows it.
    interrupt_pending: Cell<bool>,
    /// The registers as last read in this stop: a traced
    /// syscall's exit is looked at by several handlers, and each GETREGS
    /// is a syscall. Forgotten at every resume and write; nothing else changes a
    /// stopped thread's registers (the debug registers and the extended
    /// state are not these).
    regs: Cell<Option<Registers>>,
}

impl Task {
    /// Wraps an already traced, stopped thread.
    pub fn new(tid: Tid) -> Result<Task, TraceeError> {
        let path = format!("/proc/{tid}/mem");
        let mem = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|source| TraceeError::Proc {
                path: path.into(),
                source,
            })?;
        Ok(Task {
            tid,
            mem,
            interrupt_pending: Cell::new(false),
            regs: Cell::new(None),
        })
    }

    /// Reopens the memory file; needed after exec, which gives the thread
    /// a new address space that the old file does not see.
    pub fn reopen_memory(&mut self) -> Result<(), TraceeError> {
        *self = Task::new(self.tid)?;
        Ok(())
    }

    pub fn regs(&self) -> Result<Registers, TraceeError> {
        if let Some(regs) = self.regs.get() {
            return Ok(regs);
        }
        let regs = ptrace::get_regs(self.tid).map(|r| from_user_regs(&r))?;
        self.regs.set(Some(regs));
        Ok(regs)
    }

    pub fn set_regs(&self, regs: &Registers) -> Result<(), TraceeError> {
        // Read again after: the kernel masks what it does not let a
        // tracer set (eflags' system bits, say).
        self.regs.set(None);
        ptrace::set_regs(self.tid, &to_user_regs(regs))
    }

    pub fn resume(&self, how: Resume, signal: i32) -> Result<(), TraceeError> {
        self.regs.set(None);
        ptrace::resume(self.tid, how, signal)
    }

    pub fn wait(&self) -> Result<Stop, TraceeError> {
        wait::wait_for(self.tid)
    }

    /// Resumes and waits for the next stop.
    pub fn step(&self, how: Resume, signal: i32) -> Result<Stop, TraceeError> {
        self.resume(how, signal)?;
        let stop = self.wait()?;
        if matches!(stop, Stop::Event(PtraceEvent::Stop, _)) && self.interrupt_pending.take() {
            // The late interrupt came before the thread ran again; a signal
            // given with the resume was delivered already.
            return self.step(how, 0);
        }
        Ok(stop)
    }

    /// Like `step`, but every `period` asks `wanted()` whether a user is
    /// waiting to stop the thread; if so it is stopped where it is and the
    /// returned stop is a `PtraceEvent::Stop`. Only for threads running
    /// user code: an interrupt inside a syscall would restart it.
    pub fn step_interruptible(
        &self,
        how: Resume,
        signal: i32,
        waiter: &ChildWaiter,
        period: Duration,
        wanted: &dyn Fn() -> bool,
    ) -> Result<Stop, TraceeError> {
        self.resume(how, signal)?;
        loop {
            if let Some(stop) = waiter.wait_for(self.tid, period)? {
                if matches!(stop, Stop::Event(PtraceEvent::Stop, _))
                    && self.interrupt_pending.take()
                {
                    self.resume(how, 0)?;
                    continue;
                }
                return Ok(stop);
            }
            if wanted() {
                self.interrupt()?;
                let stop = self.wait()?;
                if !matches!(stop, Stop::Event(PtraceEvent::Stop, _)) {
                    self.interrupt_pending.set(true);
                }
                return Ok(stop);
            }
        }
    }

    /// Stops a running seized thread (reported as a `PtraceEvent::Stop`).
    pub fn interrupt(&self) -> Result<(), TraceeError> {
        ptrace::interrupt(self.tid)
    }

    pub fn event_msg(&self) -> Result<u64, TraceeError> {
        ptrace::get_event_msg(self.tid)
    }

    pub fn siginfo(&self) -> Result<[u8; 128], TraceeError> {
        ptrace::get_siginfo(self.tid)
    }

    /// At a syscall stop: entry, exit, or seccomp.
    pub fn syscall_stop_kind(&self) -> Result<SyscallStopKind, TraceeError> {
        let op = match ptrace::syscall_info_op(self.tid) {
            // Not stopped at all: on its way to the exit stop.
            Err(e) if e.is_gone() => return Ok(SyscallStopKind::Left),
            other => other?,
        };
        match op {
            ptrace::PTRACE_SYSCALL_INFO_ENTRY => Ok(SyscallStopKind::Entry),
            ptrace::PTRACE_SYSCALL_INFO_EXIT => Ok(SyscallStopKind::Exit),
            ptrace::PTRACE_SYSCALL_INFO_SECCOMP => Ok(SyscallStopKind::Seccomp),
            ptrace::PTRACE_SYSCALL_INFO_NONE => Ok(SyscallStopKind::Left),
            op => Err(TraceeError::UnexpectedStop {
                tid: self.tid,
                expected: "a syscall stop",
                got: format!("syscall info op {op}"),
            }),
        }
    }

    /// Reads exactly `buf.len()` bytes at `addr`.
    pub fn read_bytes(&self, addr: RemoteAddr, buf: &mut [u8]) -> Result<(), TraceeError> {
        let mut done = 0;
        while done < buf.len() {
            match self.mem.read_at(&mut buf[done..], addr.0 + done as u64) {
                Ok(0) => {
                    return Err(self.memory_error(
                        addr,
                        buf.len(),
                        false,
                        ErrorKind::UnexpectedEof.into(),
                    ))
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(self.memory_error(addr, buf.len(), false, e)),
            }
        }
        Ok(())
    }

    /// Reads as many bytes as are readable from `addr`, up to `buf.len()`.
    pub fn read_partial(&self, addr: RemoteAddr, buf: &mut [u8]) -> usize {
        let mut done = 0;
        while done < buf.len() {
            match self.mem.read_at(&mut buf[done..], addr.0 + done as u64) {
                Ok(0) | Err(_) => break,
                Ok(n) => done += n,
            }
        }
        done
    }

    pub fn read_u64(&self, addr: RemoteAddr) -> Result<u64, TraceeError> {
        let mut bytes = [0u8; 8];
        self.read_bytes(addr, &mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    pub fn read_u32(&self, addr: RemoteAddr) -> Result<u32, TraceeError> {
        let mut bytes = [0u8; 4];
        self.read_bytes(addr, &mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    /// Reads a NUL-terminated string of at most `max` bytes.
    pub fn read_c_string(&self, addr: RemoteAddr, max: usize) -> Result<Vec<u8>, TraceeError> {
        let mut out = Vec::new();
        let mut page = [0u8; 256];
        while out.len() < max {
            let got = self.read_partial(addr.offset(out.len() as u64), &mut page);
            if got == 0 {
                return Err(self.memory_error(addr, max, false, ErrorKind::UnexpectedEof.into()));
            }
            if let Some(nul) = page[..got].iter().position(|&b| b == 0) {
                out.extend_from_slice(&page[..nul]);
                return Ok(out);
            }
            out.extend_from_slice(&page[..got]);
        }
        out.truncate(max);
        Ok(out)
    }

    pub fn write_bytes(&self, addr: RemoteAddr, bytes: &[u8]) -> Result<(), TraceeError> {
        let mut done = 0;
        while done < bytes.len() {
            match self.mem.write_at(&bytes[done..], addr.0 + done as u64) {
                Ok(0) => {
                    return Err(self.memory_error(
                        addr,
                        bytes.len(),
                        true,
                        ErrorKind::WriteZero.into(),
                    ))
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(self.memory_error(addr, bytes.len(), true, e)),
            }
        }
        Ok(())
    }

    fn memory_error(
        &self,
        addr: RemoteAddr,
        len: usize,
        write: bool,
        source: std::io::Error,
    ) -> TraceeError {
        TraceeError::Memory {
            tid: self.tid,
            addr: addr.0,
            len,
            write,
            source,
        }
    }
}

fn from_user_regs(r: &libc::user_regs_struct) -> Registers {
    Registers {
        r15: r.r15,
        r14: r.r14,
        r13: r.r13,
        r12: r.r12,
        rbp: r.rbp,
        rbx: r.rbx,
        r11: r.r11,
        r10: r.r10,
        r9: r.r9,
        r8: r.r8,
        rax: r.rax,
        rcx: r.rcx,
        rdx: r.rdx,
        rsi: r.rsi,
        rdi: r.rdi,
        orig_rax: r.orig_rax,
        rip: r.rip,
        cs: r.cs,
        eflags: r.eflags,
        rsp: r.rsp,
        ss: r.ss,
        fs_base: r.fs_base,
        gs_base: r.gs_base,
        ds: r.ds,
        es: r.es,
        fs: r.fs,
        gs: r.gs,
    }
}

fn to_user_regs(r: &Registers) -> libc::user_regs_struct {
    libc::user_regs_struct {
        r15: r.r15,
        r14: r.r14,
        r13: r.r13,
        r12: r.r12,
        rbp: r.rbp,
        rbx: r.rbx,
        r11: r.r11,
        r10: r.r10,
        r9: r.r9,
        r8: r.r8,
        rax: r.rax,
        rcx: r.rcx,
        rdx: r.rdx,
        rsi: r.rsi,
        rdi: r.rdi,
        orig_rax: r.orig_rax,
        rip: r.rip,
        cs: r.cs,
        eflags: r.eflags,
        rsp: r.rsp,
        ss: r.ss,
        fs_base: r.fs_base,
        gs_base: r.gs_base,
        ds: r.ds,
        es: r.es,
        fs: r.fs,
        gs: r.gs,
    }
}
