//! The x86-64 register file as gdb numbers it: one table gives each
//! register's name, size, type and where its value lives in
//! [`X86Registers`]. The `g` packet layout, `p`/`P` numbers and the target
//! description all come from this table, so they cannot disagree.
//!
//! The numbering is gdbserver's for amd64 GNU/Linux (core 0..=39, sse
//! 40..=56, orig_rax 57, fs_base/gs_base 58..=59, ymm0h.. 60..=75), so a
//! client that ignored the description would still read the right values.

use std::sync::OnceLock;

use crate::hex;
use crate::target::X86Registers;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Feature {
    Core,
    Sse,
    Linux,
    Segments,
    Avx,
}

impl Feature {
    pub(crate) const ALL: [Feature; 5] = [
        Feature::Core,
        Feature::Sse,
        Feature::Linux,
        Feature::Segments,
        Feature::Avx,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Feature::Core => "org.gnu.gdb.i386.core",
            Feature::Sse => "org.gnu.gdb.i386.sse",
            Feature::Linux => "org.gnu.gdb.i386.linux",
            Feature::Segments => "org.gnu.gdb.i386.segments",
            Feature::Avx => "org.gnu.gdb.i386.avx",
        }
    }
}

/// Where a register's value lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    General(usize),
    Eflags,
    Segment(usize),
    St(usize),
    Fctrl,
    Fstat,
    Ftag,
    Fiseg,
    Fioff,
    Foseg,
    Fooff,
    Fop,
    Xmm(usize),
    Mxcsr,
    OrigRax,
    FsBase,
    GsBase,
    YmmHigh(usize),
}

pub(crate) struct Register {
    pub name: &'static str,
    pub bits: usize,
    pub type_name: &'static str,
    pub group: Option<&'static str>,
    pub feature: Feature,
    field: Field,
}

impl Register {
    pub(crate) fn size(&self) -> usize {
        self.bits / 8
    }
}

const GENERAL: [&str; 17] = [
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13",
    "r14", "r15", "rip",
];
const SEGMENTS: [&str; 6] = ["cs", "ss", "ds", "es", "fs", "gs"];
const ST: [&str; 8] = ["st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7"];
const XMM: [&str; 16] = [
    "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
    "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
];
const YMMH: [&str; 16] = [
    "ymm0h", "ymm1h", "ymm2h", "ymm3h", "ymm4h", "ymm5h", "ymm6h", "ymm7h", "ymm8h", "ymm9h",
    "ymm10h", "ymm11h", "ymm12h", "ymm13h", "ymm14h", "ymm15h",
];

/// All registers in gdb's numbering: the index is the register number.
pub(crate) fn registers() -> &'static [Register] {
    static TABLE: OnceLock<Vec<Register>> = OnceLock::new();
    TABLE.get_or_init(build_table)
}

fn build_table() -> Vec<Register> {
    let reg = |name, bits, type_name, group, feature, field| Register {
        name,
        bits,
        type_name,
        group,
        feature,
        field,
    };
    let mut table = Vec::new();
    for (i, &name) in GENERAL.iter().enumerate() {
        let type_name = match name {
            "rbp" | "rsp" => "data_ptr",
            "rip" => "code_ptr",
            _ => "int64",
        };
        table.push(reg(
            name,
            64,
            type_name,
            None,
            Feature::Core,
            Field::General(i),
        ));
    }
    table.push(reg(
        "eflags",
        32,
        "i386_eflags",
        None,
        Feature::Core,
        Field::Eflags,
    ));
    for (i, &name) in SEGMENTS.iter().enumerate() {
        table.push(reg(
            name,
            32,
            "int32",
            None,
            Feature::Core,
            Field::Segment(i),
        ));
    }
    for (i, &name) in ST.iter().enumerate() {
        table.push(reg(name, 80, "i387_ext", None, Feature::Core, Field::St(i)));
    }
    let x87_control = [
        ("fctrl", Field::Fctrl),
        ("fstat", Field::Fstat),
        ("ftag", Field::Ftag),
        ("fiseg", Field::Fiseg),
        ("fioff", Field::Fioff),
        ("foseg", Field::Foseg),
        ("fooff", Field::Fooff),
        ("fop", Field::Fop),
    ];
    for (name, field) in x87_control {
        table.push(reg(name, 32, "int", Some("float"), Feature::Core, field));
    }
    for (i, &name) in XMM.iter().enumerate() {
        table.push(reg(name, 128, "vec128", None, Feature::Sse, Field::Xmm(i)));
    }
    table.push(reg(
        "mxcsr",
        32,
        "i386_mxcsr",
        Some("vector"),
        Feature::Sse,
        Field::Mxcsr,
    ));
    table.push(reg(
        "orig_rax",
        64,
        "int",
        None,
        Feature::Linux,
        Field::OrigRax,
    ));
    table.push(reg(
        "fs_base",
        64,
        "int",
        None,
        Feature::Segments,
        Field::FsBase,
    ));
    table.push(reg(
        "gs_base",
        64,
        "int",
        None,
        Feature::Segments,
        Field::GsBase,
    ));
    for (i, &name) in YMMH.iter().enumerate() {
        table.push(reg(
            name,
            128,
            "uint128",
            None,
            Feature::Avx,
            Field::YmmHigh(i),
        ));
    }
    table
}

