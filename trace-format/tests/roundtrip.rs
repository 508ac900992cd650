mod common;

use std::fs;

use common::*;
use trace_format::codec::{Decode, Encode};
use trace_format::*;

#[test]
fn every_event_type_round_trips() {
    let samples = sample_events();
    let kinds: std::collections::BTreeSet<_> =
        samples.iter().map(|r| r.event.kind_name()).collect();
    assert_eq!(kinds.len(), 12, "samples cover every event kind: {kinds:?}");
    for record in samples {
        let bytes = record.to_bytes();
        let back = EventRecord::from_bytes(&bytes).expect("decodes");
        assert_eq!(back, record);
        for cut in 0..bytes.len() {
            assert!(
                EventRecord::from_bytes(&bytes[..cut]).is_err(),
                "a {}-byte prefix of a {} event must not decode",
                cut,
                record.event.kind_name()
            );
        }
    }
}

#[test]
fn header_and_trailer_round_trip() {
    let header = sample_header();
    assert_eq!(Header::from_bytes(&header.to_bytes()), Ok(header));
    let trailer = Trailer {
        event_count: 10,
        data_len: 5000,
        end_time_ns: 77,
        event_chunks: vec![ChunkEntry {
            file_offset: 0,
            first: 1,
            count: 10,
        }],
        data_chunks: vec![ChunkEntry {
            file_offset: 0,
            first: 0,
            count: 5000,
        }],
    };
    assert_eq!(Trailer::from_bytes(&trailer.to_bytes()), Ok(trailer));
}

/// Fails when the encoding changes. If you changed it on purpose, bump
/// `trace_format::VERSION` and put the new checksum here with it.
#[test]
fn sample_encoding_is_pinned() {
    let mut all = Vec::new();
    for record in sample_events() {
        all.extend(record.to_bytes());
    }
    all.extend(sample_header().to_bytes());
    let pinned: &[(u32, u32)] = &[
        (2, 0x32ee_dfaf),
        (3, 0x26f9_d397),
        (4, 0x1ab9_2154),
        (5, 0x03e4_8565),
        (6, 0xd4cd_30fc),
    ];
    let crc = crc32fast::hash(&all);
    let expected = pinned.iter().find(|(v, _)| *v == VERSION).map(|(_, c)| *c);
    assert_eq!(
        expected,
        Some(crc),
        "the sample encoding's CRC is {crc:#010x}; if the format changed on purpose, \
         bump VERSION (now {VERSION}) and pin the new CRC for it"
    );
}

#[test]
fn writer_and_reader_agree() {
    let tmp = TempDir::new("agree");
    let rounds = 3000;
    let count = write_sample_trace(tmp.path(), rounds);
    let per_round = sample_events().len() as u64;
    assert_eq!(count, per_round * rounds as u64);

    let mut reader = TraceReader::open(tmp.path()).expect("open");
    assert!(reader.early_end().is_none());
    assert_eq!(reader.header(), &sample_header());
    assert_eq!(reader.event_count(), count);
    let trailer = reader.trailer().expect("trailer");
    assert!(
        trailer.event_chunks.len() > 1,
        "enough events for several chunks"
    );

    let expected: Vec<_> = sample_events();
    let mut seen = 0u64;
    for item in reader.events() {
        let (number, record) = item.expect("event");
        seen += 1;
        assert_eq!(number, seen);
        let index = ((number - 1) % per_round) as usize;
        let base = (number - 1) / per_round * SAMPLE_DATA_LEN as u64;
        assert_eq!(record, shift_data(expected[index].clone(), base));
    }
    assert_eq!(seen, count);

    // The data of the last round: its random part was regenerated from the
    // same generator sequence.
    let mut rng = Rng(0x1234_5678);
    let mut bytes = vec![0u8; SAMPLE_DATA_LEN];
    for _ in 0..rounds {
        rng.fill(&mut bytes[..2048]);
    }
    let last_base = (rounds as u64 - 1) * SAMPLE_DATA_LEN as u64;
    let read = reader
        .data()
        .read(DataRef {
            offset: last_base,
            len: SAMPLE_DATA_LEN as u64,
        })
        .expect("data");
    assert_eq!(read, bytes);
    let beyond = reader.data().read(DataRef {
        offset: last_base,
        len: SAMPLE_DATA_LEN as u64 + 1,
    });
    assert!(matches!(beyond, Err(TraceError::DataOutOfRange { .. })));
}

