//! The span-carrying node tree shared by YAML and JSON input.
//!
//! One arena per file: nodes are 12-byte records, children are ids in one
//! array, and a scalar's text is a range of the file's text unless it had to
//! be decoded (escapes, folding, block scalars). An alias is the anchored node
//! itself, shared, never a copy. Scalars keep their style and tag, so values
//! are typed the way Kubernetes' go-yaml v2 types them (`resolve.rs`), not the
//! way a YAML 1.2 library would.

use std::sync::Arc;

use super::resolve::{self, Scalar};
use crate::source::{FileId, Location, SourceFile, Span};

pub type NodeId = u32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Scalar,
    Map,
    Seq,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

/// An explicit tag, as go-yaml distinguishes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    None,
    /// `!`: the non-specific tag; the scalar is a string.
    NonSpecific,
    Str,
    Int,
    Float,
    Bool,
    Null,
    Binary,
    Timestamp,
    Merge,
    /// Any other tag (`!foo`, `!!seq` on a scalar): the raw text as a string.
    Other,
}

impl Tag {
    /// From a tag as the YAML parser expands it (`tag:yaml.org,2002:int`, `!`, `!foo`).
    pub fn from_expanded(tag: &str) -> Tag {
        match tag.strip_prefix("tag:yaml.org,2002:") {
            Some("str") => Tag::Str,
            Some("int") => Tag::Int,
            Some("float") => Tag::Float,
            Some("bool") => Tag::Bool,
            Some("null") => Tag::Null,
            Some("binary") => Tag::Binary,
            Some("timestamp") => Tag::Timestamp,
            Some("merge") => Tag::Merge,
            _ if tag == "!" => Tag::NonSpecific,
            _ => Tag::Other,
        }
    }
}

/// Text stored in the tree rather than sliced from the file.
const SLICE: u32 = u32::MAX;

/// A node in 12 bytes: most of a run's memory is nodes (a Kubernetes
/// manifest has one per 12 bytes of text), and every tree lives until the report.
#[derive(Clone, Copy, Debug)]
struct Raw {
    start: u32,
    /// Kind (2 bits), style (3), tag (4) and the span's length (23 bits;
    /// `LONG` means the span's end is in `Tree::long`).
    meta: u32,
    /// Scalar: index into `owned`, or `SLICE`. Collection: where its number
    /// of ids is in `kids`, the ids following it.
    data: u32,
}

const KINDS: [Kind; 3] = [Kind::Scalar, Kind::Map, Kind::Seq];
const STYLES: [Style; 5] = [
    Style::Plain,
    Style::SingleQuoted,
    Style::DoubleQuoted,
    Style::Literal,
    Style::Folded,
];
const TAGS: [Tag; 11] = [
    Tag::None,
    Tag::NonSpecific,
    Tag::Str,
    Tag::Int,
    Tag::Float,
    Tag::Bool,
    Tag::Null,
    Tag::Binary,
    Tag::Timestamp,
    Tag::Merge,
    Tag::Other,
];
const _: () = assert!(std::mem::size_of::<Raw>() == 12);
const LEN_SHIFT: u32 = 9;
/// A span this long or longer keeps its end in `Tree::long`.
const LONG: u32 = u32::MAX >> LEN_SHIFT;

impl Raw {
    fn new(span: Span, data: u32, kind: Kind, style: Style, tag: Tag) -> Raw {
        let index = |n: usize| n as u32;
        let kind = index(KINDS.iter().position(|k| *k == kind).unwrap_or(0));
        let style = index(STYLES.iter().position(|s| *s == style).unwrap_or(0));
        let tag = index(TAGS.iter().position(|t| *t == tag).unwrap_or(0));
        let len = span.end.saturating_sub(span.start).min(LONG);
        Raw {
            start: span.start,
            meta: kind | style << 2 | tag << 5 | len << LEN_SHIFT,
            data,
        }
    }
    fn kind(&self) -> Kind {
        KINDS[(self.meta & 3) as usize % 3]
    }
    fn style(&self) -> Style {
        STYLES[(self.meta >> 2 & 7) as usize % 5]
    }
    fn tag(&self) -> Tag {
        TAGS[(self.meta >> 5 & 15) as usize % 11]
    }
    /// The span's length, unless it is `LONG` or more.
    fn short_len(&self) -> Option<u32> {
        let len = self.meta >> LEN_SHIFT;
        (len != LONG).then_some(len)
    }
}

