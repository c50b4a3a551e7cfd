//! One file per command that is not the lint itself.

pub mod scopes;
