//! One module per command.

pub mod describe;
pub mod dump;
pub mod ls;
pub mod ps;
pub mod record;
pub mod replay;
