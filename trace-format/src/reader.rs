//! Reads a trace: its header, its events in order or from any event on,
//! and the data they refer to.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::codec::{Decode, Decoder};
use crate::error::TraceError;
use crate::event::{DataRef, EventRecord};
use crate::header::{self, FrameError, Header, Trailer};
use crate::layout;
use crate::stream::{StreamFile, StreamKind};

/// Where and why a trace without a clean end stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlyEnd {
    /// The last event that can be read (0 when none can).
    pub after_event: u64,
    /// What was found where the trace stops.
    pub reason: String,
}

impl std::fmt::Display for EarlyEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "trace ends early after event {} ({})",
            self.after_event, self.reason
        )
    }
}

pub struct TraceReader {
    dir: PathBuf,
    header: Header,
    trailer: Option<Trailer>,
    event_count: u64,
    early_end: Option<EarlyEnd>,
    events: Arc<StreamFile>,
    data: DataReader,
}

impl TraceReader {
    /// Opens the trace in `dir`. A trace whose recorder died reads as its
    /// longest valid prefix; `early_end` then says where it stops.
    pub fn open(dir: &Path) -> Result<TraceReader, TraceError> {
        let header = read_header(dir)?;
        let trailer = read_trailer(dir)?;
        let mut events = StreamFile::open(dir.join(layout::EVENTS), StreamKind::Events)?;
        let mut data = StreamFile::open(dir.join(layout::DATA), StreamKind::Data)?;
        let mut early_end = None;
        let event_count;
        match &trailer {
            Some(t) => {
                events.use_index(t.event_chunks.clone(), t.event_count)?;
                data.use_index(t.data_chunks.clone(), t.data_len)?;
                event_count = t.event_count;
            }
            None => {
                let events_end = events.scan()?;
                let data_end = data.scan()?;
                let mut reason = match (&events_end, &data_end) {
                    (Some(e), _) => format!(
                        "{} at byte {} of {}",
                        e.reason,
                        e.offset,
                        events.path().display()
                    ),
                    (None, Some(d)) => format!(
                        "{} at byte {} of {}",
                        d.reason,
                        d.offset,
                        data.path().display()
                    ),
                    (None, None) => "the recording did not finish".to_string(),
                };
                let (count, missing_data) = events_with_data(&events, data.end())?;
                if missing_data {
                    reason = "later events refer to data that was never written".into();
                }
                event_count = count;
                early_end = Some(EarlyEnd {
                    after_event: count,
                    reason,
                });
            }
        }
        Ok(TraceReader {
            dir: dir.to_path_buf(),
            header,
            trailer,
            event_count,
            early_end,
            events: Arc::new(events),
            data: DataReader {
                data_len: data.end(),
                stream: data,
                cached: Vec::new(),
            },
        })
    }

