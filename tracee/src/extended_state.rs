//! The x87/SSE/AVX register state of a stopped thread, for the debugger
//! and for copies of the replay (the replay itself never needs it: the
//! replayed code recomputes it).

use libc::c_void;

use crate::error::TraceeError;
use crate::ptrace;
use crate::Tid;

/// `NT_X86_XSTATE`: the XSAVE area through PTRACE_GETREGSET.
const NT_X86_XSTATE: usize = 0x202;
/// Large enough for every XSAVE layout the kernel exposes (AVX-512 and AMX
/// included); the kernel writes at most this much and says how much.
const XSAVE_MAX: usize = 16 * 1024;
/// Offset of the AVX upper halves (YMM_Hi128) in the standard XSAVE
/// format, and the XSTATE_BV bit saying they are not in their init state.
const YMM_HIGH_OFFSET: usize = 576;
const XSTATE_BV_OFFSET: usize = 512;
const XFEATURE_YMM: u64 = 1 << 2;

/// A thread's floating-point state.
#[derive(Clone)]
pub struct ExtendedState {
    /// FXSAVE image (x87, MMX, SSE).
    pub fxsave: [u8; 512],
    /// Upper 128 bits of ymm0..ymm15; zero when AVX is absent or unused.
    pub ymm_high: [[u8; 16]; 16],
}

fn xsave_area(tid: Tid) -> Result<Option<Vec<u8>>, TraceeError> {
    let mut area = vec![0u8; XSAVE_MAX];
    let mut iov = libc::iovec {
        iov_base: area.as_mut_ptr().cast(),
        iov_len: area.len(),
    };
    // SAFETY: GETREGSET writes at most iov_len bytes to iov_base, a live
    // buffer of that size, and updates iov_len.
    let result = unsafe {
        ptrace::raw(
            libc::PTRACE_GETREGSET,
            "GETREGSET",
            tid,
            NT_X86_XSTATE as *mut c_void,
            (&mut iov as *mut libc::iovec).cast(),
        )
    };
    match result {
        Ok(_) => {
            area.truncate(iov.iov_len);
            Ok(Some(area))
        }
        // No XSAVE on this CPU.
        Err(TraceeError::Ptrace { source, .. }) if source.raw_os_error() == Some(libc::ENODEV) => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn set_xsave_area(tid: Tid, area: &mut [u8]) -> Result<(), TraceeError> {
    let mut iov = libc::iovec {
        iov_base: area.as_mut_ptr().cast(),
        iov_len: area.len(),
    };
    // SAFETY: SETREGSET reads iov_len bytes from iov_base, a live buffer.
    unsafe {
        ptrace::raw(
            libc::PTRACE_SETREGSET,
            "SETREGSET",
            tid,
            NT_X86_XSTATE as *mut c_void,
            (&mut iov as *mut libc::iovec).cast(),
        )
    }
    .map(drop)
}

fn fxsave(tid: Tid) -> Result<[u8; 512], TraceeError> {
    let mut image = [0u8; 512];
    // SAFETY: GETFPREGS writes one 512-byte user_fpregs_struct to data.
    unsafe {
        ptrace::raw(
            libc::PTRACE_GETFPREGS,
            "GETFPREGS",
            tid,
            std::ptr::null_mut(),
            image.as_mut_ptr().cast(),
        )
    }?;
    Ok(image)
}

pub fn read(tid: Tid) -> Result<ExtendedState, TraceeError> {
    let fxsave = fxsave(tid)?;
    let mut ymm_high = [[0u8; 16]; 16];
    if let Some(area) = xsave_area(tid)? {
        let in_use = area
            .get(XSTATE_BV_OFFSET..XSTATE_BV_OFFSET + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            .unwrap_or(0);
        if in_use & XFEATURE_YMM != 0 && area.len() >= YMM_HIGH_OFFSET + 256 {
            for (i, reg) in ymm_high.iter_mut().enumerate() {
                let at = YMM_HIGH_OFFSET + 16 * i;
                reg.copy_from_slice(&area[at..at + 16]);
            }
        }
    }
    Ok(ExtendedState { fxsave, ymm_high })
}

pub fn write(tid: Tid, state: &ExtendedState) -> Result<(), TraceeError> {
    match xsave_area(tid)? {
        Some(mut area) if area.len() >= YMM_HIGH_OFFSET + 256 => {
            area[..512].copy_from_slice(&state.fxsave);
            for (i, reg) in state.ymm_high.iter().enumerate() {
                let at = YMM_HIGH_OFFSET + 16 * i;
                area[at..at + 16].copy_from_slice(reg);
            }
            // Mark x87, SSE and AVX state as present so the kernel loads
            // what was written instead of the init state.
            let mut bv = u64::from_le_bytes(
                area[XSTATE_BV_OFFSET..XSTATE_BV_OFFSET + 8]
                    .try_into()
                    .unwrap_or([0; 8]),
            );
            bv |= 0b111;
            area[XSTATE_BV_OFFSET..XSTATE_BV_OFFSET + 8].copy_from_slice(&bv.to_le_bytes());
            set_xsave_area(tid, &mut area)
        }
        _ => write_whole(tid, &WholeState::Fxsave(Box::new(state.fxsave))),
    }
}

/// A thread's whole XSAVE area (every component: AVX-512 and AMX too), or
/// its FXSAVE image where the CPU has no XSAVE: what a copy of the thread
/// is given.
pub enum WholeState {
    Xsave(Vec<u8>),
    Fxsave(Box<[u8; 512]>),
}

pub fn read_whole(tid: Tid) -> Result<WholeState, TraceeError> {
    Ok(match xsave_area(tid)? {
        Some(area) => WholeState::Xsave(area),
        None => WholeState::Fxsave(Box::new(fxsave(tid)?)),
    })
}

pub fn write_whole(tid: Tid, state: &WholeState) -> Result<(), TraceeError> {
    match state {
        WholeState::Xsave(area) => set_xsave_area(tid, &mut area.clone()),
        WholeState::Fxsave(image) => {
            let mut image = **image;
            // SAFETY: SETFPREGS reads one 512-byte user_fpregs_struct.
            unsafe {
                ptrace::raw(
                    libc::PTRACE_SETFPREGS,
                    "SETFPREGS",
                    tid,
                    std::ptr::null_mut(),
                    image.as_mut_ptr().cast(),
                )
            }
            .map(drop)
        }
    }
}