// FXSAVE image offsets (64-bit format, as the kernel saves it).
const FCW: usize = 0;
const FSW: usize = 2;
const FTW_ABRIDGED: usize = 4;
const FOP: usize = 6;
const FIP: usize = 8;
const FIP_HIGH: usize = 12;
const FDP: usize = 16;
const FDP_HIGH: usize = 20;
const MXCSR: usize = 24;
const ST_BASE: usize = 32;
const XMM_BASE: usize = 160;

fn fx_u16(fx: &[u8; 512], at: usize) -> u16 {
    u16::from_le_bytes([fx[at], fx[at + 1]])
}

fn fx_u32(fx: &[u8; 512], at: usize) -> u32 {
    u32::from_le_bytes([fx[at], fx[at + 1], fx[at + 2], fx[at + 3]])
}

/// gdb's 16-bit tag word (two bits per physical register: 00 valid, 01
/// zero, 10 special, 11 empty) from FXSAVE's abridged one (one bit per
/// physical register: 1 non-empty). The kind of a non-empty register is
/// recomputed from its contents, as FSAVE would have stored it.
fn full_tag_word(fx: &[u8; 512]) -> u16 {
    let top = usize::from((fx_u16(fx, FSW) >> 11) & 7);
    let abridged = fx[FTW_ABRIDGED];
    let mut tags = 0u16;
    for physical in 0..8 {
        let tag = if abridged & (1 << physical) == 0 {
            0b11
        } else {
            // The image stores registers by stack position ST(i), and
            // ST(i) is physical register (TOP + i) mod 8.
            let st = (physical + 8 - top) % 8;
            let at = ST_BASE + 16 * st;
            classify_x87(&fx[at..at + 10])
        };
        tags |= tag << (2 * physical);
    }
    tags
}

fn classify_x87(value: &[u8]) -> u16 {
    let mut mantissa = [0u8; 8];
    mantissa.copy_from_slice(&value[..8]);
    let mantissa = u64::from_le_bytes(mantissa);
    let exponent = u16::from_le_bytes([value[8], value[9]]) & 0x7fff;
    let integer_bit = mantissa >> 63 == 1;
    match exponent {
        0x7fff => 0b10,
        0 if mantissa == 0 => 0b01,
        0 => 0b10,
        _ if integer_bit => 0b00,
        // Unnormals have a clear integer bit with a non-zero exponent.
        _ => 0b10,
    }
}

fn abridged_tag_word(full: u32) -> u8 {
    (0..8).fold(0u8, |abridged, physical| {
        if (full >> (2 * physical)) & 0b11 == 0b11 {
            abridged
        } else {
            abridged | 1 << physical
        }
    })
}