    /// A second reader of the same trace, without reading its index again;
    /// it starts with nothing cached.
    pub fn try_clone(&self) -> Result<TraceReader, TraceError> {
        Ok(TraceReader {
            dir: self.dir.clone(),
            header: self.header.clone(),
            trailer: self.trailer.clone(),
            event_count: self.event_count,
            early_end: self.early_end.clone(),
            events: Arc::clone(&self.events),
            data: DataReader {
                stream: self.data.stream.try_clone()?,
                data_len: self.data.data_len,
                cached: Vec::new(),
            },
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The trailer of a cleanly finished trace.
    pub fn trailer(&self) -> Option<&Trailer> {
        self.trailer.as_ref()
    }

    /// How many events can be read.
    pub fn event_count(&self) -> u64 {
        self.event_count
    }

    /// Set when the recording did not end cleanly.
    pub fn early_end(&self) -> Option<&EarlyEnd> {
        self.early_end.as_ref()
    }

    /// Events from the first on.
    pub fn events(&self) -> EventIter {
        EventIter {
            stream: Arc::clone(&self.events),
            next: 1,
            last: self.event_count,
            chunk: Vec::new(),
            pos: 0,
            loaded: None,
        }
    }

    /// Events from number `first` on, without decoding those before its
    /// chunk.
    pub fn events_from(&self, first: u64) -> Result<EventIter, TraceError> {
        let mut iter = self.events();
        if first > self.event_count || first == 0 {
            iter.next = self.event_count + 1;
            return Ok(iter);
        }
        iter.seek(first)?;
        Ok(iter)
    }

    /// The data stream.
    pub fn data(&mut self) -> &mut DataReader {
        &mut self.data
    }

    /// Where a captured file lies.
    pub fn captured_file_path(&self, stored_name: &str) -> PathBuf {
        self.dir.join(layout::FILES).join(stored_name)
    }
}

/// Counts the events of a trace without trailer that come before the
/// first event whose data is missing. The writer puts data on disk before
/// the events that use it, so this only cuts events when the data file was
/// damaged; finding out still takes decoding every event, a cost paid only
/// by traces without trailer.
fn events_with_data(events: &StreamFile, data_end: u64) -> Result<(u64, bool), TraceError> {
    let mut buf = Vec::new();
    for (index, entry) in events.chunks.iter().enumerate() {
        events.load(index, &mut buf)?;
        let mut dec = Decoder::new(&buf);
        for number in entry.first..entry.end() {
            let record = decode_one(&mut dec, events, entry.file_offset, number)?;
            if record.event.data_refs().iter().any(|r| r.end() > data_end) {
                return Ok((number - 1, true));
            }
        }
    }
    Ok((events.end() - 1, false))
}

fn decode_one(
    dec: &mut Decoder<'_>,
    stream: &StreamFile,
    chunk_offset: u64,
    number: u64,
) -> Result<EventRecord, TraceError> {
    let bad = |e: crate::codec::DecodeError| {
        TraceError::corrupt(
            stream.path(),
            chunk_offset,
            format!("event {number} cannot be decoded: {e}"),
        )
    };
    let body = dec.bytes().map_err(bad)?;
    EventRecord::from_bytes(body).map_err(bad)
}

fn read_header(dir: &Path) -> Result<Header, TraceError> {
    let path = dir.join(layout::HEADER);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(TraceError::NotATrace {
                path: dir.to_path_buf(),
            })
        }
        Err(e) => return Err(TraceError::io(&path, e)),
    };
    let payload = unframe(&path, header::HEADER_MAGIC, &bytes)?;
    Header::from_bytes(payload).map_err(|e| {
        TraceError::corrupt(
            &path,
            header::frame_len(),
            format!("header cannot be decoded: {e}"),
        )
    })
}

fn read_trailer(dir: &Path) -> Result<Option<Trailer>, TraceError> {
    let path = dir.join(layout::TRAILER);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(TraceError::io(&path, e)),
    };
    let payload = unframe(&path, header::TRAILER_MAGIC, &bytes)?;
    Trailer::from_bytes(payload).map(Some).map_err(|e| {
        TraceError::corrupt(
            &path,
            header::frame_len(),
            format!("trailer cannot be decoded: {e}"),
        )
    })
}

fn unframe<'a>(path: &Path, magic: [u8; 8], bytes: &'a [u8]) -> Result<&'a [u8], TraceError> {
    header::unframe(magic, bytes).map_err(|e| match e {
        FrameError::BadMagic => TraceError::corrupt(path, 0, "not a rewind trace file (bad magic)"),
        FrameError::Version(found) => TraceError::VersionMismatch {
            path: path.parent().unwrap_or(path).to_path_buf(),
            found,
        },
        FrameError::Corrupt(offset, what) => TraceError::corrupt(path, offset, what),
    })
}

/// Iterates events in order. It owns its view of the events file, so the
/// data stream can be read while it is alive.
pub struct EventIter {
    stream: Arc<StreamFile>,
    next: u64,
    last: u64,
    chunk: Vec<u8>,
    pos: usize,
    loaded: Option<usize>,
}

impl EventIter {
    /// The number the next event returned will have.
    pub fn next_number(&self) -> u64 {
        self.next
    }

    fn seek(&mut self, number: u64) -> Result<(), TraceError> {
        let index = self.stream.chunk_for(number).ok_or_else(|| {
            TraceError::corrupt(
                self.stream.path(),
                0,
                format!("no chunk holds event {number}"),
            )
        })?;
        self.load(index)?;
        let first = self.stream.chunks[index].first;
        let mut dec = Decoder::new(&self.chunk);
        for skipped in first..number {
            let chunk_offset = self.stream.chunks[index].file_offset;
            dec.bytes().map_err(|e| {
                TraceError::corrupt(
                    self.stream.path(),
                    chunk_offset,
                    format!("event {skipped} cannot be decoded: {e}"),
                )
            })?;
        }
        self.pos = self.chunk.len() - dec.remaining();
        self.next = number;
        Ok(())
    }

