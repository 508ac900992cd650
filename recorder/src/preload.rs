//! The preload library (`syscallbuf/`), built by `build.rs` and carried
//! inside the binary, so one file is all a user copies to a server.
//!
//! Recording does not preload it yet: the seccomp filter, the patching of
//! syscall sites and the flush into the trace come next (ARCHITECTURE.md
//! "syscallbuf", "What exists of it").

/// The library's bytes, as the build made them.
pub const LIBRARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/librewind_syscallbuf.so"));
