//! `can-i` and `why-forbidden`: would GKE authorise this request, given the
//! scanned RBAC objects and IAM policies? GKE allows a request when RBAC or
//! IAM allows it, so the answer lists grants from both, or, when neither
//! does, the grants that almost apply and the least-privilege fix.

pub mod iam;
pub mod json;
pub mod message;
pub mod rbac;
pub mod request;

use std::fmt::Write;

use crate::model::Model;
use crate::parse::Node;
use crate::source::FileId;
use iam::{Certainty, IamGrant};
use rbac::{Grant, Rbac};
pub use request::{Request, Subject, Target};

/// The most near-misses an answer lists.
const MAX_NEAR: usize = 3;
/// Near-misses that need more than this many changes are not "near".
const MAX_NEAR_SCORE: u32 = 5;

pub struct Answer<'a> {
    pub allowed: bool,
    pub rbac: Vec<Grant<'a>>,
    pub iam: Vec<IamGrant<'a>>,
    /// `group:` members whose role has the permission: allowed if the requester is in the group.
    pub iam_maybe: Vec<IamGrant<'a>>,
    pub near_rbac: Vec<Grant<'a>>,
    pub near_iam: Vec<IamGrant<'a>>,
    pub notes: Vec<String>,
    pub bindings_scanned: usize,
    pub policies_scanned: usize,
}

/// Evaluates the request against RBAC and IAM.
pub fn evaluate<'a>(model: &Model<'a>, req: &Request, project: Option<&str>) -> Answer<'a> {
    let rbac = Rbac::new(model);
    let mut all = rbac.evaluate(req);
    let mut notes = Vec::new();
    let grants: Vec<Grant> = all
        .iter()
        .filter(|g| g.misses.is_empty())
        .cloned()
        .collect();
    // Near-misses: scanned bindings only (the built-in ones grant system components).
    all.retain(|g| !g.misses.is_empty() && g.binding.file.is_some() && g.score() <= MAX_NEAR_SCORE);
    all.sort_by_key(|g| g.score());
    let mut near_rbac: Vec<Grant> = Vec::new();
    for g in all {
        // One near-miss per binding: its closest rule.
        if near_rbac.len() < MAX_NEAR && !near_rbac.iter().any(|n| n.binding.node == g.binding.node)
        {
            near_rbac.push(g);
        }
    }
    let mut iam_grants = Vec::new();
    let mut iam_maybe = Vec::new();
    let mut near_iam = Vec::new();
    if matches!(req.subject, Subject::ServiceAccount { .. }) {
        notes.push("a Kubernetes service account authenticates with its own token: only RBAC applies to it, not IAM".into());
    } else if req.subject.iam_member().is_none() {
        notes.push("the user is not a Google identity (no `@`): only RBAC applies".into());
    } else if req.iam_permissions.is_empty() {
        notes.push(
            "no `container.*` IAM permission is known for this request: only RBAC was evaluated"
                .into(),
        );
    } else {
        for perm in &req.iam_permissions {
            for g in iam::evaluate(model, &req.subject, &req.groups, perm, project) {
                if g.allows() {
                    iam_grants.push(g);
                } else if g.has_permission == Some(true) {
                    iam_maybe.push(g);
                } else if g.certainty == Certainty::Yes {
                    near_iam.push(g);
                }
            }
        }
    }
    let policies_scanned = model
        .policies
        .iter()
        .filter(|p| {
            matches!(
                p.resource,
                Some(
                    crate::model::PolicyResource::Project { .. }
                        | crate::model::PolicyResource::Folder(_)
                        | crate::model::PolicyResource::Organization(_)
                )
            )
        })
        .count();
    if policies_scanned == 0 && req.subject.iam_member().is_some() {
        notes.push("no project IAM policy in the scan: IAM grants are unknown (`gcloud projects get-iam-policy PROJECT_ID --format=json > project-iam.json`)".into());
    }
    let allowed = !grants.is_empty() || !iam_grants.is_empty();
    if !allowed && !iam_maybe.is_empty() {
        notes.push("group membership is unknown offline: a `group:` member allows it only if the requester is in that Google group".into());
    }
    let groups_extra: Vec<&String> = req
        .groups
        .iter()
        .filter(|g| !req.subject.implicit_groups().contains(g))
        .collect();
    if !allowed && groups_extra.is_empty() && matches!(req.subject, Subject::User(_)) {
        let group_subjects = rbac_group_subjects(model);
        if group_subjects > 0 {
            notes.push(format!("the scan binds {group_subjects} Group subject(s) the requester may be in: pass its groups with --as-group (Google Groups for RBAC are not known offline)"));
        }
    }
    notes.extend(req.notes.iter().cloned());
    Answer {
        allowed,
        rbac: grants,
        iam: iam_grants,
        iam_maybe,
        near_rbac,
        near_iam,
        notes,
        bindings_scanned: rbac.binding_count(),
        policies_scanned,
    }
}

