//! What a rule reports: a rule id, a primary span, related spans in the same
//! or other files, and the fix.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

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

/// A finding's text (message, related message, help): its own, shared with
/// other findings, or pieces of both. A run keeps every finding until it is
/// printed, and some rules say the same long thing for many of them (KWI401
/// names the node pools of a placement for every pod that runs there).
#[derive(Clone, Debug)]
pub enum Text {
    Own(Box<str>),
    Shared(Arc<str>),
    /// Words of ours (a fix that names nothing of the input).
    Static(&'static str),
    Pieces(Box<[Piece]>),
}

#[derive(Clone, Debug)]
pub enum Piece {
    Own(Box<str>),
    Shared(Arc<str>),
}

impl Piece {
    fn as_str(&self) -> &str {
        match self {
            Piece::Own(s) => s,
            Piece::Shared(s) => s,
        }
    }
}

impl Text {
    /// Pieces, one after the other; the shared ones are not copied.
    pub fn pieces(pieces: Vec<Piece>) -> Text {
        Text::Pieces(pieces.into_boxed_slice())
    }

    /// The whole text: borrowed unless it is in pieces.
    pub fn as_str(&self) -> Cow<'_, str> {
        match self {
            Text::Own(s) => Cow::Borrowed(s),
            Text::Shared(s) => Cow::Borrowed(s),
            Text::Static(s) => Cow::Borrowed(s),
            Text::Pieces(p) => {
                // At its size: collecting would grow the string piece by piece.
                let mut all = String::with_capacity(p.iter().map(|x| x.as_str().len()).sum());
                for x in p.iter() {
                    all.push_str(x.as_str());
                }
                Cow::Owned(all)
            }
        }
    }

    pub(crate) fn parts(&self) -> impl Iterator<Item = &str> {
        let (one, many): (Option<&str>, &[Piece]) = match self {
            Text::Own(s) => (Some(s), &[]),
            Text::Shared(s) => (Some(s), &[]),
            Text::Static(s) => (Some(s), &[]),
            Text::Pieces(p) => (None, p),
        };
        one.into_iter().chain(many.iter().map(Piece::as_str))
    }

    pub fn push_str(&mut self, more: &str) {
        let mut s = self.as_str().into_owned();
        s.push_str(more);
        *self = Text::from(s);
    }

    /// The text with `escape` applied to each piece; a piece that needed no
    /// escaping is kept, not copied (`escape` is per character).
    pub fn map_pieces(self, escape: impl Fn(&str) -> Cow<'_, str>) -> Text {
        let piece = |p: Piece| match escape(p.as_str()) {
            Cow::Borrowed(_) => p,
            Cow::Owned(e) => Piece::Own(e.into_boxed_str()),
        };
        match self {
            Text::Own(s) => piece(Piece::Own(s)).into(),
            Text::Shared(s) => piece(Piece::Shared(s)).into(),
            Text::Static(s) => match escape(s) {
                Cow::Borrowed(_) => Text::Static(s),
                Cow::Owned(e) => Text::Own(e.into_boxed_str()),
            },
            Text::Pieces(p) => Text::Pieces(p.into_vec().into_iter().map(piece).collect()),
        }
    }
}

impl From<Piece> for Text {
    fn from(p: Piece) -> Text {
        match p {
            Piece::Own(s) => Text::Own(s),
            Piece::Shared(s) => Text::Shared(s),
        }
    }
}

impl From<String> for Text {
    /// At its length: `format!` leaves up to half of a message unused.
    fn from(s: String) -> Text {
        Text::Own(s.into_boxed_str())
    }
}

impl From<&'static str> for Text {
    fn from(s: &'static str) -> Text {
        Text::Static(s)
    }
}

impl From<Arc<str>> for Text {
    fn from(s: Arc<str>) -> Text {
        Text::Shared(s)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.parts().try_for_each(|p| f.write_str(p))
    }
}

