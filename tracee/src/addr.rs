//! Addresses in a tracee's address space.

use std::fmt;

/// An address in the tracee, never dereferenced locally.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct RemoteAddr(pub u64);

impl RemoteAddr {
    pub fn is_null(self) -> bool {
        self.0 == 0
    }

    pub fn offset(self, by: u64) -> RemoteAddr {
        RemoteAddr(self.0.wrapping_add(by))
    }
}

impl fmt::Debug for RemoteAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl fmt::Display for RemoteAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}