/// Appends the register's bytes, little-endian as gdb expects them.
fn read_field(regs: &X86Registers, field: Field, out: &mut Vec<u8>) {
    let fx = &regs.fxsave;
    match field {
        Field::General(i) => out.extend_from_slice(&regs.general[i].to_le_bytes()),
        Field::Eflags => out.extend_from_slice(&regs.eflags.to_le_bytes()),
        Field::Segment(i) => out.extend_from_slice(&regs.segments[i].to_le_bytes()),
        Field::St(i) => out.extend_from_slice(&fx[ST_BASE + 16 * i..ST_BASE + 16 * i + 10]),
        Field::Fctrl => out.extend_from_slice(&u32::from(fx_u16(fx, FCW)).to_le_bytes()),
        Field::Fstat => out.extend_from_slice(&u32::from(fx_u16(fx, FSW)).to_le_bytes()),
        Field::Ftag => out.extend_from_slice(&u32::from(full_tag_word(fx)).to_le_bytes()),
        // In the 64-bit image the instruction and operand pointers are 64
        // bits wide; gdb's amd64 code shows their high halves as the
        // "segments", and so do we, so values round-trip unchanged.
        Field::Fiseg => out.extend_from_slice(&fx_u32(fx, FIP_HIGH).to_le_bytes()),
        Field::Fioff => out.extend_from_slice(&fx_u32(fx, FIP).to_le_bytes()),
        Field::Foseg => out.extend_from_slice(&fx_u32(fx, FDP_HIGH).to_le_bytes()),
        Field::Fooff => out.extend_from_slice(&fx_u32(fx, FDP).to_le_bytes()),
        Field::Fop => out.extend_from_slice(&u32::from(fx_u16(fx, FOP)).to_le_bytes()),
        Field::Xmm(i) => out.extend_from_slice(&fx[XMM_BASE + 16 * i..XMM_BASE + 16 * i + 16]),
        Field::Mxcsr => out.extend_from_slice(&fx[MXCSR..MXCSR + 4]),
        Field::OrigRax => out.extend_from_slice(&regs.orig_rax.to_le_bytes()),
        Field::FsBase => out.extend_from_slice(&regs.fs_base.to_le_bytes()),
        Field::GsBase => out.extend_from_slice(&regs.gs_base.to_le_bytes()),
        Field::YmmHigh(i) => out.extend_from_slice(&regs.ymm_high[i]),
    }
}

