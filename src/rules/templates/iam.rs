//! KWI2xx: IAM bindings that let a KSA act as a GSA.

use super::{head, key_loc, Ctx, Params};
use crate::finding::Finding;
use crate::model::{Model, Object, PolicyResource};
use crate::parse::Node;
use crate::wi::{self, Member};

/// The pool an object's KSAs belong to: its cluster's (when every cluster it
/// could run on has the same), else the assumed one; `None`: any pool.
fn pool_for(ctx: &Ctx, o: &Object) -> Option<String> {
    let m = ctx.model;
    let mut pools = m
        .clusters_for(o)
        .iter()
        .filter_map(|c| m.clusters[*c].pool());
    match (pools.next(), pools.next()) {
        (Some(p), None) => Some(p.to_string()),
        (Some(_), Some(_)) => None,
        (None, _) => ctx.config.assume.workload_pool.clone(),
    }
}

pub fn binding_missing(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let mut out = Vec::new();
    for o in model.objects.iter().filter(|o| o.kind == "ServiceAccount") {
        let Some((_, value)) = Model::wi_annotation(o) else {
            continue;
        };
        let Some(gsa) = value.as_str() else { continue };
        let Some(ksa) = o.name else { continue };
        if wi::check_gsa_email(gsa).is_some() {
            continue;
        }
        let policies: Vec<_> = model.gsa_policies(gsa).collect();
        if policies.is_empty() {
            continue;
        }
        let pool = pool_for(ctx, o);
        let ns = o.namespace;
        let covered = policies.iter().any(|p| {
            p.bindings.iter().any(|b| {
                b.role_str() == wi::WI_USER_ROLE
                    && b.members.iter().any(|m| {
                        wi::parse_member(m.as_str().unwrap_or("")).covers(pool.as_deref(), ns, ksa)
                    })
            })
        });
        if covered {
            continue;
        }
        // Nearest miss: the WI member that differs from the right one in the fewest ways.
        let mut best: Option<(usize, u32, Node, Vec<String>)> = None;
        for p in &policies {
            for b in &p.bindings {
                for m in &b.members {
                    let raw = m.as_str().unwrap_or("");
                    let mut diffs = Vec::new();
                    let mut parsed = wi::parse_member(raw);
                    if let Member::Malformed(_) = parsed {
                        let fixed = wi::parse_member(&format!("serviceAccount:{raw}"));
                        if matches!(fixed, Member::Legacy { .. }) {
                            diffs.push("the member lacks the `serviceAccount:` prefix".to_string());
                            parsed = fixed;
                        }
                    }
                    let (mpool, mns, mksa) = match &parsed {
                        Member::Legacy { pool, ns, ksa }
                        | Member::Principal { pool, ns, ksa, .. } => (pool, ns, Some(ksa)),
                        Member::Namespace { pool, ns, .. } => (pool, ns, None),
                        _ => continue,
                    };
                    if mns != ns {
                        diffs.push(format!("namespace `{mns}` instead of `{ns}`"));
                    }
                    if let Some(k) = mksa.filter(|k| *k != ksa) {
                        diffs.push(format!("service account `{k}` instead of `{ksa}`"));
                    }
                    if let Some(want) = pool.as_deref().filter(|w| *w != mpool) {
                        diffs.push(format!("pool `{mpool}` instead of `{want}`"));
                    }
                    if b.role_str() != wi::WI_USER_ROLE {
                        diffs.push(format!(
                            "role `{}` instead of `{}`",
                            b.role_str(),
                            wi::WI_USER_ROLE
                        ));
                    }
                    if best.as_ref().is_none_or(|(d, ..)| diffs.len() < *d) {
                        best = Some((diffs.len(), p.file, *m, diffs));
                    }
                }
            }
        }
        let help_pool = pool.clone().unwrap_or_else(|| {
            let project = model
                .cluster_of(o)
                .and_then(|c| c.project.clone())
                .or_else(|| wi::email_project(gsa).map(str::to_string))
                .unwrap_or_else(|| "PROJECT_ID".into());
            format!("{project}.svc.id.goog")
        });
        let member = format!("serviceAccount:{help_pool}[{ns}/{ksa}]");
        let mut f = Finding::at(&ctx.rule.id, value.loc(),
            format!("KSA {ns}/{ksa} is bound to {gsa}, but that GSA's IAM policy grants {} to no member for it", wi::WI_USER_ROLE),
        ).object(o.index);
        match best {
            Some((_, _, node, diffs)) => {
                f = f.related_at(node.loc(), format!("nearest miss: {}", diffs.join("; ")));
            }
            None => {
                let p = policies[0];
                f = f.related_at(
                    key_loc(p.node, "bindings"),
                    format!("the IAM policy of {gsa} has no Workload Identity member"),
                );
            }
        }
        let mut help = format!(
            "gcloud iam service-accounts add-iam-policy-binding {gsa} --role={} --member=\"{member}\"",
            wi::WI_USER_ROLE
        );
        if pool.is_none() {
            help.push_str(&format!(" (the pool `{help_pool}` is assumed: no cluster dump or `assume.workload_pool` says it)"));
        }
        out.push(f.help(help));
    }
    out
}

