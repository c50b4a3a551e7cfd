//! `--format json`: a versioned schema documented in README.

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

#[derive(Serialize)]
struct Output<'a> {
    version: u32,
    findings: Items<'a>,
    summary: JsonSummary,
}

/// The findings, serialized one at a time as they are written: a run with
/// 10⁵ findings never holds their JSON (or a copy of them) in memory.
struct Items<'a>(&'a [Resolved]);

impl Serialize for Items<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(item))
    }
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

/// Writes the report to `out` as it is serialized.
pub fn write(
    out: &mut impl std::io::Write,
    findings: &[Resolved],
    summary: &Summary,
) -> std::io::Result<()> {
    let report = Output {
        version: 1,
        findings: Items(findings),
        summary: JsonSummary {
            errors: summary.errors,
            warnings: summary.warnings,
            infos: summary.infos,
            files: summary.files,
            objects: summary.objects,
            baseline_hidden: summary.baseline_hidden,
        },
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    out.write_all(b"\n")
}
