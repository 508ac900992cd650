//! Outputs of syscalls whose memory writes depend on a command argument:
//! the System V IPC controls, quotactl and keyctl. `None` means a command
//! rewind cannot describe.

use super::Output::{self, *};

/// `IPC_64`, which libc may add to the command of the IPC controls.
const IPC_64: u64 = 0x100;

/// The command of shmctl, semctl or msgctl (`number`).
pub fn command(number: u32, args: [u64; 6]) -> u64 {
    let raw = if number as i64 == libc::SYS_semctl {
        args[2]
    } else {
        args[1]
    };
    raw & !IPC_64
}

/// What shmctl, semctl or msgctl (`number`) writes. semctl's GETALL fills
/// one unsigned short per semaphore; `semaphores` says how many the set
/// has, when known.
pub fn control_outputs(
    number: u32,
    args: [u64; 6],
    semaphores: Option<u64>,
) -> Option<Vec<Output>> {
    let cmd = command(number, args) as i32;
    let fixed = |arg: u8, len: u32| Some(vec![Fixed { arg, len }]);
    match number as i64 {
        libc::SYS_shmctl => match cmd {
            libc::IPC_STAT | SHM_STAT | SHM_STAT_ANY => fixed(2, 112),
            libc::IPC_INFO => fixed(2, 72),
            SHM_INFO => fixed(2, 48),
            libc::IPC_SET | libc::IPC_RMID | SHM_LOCK | SHM_UNLOCK => Some(Vec::new()),
            _ => None,
        },
        libc::SYS_semctl => match cmd {
            // The fourth argument is the union semun, passed by value.
            libc::IPC_STAT | SEM_STAT | SEM_STAT_ANY => fixed(3, 104),
            libc::IPC_INFO | SEM_INFO => fixed(3, 40),
            GETALL => semaphores.map(|n| {
                vec![Fixed {
                    arg: 3,
                    len: (n * 2) as u32,
                }]
            }),
            libc::IPC_SET
            | libc::IPC_RMID
            | GETPID
            | GETVAL
            | GETNCNT
            | GETZCNT
            | SETVAL
            | SETALL => Some(Vec::new()),
            _ => None,
        },
        libc::SYS_msgctl => match cmd {
            libc::IPC_STAT | MSG_STAT | MSG_STAT_ANY => fixed(2, 120),
            libc::IPC_INFO | MSG_INFO => fixed(2, 32),
            libc::IPC_SET | libc::IPC_RMID => Some(Vec::new()),
            _ => None,
        },
        _ => None,
    }
}

const SHM_LOCK: i32 = 11;
const SHM_UNLOCK: i32 = 12;
const SHM_STAT: i32 = 13;
const SHM_INFO: i32 = 14;
const SHM_STAT_ANY: i32 = 15;
const GETPID: i32 = 11;
const GETVAL: i32 = 12;
const GETALL: i32 = 13;
const GETNCNT: i32 = 14;
const GETZCNT: i32 = 15;
const SETVAL: i32 = 16;
const SETALL: i32 = 17;
const SEM_STAT: i32 = 18;
const SEM_INFO: i32 = 19;
const SEM_STAT_ANY: i32 = 20;
const MSG_STAT: i32 = 11;
const MSG_INFO: i32 = 12;
const MSG_STAT_ANY: i32 = 13;

/// Whether semctl (`number`, `args`) is a GETALL, which needs the size of
/// the set.
pub fn is_semctl_getall(number: u32, args: [u64; 6]) -> bool {
    number as i64 == libc::SYS_semctl && command(number, args) as i32 == GETALL
}

/// How many semaphores set `semid` has, from `/proc/sysvipc/sem` (whose
/// columns are key, semid, perms, nsems, ...), as this process's IPC
/// namespace sees it.
pub fn semaphore_count(semid: u64) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/sysvipc/sem").ok()?;
    table.lines().skip(1).find_map(|line| {
        let columns: Vec<&str> = line.split_whitespace().collect();
        (columns.get(1)?.parse::<u64>().ok()? == semid).then_some(())?;
        columns.get(3)?.parse().ok()
    })
}

