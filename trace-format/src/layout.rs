//! Names of the files inside a trace directory.

pub const HEADER: &str = "header";
pub const EVENTS: &str = "events";
pub const DATA: &str = "data";
pub const FILES: &str = "files";
pub const TRAILER: &str = "trailer";
/// The symlink beside the traces that names the newest one.
pub const LATEST: &str = "latest-trace";
