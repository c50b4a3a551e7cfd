//! KWI2xx: IAM bindings that let a KSA act as a GSA.

use super::{head, key_loc, Ctx, Params};
use crate::finding::Finding;
use crate::model::{Model, PolicyResource};
use crate::parse::Node;
use crate::wi::{self, Member};

/// Whether a role lets a member get the GSA's tokens as Workload Identity
/// does: `roles/iam.workloadIdentityUser`, or a custom role (from a role
/// dump in the scan) that holds `iam.serviceAccounts.getAccessToken`.
fn lets_act(model: &Model, role: &str) -> bool {
    role == wi::WI_USER_ROLE
        || model.custom_roles.iter().any(|r| {
            r.name == role
                && r.permissions
                    .contains(&"iam.serviceAccounts.getAccessToken")
        })
}

pub fn binding_missing(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let mut out = Vec::new();
    for o in ctx.objects().iter().filter(|o| o.kind == "ServiceAccount") {
        let Some((_, value)) = Model::wi_annotation(o) else {
            continue;
        };
        let Some(gsa) = value.as_str() else { continue };
        let Some(ksa) = o.name else { continue };
        if wi::check_gsa_email(gsa).is_some() {
            continue;
        }
        let policies = model.gsa_policy_ids(gsa);
        if policies.is_empty() {
            continue;
        }
        let pool = model.pool_for(o).map(str::to_string);
        let ns = o.namespace;
        let subject = model.subject_for(o, ksa);
        // A set that may cover the KSA (a cluster the scan cannot place it
        // in, token attributes) is not reported: kwi-lint reports what it knows.
        // Only Workload Identity members can cover it: the model's, parsed once.
        let covered = policies.iter().any(|&pi| {
            let p = &model.policies[pi];
            model.policy_members(pi).iter().any(|(_, bi, _, m)| {
                lets_act(model, p.bindings[*bi].role_str())
                    && m.coverage(&subject) != wi::Coverage::No
            })
        });
        if covered {
            continue;
        }
        // Nearest miss: the WI member that differs from the right one in the fewest ways.
        let mut best: Option<(usize, u32, Node, Vec<String>)> = None;
        for &pi in policies {
            let p = &model.policies[pi];
            // Other members (users, groups) have no pool: never a near miss.
            for (_, bi, m, parsed) in model.policy_members(pi) {
                let b = &p.bindings[*bi];
                let raw = m.as_str().unwrap_or("");
                let mut diffs = Vec::new();
                let fixed;
                let mut parsed = parsed;
                if let Member::Malformed(_) = parsed {
                    fixed = wi::parse_member(&format!("serviceAccount:{raw}"));
                    if matches!(fixed, Member::Legacy { .. }) {
                        diffs.push("the member lacks the `serviceAccount:` prefix".to_string());
                        parsed = &fixed;
                    }
                }
                let Some(mpool) = parsed.pool() else { continue };
                if let Some((mns, mksa)) = parsed.names() {
                    if mns != ns {
                        diffs.push(format!("namespace `{mns}` instead of `{ns}`"));
                    }
                    if let Some(k) = mksa.filter(|k| *k != ksa) {
                        diffs.push(format!("service account `{k}` instead of `{ksa}`"));
                    }
                } else if parsed.coverage(&wi::Subject {
                    pool: None,
                    pool_number: None,
                    ..subject.clone()
                }) == wi::Coverage::No
                {
                    diffs.push(format!(
                        "{} does not include KSA {ns}/{ksa}",
                        parsed.describe()
                    ));
                }
                if let Some(want) = pool.as_deref().filter(|w| *w != mpool) {
                    diffs.push(format!("pool `{mpool}` instead of `{want}`"));
                } else if let (Some(n), Some(want)) = (parsed.number(), subject.pool_number) {
                    if n != want {
                        diffs.push(format!("project number {n} instead of {want}"));
                    }
                }
                if !lets_act(model, b.role_str()) {
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
                let p = &model.policies[policies[0]];
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
    // Fleet member clusters' pools are the fleet host project's: also right.
    let fleet: Vec<String> = model
        .clusters
        .iter()
        .flat_map(|c| model.fleet_pools(c).0)
        .collect();
    // Every member is checked against every pool: a set, not a scan (both
    // grow with the scan).
    let known: crate::model::Set<&str> = pools
        .iter()
        .map(|(cp, ..)| *cp)
        .chain(fleet.iter().map(String::as_str))
        .collect();
    let mut out = Vec::new();
    for (_, _, node, m) in model.wi_members() {
        let Some(pool) = m.pool() else { continue };
        if let (Some(n), Some(want)) = (
            m.number(),
            pool.strip_suffix(".svc.id.goog")
                .and_then(|id| model.project_number(id)),
        ) {
            if n != want {
                let raw = node.as_str().unwrap_or("");
                out.push(
                    Finding::at(&ctx.rule.id, node.loc(),
                        format!("the path names project number {n}, but the pool `{pool}` belongs to project number {want}: the member matches no workload"),
                    )
                    .help(format!("grant the member `{}` instead", raw.replacen(&format!("/projects/{n}/"), &format!("/projects/{want}/"), 1))),
                );
                continue;
            }
        }
        if pools.is_empty() || known.contains(pool) {
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
            .help(format!("grant the member `{fixed}` instead (the pool is the cluster's workload pool, not the GSA project's)")),
        );
    }
    out
}

pub fn member_unannotated(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let mut out = Vec::new();
    for (p, b, node, m) in model.wi_members() {
        let Member::Legacy { ns, ksa, .. } = &m else {
            continue;
        };
        // Only a GSA's policy makes the KSA act as the GSA; on a project or
        // bucket the legacy member is direct resource access, no annotation needed.
        let on_gsa = match &p.resource {
            Some(PolicyResource::ServiceAccount(_)) => true,
            None => lets_act(model, b.role_str()),
            Some(_) => false,
        };
        if !on_gsa || !lets_act(model, b.role_str()) {
            continue;
        }
        let Some(sa) = model.service_account(ns, ksa) else {
            continue;
        };
        if Model::wi_annotation(sa).is_some() {
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

/// Namespaces Kubernetes and GKE create: a grant to them needs no manifest.
const SYSTEM_NAMESPACES: &[&str] = &[
    "default",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "gke-managed-system",
    "gmp-system",
    "gmp-public",
    "config-management-system",
    "istio-system",
];

/// The name among `names` nearest to `name` (edit distance ≤ 2, and less
/// than half its length: a typo, not another name).
fn nearest<'n>(name: &str, names: impl Iterator<Item = &'n str>) -> Option<(&'n str, usize)> {
    let limit = 2.min((name.chars().count().saturating_sub(1)) / 2);
    names
        .filter(|n| *n != name)
        .filter_map(|n| Some((n, wi::edit_distance_at_most(name, n, limit)?)))
        .min_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(b.0)))
}

/// What the manifests of one pool's clusters define: namespaces (with a
/// place that names each) and KSAs per namespace (defined ServiceAccounts
/// and names pods run as), built once for every member to look up.
#[derive(Default)]
struct Defined<'a> {
    namespaces: std::collections::BTreeMap<&'a str, crate::source::Location>,
    service_accounts: crate::model::Map<&'a str, Vec<(&'a str, crate::source::Location)>>,
    run_as: crate::model::Map<&'a str, Vec<(&'a str, crate::source::Location)>>,
}

pub fn member_unmatched(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let no_cluster = model.clusters.is_empty();
    // Objects by the pool their clusters serve (`None`: no pool known,
    // judged only when the scan has no cluster dump at all).
    let mut by_pool: crate::model::Map<Option<&str>, Defined> = Default::default();
    for o in &model.objects {
        let pool = model.pool_for(o);
        if pool.is_none() && !no_cluster {
            continue;
        }
        let d = by_pool.entry(pool).or_default();
        if !o.namespace.is_empty() {
            let at = o
                .node
                .path(&["metadata", "namespace"])
                .map(|n| n.loc())
                .unwrap_or_else(|| o.name_loc());
            d.namespaces.entry(o.namespace).or_insert(at);
        }
        match (o.kind, o.name) {
            ("Namespace", Some(n)) => {
                d.namespaces.insert(n, o.name_loc());
            }
            ("ServiceAccount", Some(n)) => d
                .service_accounts
                .entry(o.namespace)
                .or_default()
                .push((n, o.name_loc())),
            _ => {}
        }
    }
    for w in &model.workloads {
        let o = &model.objects[w.object];
        let pool = model.pool_for(o);
        if let (Some(d), Some(k)) = (by_pool.get_mut(&pool), w.ksa_node) {
            d.run_as
                .entry(o.namespace)
                .or_default()
                .push((w.ksa, k.loc()));
        }
    }
    let mut out = Vec::new();
    // One finding: the member, what it names, the nearest defined name.
    let unmatched = |node: Node,
                     what: String,
                     near: &str,
                     miss: String,
                     at: Option<crate::source::Location>,
                     fixed: String| {
        let mut f = Finding::at(&ctx.rule.id, node.loc(),
            format!("the member names {what}, which no scanned manifest of its cluster defines or uses: it grants nothing (did you mean `{near}`?)"),
        );
        if let Some(at) = at {
            f = f.related_at(at, format!("nearest miss: {miss}"));
        }
        f.help(format!("grant the member `{fixed}` instead"))
    };
    for (_, _, node, m) in model.wi_members() {
        let Some((ns, ksa)) = m.names() else { continue };
        if SYSTEM_NAMESPACES.contains(&ns) {
            continue;
        }
        let views: Vec<&Defined> = [m.pool(), None]
            .iter()
            .filter(|p| p.is_some() || no_cluster)
            .filter_map(|p| by_pool.get(p))
            .collect();
        if views
            .iter()
            .all(|d| d.namespaces.is_empty() && d.service_accounts.is_empty())
        {
            continue;
        }
        let raw = node.as_str().unwrap_or("");
        if !views.iter().any(|d| d.namespaces.contains_key(ns)) {
            let Some((near, _)) =
                nearest(ns, views.iter().flat_map(|d| d.namespaces.keys().copied()))
            else {
                continue;
            };
            let at = views.iter().find_map(|d| d.namespaces.get(near)).copied();
            out.push(unmatched(
                node,
                format!("namespace `{ns}`"),
                near,
                format!("namespace `{near}`"),
                at,
                fix_member(raw, ns, near, "ns"),
            ));
            continue;
        }
        let Some(ksa) = ksa.filter(|k| *k != "default") else {
            continue;
        };
        let defined: Vec<(&str, crate::source::Location)> = views
            .iter()
            .flat_map(|d| d.service_accounts.get(ns).into_iter().flatten())
            .copied()
            .collect();
        if defined.is_empty() {
            // The scan does not define this namespace's service accounts.
            continue;
        }
        let ksas: Vec<(&str, crate::source::Location)> = defined
            .into_iter()
            .chain(
                views
                    .iter()
                    .flat_map(|d| d.run_as.get(ns).into_iter().flatten())
                    .copied(),
            )
            .collect();
        if ksas.iter().any(|(k, _)| *k == ksa) {
            continue;
        }
        let Some((near, _)) = nearest(ksa, ksas.iter().map(|(k, _)| *k)) else {
            continue;
        };
        let at = ksas.iter().find(|(k, _)| *k == near).map(|(_, l)| *l);
        out.push(unmatched(
            node,
            format!("KSA {ns}/{ksa}"),
            near,
            format!("KSA {ns}/{near}"),
            at,
            fix_member(raw, ksa, near, "sa"),
        ));
    }
    out
}

/// The member with one namespace or KSA name replaced, in either syntax.
fn fix_member(raw: &str, from: &str, to: &str, part: &str) -> String {
    let (legacy_from, legacy_to) = if part == "ns" {
        (format!("[{from}/"), format!("[{to}/"))
    } else {
        (format!("/{from}]"), format!("/{to}]"))
    };
    if raw.contains(&legacy_from) {
        return raw.replacen(&legacy_from, &legacy_to, 1);
    }
    let (pf, pt) = match part {
        "ns" if raw.contains("/namespace/") => {
            (format!("/namespace/{from}"), format!("/namespace/{to}"))
        }
        _ => (format!("/{part}/{from}"), format!("/{part}/{to}")),
    };
    raw.replacen(&pf, &pt, 1)
}
