//! The one-line descriptions of events that `rewind dump` prints.

use trace_format::{
    CloneKind, Event, ExitStatus, MappingSource, SharedInit, SignalDisposition, SyscallAction,
    SyscallEvent,
};

pub fn event_details(event: &Event) -> String {
    match event {
        Event::Exec(e) => format!(
            "{} argv={:?} rip={:#x} rsp={:#x} mappings={}",
            e.exe.original_path,
            e.argv,
            e.regs.rip,
            e.regs.rsp,
            e.mappings.len()
        ),
        Event::SyscallEntry(e) => format!(
            "{}(...) entered{}",
            tracee::syscalls::name(e.regs.orig_rax),
            if e.executed { " [execute]" } else { "" }
        ),
        Event::Syscall(e) => syscall_details(e),
        Event::Clone(e) => format!(
            "{} child={} flags={:#x}",
            match e.kind {
                CloneKind::Thread => "thread",
                CloneKind::Fork => "fork",
                CloneKind::Vfork => "vfork",
            },
            e.child_tid,
            e.flags
        ),
        Event::Signal(e) => format!(
            "{} {}{}",
            tracee::signal_name(e.signo),
            match &e.disposition {
                SignalDisposition::Handler { regs, .. } => format!("handler={:#x}", regs.rip),
                SignalDisposition::Ignored => "ignored".into(),
                SignalDisposition::Fatal { core_dumped: true } => "fatal (core dumped)".into(),
                SignalDisposition::Fatal { core_dumped: false } => "fatal".into(),
                SignalDisposition::Stopped => "stopped the process".into(),
            },
            match (&e.point, e.synchronous) {
                (Some(p), _) => format!(" at rip={:#x}{}", p.regs.rip, memory_words(p)),
                (None, true) => format!(" raised at rip={:#x}", e.regs.rip),
                (None, false) => format!(" at a syscall boundary, rip={:#x}", e.regs.rip),
            }
        ),
        Event::Preemption(p) => format!(
            "rip={:#x} rsp={:#x} eflags={:#x}{}{}",
            p.regs.rip,
            p.regs.rsp,
            p.regs.eflags,
            p.ticks.map_or_else(String::new, |t| format!(" ticks={t}")),
            memory_words(p)
        ),
        Event::Desched(p) => format!(
            "{} blocked in the syscall buffer at rip={:#x}, given up for the traced way{}",
            tracee::syscalls::name(p.regs.rax),
            p.regs.rip,
            memory_words(p)
        ),
        Event::Rdtsc(e) => format!(
            "{:#x} at rip={:#x}{}",
            e.value,
            e.regs.rip,
            e.aux.map_or_else(String::new, |a| format!(" aux={a}"))
        ),
        Event::BufferedSyscalls(b) => {
            format!("{} syscalls, {}", b.count, super::dump::span(b.records))
        }
        Event::MemoryWrites(writes) => {
            let listed: Vec<String> = writes
                .iter()
                .map(|w| format!("{}@{:#x}", w.data.len, w.addr))
                .collect();
            format!("written by another process: {}", listed.join(" "))
        }
        Event::Patch(p) => {
            let stub = p.writes.first().map_or(0, |w| w.addr);
            format!(
                "syscall site {:#x}: {} bytes at {:#x} jump to the stub at {stub:#x}{}",
                p.site,
                p.replaced.data.len,
                p.replaced.addr,
                p.resume_at
                    .map_or_else(String::new, |at| format!(", the thread goes on at {at:#x}"))
            )
        }
        Event::Exit(e) => {
            let scope = if e.process_exit { "process" } else { "thread" };
            match e.status {
                ExitStatus::Exited(code) => format!("{scope} exited with status {code}"),
                ExitStatus::Killed {
                    signal,
                    core_dumped,
                } => format!(
                    "{scope} killed by signal {signal}{}",
                    if core_dumped { " (core dumped)" } else { "" }
                ),
            }
        }
    }
}

/// `name(args) = result`, as a syscall event and a buffered call show.
pub fn call_line(number: u64, args: [u64; 6], result_value: i64) -> String {
    format!(
        "{}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x}) = {}",
        tracee::syscalls::name(number),
        args[0],
        args[1],
        args[2],
        args[3],
        args[4],
        args[5],
        result(result_value)
    )
}

fn syscall_details(e: &SyscallEvent) -> String {
    let mut line = call_line(e.number(), e.regs.syscall_args(), e.result);
    match &e.action {
        SyscallAction::Emulate => {}
        SyscallAction::Execute => line.push_str(" [execute]"),
        SyscallAction::Map(m) => line.push_str(&format!(
            " [map {:#x}-{:#x} prot={} {}]",
            m.addr,
            m.addr.saturating_add(m.len),
            m.prot,
            source(&m.source)
        )),
        SyscallAction::Brk { old_end, new_end } => {
            line.push_str(&format!(" [brk {old_end:#x} -> {new_end:#x}]"))
        }
        SyscallAction::Remap { new_addr } => line.push_str(&format!(" [remap to {new_addr:#x}]")),
        SyscallAction::Exec => line.push_str(" [exec]"),
        SyscallAction::Clone => line.push_str(" [clone]"),
        SyscallAction::Restart => line.push_str(" [restarted]"),
        SyscallAction::MaskedWait { signo } => line.push_str(&format!(
            " [interrupted by {}]",
            tracee::signal_name(*signo)
        )),
        SyscallAction::Unmap { ranges } => {
            for (start, len) in ranges {
                line.push_str(&format!(
                    " [unmap {start:#x}-{:#x}]",
                    start.saturating_add(*len)
                ));
            }
        }
    }
    for c in &e.file_changes {
        line.push_str(&format!(
            " [shared object {}: size {}, {} bytes at {:#x}]",
            c.object, c.size, c.data.len, c.offset
        ));
    }
    for w in &e.writes {
        line.push_str(&format!(" wrote {}@{:#x}", w.data.len, w.addr));
    }
    if let Some(stream) = e.output {
        line.push_str(&format!(" ({stream:?})").to_lowercase());
    }
    line
}

fn result(value: i64) -> String {
    if (-4095..0).contains(&value) {
        format!("-{}", -value)
    } else if value > 0xffff {
        format!("{value:#x}")
    } else {
        value.to_string()
    }
}

fn source(s: &MappingSource) -> String {
    match s {
        MappingSource::Anonymous { name } if name.is_empty() => "anonymous".into(),
        MappingSource::Anonymous { name } | MappingSource::Special { name } => name.clone(),
        MappingSource::File { file, offset } => format!("{}+{offset:#x}", file.original_path),
        MappingSource::Shared {
            object,
            offset,
            init,
        } => {
            let first = match init {
                Some(SharedInit::File(file)) => format!(", from {}", file.original_path),
                Some(SharedInit::Memory { size, .. }) => format!(", {size} bytes"),
                None => String::new(),
            };
            format!("shared object {object}+{offset:#x}{first}")
        }
    }
}

/// The memory words an execution point's fingerprint checks, if any.
fn memory_words(point: &trace_format::ExecutionPoint) -> String {
    let words = point
        .fingerprint
        .as_ref()
        .map_or(&[][..], |f| &f.memory[..]);
    if words.is_empty() {
        return String::new();
    }
    let listed: Vec<String> = words
        .iter()
        .map(|(addr, value)| format!("{addr:#x}={value:#x}"))
        .collect();
    format!(" memory [{}]", listed.join(" "))
}
