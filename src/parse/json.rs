//! JSON → span tree through jsonc-parser (strict options), 4–5× cheaper than
//! any YAML parser on gcloud dumps. NDJSON (asset exports) is one document per line.

use jsonc_parser::ast;
use jsonc_parser::{CollectOptions, ParseOptions};

use super::tree::{dedupe_keys, Document, DuplicateKey, Node, Style, Value};
use super::{Limits, ParseError};
use crate::source::Span;

fn strict() -> ParseOptions {
    ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        ..ParseOptions::default()
    }
}

/// Depth of bracket nesting outside strings, checked before parsing because
/// the parser recurses.
fn depth_exceeds(text: &str, max: usize) -> Option<usize> {
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for (i, b) in text.bytes().enumerate() {
        if in_str {
            match b {
                _ if esc => esc = false,
                b'\\' => esc = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Parses one JSON value. `base` is the byte offset of `text` in its file.
pub fn parse_value(text: &str, base: usize, limits: &Limits) -> Result<Document, ParseError> {
    if let Some(at) = depth_exceeds(text, limits.max_depth) {
        return Err(ParseError {
            offset: base + at,
            message: format!("nesting deeper than {} levels", limits.max_depth),
        });
    }
    let collect = CollectOptions::default();
    let result = jsonc_parser::parse_to_ast(text, &collect, &strict()).map_err(|e| ParseError {
        offset: base + e.range().start,
        message: e.kind().to_string(),
    })?;
    let mut duplicates = Vec::new();
    let root = match result.value {
        Some(v) => convert(v, base, &mut duplicates),
        None => Node::scalar(Span::new(base, base), String::new(), Style::Plain),
    };
    Ok(Document { root, duplicates })
}

/// Parses a `.json` file: one value, or NDJSON when the first line holds a
/// complete value and more lines follow.
pub fn parse(
    text: &str,
    base: usize,
    ndjson: bool,
    limits: &Limits,
) -> (Vec<Document>, Option<ParseError>) {
    if !ndjson {
        match parse_value(text, base, limits) {
            Ok(d) => return (vec![d], None),
            Err(e) => {
                // `gcloud asset export` writes NDJSON even into files named .json.
                let first_line_ok = text
                    .lines()
                    .next()
                    .is_some_and(|l| parse_value(l, base, limits).is_ok());
                if !first_line_ok || text.trim_end().lines().count() < 2 {
                    return (Vec::new(), Some(e));
                }
            }
        }
    }
    let mut docs = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        if line.trim().is_empty() {
            continue;
        }
        if docs.len() >= limits.max_documents {
            return (
                docs,
                Some(ParseError {
                    offset: base + start,
                    message: format!(
                        "more than {} documents in one file (raise `limits.max_documents`)",
                        limits.max_documents
                    ),
                }),
            );
        }
        match parse_value(line, base + start, limits) {
            Ok(d) => docs.push(d),
            Err(e) => return (docs, Some(e)),
        }
    }
    (docs, None)
}

fn convert(v: ast::Value<'_>, base: usize, dups: &mut Vec<DuplicateKey>) -> Node {
    let span = |r: jsonc_parser::common::Range| Span::new(base + r.start, base + r.end);
    match v {
        ast::Value::StringLit(s) => {
            Node::scalar(span(s.range), s.value.into_owned(), Style::DoubleQuoted)
        }
        ast::Value::NumberLit(n) => Node::scalar(span(n.range), n.value.to_string(), Style::Plain),
        ast::Value::BooleanLit(b) => Node::scalar(span(b.range), b.value.to_string(), Style::Plain),
        ast::Value::NullKeyword(n) => Node::scalar(span(n.range), "null".into(), Style::Plain),
        ast::Value::Array(a) => Node {
            span: span(a.range),
            value: Value::Seq(
                a.elements
                    .into_iter()
                    .map(|e| convert(e, base, dups))
                    .collect(),
            ),
        },
        ast::Value::Object(o) => {
            let mut entries: Vec<(Node, Node)> = o
                .properties
                .into_iter()
                .map(|p| {
                    let key = match p.name {
                        ast::ObjectPropName::String(s) => {
                            Node::scalar(span(s.range), s.value.into_owned(), Style::DoubleQuoted)
                        }
                        ast::ObjectPropName::Word(w) => {
                            Node::scalar(span(w.range), w.value.to_string(), Style::Plain)
                        }
                    };
                    (key, convert(p.value, base, dups))
                })
                .collect();
            dedupe_keys(&mut entries, dups);
            Node {
                span: span(o.range),
                value: Value::Map(entries),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_spans_and_duplicates() {
        let t = r#"{"a": {"b": "x"}, "a": [1, true, null]}"#;
        let d = parse_value(t, 0, &Limits::default()).unwrap();
        assert_eq!(d.duplicates.len(), 1);
        let a = d.root.get("a").unwrap();
        assert_eq!(a.as_seq().unwrap().len(), 3);
        assert_eq!(
            &t[a.span.start as usize..a.span.end as usize],
            "[1, true, null]"
        );
    }

    #[test]
    fn ndjson_lines_are_documents() {
        let t = "{\"a\": 1}\n{\"b\": 2}\n";
        let (d, e) = parse(t, 0, false, &Limits::default());
        assert!(e.is_none());
        assert_eq!(d.len(), 2);
        assert_eq!(d[1].root.span.start, 9);
    }

    #[test]
    fn deep_json_is_refused_before_parsing() {
        let t = "[".repeat(100_000);
        assert!(parse_value(&t, 0, &Limits::default()).is_err());
    }
}
