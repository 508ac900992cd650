//! Which syscalls the library buffers, and how each one's output reaches
//! the program: the kernel writes into the record, and the library copies
//! it out afterwards, so no other thread sees the call's writes before the
//! recorder could record them (the scratch-buffer rule).
//!
//! A buffered call never stops the thread, so the recorder sees it block
//! only where it counts the thread's context switches (the buffer's
//! registration says so): then reads and writes of pipes, sockets and
//! terminals go through the buffer too, and a blocked one is moved to the
//! traced way by rewind. Otherwise the library buffers reads and writes
//! only on descriptors that cannot block (regular files, and the
//! character devices that never wait). An fstat through the buffer tells
//! it which kind a descriptor is; opens go through only where a stat
//! through the buffer says a regular file or a directory is there (a
//! FIFO's or a terminal's open may wait), or nothing yet.

use crate::abi;
use crate::kernel;

/// Where a call writes its output, at most how much, and which argument
/// carries the pointer (replaced by the record's output area).
struct Output {
    pointer_arg: usize,
    max: usize,
    written: Written,
    input: Input,
}

/// What of the program's memory the call also reads through its output
/// pointer (an array that is both), copied into the record's area first.
#[derive(Clone, Copy)]
enum Input {
    None,
    /// The first `fields` bytes of each `item`-byte element: the ones the
    /// kernel only reads. The rest, which it writes, stay as the area has
    /// them: in replay that is the recorded output, laid in before the
    /// call, which a copy of the whole element would overwrite.
    Leading {
        item: usize,
        fields: usize,
    },
}

/// How much of its output a successful call wrote.
#[derive(Clone, Copy)]
enum Written {
    /// All `max` bytes (a struct).
    All,
    /// The result counts items of this many bytes (1: bytes).
    Items(usize),
}

enum Plan {
    /// The call writes no memory: only its result is recorded.
    ResultOnly,
    Writes(Output),
    /// readv and preadv: made as read and pread64 into the record's area,
    /// whose bytes then go out to the program's buffers in order.
    Scatter(Scatter),
}

/// The program's buffers of a readv, and the read that stands for it.
struct Scatter {
    iov: u64,
    count: usize,
    total: usize,
    kernel_nr: i64,
}

/// At most this many buffers in a readv through the buffer; more take the
/// traced way.
const SCATTER_MAX: usize = 16;

/// What the descriptor in the first argument must be for the call to go
/// through the buffer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Descriptor {
    Any,
    /// No descriptor, but the call may wait on another thread (a futex
    /// wait): only where rewind hears the thread block.
    MayWait,
    /// One whose reads cannot block.
    Readable,
    /// One whose writes cannot block (or rewind hears them block), not a
    /// file mapped shared, and not one whose output replay shows again.
    Writable,
    /// A regular file or a directory (closing a socket may linger).
    Closable,
    /// The call opens the path in the second argument, from the directory
    /// descriptor in the first, with the flags in the third: nothing there
    /// yet, a regular file or a directory; never truncating, which the
    /// recorder follows on the traced way (a file mapped shared).
    Opened,
}

const STAT_LEN: usize = 144;
const UTSNAME_LEN: usize = 390;
const RLIMIT_LEN: usize = 16;
const RUSAGE_LEN: usize = 144;
const SYSINFO_LEN: usize = 112;
const F_DUPFD: u64 = 0;
const F_GETFD: u64 = 1;
const F_SETFD: u64 = 2;
const F_GETFL: u64 = 3;
const F_SETFL: u64 = 4;
const F_DUPFD_CLOEXEC: u64 = 1030;
const TERMIOS_LEN: usize = 36;
const WINSIZE_LEN: usize = 8;
const TCGETS: u64 = 0x5401;
const TIOCGWINSZ: u64 = 0x5413;
const FIONREAD: u64 = 0x541b;
const STATX_LEN: usize = 256;
const TIMESPEC_LEN: usize = 16;

fn counted(pointer_arg: usize, max: u64) -> Option<Plan> {
    Some(Plan::Writes(Output {
        pointer_arg,
        max: usize::try_from(max).ok()?,
        written: Written::Items(1),
        input: Input::None,
    }))
}

fn fixed(pointer_arg: usize, len: usize) -> Plan {
    Plan::Writes(Output {
        pointer_arg,
        max: len,
        written: Written::All,
        input: Input::None,
    })
}

