//! `--format json`: a versioned schema documented in README.

use serde::Serialize;

use super::{Resolved, Summary};

#[derive(Serialize)]
struct Related<'a> {
    file: &'a str,
    line: u32,
    column: u32,
    byte_start: usize,
    byte_end: usize,
    message: &'a str,
}

#[derive(Serialize)]
struct Item<'a> {
    rule: &'a str,
    name: &'a str,
    severity: &'a str,
    message: &'a str,
    file: &'a str,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    byte_start: usize,
    byte_end: usize,
    related: Vec<Related<'a>>,
    help: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonSummary {
    errors: usize,
    warnings: usize,
    infos: usize,
    files: usize,
    objects: usize,
}

#[derive(Serialize)]
struct Output<'a> {
    version: u32,
    findings: Vec<Item<'a>>,
    summary: JsonSummary,
}

pub fn render(findings: &[Resolved], summary: &Summary) -> String {
    let out = Output {
        version: 1,
        findings: findings
            .iter()
            .map(|f| Item {
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
                help: f.help.as_deref(),
            })
            .collect(),
        summary: JsonSummary {
            errors: summary.errors,
            warnings: summary.warnings,
            infos: summary.infos,
            files: summary.files,
            objects: summary.objects,
        },
    };
    let mut s =
        serde_json::to_string_pretty(&out).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
