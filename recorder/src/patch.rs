//! Patching syscall sites of the C library, the loader and the vDSO into
//! jumps to stubs that call the preload library's hook (ARCHITECTURE.md
//! "syscallbuf", "Patching"). The patch of a site is decided at the exit
//! of a traced syscall made there, written into the tracee, and recorded
//! as a `Patch` event so that replay writes the same bytes at the same
//! moment.
//!
//! Two shapes of site are patched:
//! - `mov eax, NR; syscall`: the 5-byte `mov` becomes the jump, and the
//!   `syscall` stays where it was. No thread can stand inside the replaced
//!   bytes, so this patch is always safe.
//! - `syscall` followed by a `cmp` of the result: the `syscall` and the
//!   `cmp` become the jump, and the stub runs the `cmp`. A thread stopped
//!   right after the `syscall` (blocked in it, or preempted there) would
//!   resume inside the jump: such a patch waits until no other thread is
//!   there, and the thread at whose exit it is made goes on in the stub.

use std::collections::HashSet;

use tracee::maps::MapEntry;

/// The instructions after `syscall` that a patch may move into a stub:
/// the result checks of glibc's wrappers.
const MOVABLE_NEXT: [&[u8]; 3] = [
    &[0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff], // cmp rax, -4096
    &[0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff], // cmp rax, -4095
    &[0x3d, 0x00, 0xf0, 0xff, 0xff],       // cmp eax, -4096
];

const SYSCALL: [u8; 2] = [0x0f, 0x05];
const MOV_EAX: u8 = 0xb8;
const JMP_REL32: u8 = 0xe9;
const CALL_REL32: u8 = 0xe8;
const INT3: u8 = 0xcc;
const JUMP_LEN: u64 = 5;
/// `lea rsp, [rsp - 128]`: past the red zone, which the site's function
/// may use and which the stub's push and call would overwrite.
const LOWER_STACK: [u8; 5] = [0x48, 0x8d, 0x64, 0x24, 0x80];
/// `push qword ptr [rip + rel32]`: the stub's frame, the address it
/// returns to in the site's function (the stub area's call-frame
/// information finds it at rsp; `syscallbuf/src/entry.rs`).
const PUSH_RIP_RELATIVE: [u8; 2] = [0xff, 0x35];
/// `lea rsp, [rsp + 136]`: the frame and the red-zone gap undone.
const RAISE_STACK: [u8; 8] = [0x48, 0x8d, 0xa4, 0x24, 0x88, 0x00, 0x00, 0x00];
/// The entry's answer is the flags of `cmp code, 1`: `jbe` (code 0 or 1:
/// not run), `je` (1: make the syscall here), `jb` (0: make it on the
/// site's stack).
const JBE_REL32: [u8; 2] = [0x0f, 0x86];
const JE_REL8: u8 = 0x74;
const JB_REL8: u8 = 0x72;
const JMP_REL8: u8 = 0xeb;
/// How far around a site to look for jumps into the bytes a patch
/// replaces: short jumps reach 128 bytes.
const BRANCH_WINDOW: u64 = 128;

/// The preload library's stub area and entry in one address space, as its
/// `LIBRARY_READY` named them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StubArea {
    pub start: u64,
    pub len: u64,
    pub entry: u64,
}

/// The patching state of one address space (copied into forked children,
/// whose memory holds the same patches).
#[derive(Debug, Clone, Default)]
pub struct Patches {
    pub area: Option<StubArea>,
    /// Bytes of the area the stubs use so far.
    pub used: u64,
    /// Sites patched or found unpatchable: never looked at again.
    pub decided: HashSet<u64>,
}

/// What a patch writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    /// The first byte the site's jump replaces.
    pub start: u64,
    /// The bytes it replaces.
    pub replaced: Vec<u8>,
    /// The jump to the stub, padded with int3 to the replaced length.
    pub jump: Vec<u8>,
    pub stub_at: u64,
    pub stub: Vec<u8>,
    /// For a patch that moved the instruction after `syscall`: where in
    /// the stub a thread standing right after the `syscall` goes on.
    pub resume_at: Option<u64>,
}

/// What the bytes around a site allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteShape {
    /// `mov eax, NR` right before the `syscall`.
    MovBefore { nr: u32 },
    /// `syscall` then this movable instruction.
    CheckAfter { next: &'static [u8] },
}