/// An output of up to `count` items of `size` bytes, the result counting
/// those written.
fn items(pointer_arg: usize, count: u64, size: usize) -> Option<Plan> {
    Some(Plan::Writes(Output {
        pointer_arg,
        max: usize::try_from(count).ok()?.checked_mul(size)?,
        written: Written::Items(size),
        input: Input::None,
    }))
}

/// poll's array of `count` pollfds: the kernel reads each one's fd and
/// events and writes its revents, all of them whatever the result.
fn pollfds(count: u64) -> Option<Plan> {
    Some(Plan::Writes(Output {
        pointer_arg: 0,
        max: usize::try_from(count).ok()?.checked_mul(POLLFD_LEN)?,
        written: Written::All,
        input: Input::Leading {
            item: POLLFD_LEN,
            fields: POLLFD_INPUT_LEN,
        },
    }))
}

/// The plan of a readv or preadv, whose buffers the program's iovec array
/// names; None (the traced way) for more than `SCATTER_MAX` or a null one.
fn scatter(nr: i64, args: &[u64; 6]) -> Option<Plan> {
    let count = usize::try_from(args[2]).ok()?;
    if args[1] == 0 || count > SCATTER_MAX {
        return None;
    }
    let mut total = 0usize;
    for i in 0..count {
        let (base, len) = iovec(args[1], i);
        if base == 0 && len != 0 {
            return None;
        }
        total = total.checked_add(usize::try_from(len).ok()?)?;
    }
    Some(Plan::Scatter(Scatter {
        iov: args[1],
        count,
        total,
        kernel_nr: if nr == nr::READV {
            nr::READ
        } else {
            nr::PREAD64
        },
    }))
}

/// Entry `i` of the iovec array at `iov`: (base, length).
fn iovec(iov: u64, i: usize) -> (u64, u64) {
    let at = (iov as usize).wrapping_add(16 * i) as *const u64;
    // SAFETY: the program passed `iov` as an array of at least `i + 1`
    // iovecs, which the kernel would have read too (a bad pointer faults
    // here instead of giving EFAULT, as a bad buffer does).
    unsafe {
        (
            core::ptr::read_unaligned(at),
            core::ptr::read_unaligned(at.wrapping_add(1)),
        )
    }
}

