//! Binary encoding of the event types. Changing anything here changes the
//! trace format: bump `crate::VERSION` (the sample-encoding test says so).

use crate::codec::{Decode, DecodeError, Decoder, Encode, Encoder};
use crate::event::*;
use crate::registers::Registers;

fn unknown(what: &'static str, tag: u64) -> DecodeError {
    DecodeError::UnknownTag { what, tag }
}

impl Encode for DataRef {
    fn encode(&self, enc: &mut Encoder<'_>) {
        enc.u64(self.offset);
        enc.u64(self.len);
    }
}

impl Decode for DataRef {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(DataRef {
            offset: dec.u64()?,
            len: dec.u64()?,
        })
    }
}

impl Encode for MemoryWrite {
    fn encode(&self, enc: &mut Encoder<'_>) {
        enc.u64(self.addr);
        self.data.encode(enc);
    }
}

impl Decode for MemoryWrite {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(MemoryWrite {
            addr: dec.u64()?,
            data: DataRef::decode(dec)?,
        })
    }
}

fn encode_writes(enc: &mut Encoder<'_>, writes: &[MemoryWrite]) {
    enc.seq(writes, |enc, w| w.encode(enc));
}

fn decode_writes(dec: &mut Decoder<'_>) -> Result<Vec<MemoryWrite>, DecodeError> {
    dec.seq(3, MemoryWrite::decode)
}

impl Encode for CapturedFile {
    fn encode(&self, enc: &mut Encoder<'_>) {
        enc.str(&self.original_path);
        enc.str(&self.stored_name);
    }
}

impl Decode for CapturedFile {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(CapturedFile {
            original_path: dec.string()?,
            stored_name: dec.string()?,
        })
    }
}

impl Encode for MappingSource {
    fn encode(&self, enc: &mut Encoder<'_>) {
        match self {
            MappingSource::Anonymous { name } => {
                enc.u8(0);
                enc.str(name);
            }
            MappingSource::File { file, offset } => {
                enc.u8(1);
                file.encode(enc);
                enc.u64(*offset);
            }
            MappingSource::Special { name } => {
                enc.u8(2);
                enc.str(name);
            }
            MappingSource::Shared {
                object,
                offset,
                init,
            } => {
                enc.u8(3);
                enc.u32(*object);
                enc.u64(*offset);
                enc.option(init, |enc, init| init.encode(enc));
            }
        }
    }
}

impl Encode for SharedInit {
    fn encode(&self, enc: &mut Encoder<'_>) {
        match self {
            SharedInit::File(file) => {
                enc.u8(0);
                file.encode(enc);
            }
            SharedInit::Memory { size, contents } => {
                enc.u8(1);
                enc.u64(*size);
                encode_writes(enc, contents);
            }
        }
    }
}

impl Decode for SharedInit {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        match dec.u8()? {
            0 => Ok(SharedInit::File(CapturedFile::decode(dec)?)),
            1 => Ok(SharedInit::Memory {
                size: dec.u64()?,
                contents: decode_writes(dec)?,
            }),
            tag => Err(unknown("shared object contents", u64::from(tag))),
        }
    }
}

impl Encode for FileChange {
    fn encode(&self, enc: &mut Encoder<'_>) {
        enc.u32(self.object);
        enc.u64(self.size);
        enc.u64(self.offset);
        self.data.encode(enc);
    }
}

impl Decode for FileChange {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(FileChange {
            object: dec.u32()?,
            size: dec.u64()?,
            offset: dec.u64()?,
            data: DataRef::decode(dec)?,
        })
    }
}

impl Decode for MappingSource {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        match dec.u8()? {
            0 => Ok(MappingSource::Anonymous {
                name: dec.string()?,
            }),
            1 => Ok(MappingSource::File {
                file: CapturedFile::decode(dec)?,
                offset: dec.u64()?,
            }),
            2 => Ok(MappingSource::Special {
                name: dec.string()?,
            }),
            3 => Ok(MappingSource::Shared {
                object: dec.u32()?,
                offset: dec.u64()?,
                init: dec.option(SharedInit::decode)?,
            }),
            tag => Err(unknown("mapping source", u64::from(tag))),
        }
    }
}

impl Encode for Mapping {
    fn encode(&self, enc: &mut Encoder<'_>) {
        enc.u64(self.start);
        enc.u64(self.end);
        enc.u32(self.prot);
        enc.u32(self.flags);
        self.source.encode(enc);
        encode_writes(enc, &self.contents);
    }
}

