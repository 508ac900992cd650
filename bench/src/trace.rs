//! The trace writer against raw LZ4: the same 1 GiB of synthetic event and
//! data bytes, half compressible and half random, through `TraceWriter`
//! (encoding, chunking, compression on its thread, CRC, file writes) and
//! through `lz4::compress` alone, one chunk at a time.

use std::time::Instant;

use trace_format::*;

const TOTAL: usize = 1 << 30;
const PIECE: usize = 64 << 10;
const POOL: usize = 64 << 20;
const CHUNK: usize = 1 << 20;

/// 64 MiB of input: alternating 1 MiB runs of text-like bytes (which LZ4
/// compresses about 3:1) and random bytes (which it cannot).
fn input_pool() -> Vec<u8> {
    let mut pool = vec![0u8; POOL];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let words: [&[u8]; 8] = [
        b"open ",
        b"read ",
        b"0x7ffd3a ",
        b"= 4096 ",
        b"mmap ",
        b"write ",
        b"/usr/lib ",
        b"\n",
    ];
    for (i, run) in pool.chunks_mut(CHUNK).enumerate() {
        if i % 2 == 0 {
            let mut at = 0;
            while at < run.len() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let word = words[(x % 8) as usize];
                let n = word.len().min(run.len() - at);
                run[at..at + n].copy_from_slice(&word[..n]);
                at += n;
            }
        } else {
            for b in run.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
        }
    }
    pool
}

fn header() -> Header {
    Header {
        uuid: [0; 16],
        recorder_version: "bench".into(),
        kernel_release: String::new(),
        cpu: CpuInfo::default(),
        tick_source: TickSourceKind::Software,
        page_size: 4096,
        argv: vec![b"bench".to_vec()],
        env: vec![],
        cwd: b"/".to_vec(),
        start_time_ns: 0,
        stack_limit: None,
    }
}

fn write_trace(pool: &[u8], dir: &std::path::Path) -> Result<f64, String> {
    let start = Instant::now();
    let mut writer = TraceWriter::create(dir, &header()).map_err(|e| e.to_string())?;
    let mut regs = Registers::default();
    let mut written = 0usize;
    while written < TOTAL {
        let at = written % POOL;
        let data = writer
            .append_data(&pool[at..at + PIECE])
            .map_err(|e| e.to_string())?;
        regs.orig_rax = 0;
        regs.rip = 0x7fff_f7e9_1234;
        regs.rsi = 0x7ffd_3a00_0000 + at as u64;
        writer
            .append_event(&EventRecord {
                tid: 1000,
                event: Event::Syscall(SyscallEvent {
                    regs,
                    result: PIECE as i64,
                    writes: vec![MemoryWrite {
                        addr: regs.rsi,
                        data,
                    }],
                    action: SyscallAction::Emulate,
                    output: None,
                    file_changes: Vec::new(),
                }),
            })
            .map_err(|e| e.to_string())?;
        written += PIECE;
    }
    writer.finish(0).map_err(|e| e.to_string())?;
    Ok(start.elapsed().as_secs_f64())
}

fn raw_lz4(pool: &[u8]) -> Result<(f64, usize), String> {
    let mut out = vec![0u8; lzzzz::lz4::max_compressed_size(CHUNK)];
    let start = Instant::now();
    let mut compressed = 0usize;
    let mut done = 0usize;
    while done < TOTAL {
        let at = done % POOL;
        compressed += lzzzz::lz4::compress(
            &pool[at..at + CHUNK],
            &mut out,
            lzzzz::lz4::ACC_LEVEL_DEFAULT,
        )
        .map_err(|e| e.to_string())?;
        done += CHUNK;
    }
    Ok((start.elapsed().as_secs_f64(), compressed))
}

/// Writes the trace once; with `sink`, the streams go to /dev/null, which
/// measures the writer's own work without the file system's.
fn write_once(pool: &[u8], sink: bool) -> Result<(f64, u64), String> {
    let dir = std::env::temp_dir().join(format!("rewind-bench-trace-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if sink {
        for stream in ["events", "data"] {
            std::os::unix::fs::symlink("/dev/null", dir.join(stream))
                .map_err(|e| format!("{}: {e}", dir.display()))?;
        }
    }
    let secs = write_trace(pool, &dir);
    let on_disk: u64 = ["events", "data"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum();
    let _ = std::fs::remove_dir_all(&dir);
    Ok((secs?, on_disk))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Three alternating rounds after one unmeasured writer pass. Writing into
/// the page cache on these VMs costs anywhere from 0.2x to 2x of LZ4 for
/// the same bytes from one run to the next (the host backs guest memory
/// lazily), so the writer is measured twice: with its streams going to
/// /dev/null (its own work: encoding, chunking, compression, CRC, threads)
/// and to real files.
pub fn run() -> Result<(), String> {
    let pool = input_pool();
    write_once(&pool, false)?;
    let mut lz4_secs = Vec::new();
    let mut sink_secs = Vec::new();
    let mut disk_secs = Vec::new();
    let (mut on_disk, mut lz4_bytes) = (0, 0);
    for _ in 0..3 {
        let (secs, bytes) = raw_lz4(&pool)?;
        lz4_secs.push(secs);
        lz4_bytes = bytes;
        sink_secs.push(write_once(&pool, true)?.0);
        let (secs, bytes) = write_once(&pool, false)?;
        disk_secs.push(secs);
        on_disk = bytes;
    }
    let (lz4, sink, disk) = (median(lz4_secs), median(sink_secs), median(disk_secs));
    let mb = TOTAL as f64 / 1e6;
    let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
    println!(
        "trace writer: {} MiB of event+data bytes, half compressible (median of 3)",
        TOTAL >> 20
    );
    println!(
        "{:<34} {:>8} {:>11} {:>9}",
        "", "MB/s", "output MiB", "vs LZ4"
    );
    println!(
        "{:<34} {:>8.0} {:>11.0} {:>8.2}x",
        "raw LZ4, 1 thread",
        mb / lz4,
        mib(lz4_bytes as u64),
        1.0
    );
    println!(
        "{:<34} {:>8.0} {:>11} {:>8.2}x",
        "TraceWriter, streams to /dev/null",
        mb / sink,
        "-",
        sink / lz4
    );
    println!(
        "{:<34} {:>8.0} {:>11.0} {:>8.2}x",
        "TraceWriter, streams to files",
        mb / disk,
        mib(on_disk),
        disk / lz4
    );
    println!("target: writer at most 1.30x raw LZ4");
    Ok(())
}