fn plan(nr: i64, args: &[u64; 6]) -> Option<(Plan, Descriptor)> {
    use Descriptor::{Any, Closable, MayWait, Opened, Readable, Writable};
    match nr {
        nr::OPENAT => Some((Plan::ResultOnly, Opened)),
        nr::CLOSE if args[0] > 2 => Some((Plan::ResultOnly, Closable)),
        nr::GETXATTR | nr::LGETXATTR | nr::FGETXATTR => Some((counted(2, args[3])?, Any)),
        // Descriptor flags and copies; F_SETLKW, which waits, and the
        // locks stay traced.
        nr::FCNTL => match args[1] {
            F_DUPFD | F_GETFD | F_SETFD | F_GETFL | F_SETFL | F_DUPFD_CLOEXEC => {
                Some((Plan::ResultOnly, Any))
            }
            _ => None,
        },
        nr::UNAME => Some((fixed(0, UTSNAME_LEN), Any)),
        nr::GETCWD => Some((counted(0, args[1])?, Any)),
        nr::GETRLIMIT => Some((fixed(1, RLIMIT_LEN), Any)),
        nr::GETRUSAGE => Some((fixed(1, RUSAGE_LEN), Any)),
        nr::SYSINFO => Some((fixed(0, SYSINFO_LEN), Any)),
        nr::SCHED_GETAFFINITY => Some((counted(2, args[1])?, Any)),
        nr::GETRANDOM => Some((counted(0, args[1])?, Any)),
        // The queries that never wait: isatty's, a terminal's size, the
        // bytes ready to read.
        nr::IOCTL => match args[1] & 0xffff_ffff {
            TCGETS => Some((fixed(2, TERMIOS_LEN), Any)),
            TIOCGWINSZ => Some((fixed(2, WINSIZE_LEN), Any)),
            FIONREAD => Some((fixed(2, 4), Any)),
            _ => None,
        },
        nr::LISTXATTR | nr::LLISTXATTR | nr::FLISTXATTR => Some((counted(1, args[2])?, Any)),
        nr::READ | nr::PREAD64 => Some((counted(1, args[2])?, Readable)),
        nr::WRITE | nr::PWRITE64 | nr::WRITEV | nr::PWRITEV => Some((Plan::ResultOnly, Writable)),
        nr::READV | nr::PREADV => Some((scatter(nr, args)?, Readable)),
        // The destination address and the message are the call's input;
        // a received one's sender would be a second output.
        nr::SENDTO | nr::SENDMSG => Some((Plan::ResultOnly, Writable)),
        nr::RECVFROM if args[4] == 0 => Some((counted(1, args[2])?, Readable)),
        // Ready events of an epoll set, 12 bytes each. epoll_pwait and
        // epoll_pwait2 only without a signal mask (which would change
        // during the wait): then they are epoll_wait, epoll_pwait2's
        // timeout a timespec the kernel only reads.
        nr::EPOLL_WAIT => Some((items(1, args[2], EPOLL_EVENT_LEN)?, MayWait)),
        nr::EPOLL_PWAIT | nr::EPOLL_PWAIT2 if args[4] == 0 => {
            Some((items(1, args[2], EPOLL_EVENT_LEN)?, MayWait))
        }
        // ppoll only without a signal mask and without a timeout, which
        // the kernel writes back (the time left) where the record's area
        // could not hold it for replay: then it is poll waiting for ever.
        nr::POLL => Some((pollfds(args[1])?, MayWait)),
        nr::PPOLL if args[2] == 0 && args[3] == 0 => Some((pollfds(args[1])?, MayWait)),
        // A connection of a listening socket, without the peer's address
        // (whose length is both input and output).
        nr::ACCEPT | nr::ACCEPT4 if args[1] == 0 && args[2] == 0 => {
            Some((Plan::ResultOnly, Readable))
        }
        // Waits and wakes, which change no memory; not the operations that
        // write the futex word (the PI ones, FUTEX_WAKE_OP).
        nr::FUTEX => match args[1] & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) {
            FUTEX_WAKE | FUTEX_WAKE_BITSET => Some((Plan::ResultOnly, Any)),
            FUTEX_WAIT | FUTEX_WAIT_BITSET => Some((Plan::ResultOnly, MayWait)),
            _ => None,
        },
        nr::FSTAT | nr::STAT | nr::LSTAT => Some((fixed(1, STAT_LEN), Any)),
        nr::NEWFSTATAT => Some((fixed(2, STAT_LEN), Any)),
        nr::STATX => Some((fixed(4, STATX_LEN), Any)),
        nr::GETDENTS64 | nr::READLINK => Some((counted(1, args[2])?, Any)),
        nr::READLINKAT => Some((counted(2, args[3])?, Any)),
        nr::CLOCK_GETTIME => Some((fixed(1, TIMESPEC_LEN), Any)),
        // Only without the obsolete time zone, which would be a second
        // output.
        nr::GETTIMEOFDAY if args[1] == 0 => Some((fixed(0, TIMESPEC_LEN), Any)),
        nr::ACCESS
        | nr::DUP
        | nr::DUP2
        | nr::DUP3
        | nr::UMASK
        | nr::FADVISE64
        | nr::FACCESSAT
        | nr::FACCESSAT2
        | nr::LSEEK
        | nr::GETPID
        | nr::GETPPID
        | nr::GETTID
        | nr::GETUID
        | nr::GETEUID
        | nr::GETGID
        | nr::GETEGID => Some((Plan::ResultOnly, Any)),
        _ => None,
    }
}

/// Runs the call through `buffer` when it is one the library buffers and
/// fits, and returns its result.
///
/// # Safety
/// `buffer` must be the running thread's alone; the call's pointers are
/// the program's, as the kernel would have used them.
pub unsafe fn buffered(buffer: &mut [u8], nr: i64, args: [u64; 6]) -> Option<i64> {
    // A call from a signal handler that interrupted another inside the
    // library would reserve the same record: it takes the traced way.
    if abi::busy(buffer) {
        return None;
    }
    // open(path, flags, mode) is openat(AT_FDCWD, path, flags, mode).
    let (nr, args) = match nr {
        nr::OPEN => (nr::OPENAT, [AT_FDCWD, args[0], args[1], args[2], 0, 0]),
        _ => (nr, args),
    };
    let (plan, descriptor) = plan(nr, &args)?;
    // SAFETY: the buffer is the thread's (caller).
    let allowed = unsafe {
        match descriptor {
            Descriptor::Any => true,
            Descriptor::MayWait => abi::blocking_allowed(buffer),
            Descriptor::Opened => open_allowed(buffer, args),
            _ => descriptor_allows(buffer, args[0], descriptor),
        }
    };
    if !allowed {
        return None;
    }
    // SAFETY: as for this function.
    unsafe { run(buffer, nr, args, &plan) }
}