impl Decode for Mapping {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Mapping {
            start: dec.u64()?,
            end: dec.u64()?,
            prot: dec.u32()?,
            flags: dec.u32()?,
            source: MappingSource::decode(dec)?,
            contents: decode_writes(dec)?,
        })
    }
}

impl Encode for ExecEvent {
    fn encode(&self, enc: &mut Encoder<'_>) {
        self.exe.encode(enc);
        enc.seq(&self.argv, |enc, arg| enc.str(arg));
        self.regs.encode(enc);
        enc.seq(&self.mappings, |enc, m| m.encode(enc));
        enc.seq(&self.auxv, |enc, (key, value)| {
            enc.u64(*key);
            enc.u64(*value);
        });
    }
}

impl Decode for ExecEvent {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(ExecEvent {
            exe: CapturedFile::decode(dec)?,
            argv: dec.seq(1, |dec| dec.string())?,
            regs: Registers::decode(dec)?,
            mappings: dec.seq(7, Mapping::decode)?,
            auxv: dec.seq(2, |dec| Ok((dec.u64()?, dec.u64()?)))?,
        })
    }
}

impl Encode for MapAction {
    fn encode(&self, enc: &mut Encoder<'_>) {
        enc.u64(self.addr);
        enc.u64(self.len);
        enc.u32(self.prot);
        enc.u32(self.flags);
        self.source.encode(enc);
    }
}

impl Decode for MapAction {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(MapAction {
            addr: dec.u64()?,
            len: dec.u64()?,
            prot: dec.u32()?,
            flags: dec.u32()?,
            source: MappingSource::decode(dec)?,
        })
    }
}

impl Encode for SyscallAction {
    fn encode(&self, enc: &mut Encoder<'_>) {
        match self {
            SyscallAction::Emulate => enc.u8(0),
            SyscallAction::Execute => enc.u8(1),
            SyscallAction::Map(action) => {
                enc.u8(2);
                action.encode(enc);
            }
            SyscallAction::Brk { old_end, new_end } => {
                enc.u8(3);
                enc.u64(*old_end);
                enc.u64(*new_end);
            }
            SyscallAction::Remap { new_addr } => {
                enc.u8(4);
                enc.u64(*new_addr);
            }
            SyscallAction::Exec => enc.u8(5),
            SyscallAction::Clone => enc.u8(6),
            SyscallAction::Restart => enc.u8(7),
            SyscallAction::MaskedWait { signo } => {
                enc.u8(8);
                enc.i32(*signo);
            }
            SyscallAction::Unmap { ranges } => {
                enc.u8(9);
                enc.seq(ranges, |enc, (start, len)| {
                    enc.u64(*start);
                    enc.u64(*len);
                });
            }
        }
    }
}

impl Decode for SyscallAction {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        match dec.u8()? {
            0 => Ok(SyscallAction::Emulate),
            1 => Ok(SyscallAction::Execute),
            2 => Ok(SyscallAction::Map(MapAction::decode(dec)?)),
            3 => Ok(SyscallAction::Brk {
                old_end: dec.u64()?,
                new_end: dec.u64()?,
            }),
            4 => Ok(SyscallAction::Remap {
                new_addr: dec.u64()?,
            }),
            5 => Ok(SyscallAction::Exec),
            6 => Ok(SyscallAction::Clone),
            7 => Ok(SyscallAction::Restart),
            8 => Ok(SyscallAction::MaskedWait { signo: dec.i32()? }),
            9 => Ok(SyscallAction::Unmap {
                ranges: dec.seq(2, |dec| Ok((dec.u64()?, dec.u64()?)))?,
            }),
            tag => Err(unknown("syscall action", u64::from(tag))),
        }
    }
}

impl Encode for OutputStream {
    fn encode(&self, enc: &mut Encoder<'_>) {
        enc.u8(match self {
            OutputStream::Stdout => 1,
            OutputStream::Stderr => 2,
        });
    }
}

impl Decode for OutputStream {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        match dec.u8()? {
            1 => Ok(OutputStream::Stdout),
            2 => Ok(OutputStream::Stderr),
            tag => Err(unknown("output stream", u64::from(tag))),
        }
    }
}

impl Encode for SyscallEvent {
    fn encode(&self, enc: &mut Encoder<'_>) {
        self.regs.encode(enc);
        enc.i64(self.result);
        encode_writes(enc, &self.writes);
        self.action.encode(enc);
        enc.option(&self.output, |enc, o| o.encode(enc));
        enc.seq(&self.file_changes, |enc, c| c.encode(enc));
    }
}

