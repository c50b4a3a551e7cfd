//! Baselines: record today's findings so that only new ones are reported.
//! A finding is keyed by rule, file, message, the text of its node and (for
//! a finding about an object) the object's kind/namespace/name and the
//! node's path in it, not by its line: unrelated edits that move lines keep
//! it matched, and a new object with the same mistake is a new finding.
//! Version 1 files (without the object) are still read.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Resolved;

#[derive(Serialize, Deserialize)]
struct Entry {
    rule: String,
    file: String,
    fingerprint: String,
    message: String,
}

#[derive(Serialize, Deserialize)]
struct BaselineFile {
    version: u32,
    findings: Vec<Entry>,
}

/// FNV-1a: stable across runs, platforms and Rust versions.
fn fnv(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

const VERSION: u32 = 2;

/// The fingerprint a baseline of `version` recorded for this finding.
fn fingerprint_v(f: &Resolved, version: u32) -> String {
    let node = f
        .file
        .text
        .get(f.byte_start..f.byte_end)
        .unwrap_or("")
        .trim();
    match (version, &f.identity) {
        (1, _) | (_, None) => fnv(&[&f.rule, &f.file.name, &f.message.as_str(), node]),
        (_, Some(id)) => fnv(&[&f.rule, &f.file.name, &f.message.as_str(), node, id]),
    }
}

pub fn fingerprint(f: &Resolved) -> String {
    fingerprint_v(f, VERSION)
}

pub fn write(findings: &[Resolved]) -> String {
    let file = BaselineFile {
        version: VERSION,
        findings: findings
            .iter()
            .map(|f| Entry {
                rule: f.rule.to_string(),
                file: f.file.name.clone(),
                fingerprint: fingerprint(f),
                message: f.message.to_string(),
            })
            .collect(),
    };
    let mut s = serde_json::to_string_pretty(&file).unwrap_or_default();
    s.push('\n');
    s
}

/// Keeps the findings the baseline does not account for. Each baseline entry
/// absorbs one finding, so a second identical problem is still new.
pub fn filter(findings: Vec<Resolved>, baseline_text: &str) -> Result<Vec<Resolved>, String> {
    let file: BaselineFile =
        serde_json::from_str(baseline_text).map_err(|e| format!("not a kwi-lint baseline: {e}"))?;
    if !(1..=VERSION).contains(&file.version) {
        return Err(format!(
            "baseline version {} is not supported",
            file.version
        ));
    }
    let mut budget: HashMap<(String, String, String), usize> = HashMap::new();
    for e in file.findings {
        *budget.entry((e.rule, e.file, e.fingerprint)).or_default() += 1;
    }
    Ok(findings
        .into_iter()
        .filter(|f| {
            match budget.get_mut(&(
                f.rule.to_string(),
                f.file.name.clone(),
                fingerprint_v(f, file.version),
            )) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    false
                }
                _ => true,
            }
        })
        .collect())
}
