//! The on-disk trace of rewind: types, writer and reader. Pure data: no
//! ptrace, no knowledge of syscalls beyond what events carry.
//!
//! A trace is a directory (see `layout`) holding a `header`, the chunked
//! `events` and `data` streams, captured `files/`, and, after a clean end,
//! a `trailer` with the index of both streams.
#![forbid(unsafe_code)]

pub mod chunk;
pub mod codec;
pub mod dir;
mod error;
pub mod event;
mod event_codec;
pub mod header;
pub mod layout;
mod pipeline;
mod reader;
mod registers;
mod stream;
mod writer;

pub use error::TraceError;
pub use event::*;
pub use header::{ChunkEntry, CpuInfo, CpuidLeaf, Header, TickSourceKind, Trailer};
pub use reader::{DataReader, EarlyEnd, EventIter, TraceReader};
pub use registers::{Registers, REGISTER_NAMES};
pub use writer::{write_header, ChunkSizes, TraceWriter, WriteSummary};

/// The trace format version. Bump it whenever the bytes a writer produces
/// for the same trace change (any encoding in `codec`, `event_codec`,
/// `header` or `chunk`), so that an older or newer rewind refuses the trace
/// with a clear message instead of misreading it. The test
/// `sample_encoding_is_pinned` fails when the encoding changes without a
/// bump.
pub const VERSION: u32 = 6;

/// The oldest version this rewind reads: versions 5 and 6 only added
/// events (`Patch`, `Desched`), so a version 4 trace decodes as it was
/// written.
pub const OLDEST_READABLE_VERSION: u32 = 4;
