//! Hex digits as the protocol writes numbers and byte strings.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

pub(crate) fn digit_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Appends `bytes` as two hex digits each.
pub(crate) fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0xf)]);
    }
}

/// Appends `value` in hex without leading zeros (numbers in packets).
pub(crate) fn push_number(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(format!("{value:x}").as_bytes());
}

/// Decodes pairs of hex digits; `None` on an odd length or a non-digit.
pub(crate) fn decode_bytes(hex: &[u8]) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    hex.chunks_exact(2)
        .map(|pair| Some(digit_value(pair[0])? << 4 | digit_value(pair[1])?))
        .collect()
}

/// An unsigned hex number of at most 16 digits (leading zeros allowed).
pub(crate) fn parse_u64(hex: &[u8]) -> Option<u64> {
    let digits = strip_leading_zeros(hex)?;
    if digits.len() > 16 {
        return None;
    }
    digits
        .iter()
        .try_fold(0u64, |acc, &c| Some(acc << 4 | u64::from(digit_value(c)?)))
}

/// A hex length or count; callers bound it to what they can serve.
pub(crate) fn parse_usize(hex: &[u8]) -> Option<usize> {
    usize::try_from(parse_u64(hex)?).ok()
}

/// A possibly negative hex number (`-1` in thread ids and File-I/O replies).
pub(crate) fn parse_i64(hex: &[u8]) -> Option<i64> {
    match hex.split_first() {
        Some((b'-', rest)) => i64::try_from(parse_u64(rest)?).ok().map(|v| -v),
        _ => i64::try_from(parse_u64(hex)?).ok(),
    }
}

/// `None` for an empty string; leading zeros do not count against the
/// 16-digit limit.
fn strip_leading_zeros(hex: &[u8]) -> Option<&[u8]> {
    if hex.is_empty() {
        return None;
    }
    let first = hex.iter().position(|&c| c != b'0').unwrap_or(hex.len());
    Some(&hex[first..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"00000000000000000000ff"), Some(0xff));
        assert_eq!(parse_u64(b"FFFFffffFFFFffff"), Some(u64::MAX));
        assert_eq!(parse_u64(b"1ffffffffffffffff"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"12g"), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_i64(b"7fffffffffffffff"), Some(i64::MAX));
        assert_eq!(parse_i64(b"8000000000000000"), None);
    }

    #[test]
    fn byte_strings() {
        let mut out = Vec::new();
        push_bytes(&mut out, &[0x00, 0xab, 0x7f]);
        assert_eq!(out, b"00ab7f");
        assert_eq!(decode_bytes(b"00aB7f"), Some(vec![0x00, 0xab, 0x7f]));
        assert_eq!(decode_bytes(b"0"), None);
        assert_eq!(decode_bytes(b"zz"), None);
        assert_eq!(decode_bytes(b""), Some(vec![]));
        let mut n = Vec::new();
        push_number(&mut n, 0x1f);
        assert_eq!(n, b"1f");
    }
}