/// Whether the open of `args` (openat's) may go through the buffer: a
/// stat of the path, itself buffered, says what is there.
///
/// # Safety
/// As for `buffered`.
unsafe fn open_allowed(buffer: &mut [u8], args: [u64; 6]) -> bool {
    if args[2] & O_TRUNC != 0 {
        return false;
    }
    let mut stat = [0u8; STAT_LEN];
    let follow = if args[2] & O_NOFOLLOW != 0 {
        AT_SYMLINK_NOFOLLOW
    } else {
        0
    };
    let stat_args = [args[0], args[1], stat.as_mut_ptr() as u64, follow, 0, 0];
    // SAFETY: newfstatat writes `stat`, which the record's area stands in
    // for, and reads the program's path as the open would.
    match unsafe { run(buffer, nr::NEWFSTATAT, stat_args, &fixed(2, STAT_LEN)) } {
        Some(0) => matches!(stat_mode(&stat) & S_IFMT, S_IFREG | S_IFDIR),
        // Nothing there: the open fails, or creates a regular file.
        Some(result) => result == -ENOENT,
        None => false,
    }
}

/// The st_mode of a `struct stat`.
fn stat_mode(stat: &[u8; STAT_LEN]) -> u32 {
    stat.get(24..28)
        .and_then(|bytes| bytes.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

/// Whether the descriptor `fd` is one whose reads (or writes) may go
/// through the buffer: an fstat, itself buffered, says what it is.
///
/// # Safety
/// As for `buffered`.
unsafe fn descriptor_allows(buffer: &mut [u8], fd: u64, descriptor: Descriptor) -> bool {
    let mut stat = [0u8; STAT_LEN];
    let args = [fd, stat.as_mut_ptr() as u64, 0, 0, 0, 0];
    let plan = fixed(1, STAT_LEN);
    // SAFETY: fstat writes `stat`, which the record's area stands in for.
    if unsafe { run(buffer, nr::FSTAT, args, &plan) } != Some(0) {
        return false;
    }
    let word = |at: usize| {
        stat.get(at..at + 8)
            .and_then(|bytes| bytes.try_into().ok())
            .map_or(0, u64::from_le_bytes)
    };
    let (dev, ino, mode, rdev) = (word(0), word(8), word(24) as u32, word(40));
    if descriptor == Descriptor::Writable {
        // SAFETY: the rewind page is mapped (the caller's contract), and
        // rewind writes the table only while no thread runs.
        let echoed = unsafe {
            core::slice::from_raw_parts(abi::ECHOED_FILES as *const u8, abi::ECHOED_FILES_LEN)
        };
        // Output replay shows again stays traced: its event has the bytes.
        if abi::is_echoed(echoed, dev, ino) {
            return false;
        }
    }
    match mode & S_IFMT {
        S_IFREG => match descriptor {
            Descriptor::Writable => {
                // SAFETY: the rewind page is mapped (the caller's contract),
                // and rewind writes the table only while no thread runs.
                let table = unsafe {
                    core::slice::from_raw_parts(
                        abi::SHARED_FILES as *const u8,
                        abi::SHARED_FILES_LEN,
                    )
                };
                abi::may_write_through(table, dev, ino)
            }
            _ => true,
        },
        S_IFDIR => descriptor == Descriptor::Closable,
        S_IFCHR if NEVER_WAITING_DEVICES.contains(&rdev) => descriptor != Descriptor::Closable,
        // Reads and writes that may wait on someone else: only where
        // rewind hears the thread block, and lets others run meanwhile.
        S_IFCHR | S_IFIFO | S_IFSOCK => {
            descriptor != Descriptor::Closable && abi::blocking_allowed(buffer)
        }
        _ => false,
    }
}

/// Runs the call through a record of `buffer`, as `plan` says.
///
/// # Safety
/// As for `buffered`.
unsafe fn run(buffer: &mut [u8], nr: i64, args: [u64; 6], plan: &Plan) -> Option<i64> {
    let nr32 = u32::try_from(nr).ok()?;
    let output = match plan {
        Plan::ResultOnly | Plan::Scatter(_) => None,
        // A size of 0 asks how much there is (getxattr): nothing written.
        Plan::Writes(out) if out.max == 0 => None,
        Plan::Writes(out) => match *args.get(out.pointer_arg)? {
            // A null pointer gets EFAULT from the kernel, where the
            // record's area would not: the traced way gives it.
            0 => return None,
            to => Some((out, to as *mut u8)),
        },
    };
    let max = match plan {
        Plan::Scatter(scatter) => scatter.total,
        _ => output.map_or(0, |(out, _)| out.max),
    };
    let out_at = abi::reserve(buffer, nr32, args, max)?;
    // From here on every path commits or abandons: the buffer is busy
    // until then. `reserve` checked that `max` bytes from `out_at` lie in
    // the buffer.
    let out_area = buffer.as_mut_ptr().wrapping_add(out_at);
    let (kernel_nr, mut kernel_args) = match plan {
        Plan::Scatter(scatter) => (
            scatter.kernel_nr,
            [args[0], out_area as u64, max as u64, args[3], 0, 0],
        ),
        _ => (nr, args),
    };
    if let Some((out, from)) = output {
        if let Input::Leading { item, fields } = out.input {
            // SAFETY: the program passed `max` bytes of elements at `from`
            // for the kernel to read, as rr's library copies them too (an
            // invalid array faults here where the kernel would answer
            // EFAULT); the area holds `max` bytes and does not overlap.
            unsafe { copy_leading(from, out_area, out.max, item, fields) };
        }
        if let Some(pointer) = kernel_args.get_mut(out.pointer_arg) {
            *pointer = out_area as u64;
        }
    }
    let record = out_area.wrapping_sub(abi::RECORD_HEADER_LEN);
    // SAFETY: the only pointer the kernel may write through is the
    // record's output area, `max` bytes reserved in the buffer.
    let result = unsafe { kernel::untraced(kernel_nr, kernel_args, record) };
    if result == abi::RETRY {
        // It blocked, and rewind had it given up: the traced way makes it.
        abi::abandon(buffer);
        return None;
    }
    let kept = match (plan, output) {
        (Plan::Scatter(scatter), _) => {
            let kept = usize::try_from(result).unwrap_or(0).min(max);
            // SAFETY: the record's area holds `kept` bytes of the read.
            unsafe { scatter_out(out_area, kept, scatter) };
            kept
        }
        (_, Some((out, to))) if result >= 0 => {
            let written = match out.written {
                Written::All => out.max,
                Written::Items(size) => usize::try_from(result)
                    .unwrap_or(0)
                    .saturating_mul(size)
                    .min(out.max),
            };
            // SAFETY: the program asked the kernel to write `written` bytes
            // at `to`; the record's area holds them and does not overlap.
            unsafe { core::ptr::copy_nonoverlapping(out_area, to, written) };
            written
        }
        _ => 0,
    };
    abi::commit(buffer, out_at, result, kept);
    Some(result)
}

/// Copies the first `fields` bytes of each `item`-byte element of the
/// `len` bytes at `from` to the same places at `to`.
///
/// # Safety
/// `len` bytes are readable at `from` and writable at `to`, apart.
unsafe fn copy_leading(from: *const u8, to: *mut u8, len: usize, item: usize, fields: usize) {
    let mut at = 0;
    while at + item <= len {
        // SAFETY: the element lies within both `len`-byte ranges.
        unsafe { core::ptr::copy_nonoverlapping(from.add(at), to.add(at), fields) };
        at += item;
    }
}

/// Hands the `kept` bytes a readv's read left at `from` out to the
/// program's buffers in order.
///
/// # Safety
/// `from` must hold `kept` bytes; `scatter` describes the call's iovec
/// array, whose buffers do not overlap the record.
unsafe fn scatter_out(from: *const u8, kept: usize, scatter: &Scatter) {
    let mut copied = 0;
    for i in 0..scatter.count {
        if copied == kept {
            break;
        }
        let (base, len) = iovec(scatter.iov, i);
        let part = usize::try_from(len).unwrap_or(0).min(kept - copied);
        // SAFETY: the program's buffer `i` holds `len` bytes, `from` holds
        // `kept`, and the two do not overlap.
        unsafe { core::ptr::copy_nonoverlapping(from.wrapping_add(copied), base as *mut u8, part) };
        copied += part;
    }
}

const EPOLL_EVENT_LEN: usize = 12;
/// struct pollfd: int fd, short events (read), short revents (written).
const POLLFD_LEN: usize = 8;
const POLLFD_INPUT_LEN: usize = 6;
const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFCHR: u32 = 0o020_000;
const S_IFIFO: u32 = 0o010_000;
const S_IFSOCK: u32 = 0o140_000;
const O_TRUNC: u64 = 0o1000;
const O_NOFOLLOW: u64 = 0o400_000;
const AT_FDCWD: u64 = -100i64 as u64;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const ENOENT: i64 = 2;

/// /dev/null, zero, full, random and urandom (major 1), as st_rdev encodes
/// them: reads and writes on them return at once.
const NEVER_WAITING_DEVICES: [u64; 5] = [0x103, 0x105, 0x107, 0x108, 0x109];

/// Syscall numbers of x86-64 (the library has no libc crate to name them).
mod nr {
    pub const READ: i64 = 0;
    pub const WRITE: i64 = 1;
    pub const OPEN: i64 = 2;
    pub const CLOSE: i64 = 3;
    pub const STAT: i64 = 4;
    pub const FSTAT: i64 = 5;
    pub const LSTAT: i64 = 6;
    pub const LSEEK: i64 = 8;
    pub const PREAD64: i64 = 17;
    pub const PWRITE64: i64 = 18;
    pub const READV: i64 = 19;
    pub const WRITEV: i64 = 20;
    pub const SENDTO: i64 = 44;
    pub const RECVFROM: i64 = 45;
    pub const SENDMSG: i64 = 46;
    pub const FUTEX: i64 = 202;
    pub const EPOLL_WAIT: i64 = 232;
    pub const EPOLL_PWAIT: i64 = 281;
    pub const EPOLL_PWAIT2: i64 = 441;
    pub const POLL: i64 = 7;
    pub const PPOLL: i64 = 271;
    pub const ACCEPT: i64 = 43;
    pub const ACCEPT4: i64 = 288;
    pub const PREADV: i64 = 295;
    pub const PWRITEV: i64 = 296;
    pub const IOCTL: i64 = 16;
    pub const ACCESS: i64 = 21;
    pub const DUP: i64 = 32;
    pub const DUP2: i64 = 33;
    pub const UNAME: i64 = 63;
    pub const FCNTL: i64 = 72;
    pub const GETCWD: i64 = 79;
    pub const UMASK: i64 = 95;
    pub const GETRLIMIT: i64 = 97;
    pub const GETRUSAGE: i64 = 98;
    pub const SYSINFO: i64 = 99;
    pub const GETPID: i64 = 39;
    pub const READLINK: i64 = 89;
    pub const GETTIMEOFDAY: i64 = 96;
    pub const GETUID: i64 = 102;
    pub const GETGID: i64 = 104;
    pub const GETEUID: i64 = 107;
    pub const GETEGID: i64 = 108;
    pub const GETPPID: i64 = 110;
    pub const GETTID: i64 = 186;
    pub const SCHED_GETAFFINITY: i64 = 204;
    pub const FADVISE64: i64 = 221;
    pub const GETXATTR: i64 = 191;
    pub const LGETXATTR: i64 = 192;
    pub const FGETXATTR: i64 = 193;
    pub const LISTXATTR: i64 = 194;
    pub const LLISTXATTR: i64 = 195;
    pub const FLISTXATTR: i64 = 196;
    pub const GETDENTS64: i64 = 217;
    pub const CLOCK_GETTIME: i64 = 228;
    pub const OPENAT: i64 = 257;
    pub const NEWFSTATAT: i64 = 262;
    pub const READLINKAT: i64 = 267;
    pub const FACCESSAT: i64 = 269;
    pub const DUP3: i64 = 292;
    pub const GETRANDOM: i64 = 318;
    pub const STATX: i64 = 332;
    pub const FACCESSAT2: i64 = 439;
}