/// A key that appeared twice in one mapping (KWI002).
#[derive(Clone, Debug)]
pub struct DuplicateKey {
    pub key: String,
    pub first: Span,
    pub second: Span,
}

/// One YAML document (or one JSON value / NDJSON line).
#[derive(Debug)]
pub struct Document {
    pub root: NodeId,
    pub duplicates: Vec<DuplicateKey>,
}

#[derive(Debug)]
pub struct Tree {
    file: FileId,
    source: Arc<SourceFile>,
    nodes: Vec<Raw>,
    kids: Vec<NodeId>,
    /// What most trees do not need, boxed: a run holds one tree per file.
    extra: Option<Box<Extra>>,
    pub docs: Vec<Document>,
}

#[derive(Debug, Default)]
struct Extra {
    /// Texts of scalars that are not a slice of the file, end to end, and
    /// where each ends: one buffer, not an allocation per scalar.
    owned: String,
    owned_ends: Vec<u32>,
    /// Ends of spans `LONG` bytes long or more, by node id (ascending).
    long: Vec<(NodeId, u32)>,
    /// The file of each node, for trees assembled from several files
    /// (kustomize); empty when every node is in `file`.
    origin: Vec<FileId>,
}

impl Extra {
    fn owned(&self, i: u32) -> &str {
        let i = i as usize;
        let start = match i {
            0 => 0,
            _ => self.owned_ends.get(i - 1).copied().unwrap_or(0) as usize,
        };
        let end = self.owned_ends.get(i).copied().unwrap_or(0) as usize;
        self.owned.get(start..end).unwrap_or("")
    }
}

impl Tree {
    pub fn new(file: FileId, source: Arc<SourceFile>) -> Tree {
        Tree {
            file,
            source,
            nodes: Vec::new(),
            kids: Vec::new(),
            extra: None,
            docs: Vec::new(),
        }
    }

    pub fn file(&self) -> FileId {
        self.file
    }

    pub fn source(&self) -> &Arc<SourceFile> {
        &self.source
    }

