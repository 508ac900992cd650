//! Sample events of every type and a helper that writes them as a trace.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use trace_format::*;

pub fn regs(seed: u64) -> Registers {
    let mut values = [0u64; 27];
    for (i, v) in values.iter_mut().enumerate() {
        *v = seed
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(i as u32)
            >> (i % 5 * 8);
    }
    Registers::from_array(values)
}

fn data(offset: u64, len: u64) -> DataRef {
    DataRef { offset, len }
}

fn libc_file() -> CapturedFile {
    CapturedFile {
        original_path: "/usr/lib/x86_64-linux-gnu/libc.so.6".into(),
        stored_name: "2-libc.so.6".into(),
    }
}

/// One record of every event type and every variant inside them.
pub fn sample_events() -> Vec<EventRecord> {
    let point = ExecutionPoint {
        regs: regs(7),
        ticks: Some(123_456),
        fingerprint: Some(Fingerprint {
            stack_hash: 0xdead_beef_cafe_f00d,
            memory: vec![(0x7fff_0000_1000, 42), (0x5555_5555_8000, u64::MAX)],
            data_ranges: vec![(0x5555_5555_7000, 0x2000), (0x7fff_f7e0_0000, 0x1000)],
            data_hash: 0x0123_4567_89ab_cdef,
            user_time_ns: 1_250_000_000,
        }),
    };
    let events = vec![
        Event::Exec(ExecEvent {
            exe: CapturedFile {
                original_path: "/usr/bin/true".into(),
                stored_name: "1-true".into(),
            },
            argv: vec!["true".into(), "--flag".into()],
            regs: regs(1),
            mappings: vec![
                Mapping {
                    start: 0x5555_5555_4000,
                    end: 0x5555_5555_6000,
                    prot: 5,
                    flags: 2,
                    source: MappingSource::File {
                        file: libc_file(),
                        offset: 0x1000,
                    },
                    contents: vec![],
                },
                Mapping {
                    start: 0x7fff_fffd_e000,
                    end: 0x7fff_ffff_f000,
                    prot: 3,
                    flags: 0x122,
                    source: MappingSource::Anonymous {
                        name: "[stack]".into(),
                    },
                    contents: vec![MemoryWrite {
                        addr: 0x7fff_ffff_e000,
                        data: data(0, 4096),
                    }],
                },
                Mapping {
                    start: 0x7fff_f7fc_1000,
                    end: 0x7fff_f7fc_3000,
                    prot: 5,
                    flags: 2,
                    source: MappingSource::Special {
                        name: "[vdso]".into(),
                    },
                    contents: vec![],
                },
            ],
            auxv: vec![(6, 4096), (25, 0x7fff_ffff_e3b9)],
        }),
        Event::Syscall(SyscallEvent {
            regs: regs(2),
            result: -2,
            writes: vec![],
            action: SyscallAction::Emulate,
            output: None,
            file_changes: vec![],
        }),
        Event::Syscall(SyscallEvent {
            regs: regs(3),
            result: 13,
            writes: vec![MemoryWrite {
                addr: 0x7fff_ffff_d000,
                data: data(4096, 13),
            }],
            action: SyscallAction::Execute,
            output: Some(OutputStream::Stdout),
            file_changes: vec![FileChange {
                object: 3,
                size: 8192,
                offset: 4096,
                data: data(4096, 13),
            }],
        }),
        Event::Syscall(SyscallEvent {
            regs: regs(4),
            result: 0x7fff_f7d8_0000,
            writes: vec![],
            action: SyscallAction::Map(MapAction {
                addr: 0x7fff_f7d8_0000,
                len: 0x1000,
                prot: 1,
                flags: 2,
                source: MappingSource::File {
                    file: libc_file(),
                    offset: 0,
                },
            }),
            output: Some(OutputStream::Stderr),
            file_changes: vec![],
        }),
        Event::Syscall(SyscallEvent {
            regs: regs(5),
            result: 0x5555_5557_9000,
            writes: vec![],
            action: SyscallAction::Brk {
                old_end: 0x5555_5555_8000,
                new_end: 0x5555_5557_9000,
            },
            output: None,
            file_changes: vec![],
        }),
        Event::Syscall(SyscallEvent {
            regs: regs(6),
            result: 0x7fff_f000_0000,
            writes: vec![],
            action: SyscallAction::Remap {
                new_addr: 0x7fff_f000_0000,
            },
            output: None,
            file_changes: vec![],
        }),
        Event::Syscall(SyscallEvent {
            regs: regs(8),
            result: 0,
            writes: vec![],
            action: SyscallAction::Exec,
            output: None,
            file_changes: vec![],
        }),
        Event::SyscallEntry(SyscallEntryEvent {
            regs: regs(16),
            executed: true,
        }),
        Event::Syscall(SyscallEvent {
            regs: regs(17),
            result: 1236,
            writes: vec![],
            action: SyscallAction::Clone,
            output: None,
            file_changes: vec![],
        }),
        Event::Syscall(SyscallEvent {
            regs: regs(24),
            result: -513,
            writes: vec![],
            action: SyscallAction::Restart,
            output: None,
            file_changes: vec![],
        }),
        Event::Syscall(SyscallEvent {
            regs: regs(25),
            result: -514,
            writes: vec![],
            action: SyscallAction::MaskedWait { signo: 17 },
            output: None,
            file_changes: vec![],
        }),
        Event::Clone(CloneEvent {
            kind: CloneKind::Thread,
            regs: regs(18),
            flags: 0x3d0f00,
            child_tid: 1235,
            child_regs: regs(9),
            parent_writes: vec![],
            child_writes: vec![MemoryWrite {
                addr: 0x7fff_f7a0_0910,
                data: data(20, 4),
            }],
        }),
        Event::Clone(CloneEvent {
            kind: CloneKind::Fork,
            regs: regs(19),
            flags: 0x1200011,
            child_tid: 1300,
            child_regs: regs(10),
            parent_writes: vec![MemoryWrite {
                addr: 0x7fff_ffff_e010,
                data: data(24, 4),
            }],
            child_writes: vec![],
        }),
        Event::Clone(CloneEvent {
            kind: CloneKind::Vfork,
            regs: regs(20),
            flags: 0x4111,
            child_tid: 1301,
            child_regs: regs(11),
            parent_writes: vec![],
            child_writes: vec![],
        }),
        Event::Signal(SignalEvent {
            signo: 14,
            siginfo: vec![14, 0, 0, 0, 0, 0, 0, 0, 0x80],
            regs: regs(21),
            synchronous: false,
            point: Some(point.clone()),
            disposition: SignalDisposition::Handler {
                frame: vec![MemoryWrite {
                    addr: 0x7fff_ffff_c000,
                    data: data(4109, 1024),
                }],
                regs: Box::new(regs(12)),
            },
        }),
        Event::Signal(SignalEvent {
            signo: 13,
            siginfo: vec![0; 128],
            regs: regs(22),
            synchronous: false,
            point: None,
            disposition: SignalDisposition::Ignored,
        }),
        Event::Signal(SignalEvent {
            signo: 11,
            siginfo: vec![11; 128],
            regs: regs(23),
            synchronous: true,
            point: None,
            disposition: SignalDisposition::Fatal { core_dumped: true },
        }),
        Event::Signal(SignalEvent {
            signo: 19,
            siginfo: vec![19; 128],
            regs: regs(26),
            synchronous: false,
            point: None,
            disposition: SignalDisposition::Stopped,
        }),
        Event::Syscall(SyscallEvent {
            regs: regs(27),
            result: 0x7fff_e000_0000,
            writes: vec![],
            action: SyscallAction::Map(MapAction {
                addr: 0x7fff_e000_0000,
                len: 0x3000,
                prot: 3,
                flags: 1,
                source: MappingSource::Shared {
                    object: 3,
                    offset: 0x1000,
                    init: Some(SharedInit::File(libc_file())),
                },
            }),
            output: None,
            file_changes: vec![],
        }),
        Event::Syscall(SyscallEvent {
            regs: regs(28),
            result: 0x7fff_d000_0000,
            writes: vec![],
            action: SyscallAction::Map(MapAction {
                addr: 0x7fff_d000_0000,
                len: 0x2000,
                prot: 1,
                flags: 1,
                source: MappingSource::Shared {
                    object: 4,
                    offset: 0,
                    init: Some(SharedInit::Memory {
                        size: 0x2000,
                        contents: vec![MemoryWrite {
                            addr: 0x1000,
                            data: data(28, 4096),
                        }],
                    }),
                },
            }),
            output: None,
            file_changes: vec![],
        }),
        Event::Syscall(SyscallEvent {
            regs: regs(29),
            result: 0,
            writes: vec![],
            action: SyscallAction::Map(MapAction {
                addr: 0x7fff_c000_0000,
                len: 0x1000,
                prot: 3,
                flags: 2,
                source: MappingSource::Shared {
                    object: 4,
                    offset: 0x1000,
                    init: None,
                },
            }),
            output: None,
            file_changes: vec![],
        }),
        Event::Syscall(SyscallEvent {
            regs: regs(30),
            result: 0,
            writes: vec![],
            action: SyscallAction::Unmap {
                ranges: vec![(0x7fff_d000_0000, 0x1000), (0x7fff_d000_1000, 0x1000)],
            },
            output: None,
            file_changes: vec![],
        }),
        Event::MemoryWrites(vec![MemoryWrite {
            addr: 0x5555_5555_9000,
            data: data(40, 64),
        }]),
        Event::Preemption(point),
        Event::Preemption(ExecutionPoint {
            regs: regs(13),
            ticks: None,
            fingerprint: None,
        }),
        Event::Desched(ExecutionPoint {
            regs: regs(16),
            ticks: None,
            fingerprint: None,
        }),
        Event::Rdtsc(RdtscEvent {
            regs: regs(14),
            value: 0x0123_4567_89ab_cdef,
            aux: None,
        }),
        Event::Rdtsc(RdtscEvent {
            regs: regs(15),
            value: 99,
            aux: Some(3),
        }),
        Event::Patch(PatchEvent {
            site: 0x7fff_f7e9_82ab,
            replaced: MemoryWrite {
                addr: 0x7fff_f7e9_82a6,
                data: data(100, 5),
            },
            writes: vec![
                MemoryWrite {
                    addr: 0x7fff_f7fb_0000,
                    data: data(110, 32),
                },
                MemoryWrite {
                    addr: 0x7fff_f7e9_82a6,
                    data: data(150, 5),
                },
            ],
            resume_at: None,
        }),
        Event::Patch(PatchEvent {
            site: 0x7fff_f7e9_9000,
            replaced: MemoryWrite {
                addr: 0x7fff_f7e9_9000,
                data: data(200, 8),
            },
            writes: vec![],
            resume_at: Some(0x7fff_f7fb_0036),
        }),
        Event::BufferedSyscalls(BufferedSyscalls {
            records: data(5133, 300),
            count: 9,
        }),
        Event::Exit(ExitEvent {
            status: ExitStatus::Exited(3),
            process_exit: false,
        }),
        Event::Exit(ExitEvent {
            status: ExitStatus::Killed {
                signal: 9,
                core_dumped: false,
            },
            process_exit: true,
        }),
    ];
    events
        .into_iter()
        .enumerate()
        .map(|(i, event)| EventRecord {
            tid: 1234 + i as i32,
            event,
        })
        .collect()
}

