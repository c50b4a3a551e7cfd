//! `can-i --format json` / `why-forbidden --format json`: the same answer as
//! the text, for scripts (version 1, documented in README). Every location has
//! the file, line, column and byte range the lint JSON uses; objects of the
//! built-in bootstrap policy have `"at": null`.

use serde::Serialize;

use super::rbac::{Grant, Src};
use super::{iam_alternative, iam_miss, least_privilege_yaml, rule_summary, Answer};
use super::{IamGrant, Request, Subject, Target};
use crate::model::Model;
use crate::parse::Node;
use crate::source::FileId;

#[derive(Serialize)]
struct Location {
    file: String,
    line: u32,
    column: u32,
    byte_start: usize,
    byte_end: usize,
}

/// None for an object of the built-in bootstrap policy (no file).
fn location(model: &Model, file: Option<FileId>, node: Node<'_>) -> Option<Location> {
    let src = &model.files[file? as usize].source();
    let p = src.position(node.span().start as usize);
    Some(Location {
        file: src.name.clone(),
        line: p.line,
        column: p.column,
        byte_start: node.span().start as usize,
        byte_end: node.span().end as usize,
    })
}

#[derive(Serialize)]
struct JsonRequest<'a> {
    subject: String,
    subject_kind: &'static str,
    groups: &'a [String],
    verb: &'a str,
    api_group: Option<&'a str>,
    resource: Option<&'a str>,
    subresource: Option<&'a str>,
    name: Option<&'a str>,
    path: Option<&'a str>,
    namespace: Option<&'a str>,
    iam_permissions: &'a [String],
}

#[derive(Serialize)]
struct Object {
    kind: String,
    namespace: Option<String>,
    name: String,
    builtin: bool,
    at: Option<Location>,
}

fn object(model: &Model, s: &Src) -> Object {
    Object {
        kind: s.kind.to_string(),
        namespace: (!s.namespace.is_empty()).then(|| s.namespace.to_string()),
        name: s.name.to_string(),
        builtin: s.file.is_none(),
        at: location(model, s.file, s.node),
    }
}

#[derive(Serialize)]
struct JsonSubject {
    kind: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    at: Option<Location>,
}

#[derive(Serialize)]
struct JsonRule {
    summary: String,
    at: Option<Location>,
}

#[derive(Serialize)]
struct RbacGrant {
    binding: Object,
    subject: Option<JsonSubject>,
    role: Option<Object>,
    aggregated_from: Option<Object>,
    rule: Option<JsonRule>,
    /// Why it does not apply (closest grants only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    but: Vec<String>,
}

fn rbac_grant(model: &Model, g: &Grant) -> RbacGrant {
    let field = |n: Node<'_>, k: &str| n.get(k).and_then(Node::as_str).map(str::to_string);
    RbacGrant {
        binding: object(model, &g.binding),
        subject: g.subject.map(|s| JsonSubject {
            kind: field(s, "kind"),
            name: field(s, "name"),
            namespace: field(s, "namespace"),
            at: location(model, g.binding.file, s),
        }),
        role: g.role.as_ref().map(|r| object(model, r)),
        aggregated_from: g.aggregated_from.as_ref().map(|r| object(model, r)),
        rule: g.rule.zip(g.role.as_ref()).map(|(rule, role)| JsonRule {
            summary: rule_summary(rule),
            at: location(model, g.aggregated_from.unwrap_or(*role).file, rule),
        }),
        but: g.misses.iter().map(|(_, why)| why.clone()).collect(),
    }
}

#[derive(Serialize)]
struct JsonIamGrant {
    member: String,
    role: String,
    resource: String,
    inherited: bool,
    condition: Option<String>,
    at: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    but: Option<String>,
}

fn iam_grant(model: &Model, g: &IamGrant, but: Option<String>) -> JsonIamGrant {
    JsonIamGrant {
        member: g.member.as_str().unwrap_or("").to_string(),
        role: g.role_name.clone(),
        resource: g.resource.clone(),
        inherited: g.inherited,
        condition: g.condition.clone(),
        at: location(model, Some(g.file), g.member),
        but,
    }
}

#[derive(Serialize)]
struct Fix {
    /// Role + RoleBinding (ClusterRole + ClusterRoleBinding at the cluster scope).
    yaml: String,
    /// The broader IAM alternative, when the requester is a Google identity.
    gcloud: Option<String>,
}

#[derive(Serialize)]
struct Output<'a> {
    version: u32,
    request: JsonRequest<'a>,
    allowed: bool,
    rbac_grants: Vec<RbacGrant>,
    iam_grants: Vec<JsonIamGrant>,
    /// `group:` members whose role has the permission (membership unknown offline).
    iam_grants_through_groups: Vec<JsonIamGrant>,
    closest_rbac: Vec<RbacGrant>,
    closest_iam: Vec<JsonIamGrant>,
    fix: Option<Fix>,
    scanned_bindings: usize,
    scanned_policies: usize,
    notes: &'a [String],
}

/// The answer as one JSON object (and a trailing newline).
pub fn render(model: &Model, req: &Request, answer: &Answer, project: Option<&str>) -> String {
    let (api_group, resource, subresource, name, path) = match &req.target {
        Target::Resource {
            group,
            resource,
            subresource,
            name,
        } => (
            Some(group.as_str()),
            Some(resource.as_str()),
            (!subresource.is_empty()).then_some(subresource.as_str()),
            (!name.is_empty()).then_some(name.as_str()),
            None,
        ),
        Target::Path(p) => (None, None, None, None, Some(p.as_str())),
    };
    let denied = !answer.allowed;
    let out = Output {
        version: 1,
        request: JsonRequest {
            subject: req.subject.username().into_owned(),
            subject_kind: match req.subject {
                Subject::User(_) => "User",
                Subject::ServiceAccount { .. } => "ServiceAccount",
            },
            groups: &req.groups,
            verb: &req.verb,
            api_group,
            resource,
            subresource,
            name,
            path,
            namespace: (!req.namespace.is_empty()).then_some(req.namespace.as_str()),
            iam_permissions: &req.iam_permissions,
        },
        allowed: answer.allowed,
        rbac_grants: answer.rbac.iter().map(|g| rbac_grant(model, g)).collect(),
        iam_grants: answer
            .iam
            .iter()
            .map(|g| iam_grant(model, g, None))
            .collect(),
        iam_grants_through_groups: answer
            .iam_maybe
            .iter()
            .filter(|_| denied)
            .map(|g| iam_grant(model, g, None))
            .collect(),
        closest_rbac: answer
            .near_rbac
            .iter()
            .filter(|_| denied)
            .map(|g| rbac_grant(model, g))
            .collect(),
        closest_iam: answer
            .near_iam
            .iter()
            .filter(|_| denied)
            .take(super::MAX_NEAR)
            .map(|g| iam_grant(model, g, Some(iam_miss(req, g))))
            .collect(),
        fix: denied.then(|| Fix {
            yaml: least_privilege_yaml(req),
            gcloud: iam_alternative(model, req, project),
        }),
        scanned_bindings: answer.bindings_scanned,
        scanned_policies: answer.policies_scanned,
        notes: &answer.notes,
    };
    let mut s = serde_json::to_string_pretty(&out).unwrap_or_else(|e| {
        // Serializing plain strings and numbers cannot fail; say so if it ever does.
        format!("{{\"version\": 1, \"error\": \"{e}\"}}")
    });
    s.push('\n');
    s
}
