//! What the recorder keeps for each traced thread (rr's RecordTask): the
//! shared `tracee::Task` plus recording state.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use trace_format::Registers;
use tracee::{Task, Tid};

use crate::error::RecordError;
use crate::patch::Patches;
use crate::syscall::PendingSyscall;

/// State shared by the threads of one address space.
pub struct AddressSpace {
    /// The program break, as brk last returned it.
    pub brk_end: Cell<u64>,
    /// Scratch areas mapped here, by any thread, still mapped after their
    /// thread is gone (and copied into forked children): the replay has
    /// none of them.
    pub scratch_areas: RefCell<Vec<u64>>,
    /// Those of them no live thread uses, for the next thread that needs
    /// one.
    pub spare_scratch: RefCell<Vec<u64>>,
    /// The syscall buffers threads registered here (`crate::syscallbuf`);
    /// while there are any, the slot must name the running thread's.
    pub buffers: RefCell<Vec<(u64, u64)>>,
    /// The thread whose buffer the slot names now, as far as rewind knows.
    pub slot_owner: Cell<Option<Tid>>,
    /// How many shared objects the library's table here names
    /// (`syscallbuf_abi::SHARED_FILES`).
    pub shared_files_published: Cell<usize>,
    /// The syscall sites patched here, and where their stubs go
    /// (`crate::patching`).
    pub patches: RefCell<Patches>,
}

impl AddressSpace {
    pub fn new(brk_end: u64) -> Rc<AddressSpace> {
        Rc::new(AddressSpace {
            brk_end: Cell::new(brk_end),
            scratch_areas: RefCell::new(Vec::new()),
            spare_scratch: RefCell::new(Vec::new()),
            buffers: RefCell::new(Vec::new()),
            slot_owner: Cell::new(None),
            shared_files_published: Cell::new(0),
            patches: RefCell::new(Patches::default()),
        })
    }

    /// A forked child's space: a copy of this one's mappings, where none
    /// of the scratch areas has a thread yet.
    pub fn fork(&self) -> Rc<AddressSpace> {
        Rc::new(AddressSpace {
            brk_end: Cell::new(self.brk_end.get()),
            scratch_areas: self.scratch_areas.clone(),
            spare_scratch: self.scratch_areas.clone(),
            buffers: self.buffers.clone(),
            slot_owner: Cell::new(None),
            shared_files_published: Cell::new(self.shared_files_published.get()),
            patches: self.patches.clone(),
        })
    }

    /// A scratch area for a thread of this space: a spare one, or a new
    /// one mapped by `task`.
    pub fn take_scratch(&self, task: &Task) -> Result<u64, RecordError> {
        if let Some(area) = self.spare_scratch.borrow_mut().pop() {
            return Ok(area);
        }
        let area = crate::scratch::allocate(task)?;
        self.scratch_areas.borrow_mut().push(area);
        Ok(area)
    }
}

/// Where a thread is, from the recorder's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Stopped, waiting to be scheduled.
    Stopped,
    /// Running user code (at most one thread at a time).
    Running,
    /// Resumed into a syscall that has not returned yet.
    InKernel,
    /// Reported PTRACE_EVENT_EXIT; dies when resumed.
    Exiting,
    /// In a group stop (SIGSTOP and kin), left there with PTRACE_LISTEN
    /// until a SIGCONT ends it; not to be scheduled.
    GroupStopped,
}

/// A signal the recorder holds back until the thread's next syscall exit,
/// where its delivery point is one replay can find.
#[derive(Debug, Clone)]
pub struct DeferredSignal {
    pub signo: i32,
    pub siginfo: [u8; 128],
}

impl RecordTask {
    /// Sends `signal` to the thread again, to be reported with its own
    /// siginfo. A standard signal already on its way is not sent twice:
    /// pending, the two would be one, as the kernel merges them.
    pub fn resend(&mut self, signal: DeferredSignal) -> Result<(), tracee::TraceeError> {
        let realtime = signal.signo >= libc::SIGRTMIN();
        if !realtime && self.redelivering.iter().any(|s| s.signo == signal.signo) {
            return Ok(());
        }
        tracee::signals::tgkill(self.tgid, self.task.tid, signal.signo)?;
        self.redelivering.push_back(signal);
        Ok(())
    }