/// The bytes the sample events' data refs point into.
pub const SAMPLE_DATA_LEN: usize = 5433;

pub fn sample_header() -> Header {
    Header {
        uuid: [7; 16],
        recorder_version: "rewind 0.1.0".into(),
        kernel_release: "6.1.0".into(),
        cpu: CpuInfo {
            vendor: "GenuineIntel".into(),
            family: 6,
            model: 85,
            stepping: 7,
            cpuid: vec![CpuidLeaf {
                leaf: 1,
                subleaf: 0,
                eax: 0x50657,
                ebx: 0x800,
                ecx: 0x7ffe_fbff,
                edx: 0xbfeb_fbff,
            }],
        },
        tick_source: TickSourceKind::Software,
        page_size: 4096,
        argv: vec![b"true".to_vec(), vec![0xff, 0x00, b'x']],
        env: vec![b"PATH=/usr/bin".to_vec()],
        cwd: b"/tmp".to_vec(),
        start_time_ns: 1_700_000_000_000_000_000,
        stack_limit: Some((8 << 20, u64::MAX)),
    }
}

/// A fresh directory under the target's temporary area, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let base = std::env::temp_dir().join(format!(
            "rewind-trace-test-{}-{tag}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&base).expect("create temp dir");
        TempDir(base)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Deterministic pseudo-random bytes (xorshift), for tests without a