impl Decode for SyscallEvent {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(SyscallEvent {
            regs: Registers::decode(dec)?,
            result: dec.i64()?,
            writes: decode_writes(dec)?,
            action: SyscallAction::decode(dec)?,
            output: dec.option(OutputStream::decode)?,
            file_changes: dec.seq(5, FileChange::decode)?,
        })
    }
}

impl Encode for CloneEvent {
    fn encode(&self, enc: &mut Encoder<'_>) {
        enc.u8(match self.kind {
            CloneKind::Thread => 0,
            CloneKind::Fork => 1,
            CloneKind::Vfork => 2,
        });
        enc.u64(self.flags);
        self.regs.encode(enc);
        enc.i32(self.child_tid);
        self.child_regs.encode(enc);
        encode_writes(enc, &self.parent_writes);
        encode_writes(enc, &self.child_writes);
    }
}

impl Decode for CloneEvent {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let kind = match dec.u8()? {
            0 => CloneKind::Thread,
            1 => CloneKind::Fork,
            2 => CloneKind::Vfork,
            tag => return Err(unknown("clone kind", u64::from(tag))),
        };
        Ok(CloneEvent {
            kind,
            flags: dec.u64()?,
            regs: Registers::decode(dec)?,
            child_tid: dec.i32()?,
            child_regs: Registers::decode(dec)?,
            parent_writes: decode_writes(dec)?,
            child_writes: decode_writes(dec)?,
        })
    }
}

impl Encode for Fingerprint {
    fn encode(&self, enc: &mut Encoder<'_>) {
        enc.fixed_u64(self.stack_hash);
        enc.seq(&self.memory, |enc, (addr, value)| {
            enc.u64(*addr);
            enc.fixed_u64(*value);
        });
        enc.seq(&self.data_ranges, |enc, (start, len)| {
            enc.u64(*start);
            enc.u64(*len);
        });
        enc.fixed_u64(self.data_hash);
        enc.u64(self.user_time_ns);
    }
}

impl Decode for Fingerprint {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Fingerprint {
            stack_hash: dec.fixed_u64()?,
            memory: dec.seq(9, |dec| Ok((dec.u64()?, dec.fixed_u64()?)))?,
            data_ranges: dec.seq(2, |dec| Ok((dec.u64()?, dec.u64()?)))?,
            data_hash: dec.fixed_u64()?,
            user_time_ns: dec.u64()?,
        })
    }
}

impl Encode for ExecutionPoint {
    fn encode(&self, enc: &mut Encoder<'_>) {
        self.regs.encode(enc);
        enc.option(&self.ticks, |enc, t| enc.u64(*t));
        enc.option(&self.fingerprint, |enc, f| f.encode(enc));
    }
}

impl Decode for ExecutionPoint {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(ExecutionPoint {
            regs: Registers::decode(dec)?,
            ticks: dec.option(|dec| dec.u64())?,
            fingerprint: dec.option(Fingerprint::decode)?,
        })
    }
}

impl Encode for SignalEvent {
    fn encode(&self, enc: &mut Encoder<'_>) {
        enc.i32(self.signo);
        enc.bytes(&self.siginfo);
        self.regs.encode(enc);
        enc.bool(self.synchronous);
        enc.option(&self.point, |enc, p| p.encode(enc));
        match &self.disposition {
            SignalDisposition::Handler { frame, regs } => {
                enc.u8(0);
                encode_writes(enc, frame);
                regs.encode(enc);
            }
            SignalDisposition::Ignored => enc.u8(1),
            SignalDisposition::Fatal { core_dumped } => {
                enc.u8(2);
                enc.bool(*core_dumped);
            }
            SignalDisposition::Stopped => enc.u8(3),
        }
    }
}

impl Decode for SignalEvent {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let signo = dec.i32()?;
        let siginfo = dec.bytes()?.to_vec();
        let regs = Registers::decode(dec)?;
        let synchronous = dec.bool()?;
        let point = dec.option(ExecutionPoint::decode)?;
        let disposition = match dec.u8()? {
            0 => SignalDisposition::Handler {
                frame: decode_writes(dec)?,
                regs: Box::new(Registers::decode(dec)?),
            },
            1 => SignalDisposition::Ignored,
            2 => SignalDisposition::Fatal {
                core_dumped: dec.bool()?,
            },
            3 => SignalDisposition::Stopped,
            tag => return Err(unknown("signal disposition", u64::from(tag))),
        };
        Ok(SignalEvent {
            signo,
            siginfo,
            regs,
            synchronous,
            point,
            disposition,
        })
    }
}