/// The subcommand of quotactl (`QCMD(cmd, type)` in its first argument)
/// or quotactl_fd (the command itself, in its second).
pub fn quota_command(number: u32, args: [u64; 6]) -> u64 {
    if number as i64 == libc::SYS_quotactl {
        (args[0] & 0xffff_ffff) >> 8
    } else {
        (args[1] & 0xffff_ffff) >> 8
    }
}

/// What quotactl or quotactl_fd writes at its `addr` argument.
pub fn quotactl_outputs(number: u32, args: [u64; 6]) -> Option<Vec<Output>> {
    let fixed = |len: u32| Some(vec![Fixed { arg: 3, len }]);
    match quota_command(number, args) {
        // Q_GETFMT, Q_GETINFO (if_dqinfo), Q_GETQUOTA (if_dqblk),
        // Q_GETNEXTQUOTA (if_nextdqblk).
        0x80_0004 => fixed(4),
        0x80_0005 => fixed(24),
        0x80_0007 | 0x80_0009 => fixed(72),
        // Q_SYNC, Q_QUOTAON, Q_QUOTAOFF, Q_SETINFO, Q_SETQUOTA.
        0x80_0001..=0x80_0003 | 0x80_0006 | 0x80_0008 => Some(Vec::new()),
        // Q_XGETQUOTA, Q_XGETNEXTQUOTA (fs_disk_quota).
        0x58_03 | 0x58_09 => fixed(112),
        // Q_XQUOTAON, Q_XQUOTAOFF, Q_XSETQLIM, Q_XQUOTARM, Q_XQUOTASYNC.
        0x58_01 | 0x58_02 | 0x58_04 | 0x58_06 | 0x58_07 => Some(Vec::new()),
        _ => None,
    }
}

/// What keyctl command `cmd` writes.
pub fn keyctl_outputs(cmd: u64) -> Option<&'static [Output]> {
    const NONE: &[Output] = &[];
    // The kernel returns the full size and copies what fits.
    const BUFFER_2: &[Output] = &[ResultBytesUpTo { arg: 2, size: 3 }];
    const BUFFER_1: &[Output] = &[ResultBytesUpTo { arg: 1, size: 2 }];
    match cmd {
        // DESCRIBE, READ, GET_SECURITY, DH_COMPUTE.
        6 | 11 | 17 | 23 => Some(BUFFER_2),
        // CAPABILITIES.
        31 => Some(BUFFER_1),
        // GET_KEYRING_ID, JOIN_SESSION_KEYRING, UPDATE, REVOKE, CHOWN,
        // SETPERM, CLEAR, LINK, UNLINK, SEARCH, INSTANTIATE, NEGATE,
        // SET_REQKEY_KEYRING, SET_TIMEOUT, ASSUME_AUTHORITY,
        // SESSION_TO_PARENT, REJECT, INSTANTIATE_IOV, INVALIDATE,
        // GET_PERSISTENT, RESTRICT_KEYRING, MOVE, WATCH_KEY.
        0..=5 | 7..=10 | 12..=16 | 18..=22 | 29 | 30 | 32 => Some(NONE),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipc_commands_ignore_ipc_64() {
        let args = [7, (libc::IPC_STAT as u64) | IPC_64, 0x1000, 0, 0, 0];
        assert_eq!(
            control_outputs(libc::SYS_shmctl as u32, args, None),
            Some(vec![Fixed { arg: 2, len: 112 }])
        );
    }

    #[test]
    fn getall_needs_the_set_size() {
        let args = [7, 0, GETALL as u64, 0x1000, 0, 0];
        assert!(is_semctl_getall(libc::SYS_semctl as u32, args));
        assert_eq!(control_outputs(libc::SYS_semctl as u32, args, None), None);
        assert_eq!(
            control_outputs(libc::SYS_semctl as u32, args, Some(3)),
            Some(vec![Fixed { arg: 3, len: 6 }])
        );
    }

    #[test]
    fn quota_subcommands_are_decoded_from_qcmd() {
        // QCMD(Q_GETQUOTA, USRQUOTA)
        let args = [0x80_0007 << 8, 0, 0, 0x2000, 0, 0];
        assert_eq!(
            quotactl_outputs(libc::SYS_quotactl as u32, args),
            Some(vec![Fixed { arg: 3, len: 72 }])
        );
    }
}