    pub fn node(&self, id: NodeId) -> Node<'_> {
        Node { tree: self, id }
    }

    /// The root of every document, in order.
    pub fn roots(&self) -> impl Iterator<Item = Node<'_>> + '_ {
        self.docs.iter().map(move |d| self.node(d.root))
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Adds a scalar. `text` is `None` when the value is exactly the span's
    /// text (without the quotes of a quoted scalar).
    pub fn add_scalar(&mut self, span: Span, style: Style, tag: Tag, text: Option<&str>) -> NodeId {
        let data = match text {
            Some(t) => {
                let extra = self.extra();
                extra.owned.push_str(t);
                extra.owned_ends.push(extra.owned.len() as u32);
                (extra.owned_ends.len() - 1) as u32
            }
            None => SLICE,
        };
        self.push(Raw::new(span, data, Kind::Scalar, style, tag), span)
    }

    /// Adds a mapping (`kids` = key, value, key, value, …) or a sequence.
    pub fn add_collection(&mut self, kind: Kind, span: Span, tag: Tag, kids: &[NodeId]) -> NodeId {
        let data = self.kids.len() as u32;
        self.kids.push(kids.len() as u32);
        self.kids.extend_from_slice(kids);
        self.push(Raw::new(span, data, kind, Style::Plain, tag), span)
    }

    fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    fn push(&mut self, raw: Raw, span: Span) -> NodeId {
        let id = self.nodes.len() as NodeId;
        if raw.short_len().is_none() {
            self.extra().long.push((id, span.end));
        }
        self.nodes.push(raw);
        id
    }

    /// Whether the text of scalar `id` is a slice of the file (for the parser,
    /// which decides what to store).
    pub fn slice_text(&self, span: Span, style: Style) -> &str {
        let q = matches!(style, Style::SingleQuoted | Style::DoubleQuoted) as u32;
        let (s, e) = (span.start + q, span.end.saturating_sub(q));
        self.source.text.get(s as usize..e as usize).unwrap_or("")
    }

    /// Copies the node `n` (and what is below it) from another tree into this
    /// one, keeping its file and span: for trees assembled from several files.
    pub fn import(&mut self, n: Node<'_>) -> NodeId {
        let kids: Vec<NodeId> = match n.kind() {
            Kind::Scalar => {
                let id =
                    self.add_scalar(n.span(), n.style(), n.tag(), Some(n.text().unwrap_or("")));
                self.set_origin(id, n.file());
                return id;
            }
            Kind::Map => n
                .entries()
                .flat_map(|(k, v)| [k, v])
                .map(|c| self.import(c))
                .collect(),
            Kind::Seq => n.items().map(|c| self.import(c)).collect(),
        };
        let id = self.add_collection(n.kind(), n.span(), n.tag(), &kids);
        self.set_origin(id, n.file());
        id
    }

    /// Records that node `id` comes from `file` (trees assembled from several files).
    pub fn set_origin(&mut self, id: NodeId, file: FileId) {
        let (len, own) = (self.nodes.len(), self.file);
        let origin = &mut self.extra().origin;
        if origin.len() < len {
            origin.resize(len, own);
        }
        origin[id as usize] = file;
    }

    /// Room for the nodes of `bytes` bytes of text: Kubernetes YAML averages
    /// 12 bytes per node, so the arena rarely grows (a grown one leaves holes).
    pub fn reserve_for(&mut self, bytes: usize) {
        self.nodes.reserve(bytes / 10 + 4);
        self.kids.reserve(bytes / 10 + 4);
    }

    /// Gives back what the arena did not use: every tree lives until the
    /// report, so slack is kept for the whole run.
    pub fn shrink(&mut self) {
        self.nodes.shrink_to_fit();
        self.kids.shrink_to_fit();
        if let Some(e) = &mut self.extra {
            e.owned.shrink_to_fit();
            e.owned_ends.shrink_to_fit();
            e.long.shrink_to_fit();
        }
        self.docs.shrink_to_fit();
    }
}

/// A node: a handle into its file's tree, cheap to copy.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    tree: &'a Tree,
    id: NodeId,
}

impl PartialEq for Node<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.tree, other.tree) && self.id == other.id
    }
}
impl Eq for Node<'_> {}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind() {
            Kind::Scalar => write!(f, "{:?}", self.text().unwrap_or("")),
            Kind::Map => f.debug_map().entries(self.entries()).finish(),
            Kind::Seq => f.debug_list().entries(self.items()).finish(),
        }
    }
}

