//! Whether this machine can replay a trace (ARCHITECTURE.md "Replaying on
//! another machine"). glibc and other runtimes choose their code (memcpy,
//! strlen, copy thresholds) by CPUID, and without CPUID faulting the
//! replay cannot answer for the recording's CPU: every leaf the trace
//! holds must read the same here, per-core fields aside.

use trace_format::{CpuInfo, CpuidLeaf};

use crate::error::ReplayError;

/// Refuses, before anything runs, a trace recorded on a CPU whose leaves
/// differ from this one's.
pub fn check(recorded: &CpuInfo) -> Result<(), ReplayError> {
    let differences = differences(recorded, &tracee::cpu::cpu_info());
    if differences.is_empty() {
        Ok(())
    } else {
        Err(ReplayError::OtherCpu(differences.join("; ")))
    }
}

/// What differs, in words: feature names where the leaf lists features.
/// Only the leaves the trace holds are compared (older traces hold fewer).
pub fn differences(recorded: &CpuInfo, here: &CpuInfo) -> Vec<String> {
    let mut missing = Vec::new();
    let mut added = Vec::new();
    let mut other = Vec::new();
    for theirs in &recorded.cpuid {
        let ours = here
            .cpuid
            .iter()
            .find(|l| (l.leaf, l.subleaf) == (theirs.leaf, theirs.subleaf))
            .copied()
            .unwrap_or(CpuidLeaf {
                eax: 0,
                ebx: 0,
                ecx: 0,
                edx: 0,
                ..*theirs
            });
        let (recorded_words, words_here) = (registers(theirs), registers(&ours));
        for (index, register) in ["eax", "ebx", "ecx", "edx"].into_iter().enumerate() {
            let mask = !per_core_bits(theirs.leaf, index);
            let (a, b) = (recorded_words[index] & mask, words_here[index] & mask);
            if a == b {
                continue;
            }
            let Some(names) = feature_names(theirs.leaf, theirs.subleaf, register) else {
                other.push(format!(
                    "{} (cpuid {:#x}.{} {register})",
                    describe_leaf(theirs.leaf),
                    theirs.leaf,
                    theirs.subleaf
                ));
                continue;
            };
            for bit in 0..32 {
                let name = || {
                    names.iter().find(|(b, _)| *b == bit).map_or_else(
                        || {
                            format!(
                                "cpuid {:#x}.{} {register} bit {bit}",
                                theirs.leaf, theirs.subleaf
                            )
                        },
                        |(_, n)| (*n).to_owned(),
                    )
                };
                match (a >> bit & 1, b >> bit & 1) {
                    (1, 0) => missing.push(name()),
                    (0, 1) => added.push(name()),
                    _ => {}
                }
            }
        }
    }
    let mut out = Vec::new();
    if !missing.is_empty() {
        out.push(format!("missing here: {}", missing.join(", ")));
    }
    if !added.is_empty() {
        out.push(format!(
            "here but not in the recording: {}",
            added.join(", ")
        ));
    }
    if !other.is_empty() {
        out.push(format!("different: {}", other.join(", ")));
    }
    out
}

fn registers(leaf: &CpuidLeaf) -> [u32; 4] {
    [leaf.eax, leaf.ebx, leaf.ecx, leaf.edx]
}

/// Fields that differ between the cores of one machine: the initial APIC
/// id in leaf 1's ebx.
fn per_core_bits(leaf: u32, register: usize) -> u32 {
    match (leaf, register) {
        (1, 1) => 0xff00_0000,
        _ => 0,
    }
}

fn describe_leaf(leaf: u32) -> &'static str {
    match leaf {
        0 => "the vendor or highest leaf",
        1 => "the processor signature",
        2 | 4 | 0x8000_0005 | 0x8000_0006 => "the cache description",
        0xd => "the xsave layout",
        0x14 | 0x24 => "the trace features",
        _ => "a CPUID leaf",
    }
}

type Names = &'static [(u32, &'static str)];