pub fn member_syntax(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    ctx.model
        .wi_members()
        .filter_map(|(_, _, node, m)| match m {
            Member::Malformed(why) => {
                let raw = node.as_str().unwrap_or("");
                Some(
                    Finding::at(&ctx.rule.id, node.loc(), format!("malformed Workload Identity member `{raw}`: {why}"))
                        .help("the member is `serviceAccount:PROJECT_ID.svc.id.goog[NAMESPACE/KSA]` or `principal://iam.googleapis.com/projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/PROJECT_ID.svc.id.goog/subject/ns/NAMESPACE/sa/KSA`"),
                )
            }
            _ => None,
        })
        .collect()
}

pub fn member_pool(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let pools: Vec<(&str, u32, Node)> = model
        .clusters
        .iter()
        .filter_map(|c| Some((c.pool()?, c.file, c.workload_pool?)))
        .collect();
    if pools.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (_, _, node, m) in model.wi_members() {
        let Some(pool) = m.pool() else { continue };
        if pools.iter().any(|(cp, ..)| *cp == pool) {
            continue;
        }
        let names: Vec<&str> = pools.iter().map(|(cp, ..)| *cp).collect();
        let (_, _, cnode) = pools[0];
        let fixed = node.as_str().unwrap_or("").replace(pool, pools[0].0);
        out.push(
            Finding::at(&ctx.rule.id, node.loc(),
                format!("pool `{pool}` is not the workload pool of any scanned cluster ({})", names.join(", ")),
            )
            .related_at(cnode.loc(), "the cluster's workload pool")
            .help(format!("grant the member `{fixed}` instead (the pool is the cluster project's, not the GSA's)")),
        );
    }
    out
}

pub fn member_unannotated(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let mut out = Vec::new();
    for (p, _, node, m) in model.wi_members() {
        let Member::Legacy { ns, ksa, .. } = &m else {
            continue;
        };
        let Some(sa) = model.service_account(ns, ksa) else {
            continue;
        };
        if sa
            .metadata()
            .and_then(|md| md.get("annotations"))
            .and_then(|a| a.get(wi::ANNOTATION))
            .is_some()
            || sa
                .annotations()
                .iter()
                .any(|(k, _)| k.as_str() == Some(wi::ANNOTATION))
        {
            continue;
        }
        let gsa = match &p.resource {
            Some(PolicyResource::ServiceAccount(e)) => e.clone(),
            _ => "GSA_EMAIL".into(),
        };
        out.push(
            Finding::at(&ctx.rule.id, node.loc(),
                format!("the binding names KSA {ns}/{ksa}, but that ServiceAccount has no `{}` annotation, so its pods do not act as the GSA", wi::ANNOTATION),
            ).object(sa.index)
            .related_at(sa.name_loc(), "the ServiceAccount, without the annotation")
            .help(format!("kubectl annotate serviceaccount {ksa} -n {ns} {}={gsa}", wi::ANNOTATION)),
        );
    }
    out
}

pub fn role_on_project(ctx: &Ctx, params: &Params) -> Vec<Finding> {
    let mut roles = params.list("roles");
    if roles.is_empty() {
        roles.push(wi::WI_USER_ROLE.to_string());
    }
    let mut out = Vec::new();
    for p in &ctx.model.policies {
        let level = match &p.resource {
            Some(
                r @ (PolicyResource::Project { .. }
                | PolicyResource::Folder(_)
                | PolicyResource::Organization(_)),
            ) => r.describe(),
            _ => continue,
        };
        for b in &p.bindings {
            let role = b.role_str();
            if !roles.iter().any(|r| r == role) {
                continue;
            }
            let members: Vec<&str> = b.members.iter().filter_map(|m| m.as_str()).collect();
            let example = members.first().copied().unwrap_or("MEMBER");
            let span = if b.role.span().is_empty() {
                head(p.node)
            } else {
                b.role.loc()
            };
            out.push(
                Finding::at(&ctx.rule.id, span,
                    format!("`{role}` is granted on {level}: its members can act as every service account in it"),
                )
                .help(format!(
                    "grant it on each GSA instead: gcloud iam service-accounts add-iam-policy-binding GSA_EMAIL --role={role} --member=\"{example}\", then remove the {} binding",
                    if level.starts_with("project") { "project-level" } else { "inherited" }
                )),
            );
        }
    }
    out
}
