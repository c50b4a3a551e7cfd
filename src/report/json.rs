//! `--format json`: a versioned schema documented in README.

use rayon::prelude::*;
use serde::Serialize;

use super::{Resolved, Summary};
#[cfg(test)]
use crate::finding::Text;

/// A finding as serde would write it: the oracle of the tests.
#[cfg(test)]
#[derive(Serialize)]
struct Related<'a> {
    file: &'a str,
    line: u32,
    column: u32,
    byte_start: usize,
    byte_end: usize,
    message: &'a Text,
}

#[cfg(test)]
#[derive(Serialize)]
struct Item<'a> {
    rule: &'a str,
    name: &'a str,
    severity: &'a str,
    message: &'a Text,
    file: &'a str,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    byte_start: usize,
    byte_end: usize,
    related: Vec<Related<'a>>,
    help: Option<&'a Text>,
}

#[derive(Serialize)]
struct JsonSummary {
    errors: usize,
    warnings: usize,
    infos: usize,
    files: usize,
    objects: usize,
    /// Only with `--baseline`: the findings it hid.
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline_hidden: Option<usize>,
}

#[cfg(test)]
fn item(f: &Resolved) -> Item<'_> {
    Item {
        rule: &f.rule,
        name: &f.name,
        severity: f.severity.as_str(),
        message: &f.message,
        file: &f.file.name,
        line: f.start.line,
        column: f.start.column,
        end_line: f.end.line,
        end_column: f.end.column,
        byte_start: f.byte_start,
        byte_end: f.byte_end,
        related: f
            .related
            .iter()
            .map(|r| Related {
                file: &r.file.name,
                line: r.start.line,
                column: r.start.column,
                byte_start: r.byte_start,
                byte_end: r.byte_end,
                message: &r.message,
            })
            .collect(),
        help: f.help.as_ref(),
    }
}

/// Findings formatted at once, in parallel: enough to keep the threads
/// busy, few enough that a run with 10⁵ findings never holds their JSON.
const WINDOW: usize = 512;

/// Writes the report to `out`, pretty-printed as `serde_json` prints the
/// whole document, its findings formatted in parallel a window at a time.
pub fn write(
    out: &mut impl std::io::Write,
    findings: &[Resolved],
    summary: &Summary,
) -> std::io::Result<()> {
    out.write_all(b"{\n  \"version\": 1,\n  \"findings\": [")?;
    for (w, window) in findings.chunks(WINDOW).enumerate() {
        let parts: Vec<std::io::Result<Vec<u8>>> = window
            .par_chunks(32)
            .enumerate()
            .map(|(c, chunk)| {
                let mut buf = Vec::new();
                for (i, f) in chunk.iter().enumerate() {
                    let first = w == 0 && c == 0 && i == 0;
                    buf.extend_from_slice(if first { b"\n    " } else { b",\n    " });
                    write_item(&mut buf, f);
                }
                Ok(buf)
            })
            .collect();
        for part in parts {
            out.write_all(&part?)?;
        }
    }
    if !findings.is_empty() {
        out.write_all(b"\n  ")?;
    }
    out.write_all(b"],\n  \"summary\": ")?;
    let summary = JsonSummary {
        errors: summary.errors,
        warnings: summary.warnings,
        infos: summary.infos,
        files: summary.files,
        objects: summary.objects,
        baseline_hidden: summary.baseline_hidden,
    };
    let mut buf = Vec::new();
    pretty(&mut buf, &summary, 1)?;
    out.write_all(&buf)?;
    out.write_all(b"\n}\n")
}

