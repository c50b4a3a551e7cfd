//! YAML → span tree, read the way `kubectl -f` reads it.
//!
//! The file is cut into documents as Kubernetes' `YAMLReader` does: at every
//! line that starts with `---` (the rest of that line must be blank or a
//! comment). Each piece is parsed with go-yaml's grammar (`libyaml/`), and
//! only its first document is read: what follows a `...` is dropped, as
//! go-yaml's `Unmarshal` drops it. Empty and null documents are skipped.
//!
//! What fails kubectl's YAML-to-JSON step fails the document here too, with
//! kubectl's words: a tag that disagrees with its text, `.inf`/`.nan`
//! values, a null, 64-bit unsigned or collection key, excessive aliasing.
//! Aliases share the anchored node (no copies); their expansion is still
//! counted against go-yaml's alias ratio and our per-file budget.

use std::collections::HashMap;

use super::libyaml::{EventData, MappingStyle, Parser, ScalarStyle, SequenceStyle};
use super::resolve::{self, Scalar};
use super::tree::{DuplicateKey, Kind, NodeId, Style, Tag, Tree};
use super::{Limits, ParseError};
use crate::source::Span;

/// What parsing a YAML file found besides the tree.
#[derive(Debug, Default)]
pub struct YamlOutcome {
    pub errors: Vec<ParseError>,
    /// Byte ranges of every comment.
    pub comments: Vec<Span>,
    /// Nodes reached through aliases (for the run-wide budget).
    pub alias_nodes: u64,
}

/// Parses the YAML text of `tree`'s file, from byte `base` (after a BOM).
pub fn parse(tree: &mut Tree, base: usize, limits: &Limits) -> YamlOutcome {
    let source = tree.source().clone();
    let text = &source.text[base..];
    let mut out = YamlOutcome::default();
    // The thread's builder, with the child vectors earlier files grew: a
    // fresh one per file grew them again (a tenth of parsing was malloc).
    let mut builder = SPARE_BUILDER.with(|b| b.take());
    let mut parser: Option<Parser> = None;
    for chunk in split_documents(text) {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                out.errors.push(ParseError {
                    offset: base + e.offset,
                    message: e.message,
                });
                continue;
            }
        };
        let body = &text[chunk.start..chunk.end];
        if is_blank_document(body) {
            continue;
        }
        if tree.docs.len() >= limits.max_documents {
            out.errors.push(ParseError {
                offset: base + chunk.start,
                message: format!(
                    "more than {} documents in one file (raise `limits.max_documents`)",
                    limits.max_documents
                ),
            });
            break;
        }
        let p = match &mut parser {
            Some(p) => {
                p.reset(body);
                p
            }
            None => parser.insert(Parser::new(body)),
        };
        let offset = base + chunk.start;
        let result = builder.document(tree, p, offset, limits, &mut out.alias_nodes);
        out.comments.extend(
            p.comments()
                .iter()
                .map(|(s, e)| Span::new(offset + *s as usize, offset + *e as usize)),
        );
        match result {
            Ok(Some((root, duplicates))) => tree.push_document(root, duplicates),
            Ok(None) => {}
            Err(e) => out.errors.push(e),
        }
    }
    builder.frames.clear();
    builder.anchors = HashMap::new();
    // A vector grown by one huge collection is not kept for the thread's life.
    builder.pool.retain(|k| k.capacity() <= 1024);
    SPARE_BUILDER.with(|b| b.set(builder));
    out
}

thread_local! {
    static SPARE_BUILDER: std::cell::Cell<Builder> = std::cell::Cell::new(Builder::default());
}

struct Chunk {
    start: usize,
    end: usize,
}

struct SplitError {
    offset: usize,
    message: String,
}