impl<'a> Node<'a> {
    fn raw(self) -> &'a Raw {
        &self.tree.nodes[self.id as usize]
    }

    pub fn id(self) -> NodeId {
        self.id
    }

    pub fn tree(self) -> &'a Tree {
        self.tree
    }

    pub fn span(self) -> Span {
        let r = self.raw();
        let end = match r.short_len() {
            Some(len) => r.start + len,
            None => {
                let long = self.tree.extra.as_deref().map_or(&[][..], |e| &e.long);
                long.binary_search_by_key(&self.id, |(id, _)| *id)
                    .map_or(r.start, |i| long[i].1)
            }
        };
        Span::new(r.start as usize, end as usize)
    }

    /// The file this node was read from.
    pub fn file(self) -> FileId {
        self.tree
            .extra
            .as_deref()
            .and_then(|e| e.origin.get(self.id as usize))
            .copied()
            .unwrap_or(self.tree.file)
    }

    /// File and span, for a finding.
    pub fn loc(self) -> Location {
        Location {
            file: self.file(),
            span: self.span(),
        }
    }

    pub fn kind(self) -> Kind {
        self.raw().kind()
    }

    pub fn style(self) -> Style {
        self.raw().style()
    }

    pub fn tag(self) -> Tag {
        self.raw().tag()
    }

    pub fn is_map(self) -> bool {
        self.kind() == Kind::Map
    }

    pub fn is_seq(self) -> bool {
        self.kind() == Kind::Seq
    }

    pub fn is_scalar(self) -> bool {
        self.kind() == Kind::Scalar
    }

    /// The scalar's text, whatever its type; `None` for collections.
    pub fn text(self) -> Option<&'a str> {
        let r = self.raw();
        if r.kind() != Kind::Scalar {
            return None;
        }
        Some(if r.data == SLICE {
            self.tree.slice_text(self.span(), r.style())
        } else {
            self.tree.extra.as_deref().map_or("", |e| e.owned(r.data))
        })
    }

    /// The value as go-yaml v2 types it (into `interface{}`, as kubectl does).
    pub fn scalar(self) -> Option<Scalar<'a>> {
        let text = self.text()?;
        Some(resolve::resolve(text, self.style(), self.tag()))
    }

    /// The scalar's text unless it is null (numbers and booleans included).
    pub fn as_str(self) -> Option<&'a str> {
        match self.scalar()? {
            Scalar::Null => None,
            _ => self.text(),
        }
    }

    /// A string as Kubernetes reads it: not a number, boolean or null.
    pub fn as_string(self) -> Option<&'a str> {
        match self.scalar()? {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A boolean as go-yaml reads it (`yes`, `on`, `True`, …).
    pub fn as_bool(self) -> Option<bool> {
        match self.scalar()? {
            Scalar::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn is_null(self) -> bool {
        matches!(self.scalar(), Some(Scalar::Null))
    }

    fn kids(self) -> &'a [NodeId] {
        let r = self.raw();
        if r.kind() == Kind::Scalar {
            return &[];
        }
        let at = r.data as usize;
        let len = self.tree.kids.get(at).map_or(0, |n| *n as usize);
        self.tree.kids.get(at + 1..at + 1 + len).unwrap_or(&[])
    }

    /// Entries of a mapping, empty for anything else.
    pub fn entries(self) -> Entries<'a> {
        Entries {
            tree: self.tree,
            kids: if self.is_map() { self.kids() } else { &[] },
        }
    }

    /// Items of a sequence, empty for anything else.
    pub fn items(self) -> Items<'a> {
        Items {
            tree: self.tree,
            kids: if self.is_seq() { self.kids() } else { &[] },
        }
    }

    pub fn as_map(self) -> Option<Entries<'a>> {
        self.is_map().then(|| self.entries())
    }

    pub fn as_seq(self) -> Option<Items<'a>> {
        self.is_seq().then(|| self.items())
    }

    /// Value of `key` in a mapping (duplicates were resolved when parsing:
    /// the last one wins, as in Kubernetes).
    pub fn get(self, key: &str) -> Option<Node<'a>> {
        self.entry(key).map(|(_, v)| v)
    }

    /// Key node and value node of `key` in a mapping.
    pub fn entry(self, key: &str) -> Option<(Node<'a>, Node<'a>)> {
        self.entries()
            .rev()
            .find(|(k, _)| k.maybe_len(key.len()) && k.text() == Some(key))
    }

    /// False when this node's text cannot be `len` bytes long, known from
    /// the node alone: a key lookup then skips the file's text, which is
    /// elsewhere in memory, for almost every key it passes.
    fn maybe_len(self, len: usize) -> bool {
        let r = self.raw();
        if r.data != SLICE || r.kind() != Kind::Scalar {
            return true;
        }
        let Some(text_len) = r.short_len() else {
            return true;
        };
        let quotes = matches!(r.style(), Style::SingleQuoted | Style::DoubleQuoted) as usize * 2;
        (text_len as usize).saturating_sub(quotes) == len
    }

    /// Follow a path of mapping keys.
    pub fn path(self, keys: &[&str]) -> Option<Node<'a>> {
        let mut n = self;
        for k in keys {
            n = n.get(k)?;
        }
        Some(n)
    }

    /// String at a path (any non-null scalar).
    pub fn str_at(self, keys: &[&str]) -> Option<&'a str> {
        self.path(keys)?.as_str()
    }

    /// Items of the sequence at `key`, empty when absent or not a sequence.
    pub fn seq_at(self, key: &str) -> Items<'a> {
        self.get(key).map(Node::items).unwrap_or_default()
    }

    /// Entries of the mapping at `key`, empty when absent or not a mapping.
    pub fn map_at(self, key: &str) -> Entries<'a> {
        self.get(key).map(Node::entries).unwrap_or_default()
    }
}

