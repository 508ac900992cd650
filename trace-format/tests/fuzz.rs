//! Feeds the reader thousands of damaged traces: truncations, bit flips,
//! garbage files. Each must give an error or a valid prefix; never a
//! panic, a hang, or an allocation sized by garbage.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use trace_format::*;

/// Records the largest single allocation, to show that no length read from
/// a damaged file becomes an allocation size.
struct LargestAllocation;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: defers to the system allocator; only observes sizes.
unsafe impl GlobalAlloc for LargestAllocation {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

const FILES: [&str; 4] = [
    layout::HEADER,
    layout::EVENTS,
    layout::DATA,
    layout::TRAILER,
];
const ITERATIONS: u64 = 3000;

/// Reads everything a reader offers; returns how many events were read.
fn read_everything(dir: &Path) -> Result<u64, TraceError> {
    let mut reader = TraceReader::open(dir)?;
    let mut spans = Vec::new();
    let mut count = 0;
    for item in reader.events() {
        let (_, record) = item?;
        spans.extend(record.event.data_refs());
        count += 1;
    }
    for span in spans {
        reader
            .data()
            .for_each_piece(span, |_| Ok::<(), TraceError>(()))?;
    }
    Ok(count)
}

fn mutate(rng: &mut Rng, dir: &Path, originals: &[Vec<u8>]) {
    let which = rng.below(FILES.len() as u64) as usize;
    let path = dir.join(FILES[which]);
    let mut bytes = originals[which].clone();
    match rng.below(5) {
        0 => bytes.truncate(rng.below(bytes.len() as u64 + 1) as usize),
        1 | 2 => {
            for _ in 0..=rng.below(8) {
                if !bytes.is_empty() {
                    let at = rng.below(bytes.len() as u64) as usize;
                    bytes[at] ^= 1 << rng.below(8);
                }
            }
        }
        3 => {
            let len = rng.below(4096) as usize;
            bytes = vec![0; len];
            rng.fill(&mut bytes);
            // Garbage that starts like a chunk gets past the magic check.
            if which == 1 || which == 2 {
                bytes[..len.min(4)].copy_from_slice(&chunk::CHUNK_MAGIC[..len.min(4)]);
            }
        }
        _ => {
            let _ = fs::remove_file(&path);
            return;
        }
    }
    fs::write(&path, bytes).expect("write mutated file");
}

#[test]
fn damaged_traces_never_panic_hang_or_overallocate() {
    let (done_tx, done_rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let tmp = TempDir::new("fuzz");
        let small = ChunkSizes {
            events: 2048,
            data: 4096,
        };
        let full = write_sample_trace_with(tmp.path(), 40, small);
        let originals: Vec<Vec<u8>> = FILES
            .iter()
            .map(|f| fs::read(tmp.path().join(f)).expect("read original"))
            .collect();
        assert_eq!(
            read_everything(tmp.path()).expect("intact trace reads"),
            full
        );

        let mut rng = Rng(0x5eed_1234_abcd_0001);
        let (mut errors, mut prefixes) = (0u64, 0u64);
        for _ in 0..ITERATIONS {
            mutate(&mut rng, tmp.path(), &originals);
            match read_everything(tmp.path()) {
                Ok(n) => {
                    assert!(n <= full, "a damaged trace cannot have more events");
                    prefixes += 1;
                }
                Err(e) => {
                    assert!(!e.to_string().is_empty());
                    errors += 1;
                }
            }
            for (name, bytes) in FILES.iter().zip(&originals) {
                fs::write(tmp.path().join(name), bytes).expect("restore");
            }
        }
        let _ = done_tx.send((errors, prefixes));
    });
    let (errors, prefixes) = done_rx
        .recv_timeout(Duration::from_secs(300))
        .expect("the fuzz loop finishes (a hang would stop here)");
    worker.join().expect("no panic in the reader");
    assert!(
        errors > 0 && prefixes > 0,
        "both outcomes occur: {errors} errors, {prefixes} prefixes"
    );
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest <= 2 * chunk::MAX_CHUNK_LEN,
        "largest single allocation was {largest} bytes"
    );
}

#[test]
fn garbage_directories_are_refused() {
    let tmp = TempDir::new("garbage");
    assert!(matches!(
        TraceReader::open(tmp.path()),
        Err(TraceError::NotATrace { .. })
    ));
    let mut rng = Rng(42);
    for len in [0usize, 1, 19, 20, 21, 100, 5000] {
        let mut bytes = vec![0u8; len];
        rng.fill(&mut bytes);
        fs::write(tmp.path().join(layout::HEADER), &bytes).expect("write");
        assert!(TraceReader::open(tmp.path()).is_err());
    }
}
