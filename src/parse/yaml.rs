//! YAML → span tree, built from saphyr-parser's event stream.
//!
//! Aliases are expanded by copying the anchored node under a node budget, so
//! an alias bomb becomes a diagnostic instead of exponential work. Nesting is
//! bounded. Duplicate keys are recorded, never fatal.

use saphyr_parser::{Event, Parser, ScalarStyle, Span as YSpan};

use super::tree::{dedupe_keys, Document, DuplicateKey, Node, Style, Value};
use super::{Limits, ParseError};
use crate::source::Span;

/// Maps saphyr's character offsets to byte offsets.
struct Offsets<'a> {
    text: &'a str,
    base: usize,
    /// Byte offset of each char; empty when the text is ASCII (identity).
    table: Vec<u32>,
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str, base: usize) -> Self {
        let table = if text.is_ascii() {
            Vec::new()
        } else {
            let mut t: Vec<u32> = text.char_indices().map(|(i, _)| i as u32).collect();
            t.push(text.len() as u32);
            t
        };
        Offsets { text, base, table }
    }
    fn byte(&self, char_index: usize) -> usize {
        let b = if self.table.is_empty() {
            char_index.min(self.text.len())
        } else {
            *self
                .table
                .get(char_index)
                .unwrap_or(&(self.text.len() as u32)) as usize
        };
        b + self.base
    }
    fn span(&self, s: &YSpan) -> Span {
        Span::new(self.byte(s.start.index()), self.byte(s.end.index()))
    }
    /// End of a block collection without the trailing blank lines and comments the
    /// parser reports as part of it.
    fn trim_end(&self, start: usize, end: usize) -> usize {
        let bytes = self.text.as_bytes();
        let (lo, mut hi) = (start - self.base, (end - self.base).min(bytes.len()));
        while hi > lo && bytes[hi - 1].is_ascii_whitespace() {
            hi -= 1;
        }
        hi + self.base
    }
}

enum Frame {
    Map {
        start: usize,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        /// Entries brought in by merge keys; explicit keys override them.
        merged: Vec<(Node, Node)>,
        key: Option<Node>,
    },
    Seq {
        start: usize,
        anchor: usize,
        items: Vec<Node>,
    },
}

/// Parses every document of `text`. `base` is the byte offset of `text` in its
/// file (after a BOM). Documents completed before an error are returned too.
pub fn parse(text: &str, base: usize, limits: &Limits) -> (Vec<Document>, Option<ParseError>) {
    let offsets = Offsets::new(text, base);
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: Vec<(usize, Node)> = Vec::new();
    let mut duplicates: Vec<DuplicateKey> = Vec::new();
    let mut root: Option<Node> = None;
    let mut budget = limits.max_alias_nodes;
    let mut doc_start = base;

    let error = |offset: usize, message: String| ParseError { offset, message };

    while let Some(ev) = parser.next_event() {
        let (event, yspan) = match ev {
            Ok(e) => e,
            Err(e) => {
                let at = offsets.byte(e.marker().index());
                return (docs, Some(error(at, e.info().to_string())));
            }
        };
        let span = offsets.span(&yspan);
        let (node, anchor) = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => continue,
            Event::DocumentStart(_) => {
                doc_start = span.start as usize;
                anchors.clear();
                budget = limits.max_alias_nodes;
                continue;
            }
            Event::DocumentEnd => {
                let root = root.take().unwrap_or_else(|| {
                    Node::scalar(Span::new(doc_start, doc_start), String::new(), Style::Plain)
                });
                if docs.len() >= limits.max_documents {
                    return (
                        docs,
                        Some(error(
                            doc_start,
                            format!(
                                "more than {} documents in one file (raise `limits.max_documents`)",
                                limits.max_documents
                            ),
                        )),
                    );
                }
                docs.push(Document {
                    root,
                    duplicates: std::mem::take(&mut duplicates),
                });
                continue;
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                if stack.len() >= limits.max_depth {
                    return (
                        docs,
                        Some(error(
                            span.start as usize,
                            format!("nesting deeper than {} levels", limits.max_depth),
                        )),
                    );
                }
                let start = span.start as usize;
                stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Map {
                        start,
                        anchor,
                        entries: Vec::new(),
                        merged: Vec::new(),
                        key: None,
                    }
                } else {
                    Frame::Seq {
                        start,
                        anchor,
                        items: Vec::new(),
                    }
                });
                continue;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Some(frame) = stack.pop() else { continue };
                let end_raw = span.end as usize;
                match frame {
                    Frame::Map {
                        start,
                        anchor,
                        mut entries,
                        merged,
                        ..
                    } => {
                        dedupe_keys(&mut entries, &mut duplicates);
                        for (k, v) in merged {
                            let present = k.as_str().is_some_and(|ks| {
                                entries.iter().any(|(e, _)| e.as_str() == Some(ks))
                            });
                            if !present {
                                entries.push((k, v));
                            }
                        }
                        let end = offsets.trim_end(start, end_raw.max(start));
                        (
                            Node {
                                span: Span::new(start, end),
                                value: Value::Map(entries),
                            },
                            anchor,
                        )
                    }
                    Frame::Seq {
                        start,
                        anchor,
                        items,
                    } => {
                        let end = offsets.trim_end(start, end_raw.max(start));
                        (
                            Node {
                                span: Span::new(start, end),
                                value: Value::Seq(items),
                            },
                            anchor,
                        )
                    }
                }
            }
            Event::Scalar(text, style, anchor, _) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                };
                (Node::scalar(span, text.into_owned(), style), anchor)
            }
            Event::Alias(id) => {
                let Some((_, target)) = anchors.iter().rev().find(|(a, _)| *a == id) else {
                    return (
                        docs,
                        Some(error(span.start as usize, "unknown alias".to_string())),
                    );
                };
                let size = target.size();
                if size > budget {
                    return (
                        docs,
                        Some(error(
                            span.start as usize,
                            format!(
                                "aliases expand to more than {} nodes (alias bomb?)",
                                limits.max_alias_nodes
                            ),
                        )),
                    );
                }
                budget -= size;
                let mut copy = target.clone();
                copy.span = span;
                (copy, 0)
            }
        };
        if anchor != 0 {
            anchors.push((anchor, node.clone()));
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                merged,
                key,
                ..
            }) => match key.take() {
                None => *key = Some(node),
                Some(k) => push_entry(entries, merged, k, node),
            },
        }
    }
    (docs, None)
}

