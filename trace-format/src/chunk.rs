//! The self-delimiting chunks that make up the `events` and `data` files.
//!
//! A chunk is a 32-byte header followed by its payload:
//!
//! ```text
//!  0  magic "RWck"
//!  4  method: 0 stored, 1 LZ4 block
//!  5  three zero bytes
//!  8  first: u64   first event number, or first uncompressed data offset
//! 16  count: u32   events in the chunk (0 in the data stream)
//! 20  uncompressed length: u32
//! 24  compressed length: u32 (the payload's size in the file)
//! 28  CRC32 of bytes 0..28 and the payload
//! ```
//!
//! The CRC covers the header too, so a flipped bit anywhere in a chunk is
//! caught before its payload is decompressed.

pub const CHUNK_MAGIC: [u8; 4] = *b"RWck";
pub const CHUNK_HEADER_LEN: usize = 32;
/// The largest uncompressed chunk a writer produces and a reader accepts;
/// anything larger in a file is corruption, never an allocation.
pub const MAX_CHUNK_LEN: usize = 4 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Stored,
    Lz4,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkHeader {
    pub method: Method,
    pub first: u64,
    pub count: u32,
    pub uncompressed_len: u32,
    pub compressed_len: u32,
    pub crc: u32,
}

impl ChunkHeader {
    /// The header bytes for `payload`, with the CRC filled in.
    pub fn encode(
        method: Method,
        first: u64,
        count: u32,
        uncompressed_len: u32,
        payload: &[u8],
    ) -> [u8; CHUNK_HEADER_LEN] {
        let mut h = [0u8; CHUNK_HEADER_LEN];
        h[0..4].copy_from_slice(&CHUNK_MAGIC);
        h[4] = match method {
            Method::Stored => 0,
            Method::Lz4 => 1,
        };
        h[8..16].copy_from_slice(&first.to_le_bytes());
        h[16..20].copy_from_slice(&count.to_le_bytes());
        h[20..24].copy_from_slice(&uncompressed_len.to_le_bytes());
        h[24..28].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&h[..28]);
        crc.update(payload);
        h[28..32].copy_from_slice(&crc.finalize().to_le_bytes());
        h
    }

    /// Parses and sanity-checks a header; the error says what is wrong.
    pub fn parse(h: &[u8; CHUNK_HEADER_LEN]) -> Result<ChunkHeader, &'static str> {
        if h[0..4] != CHUNK_MAGIC {
            return Err("no chunk starts here (bad magic)");
        }
        let method = match h[4] {
            0 => Method::Stored,
            1 => Method::Lz4,
            _ => return Err("unknown compression method"),
        };
        if h[5..8] != [0, 0, 0] {
            return Err("reserved header bytes are not zero");
        }
        let u32_at = |at: usize| u32::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
        let mut first = [0u8; 8];
        first.copy_from_slice(&h[8..16]);
        let header = ChunkHeader {
            method,
            first: u64::from_le_bytes(first),
            count: u32_at(16),
            uncompressed_len: u32_at(20),
            compressed_len: u32_at(24),
            crc: u32_at(28),
        };
        let ulen = header.uncompressed_len as usize;
        let clen = header.compressed_len as usize;
        if ulen > MAX_CHUNK_LEN {
            return Err("uncompressed length is larger than any chunk");
        }
        let consistent = match method {
            Method::Stored => clen == ulen,
            Method::Lz4 => {
                clen <= lzzzz::lz4::max_compressed_size(ulen) && (ulen == 0) == (clen == 0)
            }
        };
        if !consistent {
            return Err("compressed and uncompressed lengths do not fit together");
        }
        Ok(header)
    }

    /// Whether `payload` matches the header's CRC.
    pub fn verify(&self, raw_header: &[u8; CHUNK_HEADER_LEN], payload: &[u8]) -> bool {
        let mut crc = crc32fast::Hasher::new();
        crc.update(&raw_header[..28]);
        crc.update(payload);
        crc.finalize() == self.crc
    }

    /// Size of header plus payload in the file.
    pub fn total_len(&self) -> u64 {
        CHUNK_HEADER_LEN as u64 + u64::from(self.compressed_len)
    }
}

/// Compresses `input` into `out`; returns the method to use. When LZ4
/// cannot shrink the input, the chunk is stored: with `keep_input` the
/// caller writes `input` itself and `out` holds nothing useful, otherwise
/// `out` receives a copy.
pub fn compress(input: &[u8], out: &mut Vec<u8>, keep_input: bool) -> Method {
    let bound = lzzzz::lz4::max_compressed_size(input.len());
    if out.len() < bound {
        out.resize(bound, 0);
    }
    match lzzzz::lz4::compress(input, out, lzzzz::lz4::ACC_LEVEL_DEFAULT) {
        Ok(n) if n < input.len() => {
            out.truncate(n);
            Method::Lz4
        }
        _ => {
            out.clear();
            if !keep_input {
                out.extend_from_slice(input);
            }
            Method::Stored
        }
    }
}

/// Decompresses a verified payload into `out` (resized to the header's
/// uncompressed length).
pub fn decompress(
    header: &ChunkHeader,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), &'static str> {
    out.clear();
    match header.method {
        Method::Stored => {
            out.extend_from_slice(payload);
            Ok(())
        }
        Method::Lz4 => {
            out.resize(header.uncompressed_len as usize, 0);
            match lzzzz::lz4::decompress(payload, out) {
                Ok(n) if n == out.len() => Ok(()),
                _ => Err("compressed payload does not decompress to its stated length"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_detects_flips() {
        let payload = b"some payload bytes".to_vec();
        let raw = ChunkHeader::encode(Method::Stored, 42, 3, payload.len() as u32, &payload);
        let parsed = ChunkHeader::parse(&raw).expect("valid header");
        assert_eq!(parsed.first, 42);
        assert_eq!(parsed.count, 3);
        assert!(parsed.verify(&raw, &payload));
        let mut flipped = raw;
        flipped[9] ^= 1;
        let reparsed = ChunkHeader::parse(&flipped).expect("still parses");
        assert!(!reparsed.verify(&flipped, &payload));
    }

    #[test]
    fn compression_round_trips_both_methods() {
        let compressible = vec![7u8; 100_000];
        let mut noise = vec![0u8; 4096];
        let mut x = 0x1234_5678u32;
        for b in &mut noise {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        for input in [&compressible, &noise] {
            let mut packed = Vec::new();
            let method = compress(input, &mut packed, false);
            let raw = ChunkHeader::encode(method, 0, 0, input.len() as u32, &packed);
            let header = ChunkHeader::parse(&raw).expect("valid");
            let mut out = Vec::new();
            decompress(&header, &packed, &mut out).expect("decompresses");
            assert_eq!(&out, input);
        }
    }
}