/// The feature bits of the registers that list features.
fn feature_names(leaf: u32, subleaf: u32, register: &str) -> Option<Names> {
    Some(match (leaf, subleaf, register) {
        (1, 0, "edx") => &[
            (0, "fpu"),
            (4, "tsc"),
            (5, "msr"),
            (8, "cx8"),
            (11, "sep"),
            (15, "cmov"),
            (19, "clflush"),
            (23, "mmx"),
            (24, "fxsr"),
            (25, "sse"),
            (26, "sse2"),
            (28, "htt"),
        ],
        (1, 0, "ecx") => &[
            (0, "sse3"),
            (1, "pclmulqdq"),
            (3, "monitor"),
            (9, "ssse3"),
            (12, "fma"),
            (13, "cx16"),
            (19, "sse4_1"),
            (20, "sse4_2"),
            (22, "movbe"),
            (23, "popcnt"),
            (25, "aes"),
            (26, "xsave"),
            (27, "osxsave"),
            (28, "avx"),
            (29, "f16c"),
            (30, "rdrand"),
            (31, "hypervisor"),
        ],
        (7, 0, "ebx") => &[
            (0, "fsgsbase"),
            (3, "bmi1"),
            (4, "hle"),
            (5, "avx2"),
            (7, "smep"),
            (8, "bmi2"),
            (9, "erms"),
            (10, "invpcid"),
            (11, "rtm"),
            (16, "avx512f"),
            (17, "avx512dq"),
            (18, "rdseed"),
            (19, "adx"),
            (20, "smap"),
            (21, "avx512ifma"),
            (23, "clflushopt"),
            (24, "clwb"),
            (28, "avx512cd"),
            (29, "sha"),
            (30, "avx512bw"),
            (31, "avx512vl"),
        ],
        (7, 0, "ecx") => &[
            (1, "avx512vbmi"),
            (2, "umip"),
            (3, "pku"),
            (4, "ospke"),
            (5, "waitpkg"),
            (6, "avx512_vbmi2"),
            (7, "cet_ss"),
            (8, "gfni"),
            (9, "vaes"),
            (10, "vpclmulqdq"),
            (11, "avx512_vnni"),
            (12, "avx512_bitalg"),
            (14, "avx512_vpopcntdq"),
            (22, "rdpid"),
            (25, "cldemote"),
            (27, "movdiri"),
            (28, "movdir64b"),
        ],
        (7, 0, "edx") => &[
            (4, "fsrm"),
            (8, "avx512_vp2intersect"),
            (10, "md_clear"),
            (14, "serialize"),
            (16, "tsxldtrk"),
            (20, "cet_ibt"),
            (22, "amx_bf16"),
            (23, "avx512_fp16"),
            (24, "amx_tile"),
            (25, "amx_int8"),
        ],
        (7, 1, "eax") => &[
            (4, "avx_vnni"),
            (5, "avx512_bf16"),
            (10, "fzrm"),
            (11, "fsrs"),
            (12, "fsrc"),
        ],
        (0xd, 1, "eax") => &[
            (0, "xsaveopt"),
            (1, "xsavec"),
            (2, "xgetbv1"),
            (3, "xsaves"),
        ],
        (0x8000_0001, 0, "ecx") => &[
            (0, "lahf_lm"),
            (5, "lzcnt"),
            (6, "sse4a"),
            (8, "prefetchw"),
            (11, "xop"),
            (16, "fma4"),
            (21, "tbm"),
        ],
        (0x8000_0001, 0, "edx") => &[
            (11, "syscall"),
            (20, "nx"),
            (26, "pdpe1gb"),
            (27, "rdtscp"),
            (29, "lm"),
        ],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(leaves: &[(u32, u32, [u32; 4])]) -> CpuInfo {
        CpuInfo {
            cpuid: leaves
                .iter()
                .map(|&(leaf, subleaf, [eax, ebx, ecx, edx])| CpuidLeaf {
                    leaf,
                    subleaf,
                    eax,
                    ebx,
                    ecx,
                    edx,
                })
                .collect(),
            ..CpuInfo::default()
        }
    }

    #[test]
    fn the_same_cpu_on_another_core_matches() {
        let here = cpu(&[(1, 0, [0x906ea, 0x0110_0800, 0x7ffa_fbff, 0xbfeb_fbff])]);
        let recorded = cpu(&[(1, 0, [0x906ea, 0x0510_0800, 0x7ffa_fbff, 0xbfeb_fbff])]);
        assert!(differences(&recorded, &here).is_empty());
    }

    #[test]
    fn features_are_named_both_ways_and_other_leaves_described() {
        let avx2 = 1 << 5;
        let bmi2 = 1 << 8;
        let rdpid = 1 << 22;
        let recorded = cpu(&[
            (7, 0, [0, avx2 | bmi2, 0, 0]),
            (4, 1, [0x121, 0x1c0_003f, 0x3f, 0]),
            (0x14, 0, [1, 0, 0, 0]),
        ]);
        let here = cpu(&[
            (7, 0, [0, bmi2, rdpid, 0]),
            (4, 1, [0x122, 0x1c0_003f, 0x3f, 0]),
        ]);
        let found = differences(&recorded, &here).join("; ");
        assert!(found.contains("missing here: avx2"), "{found}");
        assert!(
            found.contains("here but not in the recording: rdpid"),
            "{found}"
        );
        assert!(
            found.contains("the cache description (cpuid 0x4.1 eax)"),
            "{found}"
        );
        // A leaf this machine lacks reads as zeros.
        assert!(
            found.contains("the trace features (cpuid 0x14.0 eax)"),
            "{found}"
        );
        assert!(!found.contains("bmi2"), "{found}");
    }

    #[test]
    fn an_unnamed_feature_bit_is_named_by_its_place() {
        let recorded = cpu(&[(7, 0, [0, 0, 0, 1 << 31])]);
        let here = cpu(&[(7, 0, [0, 0, 0, 0])]);
        let found = differences(&recorded, &here).join("; ");
        assert!(found.contains("cpuid 0x7.0 edx bit 31"), "{found}");
    }

    #[test]
    fn this_machine_matches_itself() {
        let here = tracee::cpu::cpu_info();
        assert!(differences(&here, &tracee::cpu::cpu_info()).is_empty());
    }
}