impl Encode for RdtscEvent {
    fn encode(&self, enc: &mut Encoder<'_>) {
        self.regs.encode(enc);
        enc.fixed_u64(self.value);
        enc.option(&self.aux, |enc, a| enc.u32(*a));
    }
}

impl Decode for RdtscEvent {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(RdtscEvent {
            regs: Registers::decode(dec)?,
            value: dec.fixed_u64()?,
            aux: dec.option(|dec| dec.u32())?,
        })
    }
}

impl Encode for ExitStatus {
    fn encode(&self, enc: &mut Encoder<'_>) {
        match *self {
            ExitStatus::Exited(code) => {
                enc.u8(0);
                enc.i32(code);
            }
            ExitStatus::Killed {
                signal,
                core_dumped,
            } => {
                enc.u8(1);
                enc.i32(signal);
                enc.bool(core_dumped);
            }
        }
    }
}

impl Decode for ExitStatus {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        match dec.u8()? {
            0 => Ok(ExitStatus::Exited(dec.i32()?)),
            1 => Ok(ExitStatus::Killed {
                signal: dec.i32()?,
                core_dumped: dec.bool()?,
            }),
            tag => Err(unknown("exit status", u64::from(tag))),
        }
    }
}

impl Encode for EventRecord {
    fn encode(&self, enc: &mut Encoder<'_>) {
        let tag = match &self.event {
            Event::Exec(_) => 1,
            Event::Syscall(_) => 2,
            Event::Clone(_) => 3,
            Event::Signal(_) => 4,
            Event::Preemption(_) => 5,
            Event::Rdtsc(_) => 6,
            Event::BufferedSyscalls(_) => 7,
            Event::Exit(_) => 8,
            Event::SyscallEntry(_) => 9,
            Event::MemoryWrites(_) => 10,
            Event::Patch(_) => 11,
            Event::Desched(_) => 12,
        };
        enc.u8(tag);
        enc.i32(self.tid);
        match &self.event {
            Event::Exec(e) => e.encode(enc),
            Event::SyscallEntry(e) => {
                e.regs.encode(enc);
                enc.bool(e.executed);
            }
            Event::Syscall(e) => e.encode(enc),
            Event::Clone(e) => e.encode(enc),
            Event::Signal(e) => e.encode(enc),
            Event::Preemption(p) | Event::Desched(p) => p.encode(enc),
            Event::Rdtsc(e) => e.encode(enc),
            Event::BufferedSyscalls(b) => {
                b.records.encode(enc);
                enc.u32(b.count);
            }
            Event::Exit(e) => {
                e.status.encode(enc);
                enc.bool(e.process_exit);
            }
            Event::MemoryWrites(writes) => encode_writes(enc, writes),
            Event::Patch(p) => {
                enc.u64(p.site);
                p.replaced.encode(enc);
                encode_writes(enc, &p.writes);
                enc.option(&p.resume_at, |enc, at| enc.u64(*at));
            }
        }
    }
}

impl Decode for EventRecord {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let tag = dec.u8()?;
        let tid = dec.i32()?;
        let event = match tag {
            1 => Event::Exec(ExecEvent::decode(dec)?),
            2 => Event::Syscall(SyscallEvent::decode(dec)?),
            3 => Event::Clone(CloneEvent::decode(dec)?),
            4 => Event::Signal(SignalEvent::decode(dec)?),
            5 => Event::Preemption(ExecutionPoint::decode(dec)?),
            6 => Event::Rdtsc(RdtscEvent::decode(dec)?),
            7 => Event::BufferedSyscalls(BufferedSyscalls {
                records: DataRef::decode(dec)?,
                count: dec.u32()?,
            }),
            8 => Event::Exit(ExitEvent {
                status: ExitStatus::decode(dec)?,
                process_exit: dec.bool()?,
            }),
            9 => Event::SyscallEntry(SyscallEntryEvent {
                regs: Registers::decode(dec)?,
                executed: dec.bool()?,
            }),
            10 => Event::MemoryWrites(decode_writes(dec)?),
            11 => Event::Patch(PatchEvent {
                site: dec.u64()?,
                replaced: MemoryWrite::decode(dec)?,
                writes: decode_writes(dec)?,
                resume_at: dec.option(|dec| dec.u64())?,
            }),
            12 => Event::Desched(ExecutionPoint::decode(dec)?),
            tag => return Err(unknown("event", u64::from(tag))),
        };
        Ok(EventRecord { tid, event })
    }
}