/// A tree with nothing in it, for empty `Items` and `Entries`.
fn empty_tree() -> &'static Tree {
    static EMPTY: std::sync::LazyLock<Tree> =
        std::sync::LazyLock::new(|| Tree::new(0, SourceFile::new("", String::new())));
    &EMPTY
}

impl Default for Entries<'_> {
    fn default() -> Self {
        Entries {
            tree: empty_tree(),
            kids: &[],
        }
    }
}

impl Default for Items<'_> {
    fn default() -> Self {
        Items {
            tree: empty_tree(),
            kids: &[],
        }
    }
}

/// The entries of a mapping: (key, value) pairs in document order.
#[derive(Clone, Copy)]
pub struct Entries<'a> {
    tree: &'a Tree,
    kids: &'a [NodeId],
}

impl<'a> Entries<'a> {
    /// The entries as an iterator (this is one already; kept for readability).
    pub fn iter(&self) -> Entries<'a> {
        *self
    }
    pub fn len(&self) -> usize {
        self.kids.len() / 2
    }
    pub fn is_empty(&self) -> bool {
        self.kids.is_empty()
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = (Node<'a>, Node<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        let (&[k, v], rest) = self.kids.split_first_chunk::<2>()?;
        self.kids = rest;
        Some((self.tree.node(k), self.tree.node(v)))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl DoubleEndedIterator for Entries<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let (rest, &[k, v]) = self.kids.split_last_chunk::<2>()?;
        self.kids = rest;
        Some((self.tree.node(k), self.tree.node(v)))
    }
}

impl ExactSizeIterator for Entries<'_> {}

/// The items of a sequence.
#[derive(Clone, Copy)]
pub struct Items<'a> {
    tree: &'a Tree,
    kids: &'a [NodeId],
}

impl<'a> Items<'a> {
    /// The items as an iterator (this is one already; kept for readability).
    pub fn iter(&self) -> Items<'a> {
        *self
    }
    pub fn len(&self) -> usize {
        self.kids.len()
    }
    pub fn is_empty(&self) -> bool {
        self.kids.is_empty()
    }
    pub fn get(&self, i: usize) -> Option<Node<'a>> {
        self.kids.get(i).map(|id| self.tree.node(*id))
    }
    pub fn first(&self) -> Option<Node<'a>> {
        self.get(0)
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Node<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        let (id, rest) = self.kids.split_first()?;
        self.kids = rest;
        Some(self.tree.node(*id))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl DoubleEndedIterator for Items<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let (id, rest) = self.kids.split_last()?;
        self.kids = rest;
        Some(self.tree.node(*id))
    }
}