/// Kubernetes' `YAMLReader`: a line starting with `---` ends a document; the
/// rest of that line must be blank or a comment.
fn split_documents(text: &str) -> impl Iterator<Item = Result<Chunk, SplitError>> + '_ {
    let mut pos = 0;
    let mut start = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        while !done {
            if pos >= text.len() {
                done = true;
                return (start < text.len()).then_some(Ok(Chunk {
                    start,
                    end: text.len(),
                }));
            }
            // Only a line that starts with `---` can end a document: jump to
            // the next one (`pos` is always at the start of a line).
            let line_start = if text[pos..].starts_with("---") {
                pos
            } else {
                match memchr::memmem::find(&text.as_bytes()[pos..], b"\n---") {
                    Some(i) => pos + i + 1,
                    None => {
                        pos = text.len();
                        continue;
                    }
                }
            };
            let line_end = text[line_start..]
                .find('\n')
                .map_or(text.len(), |i| line_start + i + 1);
            let line = &text[line_start..line_end];
            pos = line_end;
            if let Some(rest) = line.strip_prefix("---") {
                let rest = rest.trim();
                let chunk = Chunk {
                    start,
                    end: line_start,
                };
                // With nothing read since the last cut, `YAMLReader` keeps the
                // `---` line as the next document's first line, and go-yaml
                // reads it: `---#c` is then text, not a document start.
                start = if chunk.end > chunk.start {
                    line_end
                } else {
                    line_start
                };
                if !rest.is_empty() && !rest.starts_with('#') {
                    return Some(Err(SplitError {
                        offset: line_start,
                        message: format!("invalid Yaml document separator: {rest}"),
                    }));
                }
                if chunk.end > chunk.start {
                    return Some(Ok(chunk));
                }
            }
        }
        None
    })
}

/// Only blank lines and comments (a quick check before starting a parser).
/// A tab before a comment is not blank: go-yaml rejects a tab where a block
/// token may start ("found character that cannot start any token"), so such
/// a piece goes to the parser.
fn is_blank_document(body: &str) -> bool {
    body.lines().all(|l| {
        let t = l.trim_start_matches(' ');
        t.is_empty() || t.starts_with('#')
    })
}

struct Frame {
    kind: Kind,
    start: usize,
    anchor: Option<String>,
    tag: Tag,
    flow: bool,
    kids: Vec<NodeId>,
    /// Nodes this collection expands to (for the alias ratio).
    size: u64,
}

#[derive(Default)]
struct Builder {
    frames: Vec<Frame>,
    /// Spare child vectors, reused across collections.
    pool: Vec<Vec<NodeId>>,
    anchors: HashMap<String, (NodeId, u64)>,
}

/// go-yaml's `allowedAliasRatio` (decode.go).
fn allowed_alias_ratio(decode_count: u64) -> f64 {
    const LOW: u64 = 400_000;
    const HIGH: u64 = 4_000_000;
    if decode_count <= LOW {
        0.99
    } else if decode_count >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((decode_count - LOW) as f64 / (HIGH - LOW) as f64)
    }
}

/// Adds a scalar event's node: its text is a slice of the file unless the
/// parser had to decode it (escapes, folding, block scalars). The flag says
/// the scalar is surely allowed as a mapping key (see `is_string_key`).
fn scalar(
    tree: &mut Tree,
    start: usize,
    end: usize,
    tag: Option<String>,
    value: Option<&str>,
    style: Style,
) -> Result<(NodeId, bool), String> {
    let tag = tag.as_deref().map_or(Tag::None, Tag::from_expanded);
    let span = Span::new(start, end.max(start));
    let span = if matches!(style, Style::Literal | Style::Folded) {
        trim_end(tree, span)
    } else {
        span
    };
    let text = tree.slice_text(span, style);
    let owned = value.filter(|v| *v != text);
    let value = owned.unwrap_or(text);
    check_scalar(value, style, tag)?;
    let key_ok = tag == Tag::None && is_string_key(value, style);
    Ok((tree.add_scalar(span, style, tag, owned), key_ok))
}

/// An untagged scalar go-yaml reads as neither null nor an unsigned integer
/// (the keys `resolve::key_error` rejects), told without resolving it: one
/// not plain is a string; a plain one that starts with a letter other than
/// `n`/`N` cannot be `null` or a number.
fn is_string_key(text: &str, style: Style) -> bool {
    style != Style::Plain
        || matches!(text.as_bytes().first(), Some(b) if b.is_ascii_alphabetic() && !matches!(b, b'n' | b'N'))
}

