//! The processor: CPUID leaves for the trace header, and the time stamp
//! counter the recorder reads in place of a trapped rdtsc.

use std::arch::x86_64::{__cpuid_count, __rdtscp, _rdtsc};

use trace_format::{CpuInfo, CpuidLeaf};

fn cpuid(leaf: u32, subleaf: u32) -> CpuidLeaf {
    let r = __cpuid_count(leaf, subleaf);
    CpuidLeaf {
        leaf,
        subleaf,
        eax: r.eax,
        ebx: r.ebx,
        ecx: r.ecx,
        edx: r.edx,
    }
}

/// Vendor, family, model, and the leaves that change what programs do:
/// features (1, 7, 0x80000001), the xsave layout (0xd, every component),
/// the caches glibc sizes its copy thresholds by (2, 4, 0x80000005/6),
/// and the trace features of 0x14 and 0x24.
pub fn cpu_info() -> CpuInfo {
    let vendor_leaf = cpuid(0, 0);
    let mut vendor = Vec::with_capacity(12);
    for word in [vendor_leaf.ebx, vendor_leaf.edx, vendor_leaf.ecx] {
        vendor.extend_from_slice(&word.to_le_bytes());
    }
    let max_leaf = vendor_leaf.eax;
    let signature = cpuid(1, 0).eax;
    let base_family = (signature >> 8) & 0xf;
    let family = if base_family == 0xf {
        base_family + ((signature >> 20) & 0xff)
    } else {
        base_family
    };
    let model = ((signature >> 4) & 0xf) | (((signature >> 16) & 0xf) << 4);
    let mut leaves = vec![vendor_leaf, cpuid(1, 0)];
    if max_leaf >= 2 {
        leaves.push(cpuid(2, 0));
    }
    if max_leaf >= 4 {
        // Cache descriptions, up to the first of type "none".
        leaves.extend(
            (0..16)
                .map(|sub| cpuid(4, sub))
                .take_while(|l| l.eax & 0x1f != 0),
        );
    }
    if max_leaf >= 7 {
        leaves.push(cpuid(7, 0));
        leaves.push(cpuid(7, 1));
    }
    if max_leaf >= 0xd {
        // Sub-leaves 2..63 describe one xsave component each.
        leaves.extend(
            (0..64)
                .map(|sub| cpuid(0xd, sub))
                .enumerate()
                .filter_map(|(sub, leaf)| (sub < 2 || leaf.eax != 0).then_some(leaf)),
        );
    }
    for trace_leaf in [0x14, 0x24] {
        if max_leaf >= trace_leaf {
            leaves.push(cpuid(trace_leaf, 0));
        }
    }
    let max_extended = cpuid(0x8000_0000, 0).eax;
    for extended in [0x8000_0001, 0x8000_0005, 0x8000_0006] {
        if max_extended >= extended {
            leaves.push(cpuid(extended, 0));
        }
    }
    CpuInfo {
        vendor: String::from_utf8_lossy(&vendor).into_owned(),
        family,
        model,
        stepping: signature & 0xf,
        cpuid: leaves,
    }
}

/// The time stamp counter, as rdtsc would give it (`clock::read_tsc`
/// is the one to call).
pub(crate) fn read_tsc() -> u64 {
    // SAFETY: rdtsc is unprivileged for the recorder (only tracees trap).
    unsafe { _rdtsc() }
}

/// The time stamp counter and TSC_AUX, as rdtscp would give them.
pub(crate) fn read_tscp() -> (u64, u32) {
    let mut aux = 0u32;
    // SAFETY: rdtscp writes TSC_AUX to `aux`, a live u32.
    let tsc = unsafe { __rdtscp(&mut aux) };
    (tsc, aux)
}