#[test]
fn seeking_matches_sequential_reading() {
    let tmp = TempDir::new("seek");
    let count = write_sample_trace(tmp.path(), 2000);
    let reader = TraceReader::open(tmp.path()).expect("open");
    let all: Vec<_> = reader.events().map(|e| e.expect("event")).collect();
    for start in [1, 2, 19, 20, 21, count / 2, count - 1, count] {
        let mut iter = reader.events_from(start).expect("seek");
        let (number, record) = iter.next().expect("an event").expect("decodes");
        assert_eq!(number, start);
        assert_eq!(record, all[(start - 1) as usize].1);
    }
    assert!(reader
        .events_from(count + 1)
        .expect("seek")
        .next()
        .is_none());
}

#[test]
fn a_cloned_reader_reads_the_same_trace_independently() {
    let tmp = TempDir::new("clone");
    let count = write_sample_trace(tmp.path(), 500);
    let mut reader = TraceReader::open(tmp.path()).expect("open");
    let span = DataRef {
        offset: 100,
        len: 64,
    };
    let before = reader.data().read(span).expect("data");
    let mut clone = reader.try_clone().expect("clone");
    assert_eq!(clone.event_count(), count);
    assert_eq!(clone.header(), reader.header());
    let all: Vec<_> = reader.events().map(|e| e.expect("event")).collect();
    let from_clone: Vec<_> = clone
        .events_from(count / 2)
        .expect("seek")
        .map(|e| e.expect("event"))
        .collect();
    assert_eq!(from_clone[..], all[(count / 2 - 1) as usize..]);
    let far = DataRef {
        offset: 400 * SAMPLE_DATA_LEN as u64,
        len: 64,
    };
    let far_bytes = clone.data().read(far).expect("clone data");
    assert_eq!(reader.data().read(span).expect("data again"), before);
    assert_eq!(reader.data().read(far).expect("data"), far_bytes);
}

#[test]
fn truncated_trace_reads_as_its_prefix() {
    let tmp = TempDir::new("trunc");
    let count = write_sample_trace(tmp.path(), 3000);
    fs::remove_file(tmp.path().join(layout::TRAILER)).expect("remove trailer");
    let events = tmp.path().join(layout::EVENTS);
    let len = fs::metadata(&events).expect("meta").len();
    let file = fs::OpenOptions::new()
        .write(true)
        .open(&events)
        .expect("open");
    file.set_len(len * 2 / 3).expect("truncate");

    let reader = TraceReader::open(tmp.path()).expect("a truncated trace opens");
    let early = reader.early_end().expect("reported as ending early");
    assert!(early.after_event > 0 && early.after_event < count);
    assert_eq!(early.after_event, reader.event_count());
    assert!(early.to_string().starts_with(&format!(
        "trace ends early after event {}",
        early.after_event
    )));
    let mut read = 0u64;
    for item in reader.events() {
        item.expect("prefix is valid");
        read += 1;
    }
    assert_eq!(read, early.after_event);
}

#[test]
fn untrailered_complete_trace_keeps_every_event() {
    let tmp = TempDir::new("notrailer");
    let count = write_sample_trace(tmp.path(), 100);
    fs::remove_file(tmp.path().join(layout::TRAILER)).expect("remove trailer");
    let reader = TraceReader::open(tmp.path()).expect("open");
    assert_eq!(reader.event_count(), count);
    assert_eq!(reader.early_end().map(|e| e.after_event), Some(count));
}

#[test]
fn lost_data_cuts_the_events_that_need_it() {
    let tmp = TempDir::new("lostdata");
    let count = write_sample_trace(tmp.path(), 400);
    fs::remove_file(tmp.path().join(layout::TRAILER)).expect("remove trailer");
    let data = tmp.path().join(layout::DATA);
    let len = fs::metadata(&data).expect("meta").len();
    let file = fs::OpenOptions::new()
        .write(true)
        .open(&data)
        .expect("open");
    file.set_len(len / 2).expect("truncate");
    let mut reader = TraceReader::open(tmp.path()).expect("open");
    let kept = reader.event_count();
    assert!(kept < count);
    let records: Vec<_> = reader.events().map(|e| e.expect("event").1).collect();
    for record in records {
        for span in record.event.data_refs() {
            reader
                .data()
                .read(span)
                .expect("every kept event has its data");
        }
    }
}

