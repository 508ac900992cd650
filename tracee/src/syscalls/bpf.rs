//! What bpf(2) writes: its attribute union (the kernel writes some fields
//! back, such as ids and sizes) and, for some commands, buffers that
//! fields of the union point to, sized by the map the command acts on.

use super::Output::{self, *};
use crate::{RemoteAddr, Task};

/// The tracee's attribute union.
struct Attr<'a>(&'a Task);

impl Attr<'_> {
    fn u32_at(&self, addr: u64) -> Option<u32> {
        self.0.read_u32(RemoteAddr(addr)).ok()
    }

    fn u64_at(&self, addr: u64) -> Option<u64> {
        self.0.read_u64(RemoteAddr(addr)).ok()
    }
}

/// Offsets into `union bpf_attr`.
const LOOKUP_MAP_FD: u64 = 0;
const LOOKUP_VALUE: u64 = 16;
const NEXT_KEY: u64 = 16;
const PROG_LOG_LEVEL: u64 = 24;
const PROG_LOG_SIZE: u64 = 28;
const PROG_LOG_BUF: u64 = 32;
const BTF_LOG_BUF: u64 = 8;
const BTF_LOG_SIZE: u64 = 20;
const BTF_LOG_LEVEL: u64 = 24;
const INFO_LEN: u64 = 4;
const INFO: u64 = 8;

/// Map types whose values hold one slot per possible CPU.
const PER_CPU_MAPS: [u32; 4] = [5, 6, 10, 21];

/// The outputs of `bpf(cmd, attr, size)`, read at its entry in `task`;
/// `None` for a command rewind cannot describe.
pub fn outputs(task: &Task, args: [u64; 6]) -> Option<Vec<Output>> {
    let (cmd, base) = (args[0], args[1]);
    let tid = task.tid;
    let attr = Attr(task);
    let mut outputs = vec![ArgBytes { arg: 1, size: 2 }];
    let mut buffer = |pointer_at: u64, len: u64| {
        let pointer = attr.u64_at(base + pointer_at)?;
        (pointer != 0 && len != 0).then_some(())?;
        outputs.push(Output::Absolute {
            addr: pointer,
            len: len as u32,
        });
        Some(())
    };
    match cmd {
        // MAP_CREATE, MAP_UPDATE_ELEM, MAP_DELETE_ELEM, OBJ_PIN, OBJ_GET,
        // PROG_ATTACH, PROG_DETACH, PROG_GET_NEXT_ID, MAP_GET_NEXT_ID,
        // PROG_GET_FD_BY_ID, MAP_GET_FD_BY_ID, BTF_GET_FD_BY_ID,
        // MAP_FREEZE, BTF_GET_NEXT_ID, LINK_CREATE, LINK_UPDATE,
        // LINK_GET_FD_BY_ID, LINK_GET_NEXT_ID, ENABLE_STATS, LINK_DETACH.
        0 | 2 | 3 | 6..=9 | 11..=14 | 19 | 22 | 23 | 28..=32 | 34 => {}
        // MAP_LOOKUP_ELEM, MAP_LOOKUP_AND_DELETE_ELEM.
        1 | 21 => {
            let map = map_info(tid, attr.u32_at(base + LOOKUP_MAP_FD)?)?;
            buffer(LOOKUP_VALUE, map.value_len())?;
        }
        // MAP_GET_NEXT_KEY.
        4 => {
            let map = map_info(tid, attr.u32_at(base + LOOKUP_MAP_FD)?)?;
            buffer(NEXT_KEY, map.key_size)?;
        }
        // PROG_LOAD: the verifier's log, when one was asked for.
        5 => {
            if attr.u32_at(base + PROG_LOG_LEVEL)? != 0 {
                let size = attr.u32_at(base + PROG_LOG_SIZE)?;
                let _ = buffer(PROG_LOG_BUF, u64::from(size));
            }
        }
        // OBJ_GET_INFO_BY_FD: as much of the info as the caller has room for.
        15 => {
            let len = attr.u32_at(base + INFO_LEN)?;
            let _ = buffer(INFO, u64::from(len));
        }
        // BTF_LOAD.
        18 => {
            if attr.u32_at(base + BTF_LOG_LEVEL)? != 0 {
                let size = attr.u32_at(base + BTF_LOG_SIZE)?;
                let _ = buffer(BTF_LOG_BUF, u64::from(size));
            }
        }
        _ => return None,
    }
    Some(outputs)
}

/// What `/proc/TID/fdinfo/FD` says of a BPF map.
struct MapInfo {
    map_type: u32,
    key_size: u64,
    value_size: u64,
}

impl MapInfo {
    /// Bytes a lookup writes: per-CPU maps write a value, rounded up to 8
    /// bytes, for every possible CPU.
    fn value_len(&self) -> u64 {
        if PER_CPU_MAPS.contains(&self.map_type) {
            self.value_size.next_multiple_of(8) * possible_cpus()
        } else {
            self.value_size
        }
    }
}

fn map_info(tid: i32, fd: u32) -> Option<MapInfo> {
    let text = std::fs::read_to_string(format!("/proc/{tid}/fdinfo/{fd}")).ok()?;
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
    };
    Some(MapInfo {
        map_type: field("map_type:")? as u32,
        key_size: field("key_size:")?,
        value_size: field("value_size:")?,
    })
}

/// The number of possible CPUs (`/sys/devices/system/cpu/possible`, a
/// list such as `0-3` or `0,2-5`).
fn possible_cpus() -> u64 {
    let list = std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap_or_default();
    let count: u64 = list
        .trim()
        .split(',')
        .filter_map(|range| {
            let (low, high) = range.split_once('-').unwrap_or((range, range));
            Some(high.parse::<u64>().ok()? - low.parse::<u64>().ok()? + 1)
        })
        .sum();
    count.max(1)
}
