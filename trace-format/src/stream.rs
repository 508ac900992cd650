//! Reading one chunked stream file (`events` or `data`): its index, from the
//! trailer or from a scan, and verified chunk payloads.

use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::chunk::{self, ChunkHeader, CHUNK_HEADER_LEN};
use crate::error::TraceError;
use crate::header::ChunkEntry;

/// Which stream a file holds; it decides what a chunk's `first` and
/// `count` mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// `first` is an event number (from 1), `count` the number of events.
    Events,
    /// `first` is an uncompressed byte offset (from 0), `count` the
    /// number of bytes.
    Data,
}

impl StreamKind {
    fn start(self) -> u64 {
        match self {
            StreamKind::Events => 1,
            StreamKind::Data => 0,
        }
    }
}

/// An open stream file and where its chunks are.
pub struct StreamFile {
    pub path: PathBuf,
    file: File,
    pub kind: StreamKind,
    pub chunks: Vec<ChunkEntry>,
}

/// Where a scan of a stream without trailer stopped, and why.
pub struct ScanEnd {
    pub offset: u64,
    pub reason: String,
}

impl StreamFile {
    pub fn open(path: PathBuf, kind: StreamKind) -> Result<StreamFile, TraceError> {
        let file = File::open(&path).map_err(|e| TraceError::io(&path, e))?;
        Ok(StreamFile {
            path,
            file,
            kind,
            chunks: Vec::new(),
        })
    }

    /// Another handle on the same stream, with its index; reads are
    /// positional, so the two never disturb each other.
    pub fn try_clone(&self) -> Result<StreamFile, TraceError> {
        Ok(StreamFile {
            path: self.path.clone(),
            file: self
                .file
                .try_clone()
                .map_err(|e| TraceError::io(&self.path, e))?,
            kind: self.kind,
            chunks: self.chunks.clone(),
        })
    }

    fn file_len(&self) -> Result<u64, TraceError> {
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| TraceError::io(&self.path, e))
    }

    /// Takes the chunk list from a trailer after checking that it is
    /// consistent with itself and with the file.
    pub fn use_index(&mut self, chunks: Vec<ChunkEntry>, total: u64) -> Result<(), TraceError> {
        let file_len = self.file_len()?;
        let mut expected_first = self.kind.start();
        let mut min_offset = 0u64;
        for entry in &chunks {
            let fits = entry.first == expected_first
                && entry.file_offset >= min_offset
                && entry.file_offset.saturating_add(CHUNK_HEADER_LEN as u64) <= file_len
                && (entry.count > 0 || self.kind == StreamKind::Events);
            if !fits {
                return Err(TraceError::corrupt(
                    &self.path,
                    entry.file_offset,
                    "the trailer's index does not match this file",
                ));
            }
            expected_first = entry.end();
            min_offset = entry.file_offset + CHUNK_HEADER_LEN as u64;
        }
        if expected_first - self.kind.start() != total {
            return Err(TraceError::corrupt(
                &self.path,
                0,
                "the trailer's totals do not match its index",
            ));
        }
        self.chunks = chunks;
        Ok(())
    }

    /// Builds the chunk list by reading the file from the start, verifying
    /// every chunk. Stops at the first chunk that is incomplete or damaged:
    /// for a trace without trailer that is where its recorder stopped.
    pub fn scan(&mut self) -> Result<Option<ScanEnd>, TraceError> {
        let file_len = self.file_len()?;
        let mut offset = 0u64;
        let mut expected_first = self.kind.start();
        let mut payload = Vec::new();
        let mut chunks = Vec::new();
        let end = loop {
            if offset == file_len {
                break None;
            }
            let (header, raw) = match self.read_header(offset) {
                Ok(h) => h,
                Err(reason) => break Some(ScanEnd { offset, reason }),
            };
            if header.first != expected_first {
                break Some(ScanEnd {
                    offset,
                    reason: "chunk is out of sequence".into(),
                });
            }
            if let Err(reason) = self.read_payload(offset, &header, &raw, &mut payload) {
                break Some(ScanEnd { offset, reason });
            }
            let count = match self.kind {
                StreamKind::Events => u64::from(header.count),
                StreamKind::Data => u64::from(header.uncompressed_len),
            };
            chunks.push(ChunkEntry {
                file_offset: offset,
                first: header.first,
                count,
            });
            expected_first += count;
            offset += header.total_len();
        };
        self.chunks = chunks;
        Ok(end)
    }

    /// One past the last event number, or the data stream's length.
    pub fn end(&self) -> u64 {
        self.chunks
            .last()
            .map_or(self.kind.start(), ChunkEntry::end)
    }

    /// The index of the chunk holding `position` (event number or data
    /// offset).
    pub fn chunk_for(&self, position: u64) -> Option<usize> {
        let i = self.chunks.partition_point(|c| c.end() <= position);
        (i < self.chunks.len() && self.chunks[i].first <= position).then_some(i)
    }

    /// Reads, verifies and decompresses chunk `index` into `out`.
    pub fn load(&self, index: usize, out: &mut Vec<u8>) -> Result<(), TraceError> {
        let entry = self.chunks[index];
        let corrupt = |what: String| TraceError::corrupt(&self.path, entry.file_offset, what);
        let (header, raw) = self.read_header(entry.file_offset).map_err(corrupt)?;
        let count = match self.kind {
            StreamKind::Events => u64::from(header.count),
            StreamKind::Data => u64::from(header.uncompressed_len),
        };
        if header.first != entry.first || count != entry.count {
            return Err(corrupt("chunk does not match the index".into()));
        }
        let mut payload = Vec::new();
        self.read_payload(entry.file_offset, &header, &raw, &mut payload)
            .map_err(corrupt)?;
        chunk::decompress(&header, &payload, out).map_err(|what| corrupt(what.into()))
    }

    fn read_header(&self, offset: u64) -> Result<(ChunkHeader, [u8; CHUNK_HEADER_LEN]), String> {
        let mut raw = [0u8; CHUNK_HEADER_LEN];
        self.file
            .read_exact_at(&mut raw, offset)
            .map_err(|e| describe_read_error(&e))?;
        let header = ChunkHeader::parse(&raw).map_err(str::to_owned)?;
        Ok((header, raw))
    }

    /// Reads the payload and checks it against the header's CRC.
    fn read_payload(
        &self,
        offset: u64,
        header: &ChunkHeader,
        raw: &[u8; CHUNK_HEADER_LEN],
        payload: &mut Vec<u8>,
    ) -> Result<(), String> {
        payload.clear();
        payload.resize(header.compressed_len as usize, 0);
        self.file
            .read_exact_at(payload, offset + CHUNK_HEADER_LEN as u64)
            .map_err(|e| describe_read_error(&e))?;
        if !header.verify(raw, payload) {
            return Err("checksum mismatch".into());
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn describe_read_error(e: &std::io::Error) -> String {
    if e.kind() == ErrorKind::UnexpectedEof {
        "file ends in the middle of a chunk".into()
    } else {
        format!("read failed: {e}")
    }
}
