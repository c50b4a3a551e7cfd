//! The span-carrying node tree shared by YAML and JSON input.
//!
//! One arena per file: scalars are 8-byte records, collections 12-byte
//! ones in an array of their own, children are ids in one array, and a
//! scalar's text is a range of the file's text unless it had to be decoded
//! (escapes, folding, block scalars). An alias is the anchored node
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

/// The bit that marks a collection's id: collections and scalars are in
/// arrays of their own, so that a scalar (three nodes in four) takes 8 bytes.
const COLL: NodeId = 1 << 31;

/// Kind, style, tag and the span's length, in 32 bits: kind (2 bits; for a
/// scalar, whether its text is stored in the tree), style (3), tag (4) and
/// the span's length (23 bits; `LONG` means its end is in `Extra::long`).
#[derive(Clone, Copy, Debug)]
struct Meta(u32);

/// Kind bits of a scalar whose text is stored in the tree, not sliced from the file.
const OWNED_SCALAR: u32 = 3;

/// A scalar in 8 bytes: most of a run's memory is nodes (a Kubernetes
/// manifest has one per 11 bytes of text, three in four of them scalars),
/// and every tree lives until the report.
#[derive(Clone, Copy, Debug)]
struct RawScalar {
    start: u32,
    meta: Meta,
}

/// A mapping or sequence: `kids` is where its number of ids is in
/// `Tree::kids`, the ids following it; or, when its `Meta::run` is not 0,
/// the first of its children, scalars with consecutive ids.
#[derive(Clone, Copy, Debug)]
struct RawColl {
    start: u32,
    meta: Meta,
    kids: u32,
}

const KINDS: [Kind; 4] = [Kind::Scalar, Kind::Map, Kind::Seq, Kind::Scalar];
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
/// The longest run of scalars a collection's style bits can count.
const MAX_RUN: usize = 7;
const _: () = assert!(std::mem::size_of::<RawScalar>() == 8);
const _: () = assert!(std::mem::size_of::<RawColl>() == 12);
const LEN_SHIFT: u32 = 9;
/// A span this long or longer keeps its end in `Extra::long`.
const LONG: u32 = u32::MAX >> LEN_SHIFT;
/// The most text a tree may have for `Tree::warm` to read it.
const WARM_MAX: usize = 256 * 1024;