/// Stores a register value; `bytes` is exactly the register's size.
fn write_field(regs: &mut X86Registers, field: Field, bytes: &[u8]) {
    fn u64_of(b: &[u8]) -> u64 {
        let mut v = [0u8; 8];
        v.copy_from_slice(&b[..8]);
        u64::from_le_bytes(v)
    }
    fn u32_of(b: &[u8]) -> u32 {
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
    let fx = &mut regs.fxsave;
    match field {
        Field::General(i) => regs.general[i] = u64_of(bytes),
        Field::Eflags => regs.eflags = u32_of(bytes),
        Field::Segment(i) => regs.segments[i] = u32_of(bytes),
        Field::St(i) => fx[ST_BASE + 16 * i..ST_BASE + 16 * i + 10].copy_from_slice(bytes),
        // The 16-bit x87 registers travel as 32 bits; the high half has no
        // home in the image and is dropped.
        Field::Fctrl => fx[FCW..FCW + 2].copy_from_slice(&bytes[..2]),
        Field::Fstat => fx[FSW..FSW + 2].copy_from_slice(&bytes[..2]),
        Field::Fop => fx[FOP..FOP + 2].copy_from_slice(&bytes[..2]),
        Field::Ftag => fx[FTW_ABRIDGED] = abridged_tag_word(u32_of(bytes)),
        Field::Fiseg => fx[FIP_HIGH..FIP_HIGH + 4].copy_from_slice(bytes),
        Field::Fioff => fx[FIP..FIP + 4].copy_from_slice(bytes),
        Field::Foseg => fx[FDP_HIGH..FDP_HIGH + 4].copy_from_slice(bytes),
        Field::Fooff => fx[FDP..FDP + 4].copy_from_slice(bytes),
        Field::Xmm(i) => fx[XMM_BASE + 16 * i..XMM_BASE + 16 * i + 16].copy_from_slice(bytes),
        Field::Mxcsr => fx[MXCSR..MXCSR + 4].copy_from_slice(bytes),
        Field::OrigRax => regs.orig_rax = u64_of(bytes),
        Field::FsBase => regs.fs_base = u64_of(bytes),
        Field::GsBase => regs.gs_base = u64_of(bytes),
        Field::YmmHigh(i) => regs.ymm_high[i].copy_from_slice(bytes),
    }
}

/// The `g` reply: every register in number order, as hex.
pub(crate) fn encode_all(regs: &X86Registers) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(1024);
    for reg in registers() {
        read_field(regs, reg.field, &mut bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() * 2);
    hex::push_bytes(&mut out, &bytes);
    out
}

/// Applies a `G` packet's hex on top of `regs`. A shorter packet sets the
/// registers it covers (gdb may omit trailing ones); one that ends inside a
/// register, runs past the last one or is not hex is refused.
pub(crate) fn decode_all(regs: &mut X86Registers, hex_values: &[u8]) -> Option<()> {
    let bytes = hex::decode_bytes(hex_values)?;
    let mut updated = regs.clone();
    let mut rest = bytes.as_slice();
    for reg in registers() {
        if rest.is_empty() {
            break;
        }
        if rest.len() < reg.size() {
            return None;
        }
        let (value, tail) = rest.split_at(reg.size());
        write_field(&mut updated, reg.field, value);
        rest = tail;
    }
    if !rest.is_empty() {
        return None;
    }
    *regs = updated;
    Some(())
}

/// Register `regnum` as an integer (its low 8 bytes, little-endian), for
/// agent expressions.
pub(crate) fn value(regs: &X86Registers, regnum: usize) -> Option<u64> {
    let register = registers().get(regnum)?;
    let mut bytes = Vec::new();
    read_field(regs, register.field, &mut bytes);
    let mut low = [0u8; 8];
    let n = bytes.len().min(8);
    low[..n].copy_from_slice(&bytes[..n]);
    Some(u64::from_le_bytes(low))
}

/// The `p` reply for register `regnum`; `None` for a number not described.
pub(crate) fn encode_one(regs: &X86Registers, regnum: usize) -> Option<Vec<u8>> {
    let reg = registers().get(regnum)?;
    let mut bytes = Vec::with_capacity(reg.size());
    read_field(regs, reg.field, &mut bytes);
    let mut out = Vec::with_capacity(bytes.len() * 2);
    hex::push_bytes(&mut out, &bytes);
    Some(out)
}

/// Applies a `P` packet; `None` for an unknown number or a value of the
/// wrong size.
pub(crate) fn decode_one(regs: &mut X86Registers, regnum: usize, hex_value: &[u8]) -> Option<()> {
    let reg = registers().get(regnum)?;
    let bytes = hex::decode_bytes(hex_value)?;
    if bytes.len() != reg.size() {
        return None;
    }
    write_field(regs, reg.field, &bytes);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_of(name: &str) -> usize {
        registers().iter().position(|r| r.name == name).unwrap()
    }

    fn sample() -> X86Registers {
        let mut regs = X86Registers::default();
        for (i, g) in regs.general.iter_mut().enumerate() {
            *g = 0x0101_0101_0101 * (i as u64 + 1);
        }
        regs.eflags = 0x246;
        regs.segments = [0x33, 0x2b, 0, 0, 0, 0];
        regs.fs_base = 0x7fff_f7d8_a740;
        regs.gs_base = 0x1234;
        regs.orig_rax = 60;
        for (i, b) in regs.fxsave.iter_mut().enumerate() {
            *b = i as u8;
        }
        // Keep the abridged tag word consistent with a full-tag round trip:
        // two registers in use, the rest empty.
        regs.fxsave[FTW_ABRIDGED] = 0b1000_0001;
        regs.fxsave[5] = 0;
        for (i, h) in regs.ymm_high.iter_mut().enumerate() {
            *h = [i as u8 | 0x80; 16];
        }
        regs
    }

    #[test]
    fn numbering_matches_gdbserver_amd64_linux() {
        assert_eq!(registers().len(), 76);
        assert_eq!(index_of("rip"), 16);
        assert_eq!(index_of("eflags"), 17);
        assert_eq!(index_of("gs"), 23);
        assert_eq!(index_of("st0"), 24);
        assert_eq!(index_of("fop"), 39);
        assert_eq!(index_of("xmm0"), 40);
        assert_eq!(index_of("mxcsr"), 56);
        assert_eq!(index_of("orig_rax"), 57);
        assert_eq!(index_of("fs_base"), 58);
        assert_eq!(index_of("gs_base"), 59);
        assert_eq!(index_of("ymm0h"), 60);
        assert_eq!(index_of("ymm15h"), 75);
        let total: usize = registers().iter().map(Register::size).sum();
        assert_eq!(total, 816);
    }

    #[test]
    fn g_then_g_round_trips() {
        let regs = sample();
        let g = encode_all(&regs);
        assert_eq!(g.len(), 816 * 2);
        let mut back = X86Registers::default();
        decode_all(&mut back, &g).unwrap();
        // Bytes of the image that no register shows keep their old values;
        // compare what gdb can see.
        assert_eq!(encode_all(&back), g);
        assert_eq!(back.general, regs.general);
        assert_eq!(back.ymm_high, regs.ymm_high);
        assert_eq!(back.fxsave[..28], regs.fxsave[..28]);
        assert_eq!(back.fxsave[32..416], {
            let mut expected = regs.fxsave[32..416].to_vec();
            // Bytes 10..16 of each st slot are padding no register covers.
            for st in 0..8 {
                for b in 10..16 {
                    expected[16 * st + b] = 0;
                }
            }
            expected
        });
    }

    #[test]
    fn g_packet_starts_with_rax_little_endian() {
        let mut regs = X86Registers::default();
        regs.general[0] = 0x0102_0304_0506_0708;
        regs.general[16] = 0x401000;
        let g = encode_all(&regs);
        assert_eq!(&g[..16], b"0807060504030201");
        assert_eq!(&g[16 * 16..17 * 16], b"0010400000000000");
    }

    #[test]
    fn short_and_bad_g_packets() {
        let mut regs = sample();
        let before = regs.clone();
        // Only rax.
        decode_all(&mut regs, b"ffffffffffffffff").unwrap();
        assert_eq!(regs.general[0], u64::MAX);
        assert_eq!(regs.general[1], before.general[1]);
        let mut regs = before.clone();
        assert_eq!(decode_all(&mut regs, b"ffff"), None);
        assert_eq!(decode_all(&mut regs, b"fff"), None);
        assert_eq!(decode_all(&mut regs, &vec![b'0'; 817 * 2]), None);
        assert_eq!(regs, before);
    }

    #[test]
    fn single_registers() {
        let mut regs = sample();
        let rip = index_of("rip");
        assert_eq!(encode_one(&regs, rip).unwrap(), b"1111111111110000");
        decode_one(&mut regs, rip, b"0010400000000000").unwrap();
        assert_eq!(regs.general[16], 0x401000);
        assert_eq!(decode_one(&mut regs, rip, b"00"), None);
        assert_eq!(encode_one(&regs, 76), None);
        assert_eq!(decode_one(&mut regs, 76, b"00"), None);
        let xmm1 = index_of("xmm1");
        decode_one(&mut regs, xmm1, &[b'a'; 32]).unwrap();
        assert_eq!(regs.fxsave[176..192], [0xaa; 16]);
        let fctrl = index_of("fctrl");
        decode_one(&mut regs, fctrl, b"7f030000").unwrap();
        assert_eq!(regs.fxsave[..2], [0x7f, 0x03]);
        assert_eq!(encode_one(&regs, fctrl).unwrap(), b"7f030000");
    }

    #[test]
    fn tag_word_conversion() {
        let mut regs = X86Registers::default();
        let fx = &mut regs.fxsave;
        // TOP = 6: ST(0) is physical 6, ST(1) physical 7.
        fx[FSW..FSW + 2].copy_from_slice(&(6u16 << 11).to_le_bytes());
        fx[FTW_ABRIDGED] = 0b1100_0000;
        // ST(0) = 1.0: exponent 0x3fff, integer bit set.
        fx[ST_BASE + 7] = 0x80;
        fx[ST_BASE + 8..ST_BASE + 10].copy_from_slice(&0x3fffu16.to_le_bytes());
        // ST(1) = +0.0.
        let full = full_tag_word(&regs.fxsave);
        assert_eq!(full, 0b01_00_11_11_11_11_11_11);
        assert_eq!(abridged_tag_word(u32::from(full)), 0b1100_0000);
        assert_eq!(classify_x87(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0x7f]), 0b10);
        assert_eq!(classify_x87(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 0b10);
        assert_eq!(classify_x87(&[0, 0, 0, 0, 0, 0, 0, 0, 1, 0]), 0b10);
        // All empty is gdb's 0xffff.
        assert_eq!(full_tag_word(&X86Registers::default().fxsave), 0xffff);
    }
}