fn rbac_group_subjects(model: &Model) -> usize {
    model
        .objects
        .iter()
        .filter(|o| o.kind == "RoleBinding" || o.kind == "ClusterRoleBinding")
        .flat_map(|o| o.node.seq_at("subjects"))
        .filter(|s| s.get("kind").and_then(Node::as_str) == Some("Group"))
        .filter(|s| {
            !s.get("name")
                .and_then(Node::as_str)
                .unwrap_or("")
                .starts_with("system:")
        })
        .count()
}

fn node_at(model: &Model, file: Option<FileId>, node: Node<'_>) -> String {
    match file {
        Some(f) => model.location(f, node.span()),
        None => "Kubernetes' bootstrap policy".into(),
    }
}

fn rbac_line(model: &Model, g: &Grant) -> String {
    // Point at the subject that matched (or almost did): that is the line to change.
    let mut s = format!(
        "{}  {}",
        node_at(model, g.binding.file, g.subject.unwrap_or(g.binding.node)),
        g.binding.display()
    );
    if let Some(subject) = g.subject {
        let _ = write!(
            s,
            " (subject {} `{}`)",
            crate::escape::text(subject.get("kind").and_then(Node::as_str).unwrap_or("?")),
            crate::escape::text(subject.get("name").and_then(Node::as_str).unwrap_or("?"))
        );
    }
    if let Some(role) = &g.role {
        let _ = write!(s, " → {}", role.display());
    }
    if let (Some(rule), Some(role)) = (g.rule, &g.role) {
        let from = g.aggregated_from.unwrap_or(*role);
        if g.aggregated_from.is_some() {
            let _ = write!(s, "\n      aggregates {}", from.display());
        }
        let _ = write!(
            s,
            "\n      rule {} ({})",
            rule_summary(rule),
            node_at(model, from.file, rule)
        );
    }
    s
}

fn iam_line(model: &Model, g: &IamGrant) -> String {
    let mut s = format!(
        "{}  {} holds {} on {}",
        model.location(g.file, g.member.span()),
        crate::escape::text(g.member.as_str().unwrap_or("?")),
        g.role_name,
        g.resource
    );
    if g.inherited {
        s.push_str(" (inherited if the cluster's project is under it)");
    }
    if let Some(c) = &g.condition {
        let _ = write!(s, "\n      only when its condition holds: {c}");
    }
    s
}

/// `verbs [get, list] on [pods]` or `verbs [get] on paths [/metrics]`.
fn rule_summary(rule: Node<'_>) -> String {
    let list = |key: &str| {
        let items: Vec<&str> = match rule.get(key) {
            Some(n) => match n.as_seq() {
                Some(seq) => seq.iter().filter_map(Node::as_str).collect(),
                None => n.as_str().into_iter().collect(),
            },
            None => Vec::new(),
        };
        let mut s = items.iter().take(6).copied().collect::<Vec<_>>().join(", ");
        if items.len() > 6 {
            let _ = write!(s, ", … {} more", items.len() - 6);
        }
        s
    };
    if rule.get("nonResourceURLs").is_some() {
        format!(
            "verbs [{}] on paths [{}]",
            list("verbs"),
            list("nonResourceURLs")
        )
    } else {
        let mut s = format!("verbs [{}] on [{}]", list("verbs"), list("resources"));
        if rule.get("resourceNames").is_some() {
            let _ = write!(s, " named [{}]", list("resourceNames"));
        }
        s
    }
}

