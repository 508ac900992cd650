//! The ioctl requests rewind can describe: what each writes into the
//! program's memory through its third argument. Each is described by hand
//! from the kernel's code, not from the size in its `_IOC` number: old
//! requests (the terminal ones) carry no size, some write less than their
//! number says (FS_IOC_GETFLAGS writes an int), and some carry pointers to
//! further buffers (SIOCGIFCONF, FS_IOC_FIEMAP, FIDEDUPERANGE).
//!
//! A request missing here that the kernel refused wrote nothing and is
//! recorded as refused (see `refusal_wrote_nothing`); one that succeeded
//! stops the recording, by name.

use super::Output::{self, *};

/// One ioctl request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoctlSpec {
    pub request: u32,
    pub name: &'static str,
    pub outputs: &'static [Output],
}

const NONE: &[Output] = &[];
const INT: &[Output] = &[Fixed { arg: 2, len: 4 }];
const LONG: &[Output] = &[Fixed { arg: 2, len: 8 }];
/// struct termios as the kernel copies it (no speed fields).
const TERMIOS: &[Output] = &[Fixed { arg: 2, len: 36 }];
const TERMIOS2: &[Output] = &[Fixed { arg: 2, len: 44 }];
const TERMIO: &[Output] = &[Fixed { arg: 2, len: 18 }];
const WINSIZE: &[Output] = &[Fixed { arg: 2, len: 8 }];
const IFREQ: &[Output] = &[Fixed { arg: 2, len: 40 }];
const TIMEVAL: &[Output] = &[Fixed { arg: 2, len: 16 }];

const fn ioctl(request: u32, name: &'static str, outputs: &'static [Output]) -> IoctlSpec {
    IoctlSpec {
        request,
        name,
        outputs,
    }
}

