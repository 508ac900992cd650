//! The trace's `header` (written first) and `trailer` (written at a clean
//! end). Both files share one framing: an 8-byte magic, the format version,
//! the payload length and a CRC32 of the payload, then the payload.

use crate::codec::{Decode, DecodeError, Decoder, Encode, Encoder};
use crate::{OLDEST_READABLE_VERSION, VERSION};

/// One CPUID leaf as the recording machine answered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuidLeaf {
    pub leaf: u32,
    pub subleaf: u32,
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

/// The recording machine's processor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpuInfo {
    pub vendor: String,
    pub family: u32,
    pub model: u32,
    pub stepping: u32,
    /// Leaves that change program behaviour (features, xsave layout).
    pub cpuid: Vec<CpuidLeaf>,
}

/// How asynchronous events were placed (ARCHITECTURE.md "Ticks").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickSourceKind {
    /// State fingerprints; no hardware counter.
    Software,
    /// Retired conditional branches counted by the given raw perf event.
    HardwareBranches { raw_event: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub uuid: [u8; 16],
    pub recorder_version: String,
    pub kernel_release: String,
    pub cpu: CpuInfo,
    pub tick_source: TickSourceKind,
    pub page_size: u32,
    /// The recorded command line, as given (bytes: arguments need not be
    /// UTF-8).
    pub argv: Vec<Vec<u8>>,
    pub env: Vec<Vec<u8>>,
    pub cwd: Vec<u8>,
    /// Nanoseconds since the Unix epoch.
    pub start_time_ns: u64,
    /// The stack size limit (soft, hard) the program started with: it
    /// decides where the stack stops growing.
    pub stack_limit: Option<(u64, u64)>,
}

impl Header {
    /// The command line for display.
    pub fn command_line(&self) -> String {
        self.argv
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Where one chunk of a stream lies and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkEntry {
    /// Byte offset of the chunk header in its file.
    pub file_offset: u64,
    /// Events: the number of the chunk's first event. Data: the offset of
    /// its first byte in the uncompressed stream.
    pub first: u64,
    /// Events: how many events. Data: how many uncompressed bytes.
    pub count: u64,
}

impl ChunkEntry {
    pub fn end(&self) -> u64 {
        self.first.saturating_add(self.count)
    }
}

/// Written when a recording ends cleanly; its chunk lists are the index
/// that lets a reader jump to an event without scanning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trailer {
    pub event_count: u64,
    pub data_len: u64,
    pub end_time_ns: u64,
    pub event_chunks: Vec<ChunkEntry>,
    pub data_chunks: Vec<ChunkEntry>,
}

impl Encode for CpuInfo {
    fn encode(&self, enc: &mut Encoder<'_>) {
        enc.str(&self.vendor);
        enc.u32(self.family);
        enc.u32(self.model);
        enc.u32(self.stepping);
        enc.seq(&self.cpuid, |enc, l| {
            for v in [l.leaf, l.subleaf, l.eax, l.ebx, l.ecx, l.edx] {
                enc.u32(v);
            }
        });
    }
}

impl Decode for CpuInfo {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(CpuInfo {
            vendor: dec.string()?,
            family: dec.u32()?,
            model: dec.u32()?,
            stepping: dec.u32()?,
            cpuid: dec.seq(6, |dec| {
                Ok(CpuidLeaf {
                    leaf: dec.u32()?,
                    subleaf: dec.u32()?,
                    eax: dec.u32()?,
                    ebx: dec.u32()?,
                    ecx: dec.u32()?,
                    edx: dec.u32()?,
                })
            })?,
        })
    }
}

impl Encode for Header {
    fn encode(&self, enc: &mut Encoder<'_>) {
        enc.bytes(&self.uuid);
        enc.str(&self.recorder_version);
        enc.str(&self.kernel_release);
        self.cpu.encode(enc);
        match self.tick_source {
            TickSourceKind::Software => enc.u8(0),
            TickSourceKind::HardwareBranches { raw_event } => {
                enc.u8(1);
                enc.u64(raw_event);
            }
        }
        enc.u32(self.page_size);
        enc.seq(&self.argv, |enc, a| enc.bytes(a));
        enc.seq(&self.env, |enc, e| enc.bytes(e));
        enc.bytes(&self.cwd);
        enc.u64(self.start_time_ns);
        enc.option(&self.stack_limit, |enc, (soft, hard)| {
            enc.u64(*soft);
            enc.u64(*hard);
        });
    }
}