fn style_of(s: ScalarStyle) -> Style {
    match s {
        ScalarStyle::SingleQuoted => Style::SingleQuoted,
        ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
        ScalarStyle::Literal => Style::Literal,
        ScalarStyle::Folded => Style::Folded,
        _ => Style::Plain,
    }
}

impl Builder {
    /// Reads the first document of one piece. `Ok(None)` for an empty or null document.
    fn document(
        &mut self,
        tree: &mut Tree,
        parser: &mut Parser,
        offset: usize,
        limits: &Limits,
        alias_nodes: &mut u64,
    ) -> Result<Option<(NodeId, Vec<crate::parse::tree::DuplicateKey>)>, ParseError> {
        self.frames.clear();
        self.anchors.clear();
        let mut duplicates = Vec::new();
        let mut root: Option<NodeId> = None;
        let (mut decode_count, mut alias_count) = (0u64, 0u64);
        let err = |at: usize, message: String| ParseError {
            offset: at,
            message,
        };
        loop {
            let event = parser.parse().map_err(|e| {
                let message = if e.context.is_empty() {
                    e.problem.to_string()
                } else {
                    format!("{}: {}", e.context, e.problem)
                };
                err(offset + e.offset as usize, message)
            })?;
            let start = offset + event.start_mark.index as usize;
            let end = offset + event.end_mark.index as usize;
            // `key_ok`: a scalar surely allowed as a mapping key.
            let (node, anchor, size, key_ok) = match event.data {
                EventData::StreamStart | EventData::DocumentStart { .. } => continue,
                EventData::StreamEnd | EventData::DocumentEnd { .. } => break,
                EventData::MappingStart {
                    anchor, tag, style, ..
                } => {
                    self.open(
                        Kind::Map,
                        start,
                        anchor,
                        tag,
                        style == MappingStyle::Flow,
                        limits,
                    )
                    .map_err(|m| err(start, m))?;
                    continue;
                }
                EventData::SequenceStart {
                    anchor, tag, style, ..
                } => {
                    self.open(
                        Kind::Seq,
                        start,
                        anchor,
                        tag,
                        style == SequenceStyle::Flow,
                        limits,
                    )
                    .map_err(|m| err(start, m))?;
                    continue;
                }
                EventData::MappingEnd | EventData::SequenceEnd => {
                    let Some(frame) = self.frames.pop() else {
                        continue;
                    };
                    let (id, size) = self.close(tree, frame, end, &mut duplicates)?;
                    (id, None, size, false)
                }
                EventData::Scalar {
                    anchor,
                    tag,
                    value,
                    style,
                    ..
                } => {
                    let (id, key_ok) =
                        scalar(tree, start, end, tag, value.as_deref(), style_of(style))
                            .map_err(|m| err(start, m))?;
                    (id, anchor, 1, key_ok)
                }
                EventData::Alias { anchor } => {
                    let counts = (&mut decode_count, &mut alias_count, &mut *alias_nodes);
                    let (id, size) = self
                        .follow_alias(&anchor, counts, limits)
                        .map_err(|m| err(start, m))?;
                    self.add_to_parent(tree, id, size, false)?;
                    continue;
                }
            };
            decode_count += 1;
            if let Some(a) = anchor {
                self.anchors.insert(a, (node, size));
            }
            if self.frames.is_empty() {
                root = Some(node);
            } else {
                self.add_to_parent(tree, node, size, key_ok)?;
            }
        }
        let Some(root) = root else { return Ok(None) };
        if tree.node(root).is_null() {
            return Ok(None);
        }
        Ok(Some((root, duplicates)))
    }

    /// The anchored node an alias names, counted against go-yaml's alias
    /// ratio and the file's alias budget: `counts` are the document's
    /// decoded nodes, its nodes reached through aliases, and the file's.
    fn follow_alias(
        &self,
        anchor: &str,
        counts: (&mut u64, &mut u64, &mut u64),
        limits: &Limits,
    ) -> Result<(NodeId, u64), String> {
        let (decode_count, alias_count, alias_nodes) = counts;
        let Some(&(id, size)) = self.anchors.get(anchor) else {
            return Err(format!("unknown anchor '{anchor}' referenced"));
        };
        *decode_count += size;
        *alias_count += size;
        *alias_nodes += size;
        if *alias_count > 100
            && *decode_count > 1000
            && *alias_count as f64 / *decode_count as f64 > allowed_alias_ratio(*decode_count)
        {
            return Err("document contains excessive aliasing".into());
        }
        if *alias_nodes > limits.max_alias_nodes as u64 {
            return Err(format!(
                "aliases in this file expand to more than {} nodes (raise `limits.max_alias_nodes`)",
                limits.max_alias_nodes
            ));
        }
        Ok((id, size))
    }