/// Whether the recorder patches syscall sites in this mapping: the C
/// library, the loader and the vDSO, whose sites are the libc wrappers'
/// and whose code nothing else jumps into the middle of. A program's own
/// code, and a static one, keep their syscalls on the traced path.
pub fn patchable_mapping(entry: &MapEntry) -> bool {
    if entry.prot & libc::PROT_EXEC as u32 == 0 {
        return false;
    }
    if entry.name == "[vdso]" {
        return true;
    }
    let file = entry.name.rsplit('/').next().unwrap_or("");
    [
        "libc.so",
        "libc-2.",
        "ld-linux",
        "ld-2.",
        "ld-musl",
        "libpthread",
        "librt",
    ]
    .iter()
    .any(|prefix| file.starts_with(prefix))
}

/// The shape of the site whose `syscall` is at `site`, from `code`, the
/// bytes of its mapping from `code_start` on; None when it has neither
/// shape, or a jump elsewhere may land inside the bytes a patch replaces.
/// `nr` is the number of the syscall made there.
pub fn site_shape(code: &[u8], code_start: u64, site: u64, nr: u64) -> Option<SiteShape> {
    let at = usize::try_from(site.checked_sub(code_start)?).ok()?;
    if code.get(at..at + 2)? != SYSCALL {
        return None;
    }
    if let Some(mov) = at.checked_sub(5).and_then(|from| code.get(from..at)) {
        let imm = u32::from_le_bytes([mov[1], mov[2], mov[3], mov[4]]);
        // A REX prefix before b8 would make it another register's mov.
        let prefixed = at
            .checked_sub(6)
            .and_then(|i| code.get(i))
            .is_some_and(|b| (0x40..=0x4f).contains(b));
        // The immediate must be the number just made: evidence that the
        // five bytes are the instruction that set it, not the tail of
        // another.
        if mov[0] == MOV_EAX && !prefixed && u64::from(imm) == nr {
            return Some(SiteShape::MovBefore { nr: imm });
        }
    }
    let next = *MOVABLE_NEXT
        .iter()
        .find(|next| code.get(at + 2..at + 2 + next.len()) == Some(**next))?;
    // The one instruction boundary inside the bytes the patch replaces.
    if jumps_to(code, code_start, site, site + 2) {
        return None;
    }
    Some(SiteShape::CheckAfter { next })
}

/// Whether any byte sequence near `site` decodes as a jump to `target`.
/// Raw bytes, not instructions: a false alarm only leaves a site
/// unpatched.
fn jumps_to(code: &[u8], code_start: u64, site: u64, target: u64) -> bool {
    let from = site.saturating_sub(BRANCH_WINDOW).max(code_start);
    let to = site.saturating_add(BRANCH_WINDOW);
    let byte = |addr: u64| {
        addr.checked_sub(code_start)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| code.get(i).copied())
    };
    let rel32 = |addr: u64| -> Option<i64> {
        let bytes = [
            byte(addr)?,
            byte(addr + 1)?,
            byte(addr + 2)?,
            byte(addr + 3)?,
        ];
        Some(i64::from(i32::from_le_bytes(bytes)))
    };
    let lands_there = |to: i64| to == target as i64;
    (from..to).any(|addr| {
        let Some(b) = byte(addr) else {
            return false;
        };
        let short = (b == 0xeb || (0x70..0x80).contains(&b))
            .then(|| byte(addr + 1))
            .flatten()
            .map(|rel| addr as i64 + 2 + i64::from(rel as i8));
        let near = match b {
            JMP_REL32 => rel32(addr + 1).map(|rel| addr as i64 + 5 + rel),
            0x0f if byte(addr + 1).is_some_and(|c| (0x80..0x90).contains(&c)) => {
                rel32(addr + 2).map(|rel| addr as i64 + 6 + rel)
            }
            _ => None,
        };
        short.is_some_and(lands_there) || near.is_some_and(lands_there)
    })
}

/// The displacement of a jump or call of `len` bytes at `from` to `to`,
/// if it reaches.
fn rel32(from: u64, len: u64, to: u64) -> Option<[u8; 4]> {
    let distance = (to as i64).wrapping_sub(from.wrapping_add(len) as i64);
    i32::try_from(distance).ok().map(i32::to_le_bytes)
}

/// Machine code being laid out at a known address.
struct Code {
    at: u64,
    bytes: Vec<u8>,
}

impl Code {
    fn here(&self) -> u64 {
        self.at + self.bytes.len() as u64
    }

