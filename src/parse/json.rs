//! JSON → span tree. One pass, no recursion, straight into the file's arena.
//!
//! A file may hold one value, NDJSON (one value per line, as `gcloud asset
//! export` writes it) or a stream of concatenated values (BigQuery exports);
//! each value is a document. In NDJSON a broken line is reported and the next
//! line is read. JSON with comments and trailing commas is read only where the
//! file says so (`.jsonc`, `tsconfig*.json`).

use super::tree::{DuplicateKey, Kind, NodeId, Style, Tag, Tree};
use super::{Limits, ParseError};
use crate::source::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Strict,
    /// Comments (`//`, `/* */`) and trailing commas.
    WithComments,
}

/// Reports at most this many broken NDJSON lines per file.
const MAX_LINE_ERRORS: usize = 100;

/// Parses every JSON value of the text of `tree`'s file, from byte `base`.
/// `lines` says the file is NDJSON by name (`.jsonl`, `.ndjson`).
pub fn parse(
    tree: &mut Tree,
    base: usize,
    dialect: Dialect,
    lines: bool,
    limits: &Limits,
) -> Vec<ParseError> {
    let source = tree.source().clone();
    let text = &source.text;
    let mut p = JsonParser {
        text: text.as_bytes(),
        pos: base,
        dialect,
        limits,
        stack: Vec::new(),
    };
    let mut errors = Vec::new();
    // Every value so far started a line and ended on it: NDJSON, where one
    // broken line must not hide the rest.
    let mut one_per_line = true;
    loop {
        if let Err(e) = p.skip_space() {
            errors.push(e);
            break;
        }
        if p.pos >= p.text.len() {
            break;
        }
        let start = p.pos;
        let starts_line = start == base || p.text[start - 1] == b'\n';
        if tree.docs.len() >= limits.max_documents {
            errors.push(ParseError {
                offset: start,
                message: format!(
                    "more than {} documents in one file (raise `limits.max_documents`)",
                    limits.max_documents
                ),
            });
            break;
        }
        let mut duplicates = Vec::new();
        match p.value(tree, &mut duplicates) {
            Ok(root) => {
                let single_line = !p.text[start..p.pos].contains(&b'\n');
                one_per_line &= starts_line && single_line;
                tree.push_document(root, duplicates);
            }
            Err(e) => {
                let recover = (lines || one_per_line && !tree.docs.is_empty())
                    && starts_line
                    && errors.len() < MAX_LINE_ERRORS;
                errors.push(e);
                if !recover {
                    break;
                }
                // Go on at the next line.
                p.pos = match p.text[start..].iter().position(|b| *b == b'\n') {
                    Some(i) => start + i + 1,
                    None => p.text.len(),
                };
            }
        }
    }
    errors
}

enum Open {
    Object { start: usize, kids: Vec<NodeId> },
    Array { start: usize, kids: Vec<NodeId> },
}

struct JsonParser<'t> {
    text: &'t [u8],
    pos: usize,
    dialect: Dialect,
    limits: &'t Limits,
    stack: Vec<Open>,
}

