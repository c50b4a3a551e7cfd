//! Suppressions: `ignore.kwi-lint.io/<RULE>: "reason"` annotations on
//! Kubernetes objects, `# kwi-lint: ignore[RULE] reason` comments on the line
//! of a node or the line above it, and per-path ignores from the config.

use globset::GlobSet;

use crate::config::Config;
use crate::finding::{Finding, Severity};
use crate::model::Model;
use crate::parse::Format;
use crate::source::{FileId, Span};

pub const ANNOTATION_PREFIX: &str = "ignore.kwi-lint.io/";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Findings whose primary span lies inside this byte range of the file.
    Object(Span),
    /// Findings that start on this (1-based) line or the next one.
    Lines(u32),
}

#[derive(Clone, Debug)]
pub struct Suppression {
    pub file: FileId,
    /// Where the suppression is written (for KWI004/KWI005).
    pub at: Span,
    pub rules: Vec<String>,
    pub reason: String,
    pub scope: Scope,
}

/// Every annotation and comment suppression in the scan.
pub fn collect(model: &Model) -> Vec<Suppression> {
    let mut out = Vec::new();
    for o in &model.objects {
        for (k, v) in o.annotations() {
            let Some(rule) = k.as_str().and_then(|k| k.strip_prefix(ANNOTATION_PREFIX)) else {
                continue;
            };
            out.push(Suppression {
                file: o.file,
                at: k.span(),
                rules: vec![rule.to_string()],
                reason: v.as_str().unwrap_or("").trim().to_string(),
                scope: Scope::Object(o.node.span()),
            });
        }
    }
    for f in &model.files {
        if Format::from_name(&f.source.name) != Format::Yaml || !f.source.text.contains("kwi-lint:")
        {
            continue;
        }
        let mut offset = 0usize;
        for (i, line) in f.source.text.split_inclusive('\n').enumerate() {
            let start = offset;
            offset += line.len();
            let Some(hash) = comment_start(line) else {
                continue;
            };
            let comment = line[hash + 1..].trim();
            let Some(rest) = comment.strip_prefix("kwi-lint:").map(str::trim_start) else {
                continue;
            };
            let Some(rest) = rest.strip_prefix("ignore[") else {
                continue;
            };
            let Some(close) = rest.find(']') else {
                continue;
            };
            let rules = rest[..close]
                .split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect();
            let end = start + line.trim_end_matches(['\n', '\r']).len();
            out.push(Suppression {
                file: f.id,
                at: Span::new(start + hash, end),
                rules,
                reason: rest[close + 1..].trim().to_string(),
                scope: Scope::Lines(i as u32 + 1),
            });
        }
    }
    out
}

/// Byte index of a `#` that starts a YAML comment (outside quotes).
fn comment_start(line: &str) -> Option<usize> {
    let (mut single, mut double) = (false, false);
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'#' if !single
                && !double
                && (i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') =>
            {
                return Some(i)
            }
            _ => {}
        }
    }
    None
}

fn matches(rule_sel: &str, id: &str, name: &str) -> bool {
    rule_sel == id
        || rule_sel == name
        || (rule_sel.len() >= 4 && id.starts_with(rule_sel))
        || rule_sel.eq_ignore_ascii_case("all")
}

pub struct Applied {
    pub kept: Vec<(Finding, Severity)>,
    /// Indexes into the suppression list that matched nothing.
    pub unused: Vec<usize>,
}

/// Drops suppressed findings. `line_of` gives the 1-based start line of a finding.
pub fn apply(
    findings: Vec<(Finding, Severity)>,
    sups: &[Suppression],
    config: &Config,
    model: &Model,
    name_of: impl Fn(&str) -> String,
    line_of: impl Fn(&Finding) -> u32,
) -> Applied {
    let per_path: Vec<(GlobSet, &Vec<String>)> = config
        .per_path_ignores
        .iter()
        .filter_map(|(g, rules)| {
            Some((
                crate::walk::build_globset(std::slice::from_ref(g)).ok()?,
                rules,
            ))
        })
        .collect();
    let mut used = vec![false; sups.len()];
    let mut kept = Vec::new();
    for (f, sev) in findings {
        let name = name_of(&f.rule);
        let file_name = model.file_name(f.at.file);
        if per_path.iter().any(|(g, rules)| {
            rules.iter().any(|r| matches(r, &f.rule, &name)) && config.glob_matches(g, file_name)
        }) {
            continue;
        }
        let line = line_of(&f);
        let hit = sups.iter().position(|s| {
            s.file == f.at.file
                && s.rules.iter().any(|r| matches(r, &f.rule, &name))
                && match s.scope {
                    Scope::Object(span) => {
                        span.start <= f.at.span.start && f.at.span.start <= span.end
                    }
                    Scope::Lines(l) => line == l || line == l + 1,
                }
        });
        match hit {
            Some(i) => used[i] = true,
            None => kept.push((f, sev)),
        }
    }
    Applied {
        kept,
        unused: used
            .iter()
            .enumerate()
            .filter(|(_, u)| !**u)
            .map(|(i, _)| i)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_outside_quotes_only() {
        assert_eq!(comment_start("a: 1 # note"), Some(5));
        assert_eq!(comment_start("a: \"x # y\""), None);
        assert_eq!(comment_start("# top"), Some(0));
        assert_eq!(comment_start("url: http://x#frag"), None);
    }
}