    fn load(&mut self, index: usize) -> Result<(), TraceError> {
        self.loaded = None;
        self.stream.load(index, &mut self.chunk)?;
        self.loaded = Some(index);
        self.pos = 0;
        Ok(())
    }

    fn read_next(&mut self) -> Result<EventRecord, TraceError> {
        let number = self.next;
        let index = self.stream.chunk_for(number).ok_or_else(|| {
            TraceError::corrupt(
                self.stream.path(),
                0,
                format!("no chunk holds event {number}"),
            )
        })?;
        if self.loaded != Some(index) {
            self.load(index)?;
        }
        let mut dec = Decoder::new(&self.chunk[self.pos..]);
        let offset = self.stream.chunks[index].file_offset;
        let record = decode_one(&mut dec, &self.stream, offset, number)?;
        self.pos = self.chunk.len() - dec.remaining();
        self.next += 1;
        Ok(record)
    }
}

impl Iterator for EventIter {
    type Item = Result<(u64, EventRecord), TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next > self.last {
            return None;
        }
        let number = self.next;
        match self.read_next() {
            Ok(record) => Some(Ok((number, record))),
            Err(e) => {
                self.last = 0;
                Some(Err(e))
            }
        }
    }
}

/// Decompressed data chunks a `DataReader` keeps.
const CACHED_CHUNKS: usize = 4;

/// Reads spans of the uncompressed data stream.
pub struct DataReader {
    stream: StreamFile,
    data_len: u64,
    /// The chunks read last, newest first: replay reads ahead (a
    /// thread's next flush of buffered calls) between reads of the
    /// present, and one chunk would be decompressed again at every turn.
    cached: Vec<(usize, Vec<u8>)>,
}

impl DataReader {
    /// The stream's length in bytes.
    pub fn len(&self) -> u64 {
        self.data_len
    }

    pub fn is_empty(&self) -> bool {
        self.data_len == 0
    }

    /// Calls `each` with consecutive pieces of the span, so that a large
    /// span never has to be in memory at once.
    pub fn for_each_piece<E: From<TraceError>>(
        &mut self,
        span: DataRef,
        mut each: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        if span
            .offset
            .checked_add(span.len)
            .is_none_or(|end| end > self.data_len)
        {
            return Err(TraceError::DataOutOfRange {
                path: self.stream.path().to_path_buf(),
                offset: span.offset,
                len: span.len,
            }
            .into());
        }
        let mut position = span.offset;
        let end = span.end();
        while position < end {
            let index =
                self.stream
                    .chunk_for(position)
                    .ok_or_else(|| TraceError::DataOutOfRange {
                        path: self.stream.path().to_path_buf(),
                        offset: span.offset,
                        len: span.len,
                    })?;
            match self.cached.iter().position(|(i, _)| *i == index) {
                Some(0) => {}
                Some(at) => {
                    let hit = self.cached.remove(at);
                    self.cached.insert(0, hit);
                }
                None => {
                    let mut buf = if self.cached.len() == CACHED_CHUNKS {
                        self.cached.pop().map(|(_, b)| b).unwrap_or_default()
                    } else {
                        Vec::new()
                    };
                    self.stream.load(index, &mut buf)?;
                    self.cached.insert(0, (index, buf));
                }
            }
            let entry = self.stream.chunks[index];
            let bytes = self.cached.first().map_or(&[][..], |(_, b)| b.as_slice());
            let from = (position - entry.first) as usize;
            let to = (end.min(entry.end()) - entry.first) as usize;
            if to > bytes.len() || from >= to {
                return Err(TraceError::corrupt(
                    self.stream.path(),
                    entry.file_offset,
                    "chunk is shorter than its index says",
                )
                .into());
            }
            each(&bytes[from..to])?;
            position += (to - from) as u64;
        }
        Ok(())
    }

    /// The bytes of a span; for spans known to be small (the caller bounds
    /// them), else use `for_each_piece`.
    pub fn read(&mut self, span: DataRef) -> Result<Vec<u8>, TraceError> {
        let mut out = Vec::new();
        self.for_each_piece(span, |piece| {
            out.extend_from_slice(piece);
            Ok::<(), TraceError>(())
        })?;
        Ok(out)
    }
}
