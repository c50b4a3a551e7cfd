//! `--format json`: a versioned schema documented in README.

use rayon::prelude::*;
use serde::Serialize;

use super::{Resolved, Summary};
use crate::finding::Text;

#[derive(Serialize)]
struct Related<'a> {
    file: &'a str,
    line: u32,
    column: u32,
    byte_start: usize,
    byte_end: usize,
    message: &'a Text,
}

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
                    pretty(&mut buf, &item(f), 2)?;
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
    use super::pretty;

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
