//! KWI0xx: problems with the input files themselves.

use super::{head, key_loc, Ctx, Params};
use crate::finding::{Finding, Severity};
use crate::parse::ProblemKind;

pub fn file_problems(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in &ctx.model.files {
        for p in &f.problems {
            let mut finding = Finding::new(&ctx.rule.id, f.id, p.span, p.message.clone());
            if let Some(h) = &p.help {
                finding = finding.help(h.clone());
            }
            // Templates are skipped on purpose, and a file that is not ours
            // (a CI config, a compose file) is not ours to judge.
            let note = p.kind == ProblemKind::Template
                || p.kind == ProblemKind::Syntax && !ctx.model.is_ours(f.id);
            if note {
                finding = finding.severity(Severity::Info);
            }
            out.push(finding);
        }
    }
    out
}

pub fn duplicate_keys(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in ctx.model.files.iter().filter(|f| ctx.model.is_ours(f.id)) {
        for d in f.tree.duplicates() {
            out.push(
                Finding::new(
                    &ctx.rule.id,
                    f.id,
                    d.second,
                    format!(
                        "duplicate key `{}`: this value silently replaces the first one",
                        d.key
                    ),
                )
                .related(f.id, d.first, "first defined here")
                .help(format!(
                    "keep one `{}` entry and merge the two values",
                    d.key
                )),
            );
        }
    }
    out
}

pub fn policy_resource(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    ctx.model
        .policies
        .iter()
        .filter(|p| p.resource.is_none())
        .map(|p| {
            let span = if p.node.get("bindings").is_some() { key_loc(p.node, "bindings") } else { head(p.node) };
            Finding::at(&ctx.rule.id, span,
                "cannot tell whose IAM policy this is: rules that need it (KWI201, KWI205, KWI306) skip it",
            )
            .help(
                "name the file after the resource (GSA_EMAIL.json for `gcloud iam service-accounts get-iam-policy`, \
                 project-iam.json beside `gcloud projects describe` output), export with `gcloud asset search-all-iam-policies`, \
                 or map it in .kwi-lint.yaml: `iam_policies: {\"PATH\": \"projects/PROJECT_ID\"}`",
            )
        })
        .collect()
}

pub fn kustomize_notes(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    ctx.model
        .kustomize_notes
        .iter()
        .map(|n| {
            Finding::at(&ctx.rule.id, n.at, n.message.clone()).help(
                "lint what kustomize renders instead: `kubectl kustomize DIR | kwi-lint - --stdin-filename DIR.yaml`",
            )
        })
        .collect()
}

/// One note, at the first cluster dump, when several are in the scan and
/// some manifests are mapped to none of them.
pub fn clusters_unmapped(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let m = ctx.model;
    if !m.unmapped_clusters() {
        return Vec::new();
    }
    let first = &m.clusters[0];
    let names: Vec<&str> = m.clusters.iter().map(|c| c.name).collect();
    let lines: String = m
        .clusters
        .iter()
        .map(|c| format!("\n  - name: {}\n    manifests: [\"PATH/**\"]", c.name))
        .collect();
    vec![Finding::at(
        &ctx.rule.id,
        first.name_loc(),
        format!(
            "{} cluster dumps ({}) and nothing maps manifests to them: each workload is checked against every cluster it could run on",
            m.clusters.len(),
            names.join(", ")
        ),
    )
    .help(format!("map them in .kwi-lint.yaml:\nclusters:{lines}"))]
}