/// The answer as `can-i` prints it.
pub fn render(model: &Model, req: &Request, answer: &Answer, project: Option<&str>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "request: {}", req.describe());
    let _ = writeln!(
        s,
        "  as {} `{}` (groups: {})",
        match req.subject {
            Subject::User(_) => "User",
            Subject::ServiceAccount { .. } => "ServiceAccount",
        },
        crate::escape::text(&req.subject.username()),
        crate::escape::text(&req.groups.join(", "))
    );
    if !req.iam_permissions.is_empty() {
        let _ = writeln!(s, "  IAM permission: {}", req.iam_permissions.join(" or "));
    }
    s.push('\n');
    if answer.allowed {
        let _ = writeln!(s, "allowed");
    } else {
        let plural = |n: usize, one: &str, many: &str| {
            format!("{n} scanned {}", if n == 1 { one } else { many })
        };
        let _ = writeln!(
            s,
            "denied: neither RBAC ({} plus Kubernetes' built-in ones) nor IAM ({}) allows it",
            plural(answer.bindings_scanned, "binding", "bindings"),
            plural(
                answer.policies_scanned,
                "project, folder or organization policy",
                "project, folder or organization policies"
            ),
        );
    }
    if !answer.rbac.is_empty() {
        s.push_str("\nRBAC grants:\n");
        for g in &answer.rbac {
            let _ = writeln!(s, "  {}", rbac_line(model, g));
        }
    }
    if !answer.iam.is_empty() {
        s.push_str("\nIAM grants:\n");
        for g in &answer.iam {
            let _ = writeln!(s, "  {}", iam_line(model, g));
        }
    }
    if !answer.allowed && !answer.iam_maybe.is_empty() {
        s.push_str("\nIAM grants through a Google group (membership unknown offline):\n");
        for g in &answer.iam_maybe {
            let _ = writeln!(s, "  {}", iam_line(model, g));
        }
    }
    if !answer.allowed {
        if !answer.near_rbac.is_empty() || !answer.near_iam.is_empty() {
            s.push_str("\nclosest grants:\n");
        }
        for g in &answer.near_rbac {
            let _ = writeln!(s, "  {}", rbac_line(model, g));
            for (_, why) in &g.misses {
                let _ = writeln!(s, "      but {}", crate::escape::text(why));
            }
        }
        for g in answer.near_iam.iter().take(MAX_NEAR) {
            let _ = writeln!(s, "  {}", iam_line(model, g));
            let _ = writeln!(s, "      but {}", crate::escape::text(&iam_miss(req, g)));
        }
        s.push_str(if req.namespace.is_empty() {
            "\nleast privilege: apply this ClusterRole and ClusterRoleBinding\n\n"
        } else {
            "\nleast privilege: apply this Role and RoleBinding\n\n"
        });
        s.push_str(&least_privilege_yaml(req));
        if let Some(cmd) = iam_alternative(model, req, project) {
            let _ = write!(
                s,
                "\nor with IAM (broader: every namespace of every cluster in the project):\n\n  {cmd}\n"
            );
        }
    }
    if !answer.notes.is_empty() {
        s.push('\n');
        for n in &answer.notes {
            let _ = writeln!(s, "note: {}", crate::escape::text(n));
        }
    }
    s
}

