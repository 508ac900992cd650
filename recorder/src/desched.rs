//! Calls through the preload library that block (ARCHITECTURE.md
//! "syscallbuf", "Blocking calls"). Such a call never stops its thread, so
//! the recorder would wait on it while the thread it waits for (the other
//! end of a pipe, a futex's owner) is held stopped. A count of the
//! thread's context switches (`tracee::switches`) wakes the recorder when
//! the thread sleeps; the recorder interrupts it, records where it stood
//! (a `Desched` event: before the untraced entry's `syscall`, a point
//! replay finds again) and moves it to the end of the entry with `RETRY`
//! for a result. The library gives the call up (its record is not
//! committed), and its caller (the patched site's stub) makes it the
//! traced way: there it blocks as any traced syscall, others run, and its
//! thread's frames are the stub's and libc's, which unwinders and gdb
//! know (a cancelled thread's cleanup runs through them).

use std::io::Write;

use trace_format::{Event, Registers};
use tracee::switches::SwitchCounter;
use tracee::syscallbuf_abi::{DESCHED_RETURN, RETRY, UNTRACED_SYSCALL};
use tracee::Tid;

use crate::error::RecordError;
use crate::handlers::RESTART_CODES;
use crate::session::Session;
use crate::task::TaskState;

impl Session {
    /// Counts `tid`'s context switches from now on, so that its calls
    /// through the buffer may block; false where the kernel refuses, which
    /// the user is told once, and blocking calls take the traced way.
    pub(crate) fn count_switches(&mut self, tid: Tid) -> Result<bool, RecordError> {
        let recorder = self.recorder_tid;
        let record = self.task(tid)?;
        // Resumed with PTRACE_SYSCALL, every call stops anyway.
        if !record.filtered {
            return Ok(false);
        }
        if record.switches.is_some() {
            return Ok(true);
        }
        if self.switches_refused {
            return Ok(false);
        }
        let opened = if self.wants_sleep_counters() {
            SwitchCounter::open_sleeps(tid, recorder).or_else(|_| {
                self.sleeps_refused = true;
                SwitchCounter::open(tid, recorder)
            })
        } else {
            SwitchCounter::open(tid, recorder)
        };
        match opened {
            Ok(counter) => {
                if counter.counts_sleeps() {
                    self.counters.sleeps += 1;
                } else {
                    self.counters.every_switch += 1;
                }
                self.task(tid)?.switches = Some(counter);
                Ok(true)
            }
            Err(e) => {
                self.switches_refused = true;
                // Not eprintln!: a hung-up terminal must not end the recording.
                let _ = writeln!(
                    std::io::stderr(),
                    "rewind: notice: the kernel refused a count of context switches ({e}), so \
                     calls that may block (pipes, sockets) are recorded with ptrace stops; \
                     perf_event_paranoid 1 or less, or CAP_PERFMON, allows it"
                );
                Ok(false)
            }
        }
    }

    /// A counter's notice: the running thread may have gone to sleep
    /// inside a call through its buffer. It is interrupted to see.
    pub(crate) fn on_switch_notice(&mut self) -> Result<(), RecordError> {
        let Some((tid, ..)) = self.running else {
            return Ok(());
        };
        let record = self.task(tid)?;
        let Some(counter) = &record.switches else {
            return Ok(());
        };
        if record.desched_check || record.interrupt_requested || record.state != TaskState::Running
        {
            return Ok(());
        }
        // Runnable again already (a preemption, or the data came): there is
        // nothing to wait for. A sleep that begins later sends its own
        // notice. A counter of sleeps alone sends none for a preemption,
        // and the thread that could wake this one is held stopped or
        // another process's: the look (8 us for /proc's stat) would
        // nearly always say asleep, and a thread woken since runs on
        // after the interrupt's stop.
        if !counter.counts_sleeps() && tracee::waiter::thread_state(tid) != Some('S') {
            return Ok(());
        }
        record.desched_check = true;
        match record.task.interrupt() {
            // Killed meanwhile: its death is reported next.
            Err(e) if e.is_gone() => Ok(()),
            other => Ok(other?),
        }
    }

    /// Where `tid`, stopped while running user code, stands right after
    /// the untraced entry's `syscall` with its call cut short (the kernel
    /// would restart it, or return EINTR only because of the stop): the
    /// call blocked. Records the `Desched` event and moves the thread to
    /// `DESCHED_RETURN` with `RETRY` in rax: the call is made again, traced
    /// (and known to block). False, with nothing changed, anywhere else.
    pub(crate) fn desched_if_blocked(&mut self, tid: Tid) -> Result<bool, RecordError> {
        let record = self.task(tid)?;
        let Some((buffer, _)) = record.buffer else {
            return Ok(false);
        };
        let regs = record.task.regs()?;
        // Cut short: one of the kernel's restart codes, or EINTR.
        let result = regs.rax as i64;
        let cut_short = RESTART_CODES.contains(&result) || result == -i64::from(libc::EINTR);
        if !crate::syscallbuf::is_untraced(&regs) || (regs.orig_rax as i64) < 0 || !cut_short {
            return Ok(false);
        }
        let before = before_entry_syscall(&regs);
        let point = self.point_in_entry(tid, &before, buffer)?;
        self.emit(tid, Event::Desched(point))?;
        let mut moved = before;
        moved.rip = DESCHED_RETURN;
        moved.rax = RETRY as u64;
        let record = self.task(tid)?;
        record.task.set_regs(&moved)?;
        record.known_to_block = true;
        Ok(true)
    }
}

/// The registers the thread had at the untraced entry's `syscall`, from
/// those after it: the library enters with rcx and r11 zero (the
/// instruction overwrites both), and the number in rax; outside a syscall
/// orig_rax is -1.
fn before_entry_syscall(after: &Registers) -> Registers {
    let mut before = *after;
    before.rip = UNTRACED_SYSCALL;
    before.rax = after.orig_rax;
    before.orig_rax = u64::MAX;
    before.rcx = 0;
    before.r11 = 0;
    before
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracee::syscallbuf_abi::UNTRACED_SYSCALL_END;

    #[test]
    fn the_state_before_the_syscall_is_rebuilt() {
        let after = Registers {
            rip: UNTRACED_SYSCALL_END,
            orig_rax: 0,
            rax: -512i64 as u64,
            rcx: UNTRACED_SYSCALL_END,
            r11: 0x246,
            rdi: 7,
            ..Registers::default()
        };
        let before = before_entry_syscall(&after);
        assert_eq!(before.rip, UNTRACED_SYSCALL);
        assert_eq!((before.rax, before.orig_rax), (0, u64::MAX));
        assert_eq!((before.rcx, before.r11, before.rdi), (0, 0, 7));
    }
}
