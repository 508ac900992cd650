//! The compact binary encoding shared by events, the header and the trailer.
//!
//! Unsigned integers are LEB128 varints, signed ones zigzag varints, byte
//! strings a varint length then the bytes. Every length read from input is
//! checked against the bytes that remain before anything is allocated, so a
//! corrupt length can never make the reader allocate more than its input.

use std::fmt;

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The record ended in the middle of a value.
    UnexpectedEnd,
    /// A varint ran past 10 bytes or overflowed 64 bits.
    BadVarint,
    /// A tag byte named no known variant.
    UnknownTag { what: &'static str, tag: u64 },
    /// A value was outside the range its type allows.
    OutOfRange { what: &'static str, value: u64 },
    /// A string was not UTF-8.
    BadUtf8,
    /// Bytes were left over after the record's last field.
    TrailingBytes(usize),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnexpectedEnd => write!(f, "record ends in the middle of a value"),
            DecodeError::BadVarint => write!(f, "malformed variable-length integer"),
            DecodeError::UnknownTag { what, tag } => write!(f, "unknown {what} tag {tag}"),
            DecodeError::OutOfRange { what, value } => {
                write!(f, "{what} value {value} is out of range")
            }
            DecodeError::BadUtf8 => write!(f, "string is not valid UTF-8"),
            DecodeError::TrailingBytes(n) => write!(f, "{n} unexpected bytes after the record"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Appends encoded values to a byte buffer.
pub struct Encoder<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Encoder<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        Encoder { out }
    }

    fn buf(&mut self) -> &mut Vec<u8> {
        self.out
    }

    pub fn u8(&mut self, v: u8) {
        self.buf().push(v);
    }

    pub fn u64(&mut self, mut v: u64) {
        let buf = self.buf();
        while v >= 0x80 {
            buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        buf.push(v as u8);
    }

    pub fn i64(&mut self, v: i64) {
        self.u64(((v << 1) ^ (v >> 63)) as u64);
    }

    pub fn u32(&mut self, v: u32) {
        self.u64(u64::from(v));
    }

    pub fn i32(&mut self, v: i32) {
        self.i64(i64::from(v));
    }

    pub fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }

    pub fn bytes(&mut self, v: &[u8]) {
        self.u64(v.len() as u64);
        self.buf().extend_from_slice(v);
    }

    pub fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }

    /// Fixed-width little-endian, for values that are usually large
    /// (addresses, hashes), where a varint would be longer.
    pub fn fixed_u64(&mut self, v: u64) {
        self.buf().extend_from_slice(&v.to_le_bytes());
    }

    pub fn seq<T>(&mut self, items: &[T], mut each: impl FnMut(&mut Self, &T)) {
        self.u64(items.len() as u64);
        for item in items {
            each(self, item);
        }
    }

    pub fn option<T>(&mut self, v: &Option<T>, each: impl FnOnce(&mut Self, &T)) {
        match v {
            None => self.u8(0),
            Some(inner) => {
                self.u8(1);
                each(self, inner);
            }
        }
    }
}

/// Reads encoded values from a byte slice, never past its end.
pub struct Decoder<'a> {
    input: &'a [u8],
}