/// Why an IAM binding of the requester does not grant the permission.
fn iam_miss(req: &Request, g: &IamGrant) -> String {
    match g.has_permission {
        Some(_) => format!(
            "{} does not include {}",
            g.role_name,
            req.iam_permissions.join(" or ")
        ),
        None => format!(
            "the permissions of {} are unknown: add its dump (`gcloud iam roles describe {} --format=json`)",
            g.role_name, g.role_name
        ),
    }
}

/// The `gcloud projects add-iam-policy-binding` that would allow the request
/// through IAM, for a Google identity and a request with a `container.*` permission.
fn iam_alternative(model: &Model, req: &Request, project: Option<&str>) -> Option<String> {
    let member = req.subject.iam_member()?;
    let role = iam::smallest_role(req.iam_permissions.first()?)?;
    let project = project
        .map(str::to_string)
        .or_else(|| model.clusters.iter().find_map(|c| c.project.clone()))
        .or_else(|| model.projects.iter().find_map(|p| p.id.map(str::to_string)))
        .unwrap_or_else(|| "PROJECT_ID".into());
    Some(format!(
        "gcloud projects add-iam-policy-binding {project} --member={member} --role={role}"
    ))
}

/// Lower-case letters, digits and dashes: a valid object name.
fn dns_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let out = out.trim_matches('-');
    out.chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The smallest Role + RoleBinding (ClusterRole + ClusterRoleBinding at the
/// cluster scope) that allows exactly this request.
pub fn least_privilege_yaml(req: &Request) -> String {
    let cluster = req.namespace.is_empty();
    let (role_kind, binding_kind) = if cluster {
        ("ClusterRole", "ClusterRoleBinding")
    } else {
        ("Role", "RoleBinding")
    };
    let what = match &req.target {
        Target::Path(p) => format!("{}-{}", req.verb, p),
        Target::Resource {
            resource,
            subresource,
            ..
        } => format!("{}-{resource}-{subresource}", req.verb),
    };
    let role_name = dns_name(&what);
    let who = match &req.subject {
        Subject::User(u) => u.split('@').next().unwrap_or(u).to_string(),
        Subject::ServiceAccount { name, .. } => name.clone(),
    };
    let binding_name = dns_name(&format!("{who}-{role_name}"));
    let ns_line = if cluster {
        String::new()
    } else {
        format!("  namespace: {}\n", quoted(&req.namespace))
    };
    let mut y = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: {role_kind}\nmetadata:\n  name: {role_name}\n{ns_line}rules:\n"
    );
    match &req.target {
        Target::Path(p) => {
            let _ = write!(
                y,
                "  - nonResourceURLs: [{}]\n    verbs: [{}]\n",
                quoted(p),
                quoted(&req.verb)
            );
        }
        Target::Resource {
            group,
            resource,
            subresource,
            name,
        } => {
            let res = if subresource.is_empty() {
                resource.clone()
            } else {
                format!("{resource}/{subresource}")
            };
            let _ = write!(
                y,
                "  - apiGroups: [{}]\n    resources: [{}]\n    verbs: [{}]\n",
                quoted(group),
                quoted(&res),
                quoted(&req.verb)
            );
            // resourceNames cannot restrict list, watch, create or deletecollection.
            if !name.is_empty()
                && !matches!(
                    req.verb.as_str(),
                    "list" | "watch" | "create" | "deletecollection"
                )
            {
                let _ = writeln!(y, "    resourceNames: [{}]", quoted(name));
            }
        }
    }
    let subject = match &req.subject {
        Subject::User(u) => format!(
            "  - kind: User\n    apiGroup: rbac.authorization.k8s.io\n    name: {}\n",
            quoted(u)
        ),
        Subject::ServiceAccount { namespace, name } => format!(
            "  - kind: ServiceAccount\n    name: {}\n    namespace: {}\n",
            quoted(name),
            quoted(namespace)
        ),
    };
    let _ = write!(
        y,
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: {binding_kind}\nmetadata:\n  name: {binding_name}\n{ns_line}subjects:\n{subject}roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: {role_kind}\n  name: {role_name}\n"
    );
    y
}