/// Sorted by request number.
pub static IOCTLS: &[IoctlSpec] = &[
    ioctl(0x0000_0001, "FIBMAP", INT),
    ioctl(0x0000_0002, "FIGETBSZ", INT),
    ioctl(0x0000_125e, "BLKROGET", INT),
    ioctl(0x0000_1260, "BLKGETSIZE", LONG),
    ioctl(0x0000_1268, "BLKSSZGET", INT),
    ioctl(0x0000_1278, "BLKIOMIN", INT),
    ioctl(0x0000_1279, "BLKIOOPT", INT),
    ioctl(0x0000_127b, "BLKPBSZGET", INT),
    ioctl(0x0000_2400, "PERF_EVENT_IOC_ENABLE", NONE),
    ioctl(0x0000_2401, "PERF_EVENT_IOC_DISABLE", NONE),
    ioctl(0x0000_2402, "PERF_EVENT_IOC_REFRESH", NONE),
    ioctl(0x0000_2403, "PERF_EVENT_IOC_RESET", NONE),
    ioctl(0x0000_2405, "PERF_EVENT_IOC_SET_OUTPUT", NONE),
    ioctl(0x0000_5401, "TCGETS", TERMIOS),
    ioctl(0x0000_5402, "TCSETS", NONE),
    ioctl(0x0000_5403, "TCSETSW", NONE),
    ioctl(0x0000_5404, "TCSETSF", NONE),
    ioctl(0x0000_5405, "TCGETA", TERMIO),
    ioctl(0x0000_5406, "TCSETA", NONE),
    ioctl(0x0000_5407, "TCSETAW", NONE),
    ioctl(0x0000_5408, "TCSETAF", NONE),
    ioctl(0x0000_5409, "TCSBRK", NONE),
    ioctl(0x0000_540a, "TCXONC", NONE),
    ioctl(0x0000_540b, "TCFLSH", NONE),
    ioctl(0x0000_540c, "TIOCEXCL", NONE),
    ioctl(0x0000_540d, "TIOCNXCL", NONE),
    ioctl(0x0000_540e, "TIOCSCTTY", NONE),
    ioctl(0x0000_540f, "TIOCGPGRP", INT),
    ioctl(0x0000_5410, "TIOCSPGRP", NONE),
    ioctl(0x0000_5411, "TIOCOUTQ", INT),
    ioctl(0x0000_5412, "TIOCSTI", NONE),
    ioctl(0x0000_5413, "TIOCGWINSZ", WINSIZE),
    ioctl(0x0000_5414, "TIOCSWINSZ", NONE),
    ioctl(0x0000_5415, "TIOCMGET", INT),
    ioctl(0x0000_5416, "TIOCMBIS", NONE),
    ioctl(0x0000_5417, "TIOCMBIC", NONE),
    ioctl(0x0000_5418, "TIOCMSET", NONE),
    ioctl(0x0000_5419, "TIOCGSOFTCAR", INT),
    ioctl(0x0000_541a, "TIOCSSOFTCAR", NONE),
    ioctl(0x0000_541b, "FIONREAD", INT),
    ioctl(0x0000_541d, "TIOCCONS", NONE),
    ioctl(0x0000_5420, "TIOCPKT", NONE),
    ioctl(0x0000_5421, "FIONBIO", NONE),
    ioctl(0x0000_5422, "TIOCNOTTY", NONE),
    ioctl(0x0000_5423, "TIOCSETD", NONE),
    ioctl(0x0000_5424, "TIOCGETD", INT),
    ioctl(0x0000_5425, "TCSBRKP", NONE),
    ioctl(0x0000_5427, "TIOCSBRK", NONE),
    ioctl(0x0000_5428, "TIOCCBRK", NONE),
    ioctl(0x0000_5429, "TIOCGSID", INT),
    ioctl(0x0000_5437, "TIOCVHANGUP", NONE),
    ioctl(0x0000_5441, "TIOCGPTPEER", NONE),
    ioctl(0x0000_5450, "FIONCLEX", NONE),
    ioctl(0x0000_5451, "FIOCLEX", NONE),
    ioctl(0x0000_5452, "FIOASYNC", NONE),
    ioctl(0x0000_5459, "TIOCSERGETLSR", INT),
    ioctl(0x0000_5460, "FIOQSIZE", LONG),
    ioctl(0x0000_8901, "FIOSETOWN", NONE),
    ioctl(0x0000_8902, "SIOCSPGRP", NONE),
    ioctl(0x0000_8903, "FIOGETOWN", INT),
    ioctl(0x0000_8904, "SIOCGPGRP", INT),
    ioctl(0x0000_8905, "SIOCATMARK", INT),
    ioctl(0x0000_8906, "SIOCGSTAMP", TIMEVAL),
    ioctl(0x0000_8907, "SIOCGSTAMPNS", TIMEVAL),
    ioctl(0x0000_8910, "SIOCGIFNAME", IFREQ),
    ioctl(0x0000_8912, "SIOCGIFCONF", &[IfConf { arg: 2 }]),
    ioctl(0x0000_8913, "SIOCGIFFLAGS", IFREQ),
    ioctl(0x0000_8914, "SIOCSIFFLAGS", NONE),
    ioctl(0x0000_8915, "SIOCGIFADDR", IFREQ),
    ioctl(0x0000_8917, "SIOCGIFDSTADDR", IFREQ),
    ioctl(0x0000_8919, "SIOCGIFBRDADDR", IFREQ),
    ioctl(0x0000_891b, "SIOCGIFNETMASK", IFREQ),
    ioctl(0x0000_891d, "SIOCGIFMETRIC", IFREQ),
    ioctl(0x0000_8921, "SIOCGIFMTU", IFREQ),
    ioctl(0x0000_8927, "SIOCGIFHWADDR", IFREQ),
    ioctl(0x0000_8933, "SIOCGIFINDEX", IFREQ),
    ioctl(0x0000_8942, "SIOCGIFTXQLEN", IFREQ),
    ioctl(0x0000_894b, "SIOCOUTQNSD", INT),
    ioctl(0x0000_b701, "NS_GET_USERNS", NONE),
    ioctl(0x0000_b702, "NS_GET_PARENT", NONE),
    ioctl(0x0000_b703, "NS_GET_NSTYPE", NONE),
    ioctl(0x0000_b704, "NS_GET_OWNER_UID", INT),
    ioctl(0x4004_2408, "PERF_EVENT_IOC_SET_BPF", NONE),
    ioctl(0x4004_2409, "PERF_EVENT_IOC_PAUSE_OUTPUT", NONE),
    ioctl(0x4004_5431, "TIOCSPTLCK", NONE),
    ioctl(0x4004_5436, "TIOCSIG", NONE),
    // Writes the interface name back into the ifreq.
    ioctl(0x4004_54ca, "TUNSETIFF", IFREQ),
    ioctl(0x4004_9409, "FICLONE", NONE),
    ioctl(0x4008_2404, "PERF_EVENT_IOC_PERIOD", NONE),
    ioctl(0x4008_2406, "PERF_EVENT_IOC_SET_FILTER", NONE),
    ioctl(0x4008_240b, "PERF_EVENT_IOC_MODIFY_ATTRIBUTES", NONE),
    ioctl(0x4008_6602, "FS_IOC_SETFLAGS", NONE),
    ioctl(0x4008_7602, "FS_IOC_SETVERSION", NONE),
    ioctl(0x401c_5820, "FS_IOC_FSSETXATTR", NONE),
    ioctl(0x4020_940d, "FICLONERANGE", NONE),
    ioctl(0x402c_542b, "TCSETS2", NONE),
    ioctl(0x402c_542c, "TCSETSW2", NONE),
    ioctl(0x402c_542d, "TCSETSF2", NONE),
    ioctl(0x8004_5200, "RNDGETENTCNT", INT),
    ioctl(0x8004_5430, "TIOCGPTN", INT),
    ioctl(0x8004_5432, "TIOCGDEV", INT),
    ioctl(0x8004_5438, "TIOCGPKT", INT),
    ioctl(0x8004_5439, "TIOCGPTLCK", INT),
    ioctl(0x8004_5440, "TIOCGEXCL", INT),
    ioctl(0x8008_1270, "BLKBSZGET", LONG),
    ioctl(0x8008_1272, "BLKGETSIZE64", LONG),
    ioctl(0x8008_2407, "PERF_EVENT_IOC_ID", LONG),
    // Declared with a long, but the kernel copies an int.
    ioctl(0x8008_6601, "FS_IOC_GETFLAGS", INT),
    ioctl(0x8008_7601, "FS_IOC_GETVERSION", INT),
    ioctl(
        0x8011_1500,
        "FS_IOC_GETFSUUID",
        &[Fixed { arg: 2, len: 17 }],
    ),
    ioctl(
        0x801c_581f,
        "FS_IOC_FSGETXATTR",
        &[Fixed { arg: 2, len: 28 }],
    ),
    ioctl(0x802c_542a, "TCGETS2", TERMIOS2),
    ioctl(
        0x8081_1501,
        "FS_IOC_GETFSSYSFSPATH",
        &[Fixed { arg: 2, len: 129 }],
    ),
    ioctl(
        0x8100_9431,
        "FS_IOC_GETFSLABEL",
        &[Fixed { arg: 2, len: 256 }],
    ),
    ioctl(0xc018_9436, "FIDEDUPERANGE", &[DedupeRange { arg: 2 }]),
    ioctl(0xc020_660b, "FS_IOC_FIEMAP", &[Fiemap { arg: 2 }]),
];

