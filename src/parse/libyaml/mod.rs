//! A YAML event parser with go-yaml v2's grammar, the one `kubectl -f` uses.
//!
//! Derived from libyaml-safer 0.3.0 (Simon Ask Ulsnes), a safe Rust port of
//! unsafe-libyaml (David Tolnay), itself a port of libyaml (Kirill Simonov,
//! Ingy döt Net); MIT licence in `LICENSE-MIT` beside this file. Changes:
//! - input is a `&str` decoded into the look-ahead a little at a time (no
//!   encodings, no emitter, no document loader);
//! - go-yaml's differences from libyaml 0.2.5, each confirmed with kubectl
//!   (`shared/research/go-yaml.md`, `crates.md`): a flow plain scalar ends at
//!   `?` (`[a?b]` is an error) and `:` followed by a flow indicator is text
//!   (`{a:, b: 1}` gives the key `a:`); only `%YAML 1.1` is accepted; the
//!   1,024 limit on simple keys counts characters, not bytes.
#![allow(clippy::all, dead_code, unused_imports)]

#[macro_use]
mod macros;

mod error;
mod event;
mod lookahead;
mod parser;
mod scanner;
mod token;

pub use error::{Error, Mark, Result};
pub use event::{Event, EventData};
pub use parser::{Parser, SimpleKey};
pub use token::{Token, TokenData};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VersionDirective {
    pub major: i32,
    pub minor: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TagDirective {
    pub handle: String,
    pub prefix: String,
}

#[derive(Copy, Clone, Default, PartialEq, Eq, Debug)]
pub enum ScalarStyle {
    #[default]
    Any = 0,
    Plain = 1,
    SingleQuoted = 2,
    DoubleQuoted = 3,
    Literal = 4,
    Folded = 5,
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum SequenceStyle {
    Any = 0,
    Block = 1,
    Flow = 2,
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum MappingStyle {
    Any = 0,
    Block = 1,
    Flow = 2,
}