    /// The oldest re-sent instance of `signo`, now reported again.
    pub fn take_resent(&mut self, signo: i32) -> Option<DeferredSignal> {
        let at = self.redelivering.iter().position(|s| s.signo == signo)?;
        self.redelivering.remove(at)
    }
}

pub struct RecordTask {
    pub task: Task,
    /// The process (thread group) id.
    pub tgid: Tid,
    pub space: Rc<AddressSpace>,
    pub state: TaskState,
    /// The syscall between its entry and exit stops.
    pub pending: Option<PendingSyscall>,
    /// Registers at the last syscall-exit stop, while no user code has run
    /// since: a signal stopping the thread with these registers arrived at
    /// that syscall boundary.
    pub boundary_regs: Option<Registers>,
    pub deferred: Vec<DeferredSignal>,
    /// Signals re-sent with tgkill, oldest first, with the siginfo each
    /// must have when it is reported again.
    pub redelivering: VecDeque<DeferredSignal>,
    /// Signal to pass when the thread is next resumed.
    pub resume_signal: i32,
    /// A PTRACE_INTERRUPT was sent and its stop has not been seen.
    pub interrupt_requested: bool,
    /// Its `Exit` event is written.
    pub exit_written: bool,
    /// The child of the vfork this thread is in.
    pub vfork_child: Option<Tid>,
    /// The id this thread had before its exec gave it the leader's.
    pub pre_exec_tid: Option<Tid>,
    /// Its scratch area (see `scratch`), once its address space is shared.
    pub scratch: Option<u64>,
    /// Its syscall buffer (address, length), once the preload library
    /// registered one.
    pub buffer: Option<(u64, u64)>,
    /// It may not have one: a vfork child (`syscallbuf_abi::REFUSED_LEN`).
    pub buffer_refused: bool,
    /// Where the signal handlers it is running interrupted it, innermost
    /// last: the addresses their sigreturns go back to, which a patch must
    /// not cut into (`crate::patching`). A handler left by longjmp stays
    /// here; only the newest `MAX_INTERRUPTED` are kept.
    pub interrupted: Vec<u64>,
    /// Inside a call from the library's untraced entry, between its stops.
    pub in_untraced_call: bool,
    /// The count of its context switches that tells the recorder when a
    /// call through its buffer blocks (`crate::desched`).
    pub switches: Option<tracee::switches::SwitchCounter>,
    /// A PTRACE_INTERRUPT was sent because it seemed blocked in such a
    /// call, and its stop has not been seen.
    pub desched_check: bool,
    /// Its call through the buffer blocked and was given up: the traced
    /// syscall it makes next is that call again, which sleeps.
    pub known_to_block: bool,
    /// rewind's seccomp filter decides which of its syscalls stop, and no
    /// filter of the program's own does (`Session::user_resume`).
    pub filtered: bool,
}

/// How many interrupted addresses a thread keeps (`interrupted`).
pub const MAX_INTERRUPTED: usize = 32;

impl RecordTask {
    pub fn new(task: Task, tgid: Tid, space: Rc<AddressSpace>) -> RecordTask {
        RecordTask {
            task,
            tgid,
            space,
            state: TaskState::Stopped,
            pending: None,
            boundary_regs: None,
            deferred: Vec::new(),
            redelivering: VecDeque::new(),
            resume_signal: 0,
            interrupt_requested: false,
            exit_written: false,
            vfork_child: None,
            pre_exec_tid: None,
            scratch: None,
            buffer: None,
            buffer_refused: false,
            interrupted: Vec::new(),
            in_untraced_call: false,
            switches: None,
            desched_check: false,
            known_to_block: false,
            filtered: false,
        }
    }

    pub fn tid(&self) -> Tid {
        self.task.tid
    }

    /// How to resume the thread into user code: where rewind's filter
    /// traces every syscall but the buffered ones, PTRACE_CONT, and the
    /// filter's stops are the syscall entries; otherwise PTRACE_SYSCALL.
    /// A program's own filter can outrank the trace rule (an errno rule
    /// answers before any stop), so a process that installs one is resumed
    /// with PTRACE_SYSCALL, whose entry stops come before every filter.
    pub fn user_resume(&self) -> tracee::Resume {
        if self.filtered {
            tracee::Resume::Continue
        } else {
            tracee::Resume::Syscall
        }
    }
}
