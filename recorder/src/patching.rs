//! The recorder's side of site patching (`crate::patch` decides the
//! bytes): the library's announcement of its stub area, and the patch of
//! a site at the exit of a traced syscall made there.

use std::rc::Rc;

use trace_format::{Event, MemoryWrite, PatchEvent, Registers};
use tracee::syscallbuf_abi::STUB_AREA_LEN;
use tracee::{maps, RemoteAddr, Tid};

use crate::error::RecordError;
use crate::patch::{self, SiteShape, StubArea};
use crate::session::Session;
use crate::syscall::PendingSyscall;
use crate::task::{AddressSpace, TaskState};

/// How far around a site its code is read: the jumps `patch::site_shape`
/// looks for, and the longest patch.
const CODE_WINDOW: u64 = 256;

impl Session {
    /// `LIBRARY_READY` of `tid` with `args` (stub area, its length, the
    /// entry): patching starts in its address space. Returns the call's
    /// answer: 0; EPERM in a process not under rewind's filter, where the
    /// library buffers nothing; another negative errno for a second
    /// announcement or one that names no part of the library (a program
    /// calling the number).
    pub(crate) fn library_ready(&mut self, tid: Tid, args: [u64; 6]) -> Result<i64, RecordError> {
        let record = self.task(tid)?;
        let (start, len, entry) = (args[0], args[1], args[2]);
        if record.space.patches.borrow().area.is_some() {
            return Ok(-i64::from(libc::EEXIST));
        }
        if !record.filtered {
            // Without rewind's filter every call stops anyway, and one of
            // a filter of the program's own could trap inside the library:
            // the caller turns buffering off.
            return Ok(-i64::from(libc::EPERM));
        }
        let maps = maps::read_maps(record.task.tid)?;
        let library_code = |addr: u64| {
            maps.iter().find(|m| {
                (m.start..m.end).contains(&addr)
                    && m.prot & libc::PROT_EXEC as u32 != 0
                    && m.name.ends_with(crate::preload::FILE_NAME)
            })
        };
        let valid = len == STUB_AREA_LEN as u64
            && library_code(start).is_some_and(|m| start.saturating_add(len) <= m.end)
            && library_code(entry).is_some();
        if !valid {
            return Ok(-i64::from(libc::EINVAL));
        }
        record.space.patches.borrow_mut().area = Some(StubArea { start, len, entry });
        Ok(0)
    }

    /// At the exit of `pending`, a traced syscall of `tid` that leaves the
    /// thread right after its `syscall` instruction: patches that site if
    /// it is one of a library's and has a shape `crate::patch` knows, and
    /// records the patch (after the syscall's own event).
    pub(crate) fn try_patch(
        &mut self,
        tid: Tid,
        pending: &PendingSyscall,
        exit_regs: &Registers,
    ) -> Result<(), RecordError> {
        let site = pending.regs.rip.wrapping_sub(2);
        let space = Rc::clone(&self.task(tid)?.space);
        {
            let patches = space.patches.borrow();
            if patches.area.is_none() || patches.decided.contains(&site) {
                return Ok(());
            }
        }
        // Calls that leave the thread elsewhere (sigreturn, exec), or
        // another task at the same instruction (clone).
        if pending.is_refused()
            || pending.is_clone()
            || pending.is_execve()
            || exit_regs.rip != pending.regs.rip
        {
            return Ok(());
        }
        let decided = |space: &AddressSpace| {
            space.patches.borrow_mut().decided.insert(site);
            Ok(())
        };
        let task = &self.task(tid)?.task;
        let maps = maps::read_maps(task.tid)?;
        let Some(mapping) = maps.iter().find(|m| (m.start..m.end).contains(&site)) else {
            return decided(&space);
        };
        if !patch::patchable_mapping(mapping) {
            return decided(&space);
        }
        let from = site.saturating_sub(CODE_WINDOW).max(mapping.start);
        let to = site.saturating_add(CODE_WINDOW).min(mapping.end);
        let mut code = vec![0u8; (to - from) as usize];
        if task.read_bytes(RemoteAddr(from), &mut code).is_err() {
            // A mapping past the end of its file, say: not a site to patch.
            return decided(&space);
        }
        let Some(shape) = patch::site_shape(&code, from, site, pending.regs.orig_rax) else {
            return decided(&space);
        };
        if matches!(shape, SiteShape::CheckAfter { .. }) && self.someone_at(&space, tid, site + 2) {
            // Its jump would cut through that thread's next instruction:
            // a later call here tries again.
            return Ok(());
        }
        let built = {
            let patches = space.patches.borrow();
            let Some(area) = patches.area else {
                return Ok(());
            };
            patch::build(&code, from, site, &shape, area.start, area.entry)
                .and_then(|probe| patch::stub_place(&patches, probe.stub.len() as u64))
                .and_then(|stub_at| patch::build(&code, from, site, &shape, stub_at, area.entry))
        };
        let Some(patch) = built else {
            return decided(&space);
        };
        let task = &self.task(tid)?.task;
        task.write_bytes(RemoteAddr(patch.stub_at), &patch.stub)?;
        task.write_bytes(RemoteAddr(patch.start), &patch.jump)?;
        if let Some(resume) = patch.resume_at {
            let mut regs = task.regs()?;
            regs.rip = resume;
            task.set_regs(&regs)?;
        }
        {
            let mut patches = space.patches.borrow_mut();
            let area_start = patches.area.map_or(0, |a| a.start);
            patches.used = patch.stub_at - area_start + patch.stub.len() as u64;
            patches.decided.insert(site);
        }
        let replaced = self.writer.append_data(&patch.replaced)?;
        let stub = self.writer.append_data(&patch.stub)?;
        let jump = self.writer.append_data(&patch.jump)?;
        self.emit(
            tid,
            Event::Patch(PatchEvent {
                site,
                replaced: MemoryWrite {
                    addr: patch.start,
                    data: replaced,
                },
                writes: vec![
                    MemoryWrite {
                        addr: patch.stub_at,
                        data: stub,
                    },
                    MemoryWrite {
                        addr: patch.start,
                        data: jump,
                    },
                ],
                resume_at: patch.resume_at,
            }),
        )
    }

    /// Whether a thread of `space` other than `tid` stands at `addr`, or
    /// may: stopped there, or blocked in a syscall that returns there; or
    /// any thread, `tid` too, runs a signal handler that returns there. A
    /// thread whose registers cannot be read counts as there.
    fn someone_at(&self, space: &Rc<AddressSpace>, tid: Tid, addr: u64) -> bool {
        self.tasks.values().any(|other| {
            if !Rc::ptr_eq(&other.space, space) {
                return false;
            }
            if other.interrupted.contains(&addr) {
                return true;
            }
            if other.tid() == tid {
                return false;
            }
            if other.state == TaskState::Exiting || other.in_untraced_call {
                return false;
            }
            match &other.pending {
                Some(pending) => pending.regs.rip == addr,
                None => other.task.regs().map_or(true, |regs| regs.rip == addr),
            }
        })
    }
}
