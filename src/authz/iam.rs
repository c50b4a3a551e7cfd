//! GKE's IAM authorizer, offline: which bindings of the scanned project
//! (and folder, organization) policies give the requester the `container.*`
//! permission the request needs.

use super::request::Subject;
use crate::builtin;
use crate::model::{Model, PolicyResource};
use crate::parse::Node;
use crate::source::FileId;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Certainty {
    /// The member is the requester (or a domain / all-users set containing it).
    Yes,
    /// A `group:` member: membership cannot be known offline.
    GroupUnknown,
}

/// One IAM binding whose member is (or may be) the requester.
#[derive(Clone, Debug)]
pub struct IamGrant<'a> {
    pub file: FileId,
    pub member: Node<'a>,
    pub role: Node<'a>,
    pub role_name: String,
    /// `project acme-prod`, `folder 123`.
    pub resource: String,
    /// Project ID, when the policy is a project's.
    pub project: Option<String>,
    /// A folder or organization policy: inherited only if the project is below it.
    pub inherited: bool,
    pub certainty: Certainty,
    /// `condition.expression`, when the binding is conditional.
    pub condition: Option<String>,
    /// Does the role include the permission? None: the role's permissions are unknown.
    pub has_permission: Option<bool>,
}

impl IamGrant<'_> {
    pub fn allows(&self) -> bool {
        self.has_permission == Some(true) && self.certainty == Certainty::Yes
    }
}

/// The permissions of a role: predefined from the embedded data, custom
/// from a role dump in the scan. None when neither knows it.
pub fn role_permissions<'m>(model: &'m Model, role: &str) -> Option<Vec<&'m str>> {
    if let Some(r) = builtin::iam_roles().roles.get(role) {
        return Some(r.container_permissions.iter().map(String::as_str).collect());
    }
    model
        .custom_roles
        .iter()
        .find(|r| r.name == role)
        .map(|r| r.permissions.clone())
}

/// Is this predefined role one that grants no `container.*` permission at all?
/// (Most predefined roles: the data lists only roles with some.)
fn predefined_without_container(role: &str) -> bool {
    role.starts_with("roles/") && !builtin::iam_roles().roles.contains_key(role)
}

fn member_matches(member: &str, subject_member: &str) -> Option<Certainty> {
    let (kind, value) = member.split_once(':').unwrap_or((member, ""));
    let (skind, email) = subject_member.split_once(':')?;
    match kind {
        "user" | "serviceAccount" if kind == skind && value.eq_ignore_ascii_case(email) => {
            Some(Certainty::Yes)
        }
        "domain" if skind == "user" => email
            .rsplit_once('@')
            .filter(|(_, d)| d.eq_ignore_ascii_case(value))
            .map(|_| Certainty::Yes),
        "group" => Some(Certainty::GroupUnknown),
        _ if member == "allAuthenticatedUsers" || member == "allUsers" => Some(Certainty::Yes),
        _ => None,
    }
}

/// Every binding of a project, folder or organization policy that names
/// the requester, with whether its role has `permission`.
pub fn evaluate<'a>(
    model: &Model<'a>,
    subject: &Subject,
    groups: &[String],
    permission: &str,
    project: Option<&str>,
) -> Vec<IamGrant<'a>> {
    let Some(subject_member) = subject.iam_member() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for p in &model.policies {
        let (inherited, project_id) = match &p.resource {
            Some(PolicyResource::Project { id, number }) => {
                if let Some(want) = project {
                    if id.as_deref() != Some(want) && number.as_deref() != Some(want) {
                        continue;
                    }
                }
                (false, id.clone().or_else(|| number.clone()))
            }
            Some(PolicyResource::Folder(_)) | Some(PolicyResource::Organization(_)) => (true, None),
            _ => continue,
        };
        let resource = p
            .resource
            .as_ref()
            .map(PolicyResource::describe)
            .unwrap_or_default();
        for b in &p.bindings {
            let role_name = b.role_str();
            for m in &b.members {
                let member = m.as_str().unwrap_or("");
                // A group asserted with `--as-group` counts as IAM membership,
                // as it does for RBAC Group subjects.
                let asserted = member
                    .strip_prefix("group:")
                    .is_some_and(|g| groups.iter().any(|x| x.eq_ignore_ascii_case(g)));
                let certainty = if asserted {
                    Certainty::Yes
                } else {
                    match member_matches(member, &subject_member) {
                        Some(c) => c,
                        None => continue,
                    }
                };
                let has_permission = match role_permissions(model, role_name) {
                    Some(perms) => Some(perms.contains(&permission)),
                    None if predefined_without_container(role_name) => Some(false),
                    None => None,
                };
                out.push(IamGrant {
                    file: p.file,
                    member: *m,
                    role: b.role,
                    role_name: role_name.to_string(),
                    resource: resource.clone(),
                    project: project_id.clone(),
                    inherited,
                    certainty,
                    condition: b
                        .node
                        .path(&["condition", "expression"])
                        .and_then(Node::as_str)
                        .map(str::to_string),
                    has_permission,
                });
            }
        }
    }
    out
}

/// The smallest GA predefined GKE role (`roles/container.*`) with the
/// permission, for the `gcloud … add-iam-policy-binding` suggestion.
pub fn smallest_role(permission: &str) -> Option<&'static str> {
    builtin::iam_roles()
        .roles
        .iter()
        .filter(|(name, r)| {
            name.starts_with("roles/container.")
                && !name.contains("serviceAgent")
                && !name.contains("hostServiceAgent")
                && r.stage == "GA"
                && r.container_permissions.iter().any(|p| p == permission)
        })
        .min_by_key(|(name, r)| (r.container_permissions.len(), name.as_str()))
        .map(|(name, _)| name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members() {
        let sa = "serviceAccount:a@p.iam.gserviceaccount.com";
        assert_eq!(
            member_matches("serviceAccount:A@p.iam.gserviceaccount.com", sa),
            Some(Certainty::Yes)
        );
        assert_eq!(member_matches("user:a@p.iam.gserviceaccount.com", sa), None);
        assert_eq!(
            member_matches("domain:example.com", "user:bob@example.com"),
            Some(Certainty::Yes)
        );
        assert_eq!(
            member_matches("domain:example.com", "user:bob@other.com"),
            None
        );
        assert_eq!(
            member_matches("group:devs@example.com", "user:bob@example.com"),
            Some(Certainty::GroupUnknown)
        );
    }

    #[test]
    fn smallest_roles() {
        assert_eq!(
            smallest_role("container.roles.list"),
            Some("roles/container.viewer")
        );
        assert_eq!(
            smallest_role("container.pods.exec"),
            Some("roles/container.developer")
        );
        assert_eq!(
            smallest_role("container.clusterRoles.bind"),
            Some("roles/container.admin")
        );
    }
}