impl Meta {
    fn new(span: Span, kind_bits: u32, style: Style, tag: Tag) -> Meta {
        let index = |n: usize| n as u32;
        let style = index(STYLES.iter().position(|s| *s == style).unwrap_or(0));
        let tag = index(TAGS.iter().position(|t| *t == tag).unwrap_or(0));
        let len = span.end.saturating_sub(span.start).min(LONG);
        Meta(kind_bits & 3 | style << 2 | tag << 5 | len << LEN_SHIFT)
    }
    fn kind(self) -> Kind {
        KINDS[(self.0 & 3) as usize]
    }
    fn owned(self) -> bool {
        self.0 & 3 == OWNED_SCALAR
    }
    fn style(self) -> Style {
        STYLES[(self.0 >> 2 & 7) as usize % 5]
    }
    /// A collection's style bits: when not 0, it holds this many scalars
    /// (items, or entries of a mapping) with consecutive ids, not in `kids`.
    fn run(self) -> u32 {
        self.0 >> 2 & 7
    }
    fn tag(self) -> Tag {
        TAGS[(self.0 >> 5 & 15) as usize % 11]
    }
    /// The span's length, unless it is `LONG` or more.
    fn short_len(self) -> Option<u32> {
        let len = self.0 >> LEN_SHIFT;
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

/// One YAML document (or one JSON value / NDJSON line). Its duplicate keys
/// are in the tree's `Extra`: most documents have none, and a run holds
/// every document's record.
#[derive(Debug)]
pub struct Document {
    pub root: NodeId,
}

#[derive(Debug)]
pub struct Tree {
    file: FileId,
    source: Arc<SourceFile>,
    scalars: Vec<RawScalar>,
    colls: Vec<RawColl>,
    kids: Vec<NodeId>,
    /// What most trees do not need, boxed: a run holds one tree per file.
    extra: Option<Box<Extra>>,
    pub docs: Vec<Document>,
}

/// A tree's stored texts (one file in four has a quoted or block scalar
/// that is not a slice of the file) and, boxed again, what fewer still need.
#[derive(Debug, Default)]
struct Extra {
    /// Texts of scalars that are not a slice of the file, end to end, and
    /// (scalar id, where its text ends), ids ascending as they are given:
    /// one buffer, not an allocation per scalar.
    owned: String,
    owned_at: Vec<(NodeId, u32)>,
    rare: Option<Box<Rare>>,
}

#[derive(Debug, Default)]
struct Rare {
    /// Duplicate keys, with the index of the document they are in.
    duplicates: Vec<(u32, DuplicateKey)>,
    /// Ends of spans `LONG` bytes long or more, by node id (ascending).
    long: Vec<(NodeId, u32)>,
    /// The file of each scalar and of each collection, for trees assembled
    /// from several files (kustomize); empty when every node is in `file`.
    origin: Vec<FileId>,
    origin_colls: Vec<FileId>,
}

impl Extra {
    fn owned(&self, id: NodeId) -> &str {
        let Ok(i) = self.owned_at.binary_search_by_key(&id, |(id, _)| *id) else {
            return "";
        };
        let start = match i {
            0 => 0,
            _ => self.owned_at.get(i - 1).map_or(0, |(_, end)| *end) as usize,
        };
        let end = self.owned_at.get(i).map_or(0, |(_, end)| *end) as usize;
        self.owned.get(start..end).unwrap_or("")
    }

    fn rare(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }
}

impl Tree {
    pub fn new(file: FileId, source: Arc<SourceFile>) -> Tree {
        Tree {
            file,
            source,
            scalars: Vec::new(),
            colls: Vec::new(),
            kids: Vec::new(),
            extra: None,
            docs: Vec::new(),
        }
    }

    pub fn file(&self) -> FileId {
        self.file
    }

    /// Renumbers a parsed file's tree (no node of it comes from elsewhere).
    pub fn set_file(&mut self, file: FileId) {
        self.file = file;
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

    /// Adds a document, with the duplicate keys found in it.
    pub fn push_document(&mut self, root: NodeId, duplicates: Vec<DuplicateKey>) {
        let doc = self.docs.len() as u32;
        self.docs.push(Document { root });
        if !duplicates.is_empty() {
            let rare = self.extra().rare();
            rare.duplicates
                .extend(duplicates.into_iter().map(|d| (doc, d)));
        }
    }

    /// Drops every document (a limit hit after parsing).
    pub fn clear_documents(&mut self) {
        self.docs.clear();
        if let Some(r) = self.rare_mut() {
            r.duplicates.clear();
        }
    }

    /// The duplicate keys of every document, in order.
    pub fn duplicates(&self) -> impl Iterator<Item = &DuplicateKey> + '_ {
        self.rare()
            .into_iter()
            .flat_map(|r| r.duplicates.iter().map(|(_, d)| d))
    }

    /// The duplicate keys of document `doc`.
    pub fn document_duplicates(&self, doc: usize) -> impl Iterator<Item = &DuplicateKey> + '_ {
        self.rare().into_iter().flat_map(move |r| {
            r.duplicates
                .iter()
                .filter(move |(d, _)| *d as usize == doc)
                .map(|(_, d)| d)
        })
    }

    /// Every scalar of the tree, in the order they were added.
    pub fn scalar_nodes(&self) -> impl Iterator<Item = Node<'_>> + '_ {
        (0..self.scalars.len() as NodeId).map(move |id| self.node(id))
    }

    /// Adds a scalar. `text` is `None` when the value is exactly the span's
    /// text (without the quotes of a quoted scalar).
    pub fn add_scalar(&mut self, span: Span, style: Style, tag: Tag, text: Option<&str>) -> NodeId {
        // Ids past `COLL` would read as collections: a file big enough for
        // that (2³¹ scalars) is far past any size limit; its last ids repeat.
        let id = (self.scalars.len() as NodeId).min(COLL - 1);
        let kind_bits = match text {
            Some(t) => {
                let extra = self.extra();
                extra.owned.push_str(t);
                extra.owned_at.push((id, extra.owned.len() as u32));
                OWNED_SCALAR
            }
            None => 0,
        };
        let meta = Meta::new(span, kind_bits, style, tag);
        self.note_long(id, meta, span);
        self.scalars.push(RawScalar {
            start: span.start,
            meta,
        });
        id
    }

    /// Adds a mapping (`kids` = key, value, key, value, …) or a sequence.
    pub fn add_collection(&mut self, kind: Kind, span: Span, tag: Tag, kids: &[NodeId]) -> NodeId {
        let id = (self.colls.len() as NodeId).min(COLL - 1) | COLL;
        let kind_bits = KINDS.iter().position(|k| *k == kind).unwrap_or(1) as u32;
        let mut meta = Meta::new(span, kind_bits, Style::Plain, tag);
        // A collection of scalars only, as a third of the ids would be
        // (labels, env entries, ports, args), is a run of consecutive ids:
        // its first id is enough.
        let per = if kind == Kind::Map { 2 } else { 1 };
        let run = match kids.first() {
            Some(&first)
                if kids.len() % per == 0
                    && kids.len() <= MAX_RUN * per
                    && kids
                        .iter()
                        .zip(first..)
                        .all(|(k, want)| *k == want && want < COLL) =>
            {
                (kids.len() / per) as u32
            }
            _ => 0,
        };
        let at = if run > 0 {
            meta.0 |= run << 2;
            kids[0]
        } else {
            let at = self.kids.len() as u32;
            self.kids.push(kids.len() as u32);
            self.kids.extend_from_slice(kids);
            at
        };
        self.note_long(id, meta, span);
        self.colls.push(RawColl {
            start: span.start,
            meta,
            kids: at,
        });
        id
    }

    fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    fn rare(&self) -> Option<&Rare> {
        self.extra.as_deref().and_then(|e| e.rare.as_deref())
    }

    fn rare_mut(&mut self) -> Option<&mut Rare> {
        self.extra
            .as_deref_mut()
            .and_then(|e| e.rare.as_deref_mut())
    }

    /// Keeps the end of a span too long for `Meta`, sorted by id (scalars'
    /// and collections' ids interleave; such spans are 8 MB or more).
    fn note_long(&mut self, id: NodeId, meta: Meta, span: Span) {
        if meta.short_len().is_none() {
            let long = &mut self.extra().rare().long;
            let at = long.partition_point(|(i, _)| *i < id);
            long.insert(at, (id, span.end));
        }
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
        let own = self.file;
        let (len, coll) = match id & COLL {
            0 => (self.scalars.len(), false),
            _ => (self.colls.len(), true),
        };
        let rare = self.extra().rare();
        let origin = if coll {
            &mut rare.origin_colls
        } else {
            &mut rare.origin
        };
        if origin.len() < len {
            origin.resize(len, own);
        }
        if let Some(o) = origin.get_mut((id & !COLL) as usize) {
            *o = file;
        }
    }

    /// Room for the nodes of `bytes` bytes of text: Kubernetes YAML averages
    /// 11 bytes per node, a quarter of them collections, so the arena rarely
    /// grows (a grown one leaves holes).
    pub fn reserve_for(&mut self, bytes: usize) {
        self.scalars.reserve(bytes / 12 + 4);
        self.colls.reserve(bytes / 36 + 4);
        self.kids.reserve(bytes / 12 + 4);
    }

    /// Reads one word per cache line of the tree's arrays and text, in
    /// order: loads that do not wait for each other, so the core overlaps
    /// their misses, where a walk down the tree waits for one after another.
    /// Rules then find the nodes in cache (on 20,000 files, 2 threads: the
    /// per-object rules 105 → 74 ms). A tree of more than `WARM_MAX` bytes
    /// of text is left: its objects span many chunks, each would read it all.
    pub fn warm(&self) {
        fn lines<T: Copy>(v: &[T], f: impl Fn(T) -> u32) -> u32 {
            let step = (64 / std::mem::size_of::<T>()).max(1);
            v.iter().step_by(step).fold(0, |a, x| a ^ f(*x))
        }
        let text = self.source.text.as_bytes();
        if text.len() > WARM_MAX {
            return;
        }
        let mut sum = lines(&self.scalars, |r| r.start)
            ^ lines(&self.colls, |r| r.start)
            ^ lines(&self.kids, |k| k)
            ^ lines(text, u32::from);
        if let Some(e) = &self.extra {
            sum ^= lines(e.owned.as_bytes(), u32::from) ^ lines(&e.owned_at, |(id, _)| id);
        }
        std::hint::black_box(sum);
    }

    /// Gives back what the arena did not use: every tree lives until the
    /// report, so slack is kept for the whole run.
    pub fn shrink(&mut self) {
        self.scalars.shrink_to_fit();
        self.colls.shrink_to_fit();
        self.kids.shrink_to_fit();
        if let Some(e) = &mut self.extra {
            e.owned.shrink_to_fit();
            e.owned_at.shrink_to_fit();
            if let Some(r) = &mut e.rare {
                r.long.shrink_to_fit();
                r.duplicates.shrink_to_fit();
            }
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
    /// Start and meta of the node. An id not of this tree (there is none:
    /// ids come from it) reads as an empty scalar.
    fn raw(self) -> (u32, Meta) {
        let i = (self.id & !COLL) as usize;
        let raw = match self.id & COLL {
            0 => self.tree.scalars.get(i).map(|r| (r.start, r.meta)),
            _ => self.tree.colls.get(i).map(|r| (r.start, r.meta)),
        };
        raw.unwrap_or((0, Meta(0)))
    }

    pub fn id(self) -> NodeId {
        self.id
    }

    pub fn tree(self) -> &'a Tree {
        self.tree
    }

    pub fn span(self) -> Span {
        let (start, meta) = self.raw();
        self.span_of(start, meta)
    }

    /// The span of this node from its record (`raw`), read once by callers
    /// that need the record too.
    fn span_of(self, start: u32, meta: Meta) -> Span {
        let end = match meta.short_len() {
            Some(len) => start + len,
            None => {
                let long = self.tree.rare().map_or(&[][..], |r| &r.long);
                long.binary_search_by_key(&self.id, |(id, _)| *id)
                    .map_or(start, |i| long[i].1)
            }
        };
        Span::new(start as usize, end as usize)
    }

    /// The file this node was read from.
    pub fn file(self) -> FileId {
        self.tree
            .rare()
            .and_then(|r| match self.id & COLL {
                0 => r.origin.get(self.id as usize),
                _ => r.origin_colls.get((self.id & !COLL) as usize),
            })
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
        self.raw().1.kind()
    }

    pub fn style(self) -> Style {
        match self.id & COLL {
            0 => self.raw().1.style(),
            _ => Style::Plain,
        }
    }

    pub fn tag(self) -> Tag {
        self.raw().1.tag()
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
        let (start, meta) = self.raw();
        if meta.kind() != Kind::Scalar {
            return None;
        }
        Some(if meta.owned() {
            self.tree.extra.as_deref().map_or("", |e| e.owned(self.id))
        } else {
            self.tree
                .slice_text(self.span_of(start, meta), meta.style())
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

    fn kids(self) -> Kids<'a> {
        if self.id & COLL == 0 {
            return Kids::EMPTY;
        }
        let Some(r) = self.tree.colls.get((self.id & !COLL) as usize) else {
            return Kids::EMPTY;
        };
        match r.meta.run() {
            0 => {
                let at = r.kids as usize;
                let len = self.tree.kids.get(at).map_or(0, |n| *n as usize);
                Kids::Ids(self.tree.kids.get(at + 1..at + 1 + len).unwrap_or(&[]))
            }
            run => {
                let per = if r.meta.kind() == Kind::Map { 2 } else { 1 };
                Kids::Run(r.kids, r.kids + run * per)
            }
        }
    }

    /// Entries of a mapping, empty for anything else.
    pub fn entries(self) -> Entries<'a> {
        Entries {
            tree: self.tree,
            kids: if self.is_map() {
                self.kids()
            } else {
                Kids::EMPTY
            },
        }
    }

    /// Items of a sequence, empty for anything else.
    pub fn items(self) -> Items<'a> {
        Items {
            tree: self.tree,
            kids: if self.is_seq() {
                self.kids()
            } else {
                Kids::EMPTY
            },
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
        // The hottest lookup of a run: each key's record is read once and
        // its text compared in place (what `text() == Some(key)` does, with
        // the length known from the record for nearly every key).
        let tree = self.tree;
        let text = tree.source.text.as_bytes();
        let is_key = |k: NodeId| {
            if k & COLL != 0 {
                return false;
            }
            let Some(r) = tree.scalars.get(k as usize) else {
                return false;
            };
            let (meta, Some(len)) = (r.meta, r.meta.short_len()) else {
                return tree.node(k).text() == Some(key);
            };
            if meta.owned() {
                return tree.node(k).text() == Some(key);
            }
            let q = matches!(meta.style(), Style::SingleQuoted | Style::DoubleQuoted) as usize;
            let start = r.start as usize + q;
            // Bytes equal to a whole UTF-8 string start and end on character
            // boundaries, so this is the `str` comparison.
            (len as usize).saturating_sub(2 * q) == key.len()
                && text.get(start..start + key.len()) == Some(key.as_bytes())
        };
        if !self.is_map() {
            return None;
        }
        let (k, v) = match self.kids() {
            Kids::Ids(ids) => ids
                .chunks_exact(2)
                .rev()
                .find(|kv| is_key(kv[0]))
                .map(|kv| (kv[0], kv[1]))?,
            Kids::Run(first, end) => (first..end)
                .step_by(2)
                .rev()
                .find(|k| is_key(*k))
                .map(|k| (k, k + 1))?,
        };
        Some((tree.node(k), tree.node(v)))
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
            kids: Kids::EMPTY,
        }
    }
}

impl Default for Items<'_> {
    fn default() -> Self {
        Items {
            tree: empty_tree(),
            kids: Kids::EMPTY,
        }
    }
}

/// The children of a collection: ids in `Tree::kids`, or a run of
/// consecutive scalar ids, `start..end`.
#[derive(Clone, Copy)]
enum Kids<'a> {
    Ids(&'a [NodeId]),
    Run(NodeId, NodeId),
}

impl Kids<'_> {
    const EMPTY: Kids<'static> = Kids::Ids(&[]);

