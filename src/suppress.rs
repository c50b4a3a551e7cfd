//! Suppressions: `ignore.kwi-lint.io/<RULE>: "reason"` annotations on
//! Kubernetes objects, `# kwi-lint: ignore[RULE] reason` comments on the line
//! of a node or the line above it, and per-path ignores from the config.

use std::collections::{HashMap, HashSet};

use globset::GlobSet;
use rayon::prelude::*;

use crate::config::Config;
use crate::finding::{Finding, Severity};
use crate::model::{Model, IGNORE_ANNOTATION_PREFIX as ANNOTATION_PREFIX};
use crate::parse::Node;
use crate::source::{FileId, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Findings about this object (index into the model's objects), or, for
    /// findings that name no object, whose primary span lies inside it.
    Object(usize),
    /// Findings that start on this (1-based) line or the next one.
    Lines(u32),
}

#[derive(Clone, Debug)]
pub struct Suppression {
    pub file: FileId,
    /// Where the suppression is written (for KWI004/KWI005).
    pub at: Span,
    pub rules: Vec<String>,
    /// Where each of `rules` is written (KWI009 points at a misspelt one).
    pub rule_spans: Vec<Span>,
    pub reason: String,
    pub scope: Scope,
}

/// Every annotation and comment suppression in the scan, in parallel: the
/// `ignore.kwi-lint.io/` annotations the model found while classifying
/// objects, and every file's comments.
pub fn collect(model: &Model) -> Vec<Suppression> {
    let mut out: Vec<Suppression> = model
        .ignore_annotations
        .par_iter()
        .filter_map(|(o, k, v)| in_annotation(model, *o, *k, *v))
        .collect();
    out.par_extend(model.files.par_iter().flat_map_iter(|f| in_comments(f)));
    out
}

/// An `ignore.kwi-lint.io/<RULE>` annotation of object `o`.
fn in_annotation(model: &Model, o: usize, k: Node, v: Node) -> Option<Suppression> {
    let key = k.as_str()?;
    let rule = key.strip_prefix(ANNOTATION_PREFIX)?;
    // The rule part of the key, when the file spells the key as it
    // reads (plain or quoted without escapes); else the whole key.
    let span = k.span();
    let in_file = model.files[k.file() as usize].source().slice(span);
    let rule_span = match in_file.find(key) {
        Some(at) => {
            let start = span.start as usize + at + ANNOTATION_PREFIX.len();
            Span::new(start, start + rule.len())
        }
        None => span,
    };
    Some(Suppression {
        file: k.file(),
        at: span,
        rules: vec![rule.to_string()],
        rule_spans: vec![rule_span],
        reason: v.as_str().unwrap_or("").trim().to_string(),
        scope: Scope::Object(o),
    })
}

/// `# kwi-lint: ignore[…]` comments of a file. Only real comments count:
/// the same text inside a string value (a block scalar, a quoted string) is
/// text, not a suppression.
fn in_comments(f: &crate::parse::ParsedFile) -> Vec<Suppression> {
    let mut out = Vec::new();
    for c in &f.comments {
        let text = f.source().slice(*c);
        let Some(rest) = text
            .strip_prefix('#')
            .map(str::trim_start)
            .and_then(|t| t.strip_prefix("kwi-lint:"))
            .map(str::trim_start)
            .and_then(|t| t.strip_prefix("ignore["))
        else {
            continue;
        };
        let Some(close) = rest.find(']') else {
            continue;
        };
        // Offsets in the file of each selector between the brackets.
        let list_start = c.start as usize + (text.len() - rest.len());
        let mut rules = Vec::new();
        let mut rule_spans = Vec::new();
        let mut at = list_start;
        for part in rest[..close].split(',') {
            let trimmed = part.trim();
            if !trimmed.is_empty() {
                let start = at + (part.len() - part.trim_start().len());
                rules.push(trimmed.to_string());
                rule_spans.push(Span::new(start, start + trimmed.len()));
            }
            at += part.len() + 1;
        }
        out.push(Suppression {
            file: f.id,
            at: *c,
            rules,
            rule_spans,
            reason: rest[close + 1..].trim().to_string(),
            scope: Scope::Lines(f.source().position(c.start as usize).line),
        });
    }
    out
}

/// Whether a suppression's rule selector names this rule.
pub fn matches(rule_sel: &str, id: &str, name: &str) -> bool {
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
    // Suppressions by object and by (file, line): a lookup per finding, not a
    // scan of every suppression.
    let mut by_object: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut by_line: HashMap<(FileId, u32), Vec<usize>> = HashMap::new();
    for (i, s) in sups.iter().enumerate() {
        match s.scope {
            Scope::Object(o) => by_object.entry(o).or_default().push(i),
            Scope::Lines(l) => {
                by_line.entry((s.file, l)).or_default().push(i);
                by_line.entry((s.file, l + 1)).or_default().push(i);
            }
        }
    }
    // Where each object's source text is, for findings that name no object:
    // only in their files (reading every object's node is a sweep of memory).
    let mut spans: HashMap<FileId, Vec<(u32, u32, usize)>> = HashMap::new();
    if !by_object.is_empty() {
        let files: HashSet<FileId> = findings
            .iter()
            .filter(|(f, _)| f.object.is_none())
            .map(|(f, _)| f.at.file)
            .collect();
        for o in model.objects.iter().filter(|o| files.contains(&o.file)) {
            let s = o.node.span();
            spans
                .entry(o.file)
                .or_default()
                .push((s.start, s.end, o.index));
        }
        for v in spans.values_mut() {
            v.sort_unstable();
        }
    }
    // Filtered in place: a copy of the kept ones would hold the run's
    // findings twice.
    let mut kept = findings;
    // Files with comment suppressions: a finding elsewhere needs no line.
    let commented: HashSet<FileId> = by_line.keys().map(|(file, _)| *file).collect();
    kept.retain(|(f, _)| {
        // Its name, its file's name and its line are each looked up only
        // when something could match (most findings have no suppression).
        let name = std::cell::OnceCell::new();
        let name = || name.get_or_init(|| name_of(&f.rule)).as_str();
        if per_path.iter().any(|(g, rules)| {
            rules.iter().any(|r| matches(r, &f.rule, name()))
                && config.glob_matches(g, model.file_name(f.at.file))
        }) {
            return false;
        }
        let object = f.object.or_else(|| {
            if by_object.is_empty() {
                None
            } else {
                spans.get(&f.at.file).and_then(|v| {
                    let i = v.partition_point(|(start, _, _)| *start <= f.at.span.start);
                    v[..i]
                        .last()
                        .filter(|(_, end, _)| f.at.span.start <= *end)
                        .map(|(_, _, o)| *o)
                })
            }
        });
        let candidates = object
            .and_then(|o| by_object.get(&o))
            .into_iter()
            .flatten()
            .chain(
                commented
                    .contains(&f.at.file)
                    .then(|| by_line.get(&(f.at.file, line_of(f))))
                    .flatten()
                    .into_iter()
                    .flatten(),
            );
        let hit = candidates
            .copied()
            .filter(|i| sups[*i].rules.iter().any(|r| matches(r, &f.rule, name())))
            .min();
        match hit {
            Some(i) => {
                used[i] = true;
                false
            }
            None => true,
        }
    });
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
