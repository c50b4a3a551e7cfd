//! Rendering findings. Every format reads positions from the same
//! `SourceFile`, so human, JSON and the rest always agree.

pub mod baseline;
pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod sarif;

use rayon::prelude::*;
use std::sync::Arc;

use crate::finding::{Finding, Severity, Text};
use crate::rules::Rule;
use crate::source::{Position, SourceFile};

/// A finding with everything a renderer needs, resolved once.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub rule: Arc<str>,
    pub name: Arc<str>,
    pub severity: Severity,
    pub message: Text,
    pub file: Arc<SourceFile>,
    pub start: Position,
    pub end: Position,
    pub byte_start: usize,
    pub byte_end: usize,
    pub related: Vec<ResolvedRelated>,
    pub help: Option<Text>,
    /// Every file the finding depends on (its own, related, its object's),
    /// by name, once each; empty unless asked for (`Extras::inputs`).
    pub inputs: Vec<Arc<SourceFile>>,
    /// The object it is about (index into the model's objects), if any.
    pub object: Option<usize>,
    /// `Kind/namespace/name` of that object and the path of the node inside
    /// it (`metadata.annotations.KEY`): part of the baseline fingerprint, so
    /// a new object with the same typo is a new finding.
    pub identity: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ResolvedRelated {
    pub file: Arc<SourceFile>,
    pub start: Position,
    pub byte_start: usize,
    pub byte_end: usize,
    pub message: Text,
}

#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    pub files: usize,
    pub objects: usize,
    pub seconds: f64,
    /// Findings a `--baseline` hid (None without a baseline).
    pub baseline_hidden: Option<usize>,
}

/// The findings of a report: resolved, sorted, and each reported once (an
/// object in two kustomize scopes gets the same finding from each).
pub fn resolve(
    findings: Vec<(Finding, Severity)>,
    files: &[Arc<SourceFile>],
    rules: &[Rule],
    inputs: bool,
) -> Vec<Resolved> {
    let mut out = resolve_all(findings, files, rules, inputs);
    out.dedup_by(|a, b| {
        a.rule == b.rule
            && a.file.name == b.file.name
            && a.byte_start == b.byte_start
            && a.message == b.message
    });
    out
}

/// `resolve`, keeping each object's own finding where two objects (one
/// resource in two kustomize scopes) have the same one: `graph` shows it in
/// the chain of each.
pub fn resolve_all(
    findings: Vec<(Finding, Severity)>,
    files: &[Arc<SourceFile>],
    rules: &[Rule],
    inputs: bool,
) -> Vec<Resolved> {
    // Findings are sorted by file name first: each file with findings gets
    // its rank among their names once, so that the sort compares numbers.
    let mut named: Vec<u32> = findings.iter().map(|(f, _)| f.at.file).collect();
    named.sort_unstable();
    named.dedup();
    named.sort_by(|a, b| files[*a as usize].name.cmp(&files[*b as usize].name));
    let mut rank = vec![0u32; files.len()];
    let mut last: Option<(&str, u32)> = None;
    for (i, id) in named.iter().enumerate() {
        let name = files[*id as usize].name.as_str();
        let r = match last {
            Some((n, r)) if n == name => r,
            _ => i as u32,
        };
        rank[*id as usize] = r;
        last = Some((name, r));
    }
    let ranks: Vec<u32> = findings
        .iter()
        .map(|(f, _)| rank[f.at.file as usize])
        .collect();
    // In parallel: positions are looked up in each file's line table, which
    // is rarely in cache any more.
    let mut out: Vec<Resolved> = findings
        .into_par_iter()
        .map(|(f, severity)| {
            let file = files[f.at.file as usize].clone();
            let (bs, be) = (f.at.span.start as usize, f.at.span.end as usize);
            // A finding names its rule by the rule's own `id` (compared by
            // pointer first: thousands of findings, forty rules).
            let name = rules
                .iter()
                .find(|r| Arc::ptr_eq(&r.id, &f.rule))
                .or_else(|| rules.iter().find(|r| r.id == f.rule))
                .map(|r| r.name.clone())
                .unwrap_or_default();
            // Shared sources, not copies of their names: a run has thousands
            // of findings, each depending on a few files. Only pre-commit asks.
            let depends: Vec<Arc<SourceFile>> = if inputs {
                let mut all: Vec<Arc<SourceFile>> = std::iter::once(f.at.file)
                    .chain(f.related.iter().map(|r| r.at.file))
                    .chain(f.inputs.iter().copied())
                    .filter_map(|id| files.get(id as usize).cloned())
                    .collect();
                all.sort_by(|a, b| a.name.cmp(&b.name));
                all.dedup_by(|a, b| a.name == b.name);
                all
            } else {
                Vec::new()
            };
            Resolved {
                start: file.position(bs),
                end: file.position(be),
                related: f
                    .related
                    .into_iter()
                    .map(|r| {
                        let rf = files[r.at.file as usize].clone();
                        ResolvedRelated {
                            start: rf.position(r.at.span.start as usize),
                            byte_start: r.at.span.start as usize,
                            byte_end: r.at.span.end as usize,
                            file: rf,
                            message: r.message.map_pieces(crate::escape::text),
                        }
                    })
                    .collect(),
                inputs: depends,
                object: f.object,
                identity: None,
                rule: f.rule,
                name,
                severity,
                // Messages quote scanned names: escaped once here, for every format.
                message: f.message.map_pieces(crate::escape::text),
                file,
                byte_start: bs,
                byte_end: be,
                help: f.help.map(|h| h.map_pieces(crate::escape::lines)),
            }
        })
        .collect();
    // Sorted through their indices, the index breaking ties (as a stable
    // sort would): sorting the findings themselves takes a buffer as big.
    let key = |i: usize| {
        let r = &out[i];
        (ranks[i], r.start, &r.rule, r.byte_end, &r.message)
    };
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.par_sort_unstable_by(|a, b| key(*a).cmp(&key(*b)).then(a.cmp(b)));
    permute(&mut out, order);
    out
}

/// Reorders `items` in place so that `items[i]` becomes the old
/// `items[order[i]]` (`order` a permutation), one cycle at a time.
fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    for start in 0..items.len() {
        let mut at = start;
        while order[at] != at {
            let from = order[at];
            order[at] = at;
            if from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

pub fn summary_line(s: &Summary) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let hidden = match s.baseline_hidden {
        Some(n) => format!(
            " ({n} known finding{} hidden by the baseline)",
            if n == 1 { "" } else { "s" }
        ),
        None => String::new(),
    };
    format!(
        "{}, {}, {} in {} ({} objects) in {:.2} s{hidden}",
        plural(s.errors, "error"),
        plural(s.warnings, "warning"),
        plural(s.infos, "info"),
        plural(s.files, "file"),
        s.objects,
        s.seconds
    )
}

#[cfg(test)]
mod tests {
    use super::permute;

    #[test]
    fn permute_puts_each_item_where_the_order_says() {
        let orders: [&[usize]; 5] = [
            &[],
            &[0],
            &[2, 0, 1],
            &[1, 0, 3, 2, 4],
            &[4, 3, 0, 1, 2, 6, 5],
        ];
        for order in orders {
            let mut items: Vec<char> = (0..order.len()).map(|i| (b'a' + i as u8) as char).collect();
            let want: Vec<char> = order.iter().map(|i| items[*i]).collect();
            permute(&mut items, order.to_vec());
            assert_eq!(items, want, "{order:?}");
        }
    }
}