    fn len(&self) -> usize {
        match self {
            Kids::Ids(ids) => ids.len(),
            Kids::Run(start, end) => end.saturating_sub(*start) as usize,
        }
    }

    fn get(&self, i: usize) -> Option<NodeId> {
        match self {
            Kids::Ids(ids) => ids.get(i).copied(),
            Kids::Run(start, _) => (i < self.len()).then(|| start + i as NodeId),
        }
    }

    fn pop_front(&mut self) -> Option<NodeId> {
        match self {
            Kids::Ids(ids) => {
                let (id, rest) = ids.split_first()?;
                *ids = rest;
                Some(*id)
            }
            Kids::Run(start, end) => (start < end).then(|| {
                *start += 1;
                *start - 1
            }),
        }
    }

    fn pop_back(&mut self) -> Option<NodeId> {
        match self {
            Kids::Ids(ids) => {
                let (id, rest) = ids.split_last()?;
                *ids = rest;
                Some(*id)
            }
            Kids::Run(start, end) => (start < end).then(|| {
                *end -= 1;
                *end
            }),
        }
    }
}

/// The entries of a mapping: (key, value) pairs in document order.
#[derive(Clone, Copy)]
pub struct Entries<'a> {
    tree: &'a Tree,
    kids: Kids<'a>,
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
        self.kids.len() == 0
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = (Node<'a>, Node<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        if self.kids.len() < 2 {
            return None;
        }
        let k = self.kids.pop_front()?;
        let v = self.kids.pop_front()?;
        Some((self.tree.node(k), self.tree.node(v)))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl DoubleEndedIterator for Entries<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.kids.len() < 2 {
            return None;
        }
        let v = self.kids.pop_back()?;
        let k = self.kids.pop_back()?;
        Some((self.tree.node(k), self.tree.node(v)))
    }
}

