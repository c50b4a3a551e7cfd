//! What a rule reports: a rule id, a primary span, related spans in the same
//! or other files, and the fix.

use serde::Serialize;

pub use crate::source::Location;
use crate::source::{FileId, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Related {
    pub at: Location,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct Finding {
    pub rule: String,
    pub at: Location,
    pub message: String,
    /// Set by a template when one case of its rule is milder or stronger than
    /// the rule's default (e.g. a placeholder left in a manifest).
    pub severity: Option<Severity>,
    pub related: Vec<Related>,
    pub help: Option<String>,
    /// The object it is about, when there is one: annotation suppressions
    /// and baseline fingerprints use it.
    pub object: Option<usize>,
    /// Files it depends on besides its spans' (the object's base, patches
    /// and kustomizations).
    pub inputs: Vec<FileId>,
}

/// A finding's text at its length: `format!` leaves up to half a message
/// unused, and a run keeps thousands of findings until they are printed.
fn exact(mut text: String) -> String {
    text.shrink_to_fit();
    text
}

impl Finding {
    /// A finding at a node's location (`node.loc()`), which may be in another
    /// file than its object when kustomize assembled the object.
    pub fn at(rule: &str, at: Location, message: impl Into<String>) -> Self {
        Finding {
            rule: rule.to_string(),
            at,
            message: exact(message.into()),
            severity: None,
            related: Vec::new(),
            help: None,
            object: None,
            inputs: Vec::new(),
        }
    }
    /// A finding about a file as a whole (a parse error, a suppression comment).
    pub fn new(rule: &str, file: FileId, span: Span, message: impl Into<String>) -> Self {
        Finding::at(rule, Location { file, span }, message)
    }
    pub fn related(self, file: FileId, span: Span, message: impl Into<String>) -> Self {
        self.related_at(Location { file, span }, message)
    }
    pub fn related_at(mut self, at: Location, message: impl Into<String>) -> Self {
        self.related.push(Related {
            at,
            message: exact(message.into()),
        });
        self
    }
    /// The Kubernetes object the finding is about (index into the model's objects).
    pub fn object(mut self, index: usize) -> Self {
        self.object = Some(index);
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(exact(help.into()));
        self
    }
    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = Some(s);
        self
    }
}