/// By content, however it is cut into pieces.
impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> std::cmp::Ordering {
        match (self, other) {
            (Text::Pieces(_), _) | (_, Text::Pieces(_)) => self
                .parts()
                .flat_map(str::bytes)
                .cmp(other.parts().flat_map(str::bytes)),
            _ => self.as_str().cmp(&other.as_str()),
        }
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Text::Pieces(_) => s.collect_str(self),
            _ => s.serialize_str(&self.as_str()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Related {
    pub at: Location,
    pub message: Text,
}

#[derive(Clone, Debug)]
pub struct Finding {
    /// Set by `rules::run` to its rule's id (shared, not a copy per finding).
    pub rule: Arc<str>,
    pub at: Location,
    pub message: Text,
    /// Set by a template when one case of its rule is milder or stronger than
    /// the rule's default (e.g. a placeholder left in a manifest).
    pub severity: Option<Severity>,
    pub related: Vec<Related>,
    pub help: Option<Text>,
    /// The object it is about, when there is one: annotation suppressions
    /// and baseline fingerprints use it.
    pub object: Option<usize>,
    /// Files it depends on besides its spans' (the object's base, patches
    /// and kustomizations).
    pub inputs: Vec<FileId>,
}

impl Finding {
    /// A finding at a node's location (`node.loc()`), which may be in another
    /// file than its object when kustomize assembled the object.
    pub fn at(rule: &Arc<str>, at: Location, message: impl Into<Text>) -> Self {
        Finding {
            rule: rule.clone(),
            at,
            message: message.into(),
            severity: None,
            related: Vec::new(),
            help: None,
            object: None,
            inputs: Vec::new(),
        }
    }
    /// A finding about a file as a whole (a parse error, a suppression comment).
    pub fn new(rule: &Arc<str>, file: FileId, span: Span, message: impl Into<Text>) -> Self {
        Finding::at(rule, Location { file, span }, message)
    }
    pub fn related(self, file: FileId, span: Span, message: impl Into<Text>) -> Self {
        self.related_at(Location { file, span }, message)
    }
    pub fn related_at(mut self, at: Location, message: impl Into<Text>) -> Self {
        self.related.push(Related {
            at,
            message: message.into(),
        });
        self
    }
    /// The Kubernetes object the finding is about (index into the model's objects).
    pub fn object(mut self, index: usize) -> Self {
        self.object = Some(index);
        self
    }
    pub fn help(mut self, help: impl Into<Text>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = Some(s);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(a: &str, b: &str) -> Text {
        Text::pieces(vec![Piece::Own(a.into()), Piece::Shared(Arc::from(b))])
    }

    #[test]
    fn texts_compare_by_content_however_cut() {
        let whole = Text::from("ab: cd".to_string());
        assert_eq!(cut("ab", ": cd"), whole);
        assert_eq!(cut("ab: ", "cd"), cut("a", "b: cd"));
        assert_eq!(Text::from("ab: cd"), whole);
        use std::cmp::Ordering::{Greater, Less};
        assert_eq!(cut("ab", "c").cmp(&Text::from("abd")), Less);
        assert_eq!(cut("ab", "c").cmp(&Text::from("ab")), Greater);
        assert_eq!(
            cut("ab", "c").cmp(&cut("a", "bc")),
            std::cmp::Ordering::Equal
        );
        assert_eq!(cut("", ""), Text::from(""));
    }

    #[test]
    fn texts_print_and_serialize_whole() {
        let t = cut("x \"y\"", " z");
        assert_eq!(t.to_string(), "x \"y\" z");
        assert_eq!(t.as_str(), "x \"y\" z");
        assert_eq!(serde_json::to_string(&t).unwrap(), r#""x \"y\" z""#);
        let mut t = t;
        t.push_str("!");
        assert_eq!(t.to_string(), "x \"y\" z!");
    }

    #[test]
    fn escaping_keeps_shared_pieces_that_need_none() {
        let shared: Arc<str> = Arc::from("fine");
        let t = Text::pieces(vec![
            Piece::Own("bad\u{7}".into()),
            Piece::Shared(shared.clone()),
        ])
        .map_pieces(crate::escape::text);
        let Text::Pieces(p) = &t else {
            panic!("pieces expected")
        };
        assert!(matches!(&p[1], Piece::Shared(s) if Arc::ptr_eq(s, &shared)));
        assert_ne!(p[0].as_str(), "bad\u{7}");
        assert_eq!(
            Text::from(shared.clone()).map_pieces(crate::escape::text),
            Text::from("fine")
        );
        assert!(
            matches!(Text::from(shared.clone()).map_pieces(crate::escape::text), Text::Shared(s) if Arc::ptr_eq(&s, &shared))
        );
    }
}
