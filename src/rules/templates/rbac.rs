//! KWI9xx: RBAC bindings and the way they name identities.

use std::collections::HashSet;

use super::{Ctx, Params};
use crate::finding::{Finding, Severity};
use crate::parse::Node;
use crate::wi;

/// Names of Kubernetes' bootstrap ClusterRoles: they exist in every cluster.
fn builtin_cluster_roles() -> &'static HashSet<String> {
    static ROLES: std::sync::OnceLock<HashSet<String>> = std::sync::OnceLock::new();
    ROLES.get_or_init(|| {
        crate::builtin::cluster_roles()
            .iter()
            .filter_map(|i| {
                i.path(&["metadata", "name"])
                    .and_then(Node::as_str)
                    .map(str::to_string)
            })
            .collect()
    })
}

/// Roles the bootstrap policy creates in every cluster: (namespace, name).
const BOOTSTRAP_ROLES: &[(&str, &str)] = &[
    ("kube-system", "extension-apiserver-authentication-reader"),
    (
        "kube-system",
        "system::leader-locking-kube-controller-manager",
    ),
    ("kube-system", "system::leader-locking-kube-scheduler"),
    ("kube-system", "system:controller:bootstrap-signer"),
    ("kube-system", "system:controller:cloud-provider"),
    ("kube-system", "system:controller:token-cleaner"),
    ("kube-public", "system:controller:bootstrap-signer"),
];

pub fn role_ref(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let builtin = builtin_cluster_roles();
    let defined: crate::model::Set<(&str, &str, &str)> = model
        .objects
        .iter()
        .filter(|o| o.kind == "Role" || o.kind == "ClusterRole")
        .filter_map(|o| Some((o.kind, o.namespace, o.name?)))
        .collect();
    let mut out = Vec::new();
    for o in ctx
        .objects()
        .iter()
        .filter(|o| o.kind == "RoleBinding" || o.kind == "ClusterRoleBinding")
    {
        let Some(rr) = o.node.get("roleRef") else {
            continue;
        };
        let (Some(kind), Some(name_node)) = (rr.get("kind").and_then(Node::as_str), rr.get("name"))
        else {
            continue;
        };
        let Some(name) = name_node.as_str() else {
            continue;
        };
        let role_ns = match kind {
            "Role" if o.kind == "RoleBinding" && BOOTSTRAP_ROLES.contains(&(o.namespace, name)) => {
                continue
            }
            "Role" if o.kind == "RoleBinding" => o.namespace,
            "ClusterRole" if builtin.contains(name) || name.starts_with("system:") => continue,
            "ClusterRole" => "",
            _ => continue,
        };
        let role_kind = if kind == "Role" {
            "Role"
        } else {
            "ClusterRole"
        };
        // Only when the scan could have defined it: it defines roles of that kind there.
        if defined.contains(&(role_kind, role_ns, name)) {
            continue;
        }
        let candidates: Vec<&crate::model::Object> = model.objects_in(role_kind, role_ns).collect();
        if candidates.is_empty() {
            continue;
        }
        let scope = if kind == "Role" {
            format!("namespace `{role_ns}`")
        } else {
            "the cluster".to_string()
        };
        let near = candidates
            .iter()
            .map(|r| (wi::edit_distance(r.name.unwrap_or(""), name), *r))
            .min_by_key(|(d, _)| *d);
        let mut f = Finding::at(&ctx.rule.id, name_node.loc(),
            format!(
                "{} refers to {kind} `{name}`, which the scan does not define in {scope} (it defines {} {kind}(s) there{})",
                o.display(),
                candidates.len(),
                if kind == "ClusterRole" { "; built-in ClusterRoles are known" } else { "" }
            ),
        ).object(o.index);
        if let Some((d, r)) = near {
            f = f.related_at(
                r.name_loc(),
                format!("{kind} `{}` is defined here", r.name.unwrap_or("")),
            );
            if d <= 3 {
                f = f.help(format!("did you mean `{}`?", r.name.unwrap_or("")));
            }
        }
        // Operators and Helm charts install ClusterRoles no manifest repo holds:
        // without a near miss (a typo), a missing one is only a note.
        if kind == "ClusterRole" && near.is_none_or(|(d, _)| d > 2) {
            f.message.push_str(
                ": it may be installed outside this repository (an operator, a Helm chart)",
            );
            f = f.severity(Severity::Info);
        }
        if f.help.is_none() {
            f = f.help(format!(
                "create the {kind} `{name}` or correct roleRef.name"
            ));
        }
        out.push(f);
    }
    out
}

pub fn subjects(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let mut out = Vec::new();
    for o in ctx
        .objects()
        .iter()
        .filter(|o| o.kind == "RoleBinding" || o.kind == "ClusterRoleBinding")
    {
        for s in o.node.seq_at("subjects") {
            let kind = s.get("kind").and_then(Node::as_str).unwrap_or("");
            let name_node = s.get("name");
            let name = name_node.and_then(Node::as_str).unwrap_or("");
            let at = name_node.map(|n| n.loc()).unwrap_or(s.loc());
            let mut report = |span, msg: String, help: String| {
                out.push(
                    Finding::at(&ctx.rule.id, span, msg)
                        .object(o.index)
                        .help(help),
                );
            };
            match kind {
                "ServiceAccount" if name.contains('@') => report(
                    at,
                    format!(
                        "`{name}` is a Google service account: as a subject it is `kind: User`"
                    ),
                    format!(
                        "use `kind: User`, `name: {name}`, `apiGroup: rbac.authorization.k8s.io`"
                    ),
                ),
                "ServiceAccount"
                    if s.get("namespace").and_then(Node::as_str).is_none()
                        && o.kind == "ClusterRoleBinding" =>
                {
                    report(
                        s.loc(),
                        format!("ServiceAccount subject `{name}` has no namespace"),
                        "add `namespace:` (the ServiceAccount's namespace)".into(),
                    )
                }
                "User" | "Group" => {
                    for prefix in ["serviceAccount:", "user:", "group:"] {
                        if let Some(rest) = name.strip_prefix(prefix) {
                            report(
                                at,
                                format!("{kind} name `{name}` has the IAM prefix `{prefix}`: Kubernetes sees the bare email"),
                                format!("use `name: {rest}`"),
                            );
                        }
                    }
                    // rbac/v1 defaults a missing (or empty) apiGroup of a User or
                    // Group to rbac.authorization.k8s.io; any other value is refused.
                    let api = s
                        .get("apiGroup")
                        .filter(|a| a.as_str().is_some_and(|g| !g.is_empty()));
                    if let Some(api) =
                        api.filter(|a| a.as_str() != Some("rbac.authorization.k8s.io"))
                    {
                        report(
                            api.loc(),
                            format!(
                                "{kind} subject `{name}` has `apiGroup: {}`; the API refuses any group but rbac.authorization.k8s.io",
                                api.as_str().unwrap_or("")
                            ),
                            "use `apiGroup: rbac.authorization.k8s.io` (or leave it out: it is the default)".into(),
                        );
                    }
                }
                _ => {}
            }
        }
    }
    out
}
