//! The writer's background threads: one compresses and checksums sealed
//! chunks, one writes them to their files. Two stages, because writing into
//! the page cache costs about as much as LZ4 itself; overlapped, the
//! writer runs at the speed of compression.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::chunk::{self, ChunkHeader, Method, CHUNK_HEADER_LEN};
use crate::error::TraceError;
use crate::header::ChunkEntry;

/// Sealed chunks that may wait at each stage.
const QUEUE_DEPTH: usize = 2;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Events,
    Data,
}

/// A sealed, uncompressed chunk.
pub struct Job {
    pub stream: Stream,
    pub first: u64,
    pub count: u32,
    pub bytes: Vec<u8>,
}

/// A chunk ready for its file. `payload` is the compressed bytes, or the
/// original bytes when they were stored; `spare` is the other buffer.
struct Packed {
    stream: Stream,
    first: u64,
    count: u64,
    header: [u8; CHUNK_HEADER_LEN],
    method: Method,
    payload: Vec<u8>,
    spare: Vec<u8>,
}

#[derive(Default)]
pub struct WorkerOutput {
    pub event_chunks: Vec<ChunkEntry>,
    pub data_chunks: Vec<ChunkEntry>,
    pub error: Option<TraceError>,
}

/// The producer's handles on a running pipeline.
pub struct Pipeline {
    /// Where sealed chunks go.
    pub jobs: SyncSender<Job>,
    /// Where emptied chunk buffers come back for reuse.
    pub recycled: Receiver<Vec<u8>>,
    /// The last stage; its result is the index of everything written.
    pub writer: JoinHandle<WorkerOutput>,
}

/// Starts both stages.
pub fn start(
    events: (File, PathBuf),
    data: (File, PathBuf),
    failed: Arc<AtomicBool>,
) -> io::Result<Pipeline> {
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(QUEUE_DEPTH);
    let (packed_tx, packed_rx) = mpsc::sync_channel::<Packed>(QUEUE_DEPTH);
    let (producer_tx, producer_rx) = mpsc::channel();
    let (compressor_tx, compressor_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("trace-compress".into())
        .spawn(move || compress_chunks(job_rx, packed_tx, compressor_rx))?;
    let writer = std::thread::Builder::new()
        .name("trace-write".into())
        .spawn(move || {
            write_chunks(packed_rx, producer_tx, compressor_tx, events, data, &failed)
        })?;
    Ok(Pipeline {
        jobs: job_tx,
        recycled: producer_rx,
        writer,
    })
}

fn compress_chunks(jobs: Receiver<Job>, packed: SyncSender<Packed>, buffers: Receiver<Vec<u8>>) {
    for job in jobs {
        let mut out = buffers.try_recv().unwrap_or_default();
        let method = chunk::compress(&job.bytes, &mut out, true);
        let (payload, spare) = match method {
            Method::Lz4 => (out, job.bytes),
            Method::Stored => (job.bytes, out),
        };
        let header = ChunkHeader::encode(
            method,
            job.first,
            job.count,
            uncompressed_len(method, &payload, &spare),
            &payload,
        );
        let count = match job.stream {
            Stream::Events => u64::from(job.count),
            Stream::Data => u64::from(uncompressed_len(method, &payload, &spare)),
        };
        let sent = packed.send(Packed {
            stream: job.stream,
            first: job.first,
            count,
            header,
            method,
            payload,
            spare,
        });
        if sent.is_err() {
            return;
        }
    }
}

fn uncompressed_len(method: Method, payload: &[u8], spare: &[u8]) -> u32 {
    match method {
        Method::Lz4 => spare.len() as u32,
        Method::Stored => payload.len() as u32,
    }
}

fn write_chunks(
    packed: Receiver<Packed>,
    to_producer: Sender<Vec<u8>>,
    to_compressor: Sender<Vec<u8>>,
    events: (File, PathBuf),
    data: (File, PathBuf),
    failed: &AtomicBool,
) -> WorkerOutput {
    let mut output = WorkerOutput::default();
    let mut files = [(events, 0u64), (data, 0u64)];
    for chunk in packed {
        if output.error.is_none() {
            let slot = usize::from(chunk.stream == Stream::Data);
            let ((file, path), position) = &mut files[slot];
            let written = file
                .write_all(&chunk.header)
                .and_then(|()| file.write_all(&chunk.payload));
            match written {
                Ok(()) => {
                    let entry = ChunkEntry {
                        file_offset: *position,
                        first: chunk.first,
                        count: chunk.count,
                    };
                    *position += (CHUNK_HEADER_LEN + chunk.payload.len()) as u64;
                    match chunk.stream {
                        Stream::Events => output.event_chunks.push(entry),
                        Stream::Data => output.data_chunks.push(entry),
                    }
                }
                Err(e) => {
                    output.error = Some(TraceError::io(path, e));
                    failed.store(true, Ordering::Relaxed);
                }
            }
        }
        let (original, compressed) = match chunk.method {
            Method::Lz4 => (chunk.spare, chunk.payload),
            Method::Stored => (chunk.payload, chunk.spare),
        };
        let _ = to_producer.send(original);
        let _ = to_compressor.send(compressed);
    }
    output
}