    fn open(
        &mut self,
        kind: Kind,
        start: usize,
        anchor: Option<String>,
        tag: Option<String>,
        flow: bool,
        limits: &Limits,
    ) -> Result<(), String> {
        if self.frames.len() >= limits.max_depth {
            return Err(format!("nesting deeper than {} levels", limits.max_depth));
        }
        let mut kids = self.pool.pop().unwrap_or_default();
        kids.clear();
        self.frames.push(Frame {
            kind,
            start,
            anchor,
            tag: tag.as_deref().map_or(Tag::None, Tag::from_expanded),
            flow,
            kids,
            size: 1,
        });
        Ok(())
    }

    /// Adds a finished node to the open collection; a mapping key must be a
    /// string, number or boolean (what sigs.k8s.io/yaml can turn into JSON).
    /// `key_ok` says the node is a scalar that is surely allowed (most keys),
    /// so it is not resolved again.
    fn add_to_parent(
        &mut self,
        tree: &Tree,
        node: NodeId,
        size: u64,
        key_ok: bool,
    ) -> Result<(), ParseError> {
        let Some(frame) = self.frames.last_mut() else {
            return Ok(());
        };
        if frame.kind == Kind::Map && frame.kids.len() % 2 == 0 && !key_ok {
            let key = tree.node(node);
            let message = match key.scalar() {
                None => Some(format!("invalid map key: {key:?}")),
                Some(v) => resolve::key_error(&v),
            };
            if let Some(m) = message {
                return Err(ParseError {
                    offset: key.span().start as usize,
                    message: m,
                });
            }
        }
        frame.kids.push(node);
        frame.size = frame.size.saturating_add(size);
        Ok(())
    }

    fn close(
        &mut self,
        tree: &mut Tree,
        mut frame: Frame,
        end: usize,
        duplicates: &mut Vec<DuplicateKey>,
    ) -> Result<(NodeId, u64), ParseError> {
        // A block collection ends where its last child ends (the parser's mark
        // is at the next token, after blank lines and comments).
        let end = if frame.flow || frame.kids.is_empty() {
            end
        } else {
            frame
                .kids
                .iter()
                .map(|k| tree.node(*k).span().end as usize)
                .max()
                .unwrap_or(end)
        };
        let end = end.max(frame.start);
        let merged;
        let kids: &[NodeId] = if frame.kind == Kind::Map && !as_written(tree, &frame.kids) {
            merged = merge_entries(tree, &frame.kids, duplicates)?;
            &merged
        } else {
            &frame.kids
        };
        let id = tree.add_collection(frame.kind, Span::new(frame.start, end), frame.tag, kids);
        let size = frame.size;
        if let Some(a) = frame.anchor.take() {
            self.anchors.insert(a, (id, size));
        }
        frame.kids.clear();
        self.pool.push(frame.kids);
        Ok((id, size))
    }
}

/// A scalar go-yaml or the JSON conversion after it would reject.
fn check_scalar(text: &str, style: Style, tag: Tag) -> Result<(), String> {
    let candidate = tag != Tag::None
        || style == Style::Plain && matches!(text.as_bytes().first(), Some(b'.' | b'+' | b'-'));
    if !candidate {
        return Ok(());
    }
    match resolve::resolve_checked(text, style, tag)? {
        Scalar::Float(f) if f.is_nan() => Err("json: unsupported value: NaN".into()),
        Scalar::Float(f) if f.is_infinite() => Err(format!(
            "json: unsupported value: {}Inf",
            if f > 0.0 { "+" } else { "-" }
        )),
        _ => Ok(()),
    }
}