/// One finding as `pretty` writes it at depth 2, written directly: serde
/// and its byte-at-a-time escaping took a tenth of what the lint does after
/// parsing, most of it in the texts. Tested against `pretty` below.
fn write_item(buf: &mut Vec<u8>, f: &Resolved) {
    const KEY: &[u8] = b"\n      \"";
    buf.extend_from_slice(b"{");
    field(buf, KEY, "rule", true);
    string(buf, [&*f.rule]);
    field(buf, KEY, "name", false);
    string(buf, [&*f.name]);
    field(buf, KEY, "severity", false);
    string(buf, [f.severity.as_str()]);
    field(buf, KEY, "message", false);
    string(buf, f.message.parts());
    field(buf, KEY, "file", false);
    string(buf, [f.file.name.as_str()]);
    numbers(
        buf,
        KEY,
        &[
            ("line", f.start.line as usize),
            ("column", f.start.column as usize),
            ("end_line", f.end.line as usize),
            ("end_column", f.end.column as usize),
            ("byte_start", f.byte_start),
            ("byte_end", f.byte_end),
        ],
    );
    field(buf, KEY, "related", false);
    if f.related.is_empty() {
        buf.extend_from_slice(b"[]");
    } else {
        const RELATED_KEY: &[u8] = b"\n          \"";
        buf.push(b'[');
        for (i, r) in f.related.iter().enumerate() {
            buf.extend_from_slice(if i == 0 {
                b"\n        {"
            } else {
                b",\n        {"
            });
            field(buf, RELATED_KEY, "file", true);
            string(buf, [r.file.name.as_str()]);
            numbers(
                buf,
                RELATED_KEY,
                &[
                    ("line", r.start.line as usize),
                    ("column", r.start.column as usize),
                    ("byte_start", r.byte_start),
                    ("byte_end", r.byte_end),
                ],
            );
            field(buf, RELATED_KEY, "message", false);
            string(buf, r.message.parts());
            buf.extend_from_slice(b"\n        }");
        }
        buf.extend_from_slice(b"\n      ]");
    }
    field(buf, KEY, "help", false);
    match &f.help {
        Some(h) => string(buf, h.parts()),
        None => buf.extend_from_slice(b"null"),
    }
    buf.extend_from_slice(b"\n    }");
}

/// `,` unless first, a new line, the indent and opening quote in `key`,
/// then the name and `": `.
fn field(buf: &mut Vec<u8>, key: &[u8], name: &str, first: bool) {
    if !first {
        buf.push(b',');
    }
    buf.extend_from_slice(key);
    buf.extend_from_slice(name.as_bytes());
    buf.extend_from_slice(b"\": ");
}

/// Number fields, each as `field` starts it.
fn numbers(buf: &mut Vec<u8>, key: &[u8], fields: &[(&str, usize)]) {
    for &(name, n) in fields {
        field(buf, key, name, false);
        buf.extend_from_slice(crate::source::decimal(n as u64, &mut [0; 20]));
    }
}

/// The parts as one JSON string, escaped as serde_json escapes: `"`, `\`
/// and control characters (short forms where JSON has them, else `\u00xx`).
fn string<'s>(buf: &mut Vec<u8>, parts: impl IntoIterator<Item = &'s str>) {
    buf.push(b'"');
    for part in parts {
        let bytes = part.as_bytes();
        let mut done = 0;
        let mut at = 0;
        while at < bytes.len() {
            // Sixteen bytes that need no escape are skipped at once.
            if let Some(chunk) = bytes.get(at..at + 16) {
                if chunk.iter().fold(true, |ok, &b| ok & !needs_escape(b)) {
                    at += 16;
                    continue;
                }
            }
            let b = bytes[at];
            if needs_escape(b) {
                buf.extend_from_slice(&bytes[done..at]);
                match b {
                    b'"' => buf.extend_from_slice(b"\\\""),
                    b'\\' => buf.extend_from_slice(b"\\\\"),
                    b'\n' => buf.extend_from_slice(b"\\n"),
                    b'\r' => buf.extend_from_slice(b"\\r"),
                    b'\t' => buf.extend_from_slice(b"\\t"),
                    0x08 => buf.extend_from_slice(b"\\b"),
                    0x0c => buf.extend_from_slice(b"\\f"),
                    _ => {
                        const HEX: &[u8; 16] = b"0123456789abcdef";
                        buf.extend_from_slice(b"\\u00");
                        buf.push(HEX[(b >> 4) as usize]);
                        buf.push(HEX[(b & 15) as usize]);
                    }
                }
                done = at + 1;
            }
            at += 1;
        }
        buf.extend_from_slice(&bytes[done..]);
    }
    buf.push(b'"');
}

