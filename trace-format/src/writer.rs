//! Writes a trace. The producer (the recorder's event loop) appends events
//! and data into in-memory chunks; full chunks go to background threads
//! (see `pipeline`) that compress, checksum and write them, so the producer
//! never waits for more than one chunk's worth of work.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::chunk::MAX_CHUNK_LEN;
use crate::codec::{Encode, Encoder};
use crate::error::TraceError;
use crate::event::{DataRef, EventRecord};
use crate::header::{self, Header, Trailer};
use crate::layout;
use crate::pipeline::{self, Job, Stream, WorkerOutput};

/// How large the writer makes chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSizes {
    /// Uncompressed size at which an events chunk is sealed.
    pub events: usize,
    /// Uncompressed size of every data chunk but the last.
    pub data: usize,
}

impl Default for ChunkSizes {
    /// Large enough that per-chunk costs vanish, small enough that a
    /// crash loses little and a seek decodes little.
    fn default() -> Self {
        ChunkSizes {
            events: 256 << 10,
            data: 1 << 20,
        }
    }
}

/// How long appended bytes may wait in memory before they go to the files
/// whatever the chunk's size: a recorder killed without warning (SIGKILL,
/// the machine's end) loses at most about this much of the recording.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// What a finished recording wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteSummary {
    pub event_count: u64,
    pub data_len: u64,
}

pub struct TraceWriter {
    dir: PathBuf,
    sizes: ChunkSizes,
    events: Vec<u8>,
    events_first: u64,
    events_in_chunk: u32,
    next_event: u64,
    data: Vec<u8>,
    data_len: u64,
    jobs: Option<SyncSender<Job>>,
    recycled: Receiver<Vec<u8>>,
    worker: Option<JoinHandle<WorkerOutput>>,
    failed: Arc<AtomicBool>,
    record_scratch: Vec<u8>,
    /// When the events were last handed to the background threads, by
    /// `clock`.
    last_seal: Duration,
    clock: Clock,
}

/// A monotonic clock: the time since any fixed start.
pub type Clock = fn() -> Duration;