impl JsonParser<'_> {
    fn error<T>(&self, at: usize, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            offset: at,
            message: message.into(),
        })
    }

    fn skip_space(&mut self) -> Result<(), ParseError> {
        loop {
            match self.text.get(self.pos) {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.pos += 1,
                Some(b'/') if self.dialect == Dialect::WithComments => {
                    match self.text.get(self.pos + 1) {
                        Some(b'/') => {
                            while self.pos < self.text.len() && self.text[self.pos] != b'\n' {
                                self.pos += 1;
                            }
                        }
                        Some(b'*') => {
                            let at = self.pos;
                            let close = self.text[self.pos + 2..]
                                .windows(2)
                                .position(|w| w == b"*/");
                            match close {
                                Some(i) => self.pos += i + 4,
                                None => return self.error(at, "unterminated comment"),
                            }
                        }
                        _ => return Ok(()),
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// One complete value (iteratively: the depth is bounded by the limit, not the stack).
    fn value(
        &mut self,
        tree: &mut Tree,
        duplicates: &mut Vec<DuplicateKey>,
    ) -> Result<NodeId, ParseError> {
        self.stack.clear();
        loop {
            self.skip_space()?;
            // Parse one value or open a container.
            let node = match self.text.get(self.pos) {
                Some(b'{') | Some(b'[') => {
                    if self.stack.len() >= self.limits.max_depth {
                        return self.error(
                            self.pos,
                            format!("nesting deeper than {} levels", self.limits.max_depth),
                        );
                    }
                    let start = self.pos;
                    self.pos += 1;
                    let object = self.text[start] == b'{';
                    self.stack.push(if object {
                        Open::Object {
                            start,
                            kids: Vec::new(),
                        }
                    } else {
                        Open::Array {
                            start,
                            kids: Vec::new(),
                        }
                    });
                    self.skip_space()?;
                    let close = if object { b'}' } else { b']' };
                    if self.text.get(self.pos) == Some(&close) {
                        self.pos += 1;
                        self.close(tree, duplicates)?
                    } else if object {
                        // The first key.
                        let key = self.string(tree)?;
                        self.expect_colon()?;
                        self.push(key);
                        continue;
                    } else {
                        continue;
                    }
                }
                Some(b'"') => self.string(tree)?,
                Some(_) => self.literal(tree)?,
                None => return self.error(self.pos, "unexpected end of input, expected a value"),
            };
            // A value is complete: attach it and read what follows.
            let mut node = node;
            loop {
                if self.stack.is_empty() {
                    return Ok(node);
                }
                self.push(node);
                self.skip_space()?;
                let object = matches!(self.stack.last(), Some(Open::Object { .. }));
                let close = if object { b'}' } else { b']' };
                match self.text.get(self.pos) {
                    Some(b',') => {
                        let comma = self.pos;
                        self.pos += 1;
                        self.skip_space()?;
                        if self.text.get(self.pos) == Some(&close) {
                            if self.dialect == Dialect::Strict {
                                return self.error(comma, "trailing comma (JSON allows none)");
                            }
                            self.pos += 1;
                            node = self.close(tree, duplicates)?;
                            continue;
                        }
                        if object {
                            let key = self.string(tree)?;
                            self.expect_colon()?;
                            self.push(key);
                        }
                        break;
                    }
                    Some(c) if *c == close => {
                        self.pos += 1;
                        node = self.close(tree, duplicates)?;
                    }
                    _ => {
                        return self.error(
                            self.pos,
                            format!("expected ',' or '{}'", if object { '}' } else { ']' }),
                        )
                    }
                }
            }
        }
    }

    fn push(&mut self, id: NodeId) {
        match self.stack.last_mut() {
            Some(Open::Object { kids, .. } | Open::Array { kids, .. }) => kids.push(id),
            None => {}
        }
    }

    fn expect_colon(&mut self) -> Result<(), ParseError> {
        self.skip_space()?;
        if self.text.get(self.pos) != Some(&b':') {
            return self.error(self.pos, "expected ':' after an object key");
        }
        self.pos += 1;
        Ok(())
    }

    fn close(
        &mut self,
        tree: &mut Tree,
        duplicates: &mut Vec<DuplicateKey>,
    ) -> Result<NodeId, ParseError> {
        let end = self.pos;
        Ok(match self.stack.pop() {
            Some(Open::Object { start, kids }) => {
                let kids = dedupe(tree, &kids, duplicates);
                tree.add_collection(Kind::Map, Span::new(start, end), Tag::None, &kids)
            }
            Some(Open::Array { start, kids }) => {
                tree.add_collection(Kind::Seq, Span::new(start, end), Tag::None, &kids)
            }
            None => return self.error(end, "unbalanced brackets"),
        })
    }

    fn string(&mut self, tree: &mut Tree) -> Result<NodeId, ParseError> {
        let start = self.pos;
        if self.text.get(self.pos) != Some(&b'"') {
            return self.error(self.pos, "expected a string");
        }
        self.pos += 1;
        let mut decoded: Option<Vec<u8>> = None;
        let mut run = self.pos;
        loop {
            let Some(&c) = self.text.get(self.pos) else {
                return self.error(start, "unterminated string");
            };
            match c {
                b'"' => break,
                b'\\' => {
                    let buf = decoded.get_or_insert_with(Vec::new);
                    buf.extend_from_slice(&self.text[run..self.pos]);
                    let esc = self.text.get(self.pos + 1).copied();
                    self.pos += 2;
                    match esc {
                        Some(b'"') => buf.push(b'"'),
                        Some(b'\\') => buf.push(b'\\'),
                        Some(b'/') => buf.push(b'/'),
                        Some(b'b') => buf.push(8),
                        Some(b'f') => buf.push(12),
                        Some(b'n') => buf.push(b'\n'),
                        Some(b'r') => buf.push(b'\r'),
                        Some(b't') => buf.push(b'\t'),
                        Some(b'u') => {
                            let ch = self.unicode_escape()?;
                            let mut tmp = [0u8; 4];
                            buf.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                        }
                        _ => return self.error(self.pos - 2, "invalid escape in a string"),
                    }
                    run = self.pos;
                }
                0..=0x1f => return self.error(self.pos, "control character in a string"),
                _ => self.pos += 1,
            }
        }
        let end = self.pos + 1;
        let text = match &mut decoded {
            Some(buf) => {
                buf.extend_from_slice(&self.text[run..self.pos]);
                Some(String::from_utf8_lossy(buf).into_owned())
            }
            None => None,
        };
        self.pos = end;
        Ok(tree.add_scalar(
            Span::new(start, end),
            Style::DoubleQuoted,
            Tag::None,
            text.as_deref(),
        ))
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let digits = self.text.get(self.pos..self.pos + 4).unwrap_or(&[]);
        let v = std::str::from_utf8(digits)
            .ok()
            .filter(|d| d.len() == 4)
            .and_then(|d| u32::from_str_radix(d, 16).ok());
        match v {
            Some(v) => {
                self.pos += 4;
                Ok(v)
            }
            None => self.error(self.pos, "expected four hex digits after \\u"),
        }
    }

    fn unicode_escape(&mut self) -> Result<char, ParseError> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.text.get(self.pos..self.pos + 2) == Some(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return Ok(char::from_u32(c).unwrap_or('\u{FFFD}'));
            }
            self.pos = save;
        }
        Ok(char::from_u32(hi).unwrap_or('\u{FFFD}'))
    }

    /// A number, `true`, `false` or `null`.
    fn literal(&mut self, tree: &mut Tree) -> Result<NodeId, ParseError> {
        let start = self.pos;
        for word in [&b"true"[..], b"false", b"null"] {
            if self.text[start..].starts_with(word) {
                self.pos += word.len();
                return Ok(tree.add_scalar(
                    Span::new(start, self.pos),
                    Style::Plain,
                    Tag::None,
                    None,
                ));
            }
        }
        let b = self.text;
        let mut i = start;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        let digits = |i: &mut usize| {
            let s = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            *i - s
        };
        let int_start = i;
        let n = digits(&mut i);
        if n == 0 || n > 1 && b[int_start] == b'0' {
            return self.error(start, "expected a value");
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if digits(&mut i) == 0 {
                return self.error(i, "expected digits after '.'");
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if digits(&mut i) == 0 {
                return self.error(i, "expected digits in the exponent");
            }
        }
        self.pos = i;
        Ok(tree.add_scalar(Span::new(start, i), Style::Plain, Tag::None, None))
    }
}

/// Duplicate keys of an object: recorded, the last one kept (as Go's
/// `encoding/json` and Kubernetes do).
fn dedupe(tree: &Tree, kids: &[NodeId], duplicates: &mut Vec<DuplicateKey>) -> Vec<NodeId> {
    let n = kids.len() / 2;
    let key = |i: usize| tree.node(kids[2 * i]).text().unwrap_or("");
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut keep = vec![true; n];
    for i in 0..n {
        if let Some(j) = seen.insert(key(i), i) {
            keep[j] = false;
            duplicates.push(DuplicateKey {
                key: key(i).to_string(),
                first: tree.node(kids[2 * j]).span(),
                second: tree.node(kids[2 * i]).span(),
            });
        }
    }
    if keep.iter().all(|k| *k) {
        return kids.to_vec();
    }
    (0..n)
        .filter(|i| keep[*i])
        .flat_map(|i| [kids[2 * i], kids[2 * i + 1]])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn run(text: &str, dialect: Dialect, lines: bool) -> (Tree, Vec<ParseError>) {
        let mut t = Tree::new(0, SourceFile::new("t.json", text.to_string()));
        let e = parse(&mut t, 0, dialect, lines, &Limits::default());
        (t, e)
    }

    #[test]
    fn json_spans_and_duplicates() {
        let text = r#"{"a": {"b": "x"}, "a": [1, true, null], "e": "\u00e9\n"}"#;
        let (t, e) = run(text, Dialect::Strict, false);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(t.document_duplicates(0).count(), 1);
        let root = t.roots().next().unwrap();
        let a = root.get("a").unwrap();
        assert_eq!(a.items().len(), 3);
        assert_eq!(t.source().slice(a.span()), "[1, true, null]");
        assert_eq!(a.items().get(1).unwrap().as_bool(), Some(true));
        assert_eq!(root.get("e").unwrap().as_str(), Some("é\n"));
    }

    #[test]
    fn streams_ndjson_and_recovery() {
        let (t, e) = run("{\"a\": 1}\n{\"b\": 2}\n", Dialect::Strict, false);
        assert!(e.is_empty());
        assert_eq!(t.docs.len(), 2);
        let (t, e) = run("{\"a\": 1}{\"b\": 2} [3]", Dialect::Strict, false);
        assert!(e.is_empty());
        assert_eq!(t.docs.len(), 3);
        let (t, e) = run("{\"a\": 1}\n{\"b\": \n{\"c\": 3}\n", Dialect::Strict, false);
        assert_eq!(e.len(), 1);
        assert_eq!(t.docs.len(), 2);
        let (_, e) = run("{\n \"a\": 1,\n}\n", Dialect::Strict, false);
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn comments_only_where_allowed() {
        let text = "// tsconfig\n{\"a\": [1, 2,], /* x */ \"b\": 2,}\n";
        let (t, e) = run(text, Dialect::WithComments, false);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(t.roots().next().unwrap().get("a").unwrap().items().len(), 2);
        let (_, e) = run(text, Dialect::Strict, false);
        assert!(!e.is_empty());
    }

    #[test]
    fn deep_json_is_bounded() {
        let (_, e) = run(&"[".repeat(100_000), Dialect::Strict, false);
        assert!(e[0].message.contains("nesting"));
    }
}