/// Adds a mapping entry; YAML 1.1 merge keys (`<<: *base`) go to `merged`, as
/// Kubernetes' decoder applies them: merged keys never override explicit ones.
fn push_entry(
    entries: &mut Vec<(Node, Node)>,
    merged: &mut Vec<(Node, Node)>,
    key: Node,
    value: Node,
) {
    let is_merge =
        matches!(&key.value, Value::Scalar { text, style: Style::Plain } if text == "<<");
    if !is_merge {
        entries.push((key, value));
        return;
    }
    let sources: Vec<Node> = match value.value {
        Value::Map(_) => vec![value],
        Value::Seq(items) => items,
        Value::Scalar { .. } => {
            entries.push((key, value));
            return;
        }
    };
    for src in sources {
        if let Value::Map(m) = src.value {
            for (k, v) in m {
                let present = k
                    .as_str()
                    .is_some_and(|ks| merged.iter().any(|(e, _)| e.as_str() == Some(ks)));
                if !present {
                    merged.push((k, v));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(text: &str) -> Vec<Document> {
        let (d, e) = parse(text, 0, &Limits::default());
        assert!(e.is_none(), "{e:?}");
        d
    }

    #[test]
    fn spans_are_bytes_even_with_multibyte_text() {
        let t = "metadata:\n  name: \"héllo-wörld\"\n  labels: {app: 検索, tier: web}\nspec:\n  cidrs:\n    - 10.0.0.0/8\n    - \"0.0.0.0/0\"\n";
        let d = docs(t);
        let cidr = &d[0]
            .root
            .path(&["spec", "cidrs"])
            .unwrap()
            .as_seq()
            .unwrap()[1];
        assert_eq!(cidr.span.start, 107);
        assert_eq!(
            &t[cidr.span.start as usize..cidr.span.end as usize],
            "\"0.0.0.0/0\""
        );
        let (k, _) = d[0].root.get("metadata").unwrap().entry("labels").unwrap();
        assert_eq!(&t[k.span.start as usize..k.span.end as usize], "labels");
    }

    #[test]
    fn duplicate_keys_are_recorded_and_last_wins() {
        let d = docs("a: 1\nb: 2\na: 3\n");
        assert_eq!(d[0].duplicates.len(), 1);
        assert_eq!(d[0].duplicates[0].second.start, 10);
        assert_eq!(d[0].root.str_at(&["a"]), Some("3"));
        assert_eq!(d[0].root.as_map().unwrap().len(), 2);
    }

    #[test]
    fn alias_bomb_is_an_error_not_a_hang() {
        let mut t = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 9].join(", ");
            t.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let (_, e) = parse(&t, 0, &Limits::default());
        assert!(e.unwrap().message.contains("alias"));
    }

    #[test]
    fn merge_keys_apply() {
        let d = docs("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n");
        let m = d[0].root.get("m").unwrap();
        assert_eq!(m.str_at(&["x"]), Some("1"));
        assert_eq!(m.str_at(&["y"]), Some("3"));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let t = "[".repeat(5000);
        let (_, e) = parse(&t, 0, &Limits::default());
        assert!(e.is_some());
        let t = "- ".repeat(5000) + "x\n";
        let (_, e) = parse(&t, 0, &Limits::default());
        assert!(e.unwrap().message.contains("nesting"));
    }
}