#[inline(always)]
fn needs_escape(b: u8) -> bool {
    (b < 0x20) | (b == b'"') | (b == b'\\')
}

/// `value` pretty-printed at nesting `depth` (two spaces each; its first
/// line is not indented).
fn pretty(buf: &mut Vec<u8>, value: &impl Serialize, depth: usize) -> std::io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(
        &mut *buf,
        Pretty {
            depth,
            has_value: false,
        },
    );
    value.serialize(&mut ser).map_err(std::io::Error::from)
}

/// `serde_json`'s `PrettyFormatter` starting at a given depth (it starts at 0).
struct Pretty {
    depth: usize,
    has_value: bool,
}

impl serde_json::ser::Formatter for Pretty {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.next_line(w, first)
    }

    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.next_line(w, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

impl Pretty {
    fn open<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        bracket: &[u8],
    ) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    /// An empty array or object closes on its line, as serde_json's does.
    fn close<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        bracket: &[u8],
    ) -> std::io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            self.indent(w)?;
        }
        w.write_all(bracket)
    }

    fn next_line<W: ?Sized + std::io::Write>(&self, w: &mut W, first: bool) -> std::io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(w)
    }

    fn indent<W: ?Sized + std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        for _ in 0..self.depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{item, pretty, write_item};
    use crate::finding::{Piece, Severity, Text};
    use crate::report::{Resolved, ResolvedRelated};
    use crate::source::{Position, SourceFile};

    /// Every byte serde_json escapes, and what it leaves alone.
    const TRICKY: &str = "a \"quoted\" \\path\\ \n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f} é ✓ \u{2028} 0123456789abcdef0123456789";

    fn finding(message: Text, related: usize, help: Option<Text>) -> Resolved {
        let file = SourceFile::new(format!("dir/{TRICKY}.yaml"), String::new());
        let at = |line, column| Position { line, column };
        Resolved {
            rule: "KWI201".into(),
            name: "some-name".into(),
            severity: Severity::Warning,
            message,
            file: file.clone(),
            start: at(3, 7),
            end: at(4_000_000, 1),
            byte_start: 0,
            byte_end: usize::MAX,
            related: (0..related)
                .map(|i| ResolvedRelated {
                    file: file.clone(),
                    start: at(i as u32, 10),
                    byte_start: 12_345,
                    byte_end: 67_890,
                    message: Text::Static(TRICKY),
                })
                .collect(),
            help,
            inputs: Vec::new(),
            object: None,
            identity: None,
        }
    }

    #[test]
    fn a_finding_is_written_as_serde_writes_it() {
        let pieces = Text::Pieces(
            [
                TRICKY,
                "\"",
                "",
                "\\",
                "plain text longer than sixteen bytes",
            ]
            .map(|p| Piece::Own(p.into()))
            .into(),
        );
        for f in [
            finding(Text::Own(TRICKY.into()), 0, None),
            finding(
                pieces,
                1,
                Some(Text::Static("run: `gcloud x`\n  next line")),
            ),
            finding(Text::Static(""), 3, Some(Text::Own("".into()))),
        ] {
            let mut ours = Vec::new();
            write_item(&mut ours, &f);
            let mut serde = Vec::new();
            pretty(&mut serde, &item(&f), 2).unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(serde).unwrap()
            );
        }
    }

    #[test]
    fn pretty_at_a_depth_is_serde_jsons_pretty_indented() {
        let value = serde_json::json!({
            "a": [], "b": {}, "c": [1, {"d": [[], {}], "e": "x\ny"}],
            "f": {"g": null, "h": [true]}
        });
        let mut at_top = Vec::new();
        pretty(&mut at_top, &value, 0).unwrap();
        assert_eq!(at_top, serde_json::to_vec_pretty(&value).unwrap());
        let mut nested = Vec::new();
        pretty(&mut nested, &value, 2).unwrap();
        let expected = String::from_utf8(serde_json::to_vec_pretty(&value).unwrap())
            .unwrap()
            .replace('\n', "\n    ");
        assert_eq!(String::from_utf8(nested).unwrap(), expected);
    }
}