/// The description of ioctl `request`.
pub fn lookup(request: u32) -> Option<&'static IoctlSpec> {
    let index = IOCTLS.binary_search_by_key(&request, |s| s.request).ok()?;
    IOCTLS.get(index)
}

/// Whether an ioctl that failed with `errno` is known to have left memory
/// alone: these are the kernel's answers to a request the file does not
/// implement (ENOTTY, EINVAL, EOPNOTSUPP), cannot serve here (EXDEV,
/// ENODEV, ENOSYS), or refuses before doing anything (EBADF, EPERM,
/// EACCES).
pub fn refusal_wrote_nothing(errno: i32) -> bool {
    matches!(
        errno,
        libc::ENOTTY
            | libc::EINVAL
            | libc::EOPNOTSUPP
            | libc::EXDEV
            | libc::ENODEV
            | libc::ENOSYS
            | libc::EBADF
            | libc::EPERM
            | libc::EACCES
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_sorted_and_unique() {
        for pair in IOCTLS.windows(2) {
            assert!(
                pair[0].request < pair[1].request,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
    }

    #[test]
    fn numbers_agree_with_libc() {
        let known: &[(u64, &str)] = &[
            (libc::TCGETS, "TCGETS"),
            (libc::TCSETS, "TCSETS"),
            (libc::TIOCGWINSZ, "TIOCGWINSZ"),
            (libc::TIOCGPGRP, "TIOCGPGRP"),
            (libc::FIONREAD, "FIONREAD"),
            (libc::FIONBIO, "FIONBIO"),
            (libc::FIOCLEX, "FIOCLEX"),
            (libc::TIOCGPTN, "TIOCGPTN"),
            (libc::SIOCGIFCONF, "SIOCGIFCONF"),
            (libc::SIOCGIFINDEX, "SIOCGIFINDEX"),
            (libc::FICLONE, "FICLONE"),
            (libc::FICLONERANGE, "FICLONERANGE"),
            (libc::FS_IOC_GETFLAGS, "FS_IOC_GETFLAGS"),
            (libc::TCGETS2, "TCGETS2"),
        ];
        for &(request, name) in known {
            let spec = lookup(request as u32).unwrap_or_else(|| panic!("no entry for {name}"));
            assert_eq!(spec.name, name);
        }
    }

    #[test]
    fn outputs_use_the_third_argument() {
        for spec in IOCTLS {
            for output in spec.outputs {
                assert!(
                    matches!(
                        output,
                        Fixed { arg: 2, .. }
                            | IfConf { arg: 2 }
                            | Fiemap { arg: 2 }
                            | DedupeRange { arg: 2 }
                    ),
                    "{}",
                    spec.name
                );
            }
        }
    }
}
