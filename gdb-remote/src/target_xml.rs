//! The target description (`target.xml`) gdb reads through
//! `qXfer:features:read`. Generated from the register table; every register
//! carries an explicit `regnum` so gdb's numbering is ours whatever order it
//! reads the features in.

use std::fmt::Write as _;
use std::sync::OnceLock;

use crate::registers::{registers, Feature};

pub(crate) const ANNEX: &[u8] = b"target.xml";

pub(crate) fn target_xml() -> &'static [u8] {
    static XML: OnceLock<String> = OnceLock::new();
    XML.get_or_init(build).as_bytes()
}

/// Bits of a flags register shown by name; bits not listed are reserved.
struct FlagsType {
    id: &'static str,
    fields: &'static [(&'static str, u32)],
}

const EFLAGS: FlagsType = FlagsType {
    id: "i386_eflags",
    fields: &[
        ("CF", 0),
        ("PF", 2),
        ("AF", 4),
        ("ZF", 6),
        ("SF", 7),
        ("TF", 8),
        ("IF", 9),
        ("DF", 10),
        ("OF", 11),
        ("NT", 14),
        ("RF", 16),
        ("VM", 17),
        ("AC", 18),
        ("VIF", 19),
        ("VIP", 20),
        ("ID", 21),
    ],
};

const MXCSR: FlagsType = FlagsType {
    id: "i386_mxcsr",
    fields: &[
        ("IE", 0),
        ("DE", 1),
        ("ZE", 2),
        ("OE", 3),
        ("UE", 4),
        ("PE", 5),
        ("DAZ", 6),
        ("IM", 7),
        ("DM", 8),
        ("ZM", 9),
        ("OM", 10),
        ("UM", 11),
        ("PM", 12),
        ("FZ", 15),
    ],
};

/// The views of an xmm register `p $xmm0` shows, element type and count.
const VEC128_VIEWS: [(&str, &str, &str, u32); 6] = [
    ("v4_float", "v4f", "ieee_single", 4),
    ("v2_double", "v2d", "ieee_double", 2),
    ("v16_int8", "v16i8", "int8", 16),
    ("v8_int16", "v8i16", "int16", 8),
    ("v4_int32", "v4i32", "int32", 4),
    ("v2_int64", "v2i64", "int64", 2),
];

fn write_flags(xml: &mut String, flags: &FlagsType) {
    let _ = writeln!(xml, "    <flags id=\"{}\" size=\"4\">", flags.id);
    for &(name, bit) in flags.fields {
        let _ = writeln!(
            xml,
            "      <field name=\"{name}\" start=\"{bit}\" end=\"{bit}\"/>"
        );
    }
    xml.push_str("    </flags>\n");
}

fn write_vec128(xml: &mut String) {
    for (_, id, element, count) in VEC128_VIEWS {
        let _ = writeln!(
            xml,
            "    <vector id=\"{id}\" type=\"{element}\" count=\"{count}\"/>"
        );
    }
    xml.push_str("    <union id=\"vec128\">\n");
    for (field, id, _, _) in VEC128_VIEWS {
        let _ = writeln!(xml, "      <field name=\"{field}\" type=\"{id}\"/>");
    }
    xml.push_str("      <field name=\"uint128\" type=\"uint128\"/>\n");
    xml.push_str("    </union>\n");
}

fn build() -> String {
    let mut xml = String::new();
    xml.push_str("<?xml version=\"1.0\"?>\n");
    xml.push_str("<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n");
    xml.push_str("<target version=\"1.0\">\n");
    xml.push_str("  <architecture>i386:x86-64</architecture>\n");
    xml.push_str("  <osabi>GNU/Linux</osabi>\n");
    for feature in Feature::ALL {
        let _ = writeln!(xml, "  <feature name=\"{}\">", feature.name());
        // Types must precede the registers that use them.
        match feature {
            Feature::Core => write_flags(&mut xml, &EFLAGS),
            Feature::Sse => {
                write_vec128(&mut xml);
                write_flags(&mut xml, &MXCSR);
            }
            Feature::Linux | Feature::Segments | Feature::Avx => {}
        }
        for (regnum, reg) in registers().iter().enumerate() {
            if reg.feature != feature {
                continue;
            }
            let _ = write!(
                xml,
                "    <reg name=\"{}\" bitsize=\"{}\" type=\"{}\" regnum=\"{regnum}\"",
                reg.name, reg.bits, reg.type_name
            );
            if let Some(group) = reg.group {
                let _ = write!(xml, " group=\"{group}\"");
            }
            xml.push_str("/>\n");
        }
        xml.push_str("  </feature>\n");
    }
    xml.push_str("</target>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_names_every_register_once_in_order() {
        let xml = String::from_utf8(target_xml().to_vec()).unwrap();
        assert!(xml.contains("<architecture>i386:x86-64</architecture>"));
        assert!(xml.contains("<osabi>GNU/Linux</osabi>"));
        let mut last = None;
        for (regnum, reg) in registers().iter().enumerate() {
            let needle = format!("<reg name=\"{}\" ", reg.name);
            assert_eq!(xml.matches(&needle).count(), 1, "{}", reg.name);
            let at = xml.find(&needle).unwrap();
            assert!(last.is_none_or(|l| l < at), "{} out of order", reg.name);
            last = Some(at);
            assert!(xml[at..].contains(&format!("regnum=\"{regnum}\"")));
        }
        assert!(
            xml.find("<union id=\"vec128\">").unwrap() < xml.find("<reg name=\"xmm0\"").unwrap()
        );
        assert!(
            xml.find("<flags id=\"i386_eflags\"").unwrap()
                < xml.find("<reg name=\"eflags\"").unwrap()
        );
    }
}