    fn put(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// `opcode` then the rel32 that reaches `to` from the instruction's end.
    fn put_rel32(&mut self, opcode: &[u8], to: u64) -> Option<()> {
        let len = opcode.len() as u64 + 4;
        let rel = rel32(self.here(), len, to)?;
        self.put(opcode);
        self.put(&rel);
        Some(())
    }

    /// A short jump to `to`, which must be within reach.
    fn put_rel8(&mut self, opcode: u8, to: u64) -> Option<()> {
        let rel = i8::try_from((to as i64).wrapping_sub(self.here() as i64 + 2)).ok()?;
        self.put(&[opcode, rel as u8]);
        Some(())
    }

    /// The stub's frame: the red-zone gap, then the return address, kept
    /// in the word at `return_word`.
    fn put_frame(&mut self, return_word: u64) -> Option<()> {
        self.put(&LOWER_STACK);
        self.put_rel32(&PUSH_RIP_RELATIVE, return_word)
    }
}

/// The patch of the site at `site` of `shape`, whose original bytes are
/// in `code` (from `code_start`), with its stub at `stub_at`; None when a
/// jump cannot reach.
///
/// A `mov` stub: frame, `mov eax, NR`, call the entry, undo the frame,
/// `jbe` to the site's own `syscall` when the library did not run the
/// call (the call is then made, and blocks, in the site's function), else
/// `jmp` past it. A check stub: frame, call, then three ways: the library
/// ran it; `syscall` in the stub, frame in place (an unwinder goes
/// through it into the site's function); `syscall` on the site's stack
/// (clone, clone3, rt_sigreturn). Each ends with the moved check and the
/// jump back.
pub fn build(
    code: &[u8],
    code_start: u64,
    site: u64,
    shape: &SiteShape,
    stub_at: u64,
    entry: u64,
) -> Option<Patch> {
    let mut stub = Code {
        at: stub_at,
        bytes: Vec::new(),
    };
    let (start, replaced_len, resume_at) = match shape {
        SiteShape::MovBefore { nr } => {
            let return_word = stub_at + 40;
            stub.put_frame(return_word)?;
            stub.put(&[MOV_EAX]);
            stub.put(&nr.to_le_bytes());
            stub.put_rel32(&[CALL_REL32], entry)?;
            stub.put(&RAISE_STACK);
            stub.put_rel32(&JBE_REL32, site)?;
            stub.put_rel32(&[JMP_REL32], site + 2)?;
            debug_assert_eq!(stub.here(), return_word);
            stub.put(&(site + 2).to_le_bytes());
            (site - JUMP_LEN, JUMP_LEN, None)
        }
        SiteShape::CheckAfter { next } => {
            let moved = next.len() as u64;
            let back = site + 2 + moved;
            let handled = stub_at + 20;
            let here = handled + 8 + moved + 5;
            let on_site_stack = here + 4;
            let resume = on_site_stack + 10;
            let return_word = (resume + moved + 5).next_multiple_of(8);
            stub.put_frame(return_word)?;
            stub.put_rel32(&[CALL_REL32], entry)?;
            stub.put_rel8(JE_REL8, here)?;
            stub.put_rel8(JB_REL8, on_site_stack)?;
            debug_assert_eq!(stub.here(), handled);
            stub.put(&RAISE_STACK);
            stub.put(next);
            stub.put_rel32(&[JMP_REL32], back)?;
            debug_assert_eq!(stub.here(), here);
            stub.put(&SYSCALL);
            stub.put_rel8(JMP_REL8, handled)?;
            debug_assert_eq!(stub.here(), on_site_stack);
            stub.put(&RAISE_STACK);
            stub.put(&SYSCALL);
            debug_assert_eq!(stub.here(), resume);
            stub.put(next);
            stub.put_rel32(&[JMP_REL32], back)?;
            stub.bytes.resize((return_word - stub_at) as usize, INT3);
            stub.put(&back.to_le_bytes());
            (site, 2 + moved, Some(resume))
        }
    };
    let from = usize::try_from(start.checked_sub(code_start)?).ok()?;
    let replaced = code.get(from..from + replaced_len as usize)?.to_vec();
    let mut jump = Code {
        at: start,
        bytes: Vec::new(),
    };
    jump.put_rel32(&[JMP_REL32], stub_at)?;
    jump.bytes.resize(replaced_len as usize, INT3);
    Some(Patch {
        start,
        replaced,
        jump: jump.bytes,
        stub_at,
        stub: stub.bytes,
        resume_at,
    })
}

/// Where the next stub of `len` bytes goes in `patches`' area, 16-byte
/// aligned, if it fits.
pub fn stub_place(patches: &Patches, len: u64) -> Option<u64> {
    let area = patches.area?;
    let offset = patches.used.next_multiple_of(16);
    (offset + len <= area.len).then_some(area.start + offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: u64 = 0x7fff_f7d0_0000;
    const AREA: u64 = 0x7fff_f7f0_2000;
    const ENTRY: u64 = 0x7fff_f7f1_2000;

    /// `code` placed at BASE + 0x100, with int3 around it.
    fn code_with(bytes: &[u8]) -> Vec<u8> {
        let mut code = vec![INT3; 0x100];
        code.extend_from_slice(bytes);
        code.resize(0x300, INT3);
        code
    }

    /// Where the rel32 jump or call of `len` bytes at `offset` of the
    /// code at `at` goes.
    fn target(code: &[u8], at: u64, offset: usize, len: usize) -> u64 {
        let rel = i32::from_le_bytes(code[offset + len - 4..offset + len].try_into().unwrap());
        (at as i64 + (offset + len) as i64 + i64::from(rel)) as u64
    }

    /// The word the stub's frame pushes: the rip-relative push at 5.
    fn pushed(patch: &Patch) -> u64 {
        assert_eq!(&patch.stub[..7][..5], &LOWER_STACK);
        assert_eq!(&patch.stub[5..7], &PUSH_RIP_RELATIVE);
        let word = (target(&patch.stub, patch.stub_at, 5, 6) - patch.stub_at) as usize;
        u64::from_le_bytes(patch.stub[word..word + 8].try_into().unwrap())
    }

    #[test]
    fn a_mov_of_the_number_before_syscall_is_patched_in_front() {
        // mov eax, 1; syscall; cmp rax, -4096
        let code = code_with(&[
            0xb8, 1, 0, 0, 0, 0x0f, 0x05, 0x48, 0x3d, 0, 0xf0, 0xff, 0xff,
        ]);
        let site = BASE + 0x105;
        let shape = site_shape(&code, BASE, site, 1).expect("patchable");
        assert_eq!(shape, SiteShape::MovBefore { nr: 1 });
        let patch = build(&code, BASE, site, &shape, AREA, ENTRY).expect("reaches");
        assert_eq!(patch.start, site - 5);
        assert_eq!(patch.replaced, [0xb8, 1, 0, 0, 0]);
        assert_eq!(patch.jump[0], JMP_REL32);
        assert_eq!(target(&patch.jump, patch.start, 0, 5), AREA);
        assert_eq!(patch.resume_at, None);
        // Frame, mov eax, 1; call the entry; undo the frame; jbe to the
        // site's syscall, or jmp past it.
        assert_eq!(pushed(&patch), site + 2);
        assert_eq!(&patch.stub[11..16], &[0xb8, 1, 0, 0, 0]);
        assert_eq!(patch.stub[16], CALL_REL32);
        assert_eq!(target(&patch.stub, AREA, 16, 5), ENTRY);
        assert_eq!(&patch.stub[21..29], &RAISE_STACK);
        assert_eq!(&patch.stub[29..31], &JBE_REL32);
        assert_eq!(target(&patch.stub, AREA, 29, 6), site);
        assert_eq!(patch.stub[35], JMP_REL32);
        assert_eq!(target(&patch.stub, AREA, 35, 5), site + 2);
        assert_eq!(patch.stub.len(), 48);
    }

    #[test]
    fn a_mov_of_another_number_or_register_is_not_the_one() {
        let code = code_with(&[0xb8, 1, 0, 0, 0, 0x0f, 0x05, 0xc3]);
        assert_eq!(site_shape(&code, BASE, BASE + 0x105, 2), None);
        // mov r8d, 1 (41 b8 ...) is not a mov of eax.
        let code = code_with(&[0x41, 0xb8, 1, 0, 0, 0, 0x0f, 0x05, 0xc3]);
        assert_eq!(site_shape(&code, BASE, BASE + 0x106, 1), None);
        // Not a syscall at all.
        assert_eq!(site_shape(&code, BASE, BASE + 0x105, 1), None);
    }

    #[test]
    fn a_check_after_syscall_moves_into_the_stub() {
        // xor eax, eax; syscall; cmp rax, -4096; ja ...; ret
        let code = code_with(&[
            0x31, 0xc0, 0x0f, 0x05, 0x48, 0x3d, 0, 0xf0, 0xff, 0xff, 0x77, 0x10, 0xc3,
        ]);
        let site = BASE + 0x102;
        let check = [0x48, 0x3d, 0, 0xf0, 0xff, 0xff];
        let shape = site_shape(&code, BASE, site, 0).expect("patchable");
        let patch = build(&code, BASE, site, &shape, AREA, ENTRY).expect("reaches");
        assert_eq!(patch.start, site);
        assert_eq!(patch.replaced.len(), 8);
        assert_eq!(&patch.jump[5..], &[INT3; 3]);
        assert_eq!(pushed(&patch), site + 8);
        assert_eq!(target(&patch.stub, AREA, 11, 5), ENTRY);
        let short =
            |at: usize| (AREA as i64 + at as i64 + 2 + i64::from(patch.stub[at + 1] as i8)) as u64;
        // je: the syscall made in the stub, frame in place, then on to
        // the undoing of the frame, the check and the jump back.
        assert_eq!(patch.stub[16], JE_REL8);
        let here = (short(16) - AREA) as usize;
        assert_eq!(&patch.stub[here..here + 2], &SYSCALL);
        assert_eq!(patch.stub[here + 2], JMP_REL8);
        let handled = (short(here + 2) - AREA) as usize;
        assert_eq!(handled, 20);
        assert_eq!(&patch.stub[20..28], &RAISE_STACK);
        assert_eq!(&patch.stub[28..34], &check);
        assert_eq!(target(&patch.stub, AREA, 34, 5), site + 8);
        // jb: the frame undone first, then the syscall; a thread right
        // after the site's syscall goes on after the stub's.
        assert_eq!(patch.stub[18], JB_REL8);
        let on_site_stack = (short(18) - AREA) as usize;
        assert_eq!(&patch.stub[on_site_stack..on_site_stack + 8], &RAISE_STACK);
        assert_eq!(&patch.stub[on_site_stack + 8..on_site_stack + 10], &SYSCALL);
        let resume = patch
            .resume_at
            .expect("a thread after the syscall goes on in the stub");
        assert_eq!(resume - AREA, on_site_stack as u64 + 10);
        let at = (resume - AREA) as usize;
        assert_eq!(&patch.stub[at..at + 6], &check);
        assert_eq!(target(&patch.stub, AREA, at + 6, 5), site + 8);
    }

    #[test]
    fn a_jump_into_the_moved_check_leaves_the_site_alone() {
        // syscall; cmp rax, -4096; ja +0; ... jmp back to the cmp
        let mut bytes = vec![0x0f, 0x05, 0x48, 0x3d, 0, 0xf0, 0xff, 0xff, 0xc3];
        bytes.extend_from_slice(&[0xeb, 0xf7]); // at +9: jmp to +2
        let code = code_with(&bytes);
        assert_eq!(site_shape(&code, BASE, BASE + 0x100, 0), None);
    }

    #[test]
    fn a_stub_too_far_away_is_not_built() {
        let code = code_with(&[0xb8, 1, 0, 0, 0, 0x0f, 0x05]);
        let shape = SiteShape::MovBefore { nr: 1 };
        assert!(build(&code, BASE, BASE + 0x105, &shape, AREA, ENTRY).is_some());
        assert_eq!(
            build(&code, BASE, BASE + 0x105, &shape, BASE + (1 << 33), ENTRY),
            None
        );
    }

    #[test]
    fn stubs_are_placed_aligned_until_the_area_is_full() {
        let mut patches = Patches {
            area: Some(StubArea {
                start: AREA,
                len: 64,
                entry: ENTRY,
            }),
            ..Default::default()
        };
        assert_eq!(stub_place(&patches, 32), Some(AREA));
        patches.used = 33;
        assert_eq!(stub_place(&patches, 16), Some(AREA + 48));
        assert_eq!(stub_place(&patches, 17), None);
        assert_eq!(stub_place(&Patches::default(), 1), None);
    }

    #[test]
    fn only_the_c_library_the_loader_and_the_vdso_are_patched() {
        let entry = |name: &str, prot: i32| MapEntry {
            start: 0,
            end: 0x1000,
            prot: prot as u32,
            shared: false,
            offset: 0,
            device: (0, 0),
            inode: 0,
            name: name.into(),
        };
        let x = libc::PROT_READ | libc::PROT_EXEC;
        assert!(patchable_mapping(&entry(
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            x
        )));
        assert!(patchable_mapping(&entry("/lib64/ld-linux-x86-64.so.2", x)));
        assert!(patchable_mapping(&entry("[vdso]", x)));
        assert!(!patchable_mapping(&entry(
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            libc::PROT_READ
        )));
        assert!(!patchable_mapping(&entry("/usr/bin/python3", x)));
        assert!(!patchable_mapping(&entry("/t/librewind_syscallbuf.so", x)));
    }
}