#[test]
fn flipped_bit_names_file_and_offset() {
    let tmp = TempDir::new("flip");
    write_sample_trace(tmp.path(), 1000);
    let events = tmp.path().join(layout::EVENTS);
    let mut bytes = fs::read(&events).expect("read");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x10;
    fs::write(&events, bytes).expect("write");
    let reader = TraceReader::open(tmp.path()).expect("a trailered trace opens");
    let error = reader
        .events()
        .find_map(Result::err)
        .expect("the damaged chunk is reported");
    let message = error.to_string();
    assert!(message.contains(&events.display().to_string()), "{message}");
    assert!(message.contains("corrupt at byte"), "{message}");
    match error {
        TraceError::Corrupt { offset, .. } => assert!(offset <= at as u64),
        other => panic!("expected a corruption error, got {other}"),
    }
}

#[test]
fn other_version_is_refused_with_both_numbers() {
    let tmp = TempDir::new("version");
    write_sample_trace(tmp.path(), 1);
    let header = tmp.path().join(layout::HEADER);
    let mut bytes = fs::read(&header).expect("read");
    bytes[8..12].copy_from_slice(&(VERSION + 1).to_le_bytes());
    fs::write(&header, bytes).expect("write");
    let message = match TraceReader::open(tmp.path()) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a newer version must be refused"),
    };
    assert!(
        message.contains(&format!("format version {}", VERSION + 1)),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "reads versions {OLDEST_READABLE_VERSION} to {VERSION}"
        )),
        "{message}"
    );
}

#[test]
fn the_oldest_readable_version_is_read() {
    let tmp = TempDir::new("old-version");
    write_sample_trace(tmp.path(), 1);
    let header = tmp.path().join(layout::HEADER);
    let mut bytes = fs::read(&header).expect("read");
    bytes[8..12].copy_from_slice(&OLDEST_READABLE_VERSION.to_le_bytes());
    fs::write(&header, bytes).expect("write");
    let reader = TraceReader::open(tmp.path()).expect("a version 4 trace opens");
    assert_eq!(reader.event_count(), sample_events().len() as u64);
}

#[test]
fn large_data_streams_in_pieces() {
    let tmp = TempDir::new("large");
    let mut writer = TraceWriter::create(tmp.path(), &sample_header()).expect("create");
    let mut rng = Rng(99);
    let mut piece = vec![0u8; 300_000];
    let mut expected = crc32fast::Hasher::new();
    let mut span = DataRef::default();
    for i in 0..20 {
        rng.fill(&mut piece);
        let r = writer.append_data(&piece).expect("append");
        if i == 0 {
            span.offset = r.offset;
        }
        span.len += r.len;
        expected.update(&piece);
    }
    writer.finish(0).expect("finish");
    let mut reader = TraceReader::open(tmp.path()).expect("open");
    let mut actual = crc32fast::Hasher::new();
    let mut largest = 0;
    reader
        .data()
        .for_each_piece(span, |p| {
            largest = largest.max(p.len());
            actual.update(p);
            Ok::<(), TraceError>(())
        })
        .expect("read");
    assert_eq!(actual.finalize(), expected.finalize());
    assert!(largest <= chunk::MAX_CHUNK_LEN);
}

#[test]
fn trace_names_stay_unique_under_concurrency() {
    let tmp = TempDir::new("names");
    let root = tmp.path().to_path_buf();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let root = root.clone();
            std::thread::spawn(move || dir::create_trace_dir(&root, "prog").expect("create"))
        })
        .collect();
    let mut names: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 8);
    let latest = &names[3];
    dir::set_latest(&root, latest).expect("link");
    let resolved = fs::canonicalize(root.join(layout::LATEST)).expect("resolve");
    assert_eq!(resolved, fs::canonicalize(latest).expect("canon"));
}