impl Decode for Header {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let uuid_bytes = dec.bytes()?;
        let uuid: [u8; 16] = uuid_bytes.try_into().map_err(|_| DecodeError::OutOfRange {
            what: "uuid length",
            value: uuid_bytes.len() as u64,
        })?;
        Ok(Header {
            uuid,
            recorder_version: dec.string()?,
            kernel_release: dec.string()?,
            cpu: CpuInfo::decode(dec)?,
            tick_source: match dec.u8()? {
                0 => TickSourceKind::Software,
                1 => TickSourceKind::HardwareBranches {
                    raw_event: dec.u64()?,
                },
                tag => {
                    return Err(DecodeError::UnknownTag {
                        what: "tick source",
                        tag: u64::from(tag),
                    })
                }
            },
            page_size: dec.u32()?,
            argv: dec.seq(1, |dec| dec.bytes().map(<[u8]>::to_vec))?,
            env: dec.seq(1, |dec| dec.bytes().map(<[u8]>::to_vec))?,
            cwd: dec.bytes()?.to_vec(),
            start_time_ns: dec.u64()?,
            stack_limit: dec.option(|dec| Ok((dec.u64()?, dec.u64()?)))?,
        })
    }
}

fn encode_chunks(enc: &mut Encoder<'_>, chunks: &[ChunkEntry]) {
    enc.seq(chunks, |enc, c| {
        enc.u64(c.file_offset);
        enc.u64(c.first);
        enc.u64(c.count);
    });
}

fn decode_chunks(dec: &mut Decoder<'_>) -> Result<Vec<ChunkEntry>, DecodeError> {
    dec.seq(3, |dec| {
        Ok(ChunkEntry {
            file_offset: dec.u64()?,
            first: dec.u64()?,
            count: dec.u64()?,
        })
    })
}

impl Encode for Trailer {
    fn encode(&self, enc: &mut Encoder<'_>) {
        enc.u64(self.event_count);
        enc.u64(self.data_len);
        enc.u64(self.end_time_ns);
        encode_chunks(enc, &self.event_chunks);
        encode_chunks(enc, &self.data_chunks);
    }
}

impl Decode for Trailer {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Trailer {
            event_count: dec.u64()?,
            data_len: dec.u64()?,
            end_time_ns: dec.u64()?,
            event_chunks: decode_chunks(dec)?,
            data_chunks: decode_chunks(dec)?,
        })
    }
}

pub(crate) const HEADER_MAGIC: [u8; 8] = *b"RWNDHEAD";
pub(crate) const TRAILER_MAGIC: [u8; 8] = *b"RWNDTAIL";
const FRAME_LEN: usize = 20;
/// Neither file is ever near this; a larger length is corruption.
const MAX_FRAMED_PAYLOAD: usize = 64 << 20;

/// Frames `payload` for the header or trailer file.
pub(crate) fn frame(magic: [u8; 8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FRAME_LEN + payload.len());
    out.extend_from_slice(&magic);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Why a framed file could not be read; the caller adds the path.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FrameError {
    BadMagic,
    Version(u32),
    /// (byte offset, what is wrong)
    Corrupt(u64, String),
}

/// Checks the framing of a header or trailer file and returns its payload.
pub(crate) fn unframe(magic: [u8; 8], bytes: &[u8]) -> Result<&[u8], FrameError> {
    if bytes.len() < FRAME_LEN || bytes[..8] != magic {
        return Err(FrameError::BadMagic);
    }
    let word =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let version = word(8);
    if !(OLDEST_READABLE_VERSION..=VERSION).contains(&version) {
        return Err(FrameError::Version(version));
    }
    let len = word(12) as usize;
    let crc = word(16);
    let payload = &bytes[FRAME_LEN..];
    if len > MAX_FRAMED_PAYLOAD || len != payload.len() {
        return Err(FrameError::Corrupt(
            12,
            format!(
                "payload length {len} does not match the file's {} bytes",
                payload.len()
            ),
        ));
    }
    if crc32fast::hash(payload) != crc {
        return Err(FrameError::Corrupt(
            FRAME_LEN as u64,
            "checksum mismatch".into(),
        ));
    }
    Ok(payload)
}

pub(crate) fn frame_len() -> u64 {
    FRAME_LEN as u64
}