/// The end of a block scalar without the line breaks the parser includes.
fn trim_end(tree: &Tree, span: Span) -> Span {
    let text = tree.source().text.as_bytes();
    let mut end = (span.end as usize).min(text.len());
    while end > span.start as usize && text[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    Span::new(span.start as usize, end)
}

/// Whether a mapping's entries stay as written: no `<<` and no repeated key,
/// as almost every mapping. Saves `merge_entries`' two buffers per mapping.
fn as_written(tree: &Tree, kids: &[NodeId]) -> bool {
    if kids.len() % 2 != 0 || kids.len() > 2 * EntrySet::INDEX_FROM {
        return false;
    }
    // Each key's text is read once, then compared with the ones before it.
    let mut before = [""; EntrySet::INDEX_FROM];
    for (i, k) in kids.iter().step_by(2).enumerate() {
        let key = tree.node(*k);
        let text = key.text().unwrap_or("");
        if is_merge(key, text) || before[..i].contains(&text) {
            return false;
        }
        before[i] = text;
    }
    true
}

/// The entries of a mapping as go-yaml stores them: in document order, a
/// later key replacing an earlier one (recorded for KWI002), `<<` merging the
/// entries of a mapping or of a sequence of mappings (earlier ones win) into
/// what is there so far, and keys after it overriding merged ones.
fn merge_entries(
    tree: &Tree,
    kids: &[NodeId],
    duplicates: &mut Vec<DuplicateKey>,
) -> Result<Vec<NodeId>, ParseError> {
    let mut out = EntrySet::new(tree, kids.len());
    for pair in kids.chunks(2) {
        let (k, v) = (pair[0], *pair.get(1).unwrap_or(&pair[0]));
        let key = tree.node(k);
        if !is_merge_key(key) {
            if let Some(first) = out.set(k, v, true) {
                duplicates.push(DuplicateKey {
                    key: key.text().unwrap_or("").to_string(),
                    first,
                    second: key.span(),
                });
            }
            continue;
        }
        let value = tree.node(v);
        let sources: Vec<NodeId> = match value.kind() {
            Kind::Map => vec![v],
            // go-yaml applies the list backwards, so earlier mappings win.
            Kind::Seq if value.items().all(|i| i.is_map()) => {
                value.items().rev().map(|i| i.id()).collect()
            }
            _ => {
                return Err(ParseError {
                    offset: value.span().start as usize,
                    message: "map merge requires map or sequence of maps as the value".into(),
                })
            }
        };
        for src in sources {
            for (mk, mv) in tree.node(src).entries() {
                out.set(mk.id(), mv.id(), false);
            }
        }
    }
    Ok(out.ids)
}

/// Mapping entries being collected, with an index by key text once they are
/// many (a `<<` of 100,000 keys stays linear).
struct EntrySet<'t> {
    tree: &'t Tree,
    ids: Vec<NodeId>,
    /// Whether each entry was written in this mapping (not merged in).
    explicit: Vec<bool>,
    index: Option<HashMap<&'t str, usize>>,
}

impl<'t> EntrySet<'t> {
    const INDEX_FROM: usize = 32;

    fn new(tree: &'t Tree, capacity: usize) -> Self {
        EntrySet {
            tree,
            ids: Vec::with_capacity(capacity),
            explicit: Vec::with_capacity(capacity / 2),
            index: None,
        }
    }

    fn key(&self, id: NodeId) -> &'t str {
        self.tree.node(id).text().unwrap_or("")
    }

    /// Sets `k: v`; returns the span of the key it replaced when both were
    /// written in this mapping (a duplicate key).
    fn set(&mut self, k: NodeId, v: NodeId, explicit: bool) -> Option<Span> {
        let text = self.key(k);
        let found = match &self.index {
            Some(ix) => ix.get(text).copied(),
            None => (0..self.ids.len())
                .step_by(2)
                .find(|i| self.key(self.ids[*i]) == text),
        };
        if let Some(i) = found {
            let first = self.tree.node(self.ids[i]).span();
            let duplicate = explicit && self.explicit[i / 2];
            self.ids[i] = k;
            self.ids[i + 1] = v;
            self.explicit[i / 2] = explicit;
            return duplicate.then_some(first);
        }
        self.ids.push(k);
        self.ids.push(v);
        self.explicit.push(explicit);
        let n = self.ids.len();
        if let Some(ix) = &mut self.index {
            ix.insert(text, n - 2);
        } else if n / 2 >= Self::INDEX_FROM {
            let ix = (0..n)
                .step_by(2)
                .map(|i| (self.key(self.ids[i]), i))
                .collect();
            self.index = Some(ix);
        }
        None
    }
}