/// std's monotonic clock, from the first reading on.
fn std_clock() -> Duration {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

impl TraceWriter {
    /// Starts a trace in the existing, empty directory `dir`: writes the
    /// header and creates the streams and `files/`.
    pub fn create(dir: &Path, header: &Header) -> Result<TraceWriter, TraceError> {
        TraceWriter::create_with(dir, header, ChunkSizes::default())
    }

    /// `create` with other chunk sizes (each capped at `MAX_CHUNK_LEN`).
    pub fn create_with(
        dir: &Path,
        header: &Header,
        sizes: ChunkSizes,
    ) -> Result<TraceWriter, TraceError> {
        let sizes = ChunkSizes {
            events: sizes.events.clamp(1, MAX_CHUNK_LEN),
            data: sizes.data.clamp(1, MAX_CHUNK_LEN),
        };
        write_header(dir, header)?;
        let files_dir = dir.join(layout::FILES);
        fs::create_dir_all(&files_dir).map_err(|e| TraceError::io(&files_dir, e))?;
        let create = |name: &str| {
            let path = dir.join(name);
            File::create(&path)
                .map(|f| (f, path.clone()))
                .map_err(|e| TraceError::io(&path, e))
        };
        let events_file = create(layout::EVENTS)?;
        let data_file = create(layout::DATA)?;

        let failed = Arc::new(AtomicBool::new(false));
        let pipeline = pipeline::start(events_file, data_file, Arc::clone(&failed))
            .map_err(|e| TraceError::io(dir, e))?;
        Ok(TraceWriter {
            dir: dir.to_path_buf(),
            sizes,
            events: Vec::with_capacity(sizes.events + 4096),
            events_first: 1,
            events_in_chunk: 0,
            next_event: 1,
            data: Vec::with_capacity(sizes.data),
            data_len: 0,
            jobs: Some(pipeline.jobs),
            recycled: pipeline.recycled,
            worker: Some(pipeline.writer),
            failed,
            record_scratch: Vec::new(),
            last_seal: std_clock(),
            clock: std_clock,
        })
    }

    /// Times the flushes by `clock` instead of std's (a recorder thread
    /// that traps its own rdtsc cannot read the vDSO's clocks).
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
        self.last_seal = clock();
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory where captured files go.
    pub fn files_dir(&self) -> PathBuf {
        self.dir.join(layout::FILES)
    }

    /// The number the next appended event will get.
    pub fn next_event_number(&self) -> u64 {
        self.next_event
    }

    /// The offset the next appended data byte will get.
    pub fn data_position(&self) -> u64 {
        self.data_len
    }

    /// Appends an event; returns its number.
    pub fn append_event(&mut self, record: &EventRecord) -> Result<u64, TraceError> {
        self.check_worker()?;
        self.record_scratch.clear();
        record.encode(&mut Encoder::new(&mut self.record_scratch));
        let len = self.record_scratch.len();
        if len + 10 > MAX_CHUNK_LEN {
            return Err(TraceError::EventTooLarge {
                number: self.next_event,
                len,
            });
        }
        if self.events.len() + len + 10 > MAX_CHUNK_LEN {
            self.seal_events()?;
        }
        Encoder::new(&mut self.events).u64(len as u64);
        self.events.extend_from_slice(&self.record_scratch);
        self.events_in_chunk += 1;
        let number = self.next_event;
        self.next_event += 1;
        if self.events.len() >= self.sizes.events {
            self.seal_events()?;
        }
        Ok(number)
    }

    /// Appends bytes to the data stream; returns where they are.
    pub fn append_data(&mut self, mut bytes: &[u8]) -> Result<DataRef, TraceError> {
        self.check_worker()?;
        let start = self.data_len;
        while !bytes.is_empty() {
            let room = self.sizes.data - self.data.len();
            let take = room.min(bytes.len());
            self.data.extend_from_slice(&bytes[..take]);
            self.data_len += take as u64;
            bytes = &bytes[take..];
            if self.data.len() == self.sizes.data {
                self.seal_data()?;
            }
        }
        Ok(DataRef {
            offset: start,
            len: self.data_len - start,
        })
    }

    /// Hands every pending byte to the background thread, so that a crash
    /// from now on loses nothing appended so far.
    pub fn flush(&mut self) -> Result<(), TraceError> {
        self.seal_events()
    }

    /// Hands pending bytes to the background threads if they have waited
    /// `FLUSH_INTERVAL`; the producer calls it whenever it can.
    pub fn flush_if_due(&mut self) -> Result<(), TraceError> {
        match self.flush_due_in() {
            Some(left) if left.is_zero() => self.flush(),
            _ => Ok(()),
        }
    }

    /// How long until pending bytes are due to be flushed; `None` when
    /// nothing is pending.
    pub fn flush_due_in(&self) -> Option<Duration> {
        let pending = self.events_in_chunk > 0 || !self.data.is_empty();
        pending
            .then(|| FLUSH_INTERVAL.saturating_sub((self.clock)().saturating_sub(self.last_seal)))
    }

    /// Seals the streams, waits for them to reach the files and writes the
    /// trailer that marks a clean end.
    pub fn finish(mut self, end_time_ns: u64) -> Result<WriteSummary, TraceError> {
        self.seal_events()?;
        let output = self.stop_worker()?;
        if let Some(error) = output.error {
            return Err(error);
        }
        let trailer = Trailer {
            event_count: self.next_event - 1,
            data_len: self.data_len,
            end_time_ns,
            event_chunks: output.event_chunks,
            data_chunks: output.data_chunks,
        };
        let framed = header::frame(header::TRAILER_MAGIC, &trailer.to_bytes());
        let tmp = self.dir.join(".trailer.tmp");
        let path = self.dir.join(layout::TRAILER);
        fs::write(&tmp, framed).map_err(|e| TraceError::io(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| TraceError::io(&path, e))?;
        Ok(WriteSummary {
            event_count: trailer.event_count,
            data_len: trailer.data_len,
        })
    }

    fn check_worker(&self) -> Result<(), TraceError> {
        if self.failed.load(Ordering::Relaxed) {
            return Err(TraceError::WriterFailed {
                dir: self.dir.clone(),
            });
        }
        Ok(())
    }

    /// Data is sealed before events so that on disk every event's data
    /// precedes it: a recorder killed mid-write leaves no event whose bytes
    /// are missing.
    fn seal_events(&mut self) -> Result<(), TraceError> {
        self.seal_data()?;
        self.last_seal = (self.clock)();
        if self.events_in_chunk == 0 {
            return Ok(());
        }
        let fresh = self.spare_buffer(self.sizes.events + 4096);
        let bytes = std::mem::replace(&mut self.events, fresh);
        let job = Job {
            stream: Stream::Events,
            first: self.events_first,
            count: self.events_in_chunk,
            bytes,
        };
        self.events_first = self.next_event;
        self.events_in_chunk = 0;
        self.send(job)
    }

    fn seal_data(&mut self) -> Result<(), TraceError> {
        if self.data.is_empty() {
            return Ok(());
        }
        let fresh = self.spare_buffer(self.sizes.data);
        let bytes = std::mem::replace(&mut self.data, fresh);
        let first = self.data_len - bytes.len() as u64;
        self.send(Job {
            stream: Stream::Data,
            first,
            count: 0,
            bytes,
        })
    }

    fn spare_buffer(&self, capacity: usize) -> Vec<u8> {
        match self.recycled.try_recv() {
            Ok(mut buf) => {
                buf.clear();
                buf.reserve(capacity);
                buf
            }
            Err(_) => Vec::with_capacity(capacity),
        }
    }

    fn send(&mut self, job: Job) -> Result<(), TraceError> {
        let sent = self.jobs.as_ref().map(|jobs| jobs.send(job).is_ok());
        if sent == Some(true) {
            Ok(())
        } else {
            Err(TraceError::WriterFailed {
                dir: self.dir.clone(),
            })
        }
    }

    fn stop_worker(&mut self) -> Result<WorkerOutput, TraceError> {
        self.jobs = None;
        match self.worker.take().map(JoinHandle::join) {
            Some(Ok(output)) => Ok(output),
            _ => Err(TraceError::WriterFailed {
                dir: self.dir.clone(),
            }),
        }
    }
}

impl Drop for TraceWriter {
    /// A writer dropped without `finish` (the recording failed) still puts
    /// what it has on disk: the trace reads as one that ended early.
    fn drop(&mut self) {
        if self.worker.is_some() {
            let _ = self.seal_events();
            let _ = self.stop_worker();
        }
    }
}

/// Writes the header of the trace in `dir`, replacing the one there (a
/// trace moved between machines, or a test standing in for one).
pub fn write_header(dir: &Path, header: &Header) -> Result<(), TraceError> {
    let framed = header::frame(header::HEADER_MAGIC, &header.to_bytes());
    let header_path = dir.join(layout::HEADER);
    fs::write(&header_path, framed).map_err(|e| TraceError::io(&header_path, e))
}
