//! `--format sarif`: SARIF 2.1.0 as GitHub code scanning reads it.

use serde::Serialize;
use serde_json::{json, Value};

use super::{Resolved, Summary};
use crate::finding::Severity;
use crate::rules::Rule;

/// Rule documentation lives beside each rule in the repository.
const DOCS: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/rules");

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Relative paths stay relative (code scanning resolves them against the
/// checkout); absolute ones become file URIs.
fn uri(path: &str) -> String {
    let encoded: String = path
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_string(),
            '%' => "%25".to_string(),
            '#' => "%23".to_string(),
            '?' => "%3F".to_string(),
            c => c.to_string(),
        })
        .collect();
    if encoded.starts_with('/') {
        format!("file://{encoded}")
    } else {
        encoded
    }
}

fn location(
    file: &str,
    start: (u32, u32),
    end: Option<(u32, u32)>,
    bytes: (usize, usize),
) -> Value {
    let mut region = json!({
        "startLine": start.0,
        "startColumn": start.1,
        "byteOffset": bytes.0,
        "byteLength": bytes.1 - bytes.0,
    });
    if let Some((l, c)) = end {
        region["endLine"] = json!(l);
        region["endColumn"] = json!(c);
    }
    json!({"physicalLocation": {"artifactLocation": {"uri": uri(file)}, "region": region}})
}

fn descriptors(rules: &[Rule]) -> Vec<Value> {
    rules
        .iter()
        .map(|r| {
            let help = format!("{}\n\nHow to fix:\n{}", r.why, r.fix);
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": if r.why.is_empty() { r.summary.clone() } else { r.why.clone() }},
                "help": {"text": help, "markdown": format!("{}\n\n**How to fix**\n\n```\n{}\n```", r.why, r.fix)},
                "helpUri": format!("{DOCS}/{}.yaml", r.id),
                "defaultConfiguration": {"level": level(r.severity), "enabled": r.enabled},
                "properties": {"tags": [r.category.clone()]},
            })
        })
        .collect()
}

fn result(f: &Resolved, rules: &[Rule]) -> Value {
    let mut result = json!({
        "ruleId": f.rule,
        "ruleIndex": rules.iter().position(|r| r.id == f.rule).unwrap_or(0),
        "level": level(f.severity),
        "message": {"text": f.message},
        "locations": [location(&f.file.name, (f.start.line, f.start.column), Some((f.end.line, f.end.column)), (f.byte_start, f.byte_end))],
        "partialFingerprints": {"kwiLint/v2": super::baseline::fingerprint(f)},
    });
    if !f.related.is_empty() {
        result["relatedLocations"] = Value::Array(
            f.related
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let mut l = location(
                        &r.file.name,
                        (r.start.line, r.start.column),
                        None,
                        (r.byte_start, r.byte_end),
                    );
                    l["id"] = json!(i + 1);
                    l["message"] = json!({"text": r.message});
                    l
                })
                .collect(),
        );
    }
    if let Some(h) = &f.help {
        // A SARIF `fix` must carry artifact changes; ours is a command or a
        // YAML change, so it travels as text in the result's properties.
        result["properties"] = json!({"fix": h});
    }
    result
}

// The log's shape, keys in the order serde_json's maps print them (sorted):
// results are built and written one at a time, never all held as values.
#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    runs: [Run<'a>; 1],
    version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    column_kind: &'static str,
    results: Results<'a>,
    tool: Value,
}

struct Results<'a> {
    findings: &'a [Resolved],
    rules: &'a [Rule],
}

impl Serialize for Results<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.findings.iter().map(|f| result(f, self.rules)))
    }
}

/// Writes the log to `out` as it is serialized.
pub fn write(
    out: &mut impl std::io::Write,
    findings: &[Resolved],
    _summary: &Summary,
    rules: &[Rule],
) -> std::io::Result<()> {
    let log = Log {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        runs: [Run {
            column_kind: "unicodeCodePoints",
            results: Results { findings, rules },
            tool: json!({"driver": {
                "name": "kwi-lint",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": descriptors(rules),
            }}),
        }],
        version: "2.1.0",
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    out.write_all(b"\n")
}