fn is_merge_key(key: super::Node<'_>) -> bool {
    is_merge(key, key.text().unwrap_or(""))
}

/// `is_merge_key`, the key's text already read.
fn is_merge(key: super::Node<'_>, text: &str) -> bool {
    text == "<<"
        && (key.tag() == Tag::Merge || key.tag() == Tag::None && key.style() == Style::Plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn parse_text(text: &str) -> (Tree, YamlOutcome) {
        let mut tree = Tree::new(0, SourceFile::new("t.yaml", text.to_string()));
        let out = parse(&mut tree, 0, &Limits::default());
        (tree, out)
    }

    fn ok(text: &str) -> Tree {
        let (t, out) = parse_text(text);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        t
    }

    #[test]
    fn spans_are_bytes_even_with_multibyte_text() {
        let t = "metadata:\n  name: \"héllo-wörld\"\n  labels: {app: 検索, tier: web}\nspec:\n  cidrs:\n    - 10.0.0.0/8\n    - \"0.0.0.0/0\"\n";
        let tree = ok(t);
        let root = tree.roots().next().unwrap();
        let cidr = root
            .path(&["spec", "cidrs"])
            .unwrap()
            .items()
            .get(1)
            .unwrap();
        assert_eq!(cidr.span().start, 107);
        assert_eq!(tree.source().slice(cidr.span()), "\"0.0.0.0/0\"");
        let (k, _) = root.get("metadata").unwrap().entry("labels").unwrap();
        assert_eq!(tree.source().slice(k.span()), "labels");
        let spec = root.get("spec").unwrap();
        assert_eq!(
            tree.source().slice(spec.span()),
            "cidrs:\n    - 10.0.0.0/8\n    - \"0.0.0.0/0\""
        );
    }

    #[test]
    fn duplicate_keys_are_recorded_and_last_wins() {
        let tree = ok("a: 1\nb: 2\na: 3\n");
        assert_eq!(tree.document_duplicates(0).count(), 1);
        assert_eq!(
            tree.document_duplicates(0)
                .next()
                .map(|d| d.second.start)
                .unwrap_or(0),
            10
        );
        let root = tree.roots().next().unwrap();
        assert_eq!(root.str_at(&["a"]), Some("3"));
        assert_eq!(root.entries().len(), 2);
    }

    #[test]
    fn duplicate_keys_belong_to_their_document() {
        let mut tree = ok("a: 1\n---\nb: 1\nb: 2\n---\nc: 1\n");
        assert_eq!(tree.docs.len(), 3);
        assert_eq!(tree.document_duplicates(0).count(), 0);
        assert_eq!(
            tree.document_duplicates(1)
                .map(|d| d.key.as_str())
                .collect::<Vec<_>>(),
            ["b"]
        );
        assert_eq!(tree.document_duplicates(2).count(), 0);
        assert_eq!(tree.duplicates().count(), 1);
        tree.clear_documents();
        assert_eq!((tree.docs.len(), tree.duplicates().count()), (0, 0));
    }

    #[test]
    fn merge_keys_follow_go_yaml_order() {
        let tree = ok("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\nn: {a: before, <<: {a: merged, b: m}, c: x}\ns: {<<: [{a: first}, {a: second, c: second}]}\n");
        let root = tree.roots().next().unwrap();
        let m = root.get("m").unwrap();
        assert_eq!(m.str_at(&["x"]), Some("1"));
        assert_eq!(m.str_at(&["y"]), Some("3"));
        assert_eq!(tree.document_duplicates(0).count(), 0);
        assert_eq!(root.str_at(&["n", "a"]), Some("merged"));
        assert_eq!(root.str_at(&["s", "a"]), Some("first"));
        assert_eq!(root.str_at(&["s", "c"]), Some("second"));
    }

    #[test]
    fn documents_are_cut_like_kubernetes_yaml_reader() {
        let tree = ok(
            "a: 1\n---\n# only a comment\n---\nb: 2\n...\nc: dropped\n--- # note\n~\n---\nd: 4\n",
        );
        let roots: Vec<_> = tree
            .roots()
            .map(|r| r.entries().next().unwrap().0.text().unwrap())
            .collect();
        assert_eq!(roots, ["a", "b", "d"]);
        // The first `---` (or one right after another) is read by go-yaml:
        // `---#c` is a plain scalar, and a mapping cannot follow it.
        let tree = ok("---\n---  # c\n--- \na: 1\n---\n---\n");
        assert_eq!(tree.roots().count(), 1);
        let (_, out) = parse_text("---#c\na: 1\n");
        assert!(out.errors[0]
            .message
            .contains("mapping values are not allowed"));
        let (_, out) = parse_text("a: 1\n---\n---#c\nb: 2\n");
        assert_eq!(out.errors[0].offset, 16);
        let (_, out) = parse_text("a: 1\n--- {b: 2}\n");
        assert!(out.errors[0]
            .message
            .contains("invalid Yaml document separator"));
    }

    #[test]
    fn go_yaml_leniencies_are_accepted() {
        ok("args: [\n  a,\n  b\n]\n");
        ok("s: 'hello\nworld'\n");
        ok("command: [wget, -O, -, http://x/y]\n");
        ok("a:\tb\n");
        let t = ok("m: {a:, b: 1}\n");
        assert!(t.roots().next().unwrap().path(&["m", "a:"]).is_some());
    }

    #[test]
    fn what_kubectl_rejects_is_an_error() {
        for bad in [
            "a: [http://x?a=b]\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: .inf\n",
            "a: !!int abc\n",
            "? [a]\n: x\n",
            "~: x\n",
            "a: *nope\n",
            "a: [b\n",
            "a:\n\t- b\n",
        ] {
            let (_, out) = parse_text(bad);
            assert_eq!(out.errors.len(), 1, "{bad:?}");
        }
    }

    /// Keys as `kubectl create --dry-run=client` takes them: null and
    /// unsigned 64-bit keys are rejected, every other scalar key is taken
    /// (checked with kubectl for each key here).
    #[test]
    fn map_keys_are_rejected_as_kubectl_rejects_them() {
        for key in [
            "null",
            "~",
            "Null",
            "NULL",
            "18446744073709551615",
            "!!null \"\"",
        ] {
            let (_, out) = parse_text(&format!("a:\n  {key}: v\n"));
            assert_eq!(out.errors.len(), 1, "{key:?}");
            assert!(
                out.errors[0].message.contains("unsupported map key"),
                "{key:?}"
            );
        }
        for key in [
            "nothing", "n", "N", "yes", "1", "\"null\"", "'~'", "a b", "-1", "Z",
        ] {
            let (_, out) = parse_text(&format!("a:\n  {key}: v\n"));
            assert!(
                out.errors.is_empty(),
                "{key:?}: {:?}",
                out.errors[0].message
            );
        }
    }

    #[test]
    fn aliases_share_nodes_and_bombs_are_stopped() {
        let tree = ok("a: &a {x: 1}\nb: *a\n");
        let root = tree.roots().next().unwrap();
        assert_eq!(root.get("a").unwrap(), root.get("b").unwrap());
        let mut t = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 9].join(", ");
            t.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let (_, out) = parse_text(&t);
        assert!(out.errors[0].message.contains("alias"));
    }

    #[test]
    fn comments_are_recorded() {
        let (t, out) = parse_text("a: 1 # one\n# two\nb: |\n  # not a comment\n");
        let texts: Vec<&str> = out.comments.iter().map(|c| t.source().slice(*c)).collect();
        assert_eq!(texts, ["# one", "# two"]);
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let (_, out) = parse_text(&"[".repeat(5000));
        assert!(!out.errors.is_empty());
        let (_, out) = parse_text(&("- ".repeat(5000) + "x\n"));
        assert!(out.errors[0].message.contains("nesting"));
    }
}