impl ExactSizeIterator for Items<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_and_owned_text() {
        let src = SourceFile::new("t", "a: 'x'\nb: \"y\\n\"\n".to_string());
        let mut t = Tree::new(0, src);
        let a = t.add_scalar(Span::new(0, 1), Style::Plain, Tag::None, None);
        let x = t.add_scalar(Span::new(3, 6), Style::SingleQuoted, Tag::None, None);
        let b = t.add_scalar(Span::new(7, 8), Style::Plain, Tag::None, None);
        let y = t.add_scalar(
            Span::new(10, 15),
            Style::DoubleQuoted,
            Tag::None,
            Some("y\n"),
        );
        let m = t.add_collection(Kind::Map, Span::new(0, 15), Tag::None, &[a, x, b, y]);
        let root = t.node(m);
        assert_eq!(root.get("a").unwrap().as_str(), Some("x"));
        assert_eq!(root.get("b").unwrap().as_str(), Some("y\n"));
        assert_eq!(root.entries().len(), 2);
        assert_eq!(root.entries().next_back().unwrap().0.text(), Some("b"));
        assert!(root.get("c").is_none());
    }

    #[test]
    fn owned_texts_share_one_buffer() {
        let src = SourceFile::new("t", "- \"\\u00e9\"\n- ''\n- \"a\\tb\"\n".to_string());
        let mut t = Tree::new(0, src);
        let texts = ["é", "", "a\tb"];
        let ids: Vec<NodeId> = texts
            .iter()
            .map(|s| t.add_scalar(Span::new(2, 4), Style::DoubleQuoted, Tag::None, Some(s)))
            .collect();
        t.shrink();
        for (id, want) in ids.iter().zip(texts) {
            assert_eq!(t.node(*id).text(), Some(want));
        }
    }

    #[test]
    fn kind_style_and_tag_survive_packing() {
        let src = SourceFile::new("t", "x".to_string());
        let mut t = Tree::new(0, src);
        for (i, style) in STYLES.iter().enumerate() {
            let tag = TAGS[i * 2 % TAGS.len()];
            let n = t.add_scalar(Span::new(0, 1), *style, tag, None);
            assert_eq!((t.node(n).style(), t.node(n).tag()), (*style, tag));
        }
        let s = t.add_scalar(Span::new(0, 1), Style::Plain, Tag::Other, None);
        let q = t.add_collection(Kind::Seq, Span::new(0, 1), Tag::Merge, &[s, s]);
        assert_eq!((t.node(q).kind(), t.node(q).tag()), (Kind::Seq, Tag::Merge));
        assert_eq!(t.node(q).items().len(), 2);
    }

    #[test]
    fn a_collection_longer_than_the_packed_length_keeps_every_item() {
        let src = SourceFile::new("t", "x".to_string());
        let mut t = Tree::new(0, src);
        let s = t.add_scalar(Span::new(0, 1), Style::Plain, Tag::None, None);
        let n = LONG as usize + 3;
        let big = t.add_collection(Kind::Seq, Span::new(0, 1), Tag::None, &vec![s; n]);
        let small = t.add_collection(Kind::Seq, Span::new(0, 1), Tag::None, &[s]);
        assert_eq!(t.node(big).items().len(), n);
        assert_eq!(t.node(small).items().len(), 1);
    }

    #[test]
    fn spans_longer_than_the_packed_length_keep_their_end() {
        let n = LONG as usize + 5;
        let text = format!("k: {}\n", "v".repeat(n));
        let src = SourceFile::new("t", text);
        let mut t = Tree::new(0, src);
        let k = t.add_scalar(Span::new(0, 1), Style::Plain, Tag::None, None);
        let v = t.add_scalar(Span::new(3, 3 + n), Style::Plain, Tag::None, None);
        let short = t.add_scalar(Span::new(3, 4), Style::Plain, Tag::None, None);
        let m = t.add_collection(Kind::Map, Span::new(0, 3 + n), Tag::None, &[k, v]);
        assert_eq!(t.node(v).span(), Span::new(3, 3 + n));
        assert_eq!(t.node(m).span(), Span::new(0, 3 + n));
        assert_eq!(t.node(short).span(), Span::new(3, 4));
        let value = t.node(m).get("k").unwrap().text().unwrap();
        assert_eq!(value.len(), n);
        assert!(t.node(m).get(&"v".repeat(n)).is_none());
    }
}