impl ExactSizeIterator for Entries<'_> {}

/// The items of a sequence.
#[derive(Clone, Copy)]
pub struct Items<'a> {
    tree: &'a Tree,
    kids: Kids<'a>,
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
        self.kids.len() == 0
    }
    pub fn get(&self, i: usize) -> Option<Node<'a>> {
        self.kids.get(i).map(|id| self.tree.node(id))
    }
    pub fn first(&self) -> Option<Node<'a>> {
        self.get(0)
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Node<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        self.kids.pop_front().map(|id| self.tree.node(id))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl DoubleEndedIterator for Items<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.kids.pop_back().map(|id| self.tree.node(id))
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

    #[test]
    fn long_spans_of_collections_and_scalars_interleave() {
        // A collection's id sorts after every scalar's: a long scalar added
        // after a long collection must still be found.
        let n = LONG as usize + 5;
        let src = SourceFile::new("t", "v".repeat(2 * n));
        let mut t = Tree::new(0, src);
        let a = t.add_scalar(Span::new(0, n), Style::Plain, Tag::None, None);
        let seq = t.add_collection(Kind::Seq, Span::new(0, n + 1), Tag::None, &[a]);
        let b = t.add_scalar(Span::new(1, n + 2), Style::Plain, Tag::None, None);
        let map = t.add_collection(Kind::Map, Span::new(2, n + 3), Tag::None, &[a, b]);
        let spans = [a, seq, b, map].map(|id| t.node(id).span());
        assert_eq!(
            spans,
            [(0, n), (0, n + 1), (1, n + 2), (2, n + 3)].map(|(s, e)| Span::new(s, e))
        );
    }

    #[test]
    fn collections_of_consecutive_scalars_are_runs() {
        let src = SourceFile::new("t", "abcdefghijklmnopqrstuvwxyz".to_string());
        let mut t = Tree::new(0, src);
        let ids: Vec<NodeId> = (0..16)
            .map(|i| t.add_scalar(Span::new(i, i + 1), Style::Plain, Tag::None, None))
            .collect();
        let kids_before = t.kids.len();
        // 7 entries and 7 items are runs; 8 items, gaps and repeats are not.
        let map = t.add_collection(Kind::Map, Span::new(0, 14), Tag::None, &ids[..14]);
        let seq = t.add_collection(Kind::Seq, Span::new(2, 9), Tag::None, &ids[2..9]);
        assert_eq!(t.kids.len(), kids_before);
        let long = t.add_collection(Kind::Seq, Span::new(0, 8), Tag::None, &ids[..8]);
        let gap = t.add_collection(Kind::Seq, Span::new(0, 3), Tag::None, &[ids[0], ids[2]]);
        let repeat = t.add_collection(Kind::Seq, Span::new(0, 3), Tag::None, &[ids[1], ids[1]]);
        let nested = t.add_collection(Kind::Seq, Span::new(0, 9), Tag::None, &[seq, ids[9]]);
        let empty = t.add_collection(Kind::Map, Span::new(0, 0), Tag::None, &[]);
        assert_eq!(t.kids.len(), kids_before + 9 + 3 + 3 + 3 + 1);
        let text = |n: Node<'_>| n.text().unwrap_or("?").to_string();
        let m = t.node(map);
        assert_eq!(m.entries().len(), 7);
        assert_eq!(m.get("m").map(text).as_deref(), Some("n"));
        let (k, v) = m.entries().next_back().unwrap();
        assert_eq!((text(k), text(v)), ("m".into(), "n".into()));
        let keys: String = m.entries().rev().map(|(k, _)| text(k)).collect();
        assert_eq!(keys, "mkigeca");
        let s = t.node(seq);
        assert_eq!(s.items().map(text).collect::<String>(), "cdefghi");
        assert_eq!(s.items().get(6).map(text).as_deref(), Some("i"));
        assert!(s.items().get(7).is_none());
        assert_eq!(t.node(long).items().len(), 8);
        assert_eq!(t.node(gap).items().map(text).collect::<String>(), "ac");
        assert_eq!(t.node(repeat).items().map(text).collect::<String>(), "bb");
        assert_eq!(t.node(nested).items().next().unwrap().items().len(), 7);
        assert!(t.node(empty).entries().is_empty());
        assert_eq!(
            (t.node(map).style(), t.node(seq).style()),
            (Style::Plain, Style::Plain)
        );
    }

    #[test]
    fn imported_nodes_keep_their_files() {
        let base = SourceFile::new("base", "a: [x, {b: y}]\n".to_string());
        let mut from = Tree::new(7, base);
        let x = from.add_scalar(Span::new(4, 5), Style::Plain, Tag::None, None);
        let b = from.add_scalar(Span::new(8, 9), Style::Plain, Tag::None, None);
        let y = from.add_scalar(Span::new(11, 12), Style::Plain, Tag::None, None);
        let inner = from.add_collection(Kind::Map, Span::new(7, 13), Tag::None, &[b, y]);
        let seq = from.add_collection(Kind::Seq, Span::new(3, 14), Tag::None, &[x, inner]);
        let mut t = Tree::new(2, SourceFile::new("out", String::new()));
        let own = t.add_scalar(Span::new(0, 0), Style::Plain, Tag::None, Some("z"));
        let copy = t.import(from.node(seq));
        let copy = t.node(copy);
        assert_eq!((copy.file(), copy.span()), (7, Span::new(3, 14)));
        let inner = copy.items().nth(1).unwrap();
        assert_eq!((inner.file(), inner.span()), (7, Span::new(7, 13)));
        let y = inner.get("b").unwrap();
        assert_eq!((y.file(), y.text()), (7, Some("y")));
        assert_eq!(copy.items().next().unwrap().text(), Some("x"));
        assert_eq!((t.node(own).file(), t.node(own).text()), (2, Some("z")));
    }
}