/// random crate.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next() as u8;
        }
    }
}

/// Writes a trace of `rounds` copies of the sample events with their data,
/// finished cleanly.
pub fn write_sample_trace(dir: &Path, rounds: usize) -> u64 {
    write_sample_trace_with(dir, rounds, ChunkSizes::default())
}

pub fn write_sample_trace_with(dir: &Path, rounds: usize, sizes: ChunkSizes) -> u64 {
    let mut writer = TraceWriter::create_with(dir, &sample_header(), sizes).expect("create trace");
    let mut rng = Rng(0x1234_5678);
    let mut bytes = vec![0u8; SAMPLE_DATA_LEN];
    for _ in 0..rounds {
        rng.fill(&mut bytes[..2048]);
        let base = writer.append_data(&bytes).expect("append data").offset;
        for record in sample_events() {
            writer
                .append_event(&shift_data(record, base))
                .expect("append event");
        }
    }
    writer.finish(1).expect("finish").event_count
}

/// Moves every data ref of a sample event by `base`.
pub fn shift_data(mut record: EventRecord, base: u64) -> EventRecord {
    let shift = |w: &mut MemoryWrite| w.data.offset += base;
    match &mut record.event {
        Event::Exec(e) => e
            .mappings
            .iter_mut()
            .for_each(|m| m.contents.iter_mut().for_each(shift)),
        Event::Syscall(e) => e.writes.iter_mut().for_each(shift),
        Event::Signal(SignalEvent {
            disposition: SignalDisposition::Handler { frame, .. },
            ..
        }) => frame.iter_mut().for_each(shift),
        Event::BufferedSyscalls(b) => b.records.offset += base,
        Event::Patch(p) => {
            shift(&mut p.replaced);
            p.writes.iter_mut().for_each(shift);
        }
        _ => {}
    }
    record
}