impl<'a> Decoder<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Decoder { input }
    }

    pub fn remaining(&self) -> usize {
        self.input.len()
    }

    /// Fails unless every byte was consumed.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.input.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes(self.input.len()))
        }
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&first, rest) = self.input.split_first().ok_or(DecodeError::UnexpectedEnd)?;
        self.input = rest;
        Ok(first)
    }

    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for i in 0..10 {
            let byte = self.u8()?;
            let bits = u64::from(byte & 0x7f);
            if i == 9 && bits > 1 {
                return Err(DecodeError::BadVarint);
            }
            value |= bits << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::BadVarint)
    }

    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        let v = self.u64()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        let v = self.u64()?;
        u32::try_from(v).map_err(|_| DecodeError::OutOfRange {
            what: "u32",
            value: v,
        })
    }

    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        let v = self.i64()?;
        i32::try_from(v).map_err(|_| DecodeError::OutOfRange {
            what: "i32",
            value: v as u64,
        })
    }

    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(DecodeError::OutOfRange {
                what: "bool",
                value: u64::from(v),
            }),
        }
    }

    /// A length-prefixed byte string, borrowed from the input.
    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.len_prefix(1)?;
        let (head, rest) = self.input.split_at(len);
        self.input = rest;
        Ok(head)
    }

    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| DecodeError::BadUtf8)
    }

    pub fn string(&mut self) -> Result<String, DecodeError> {
        self.str().map(str::to_owned)
    }

    pub fn fixed_u64(&mut self) -> Result<u64, DecodeError> {
        if self.input.len() < 8 {
            return Err(DecodeError::UnexpectedEnd);
        }
        let (head, rest) = self.input.split_at(8);
        self.input = rest;
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(head);
        Ok(u64::from_le_bytes(bytes))
    }

    /// A count followed by that many items. Each item takes at least
    /// `min_item_size` bytes, so a count larger than the input allows is
    /// rejected before the vector is allocated.
    pub fn seq<T>(
        &mut self,
        min_item_size: usize,
        mut each: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let count = self.len_prefix(min_item_size.max(1))?;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(each(self)?);
        }
        Ok(items)
    }

    pub fn option<T>(
        &mut self,
        each: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        if self.bool()? {
            each(self).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Reads a count whose items each take at least `unit` bytes.
    fn len_prefix(&mut self, unit: usize) -> Result<usize, DecodeError> {
        let len = self.u64()?;
        let fits = usize::try_from(len)
            .ok()
            .and_then(|n| n.checked_mul(unit))
            .is_some_and(|bytes| bytes <= self.input.len());
        if fits {
            Ok(len as usize)
        } else {
            Err(DecodeError::UnexpectedEnd)
        }
    }
}

/// A type with a binary encoding.
pub trait Encode {
    fn encode(&self, enc: &mut Encoder<'_>);

    fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        self.encode(&mut Encoder::new(&mut bytes));
        bytes
    }
}

/// A type that can be read back from its encoding.
pub trait Decode: Sized {
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError>;

    /// Decodes exactly `bytes`, rejecting leftovers.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut dec = Decoder::new(bytes);
        let value = Self::decode(&mut dec)?;
        dec.finish()?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_the_edges() {
        let values = [
            0u64,
            1,
            127,
            128,
            300,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ];
        for v in values {
            let mut bytes = Vec::new();
            Encoder::new(&mut bytes).u64(v);
            assert_eq!(Decoder::new(&bytes).u64(), Ok(v));
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX, -4096] {
            let mut bytes = Vec::new();
            Encoder::new(&mut bytes).i64(v);
            assert_eq!(Decoder::new(&bytes).i64(), Ok(v));
        }
    }

    #[test]
    fn small_values_are_one_byte() {
        let mut bytes = Vec::new();
        let mut enc = Encoder::new(&mut bytes);
        enc.u64(5);
        enc.i64(-3);
        assert_eq!(bytes.len(), 2);
    }

    #[test]
    fn overlong_varint_is_rejected() {
        let bytes = [0xffu8; 11];
        assert_eq!(Decoder::new(&bytes).u64(), Err(DecodeError::BadVarint));
        let overflow = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(Decoder::new(&overflow).u64(), Err(DecodeError::BadVarint));
    }

    #[test]
    fn huge_lengths_do_not_allocate() {
        let mut bytes = Vec::new();
        Encoder::new(&mut bytes).u64(u64::MAX / 2);
        assert_eq!(
            Decoder::new(&bytes).seq(1, |d| d.u8()),
            Err(DecodeError::UnexpectedEnd)
        );
        assert_eq!(
            Decoder::new(&bytes).bytes(),
            Err(DecodeError::UnexpectedEnd)
        );
    }

    #[test]
    fn trailing_bytes_are_reported() {
        let dec = Decoder::new(&[1, 2]);
        assert_eq!(dec.finish(), Err(DecodeError::TrailingBytes(2)));
    }
}
