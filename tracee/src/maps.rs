//! `/proc/PID/maps` and `/proc/PID/auxv`.

use std::path::PathBuf;

use crate::error::TraceeError;
use crate::Tid;

/// One line of `/proc/PID/maps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapEntry {
    pub start: u64,
    pub end: u64,
    /// `PROT_*` bits.
    pub prot: u32,
    pub shared: bool,
    pub offset: u64,
    /// (major, minor) device numbers of the backing file.
    pub device: (u32, u32),
    pub inode: u64,
    /// The path or label (`[stack]`, `[vdso]`); empty for anonymous memory.
    pub name: String,
}

impl MapEntry {
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// Backed by a file (an inode on a device).
    pub fn is_file(&self) -> bool {
        self.inode != 0
    }

    /// One of the kernel's special mappings, `[vdso]` and the like.
    pub fn is_special(&self) -> bool {
        self.inode == 0
            && matches!(
                self.name.as_str(),
                "[vdso]" | "[vvar]" | "[vvar_vclock]" | "[vsyscall]" | "[uprobes]"
            )
    }
}

fn proc_error(path: &str, source: std::io::Error) -> TraceeError {
    TraceeError::Proc {
        path: PathBuf::from(path),
        source,
    }
}

/// The mappings of process `pid`, in address order.
pub fn read_maps(pid: Tid) -> Result<Vec<MapEntry>, TraceeError> {
    let path = format!("/proc/{pid}/maps");
    let text = std::fs::read_to_string(&path).map_err(|e| proc_error(&path, e))?;
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            parse_line(line).ok_or_else(|| {
                proc_error(
                    &path,
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("unexpected line {line:?}"),
                    ),
                )
            })
        })
        .collect()
}

/// The mappings of process `pid` with the kernel's flags for each (smaps
/// `VmFlags`: "mw" may become writable, "dc" not copied by fork, "wf"
/// wiped by fork, ...).
pub fn read_with_flags(pid: Tid) -> Result<Vec<(MapEntry, Vec<String>)>, TraceeError> {
    let path = format!("/proc/{pid}/smaps");
    let text = std::fs::read_to_string(&path).map_err(|e| proc_error(&path, e))?;
    let mut mappings: Vec<(MapEntry, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if let Some(flags) = line.strip_prefix("VmFlags:") {
            if let Some((_, words)) = mappings.last_mut() {
                *words = flags.split_whitespace().map(str::to_owned).collect();
            }
        } else if let Some(entry) = header_line(line) {
            mappings.push((entry, Vec::new()));
        }
    }
    Ok(mappings)
}

/// A mapping's first line in smaps (the maps format), not a field line
/// ("Size:   4 kB"): its first word is an address range.
fn header_line(line: &str) -> Option<MapEntry> {
    let first = line.split(' ').next()?;
    first.contains('-').then(|| parse_line(line))?
}

fn parse_line(line: &str) -> Option<MapEntry> {
    let mut fields = line.splitn(6, ' ');
    let range = fields.next()?;
    let perms = fields.next()?.as_bytes();
    let offset = u64::from_str_radix(fields.next()?, 16).ok()?;
    let device = fields.next()?;
    let inode = fields.next()?.parse().ok()?;
    let name = fields.next().unwrap_or("").trim_start().to_string();
    let (start, end) = range.split_once('-')?;
    let (major, minor) = device.split_once(':')?;
    if perms.len() < 4 {
        return None;
    }
    let mut prot = 0;
    if perms[0] == b'r' {
        prot |= libc::PROT_READ as u32;
    }
    if perms[1] == b'w' {
        prot |= libc::PROT_WRITE as u32;
    }
    if perms[2] == b'x' {
        prot |= libc::PROT_EXEC as u32;
    }
    Some(MapEntry {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        prot,
        shared: perms[3] == b's',
        offset,
        device: (
            u32::from_str_radix(major, 16).ok()?,
            u32::from_str_radix(minor, 16).ok()?,
        ),
        inode,
        name,
    })
}

/// The auxiliary vector of process `pid` as (type, value) pairs, without
/// the terminating AT_NULL.
pub fn read_auxv(pid: Tid) -> Result<Vec<(u64, u64)>, TraceeError> {
    let path = format!("/proc/{pid}/auxv");
    let bytes = std::fs::read(&path).map_err(|e| proc_error(&path, e))?;
    let word = |b: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        u64::from_le_bytes(w)
    };
    Ok(bytes
        .chunks_exact(16)
        .map(|pair| (word(&pair[..8]), word(&pair[8..])))
        .take_while(|&(key, _)| key != 0)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_file_anonymous_and_special_lines() {
        let file = parse_line("555555554000-555555556000 r--p 00001000 fd:01 1234   /usr/bin/true")
            .expect("file");
        assert_eq!(file.start, 0x5555_5555_4000);
        assert_eq!(file.prot, libc::PROT_READ as u32);
        assert_eq!(file.offset, 0x1000);
        assert_eq!(file.device, (0xfd, 1));
        assert_eq!(file.name, "/usr/bin/true");
        assert!(file.is_file() && !file.shared);
        let anon = parse_line("7ffff7fb0000-7ffff7fb2000 rw-p 00000000 00:00 0 ").expect("anon");
        assert_eq!(anon.name, "");
        assert!(!anon.is_file());
        let stack = parse_line(
            "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]",
        )
        .expect("stack");
        assert_eq!(stack.name, "[stack]");
        let vdso =
            parse_line("7ffff7fc1000-7ffff7fc3000 r-xs 00000000 00:00 0  [vdso]").expect("vdso");
        assert!(vdso.is_special() && vdso.shared);
        let spaced =
            parse_line("7f0000000000-7f0000001000 r--s 00000000 08:01 99 /tmp/a b (deleted)")
                .expect("spaces");
        assert_eq!(spaced.name, "/tmp/a b (deleted)");
    }
}
