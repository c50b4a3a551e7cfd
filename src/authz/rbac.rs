//! Kubernetes RBAC, evaluated as the API server's RBAC authorizer does:
//! bindings → subjects → roles (ClusterRole aggregation included) → rules.
//! The bootstrap ClusterRoles and ClusterRoleBindings are known without
//! being scanned; a scanned ClusterRole of the same name replaces one.

use std::collections::{BTreeMap, HashMap};

use super::request::{str_of, Request, Subject, Target};
use crate::builtin;
use crate::model::Model;
use crate::netpol::Selector;
use crate::parse::Node;
use crate::source::FileId;

/// Where an RBAC object comes from: a scanned file, or the built-in policy.
#[derive(Clone, Copy, Debug)]
pub struct Src<'a> {
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub node: Node<'a>,
    /// None for the built-in bootstrap policy.
    pub file: Option<FileId>,
}

impl Src<'_> {
    /// `RoleBinding dev/readers`, `built-in ClusterRole view`.
    pub fn display(&self) -> String {
        let builtin = if self.file.is_none() { "built-in " } else { "" };
        let esc = crate::escape::text;
        if self.namespace.is_empty() {
            format!("{builtin}{} `{}`", self.kind, esc(self.name))
        } else {
            format!(
                "{builtin}{} `{}/{}`",
                self.kind,
                esc(self.namespace),
                esc(self.name)
            )
        }
    }
}

/// One (binding, subject, role, rule) that allows the request, or would if
/// `misses` were fixed.
#[derive(Clone, Debug)]
pub struct Grant<'a> {
    pub binding: Src<'a>,
    pub subject: Option<Node<'a>>,
    pub role: Option<Src<'a>>,
    /// The role a rule comes from when `role` aggregates it.
    pub aggregated_from: Option<Src<'a>>,
    pub rule: Option<Node<'a>>,
    /// Why it does not apply (empty: it does), with a weight each.
    pub misses: Vec<(u32, String)>,
}

impl Grant<'_> {
    pub fn score(&self) -> u32 {
        self.misses.iter().map(|(w, _)| w).sum()
    }
}

pub struct Rbac<'a> {
    cluster_roles: BTreeMap<&'a str, Src<'a>>,
    roles: HashMap<(&'a str, &'a str), Src<'a>>,
    bindings: Vec<Src<'a>>,
    /// Labels of every ClusterRole, for aggregation.
    labels: HashMap<&'a str, Vec<(&'a str, &'a str)>>,
}

fn src<'a>(
    node: Node<'a>,
    kind: &'a str,
    namespace: &'a str,
    file: Option<FileId>,
) -> Option<Src<'a>> {
    Some(Src {
        kind,
        namespace,
        name: node.path(&["metadata", "name"])?.as_str()?,
        node,
        file,
    })
}

impl<'a> Rbac<'a> {
    pub fn new(model: &Model<'a>) -> Rbac<'a> {
        let mut r = Rbac {
            cluster_roles: BTreeMap::new(),
            roles: HashMap::new(),
            bindings: Vec::new(),
            labels: HashMap::new(),
        };
        for n in builtin::cluster_roles() {
            if let Some(s) = src(*n, "ClusterRole", "", None) {
                r.cluster_roles.insert(s.name, s);
            }
        }
        for n in builtin::cluster_role_bindings() {
            if let Some(s) = src(*n, "ClusterRoleBinding", "", None) {
                r.bindings.push(s);
            }
        }
        for o in &model.objects {
            let Some(s) = src(o.node, o.kind, o.namespace, Some(o.file)) else {
                continue;
            };
            if !o.api_version.starts_with("rbac.authorization.k8s.io/") {
                continue;
            }
            match o.kind {
                "ClusterRole" => {
                    r.cluster_roles.insert(s.name, s);
                }
                "Role" => {
                    r.roles.insert((s.namespace, s.name), s);
                }
                "RoleBinding" | "ClusterRoleBinding" => r.bindings.push(s),
                _ => {}
            }
        }
        for (name, s) in &r.cluster_roles {
            let labels = s
                .node
                .path(&["metadata", "labels"])
                .and_then(Node::as_map)
                .unwrap_or_default()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?, v.as_str()?)))
                .collect();
            r.labels.insert(name, labels);
        }
        r
    }

    pub fn binding_count(&self) -> usize {
        self.bindings.iter().filter(|b| b.file.is_some()).count()
    }

    /// The rules of a role, with the role each came from (aggregation).
    fn rules_of(
        &self,
        role: &Src<'a>,
        seen: &mut Vec<&'a str>,
        out: &mut Vec<(Node<'a>, Option<Src<'a>>)>,
    ) {
        let Some(agg) = role
            .node
            .path(&["aggregationRule", "clusterRoleSelectors"])
            .and_then(Node::as_seq)
            .filter(|_| role.kind == "ClusterRole")
        else {
            for rule in role.node.seq_at("rules") {
                out.push((rule, None));
            }
            return;
        };
        // The aggregation controller replaces `rules` with the union of the selected roles' rules.
        seen.push(role.name);
        let selectors: Vec<Selector> = agg.iter().map(|n| Selector::parse(Some(n))).collect();
        for (name, other) in &self.cluster_roles {
            if seen.contains(name) {
                continue;
            }
            let labels = self.labels.get(name).map(Vec::as_slice).unwrap_or_default();
            if !selectors.iter().any(|s| s.matches(labels)) {
                continue;
            }
            let mut inner = Vec::new();
            self.rules_of(other, seen, &mut inner);
            for (rule, from) in inner {
                out.push((rule, Some(from.unwrap_or(*other))));
            }
        }
    }

    /// Every binding × subject × rule, scored against the request. Score 0
    /// means the pair grants it.
    pub fn evaluate(&self, req: &Request) -> Vec<Grant<'a>> {
        let mut out = Vec::new();
        for b in &self.bindings {
            let Some(rr) = b.node.get("roleRef") else {
                continue;
            };
            let role_kind = str_of(rr.get("kind"));
            let role_name = str_of(rr.get("name"));
            let role = match role_kind {
                "ClusterRole" => self.cluster_roles.get(role_name).copied(),
                "Role" if b.kind == "RoleBinding" => {
                    self.roles.get(&(b.namespace, role_name)).copied()
                }
                _ => None,
            };
            let mut scope_miss = Vec::new();
            if b.kind == "RoleBinding" {
                if req.namespace.is_empty() {
                    scope_miss.push((
                        1,
                        format!("a RoleBinding grants only in its namespace `{}`; the request is at the cluster scope (needs a ClusterRoleBinding)", b.namespace),
                    ));
                } else if req.namespace != b.namespace {
                    scope_miss.push((
                        1,
                        format!(
                            "it is in namespace `{}`, the request is in `{}`",
                            b.namespace, req.namespace
                        ),
                    ));
                }
            }
            let subjects = b.node.seq_at("subjects");
            for subject in subjects {
                let mut misses = scope_miss.clone();
                if let Some(m) = subject_miss(subject, b, req) {
                    misses.push(m);
                }
                let Some(role) = role else {
                    misses.push((
                        2,
                        format!("its {role_kind} `{role_name}` is not defined in the scan or built in (KWI901)"),
                    ));
                    out.push(Grant {
                        binding: *b,
                        subject: Some(subject),
                        role: None,
                        aggregated_from: None,
                        rule: None,
                        misses,
                    });
                    continue;
                };
                let mut rules = Vec::new();
                self.rules_of(&role, &mut Vec::new(), &mut rules);
                for (rule, from) in rules {
                    let mut m = misses.clone();
                    m.extend(rule_misses(rule, req, b.kind == "RoleBinding"));
                    out.push(Grant {
                        binding: *b,
                        subject: Some(subject),
                        role: Some(role),
                        aggregated_from: from,
                        rule: Some(rule),
                        misses: m,
                    });
                }
            }
        }
        out
    }
}

/// Does this binding subject name the requester? None when it does.
fn subject_miss(subject: Node<'_>, b: &Src, req: &Request) -> Option<(u32, String)> {
    let kind = str_of(subject.get("kind"));
    let name = str_of(subject.get("name"));
    let user = req.subject.username();
    match kind {
        "User" => {
            if name == user {
                return None;
            }
            let bare = name
                .trim_start_matches("user:")
                .trim_start_matches("serviceAccount:");
            if bare.eq_ignore_ascii_case(&user)
                || crate::wi::edit_distance_at_most(bare, &user, 2).is_some()
            {
                Some((
                    1,
                    format!("its subject is User `{name}`, not `{user}` (KWI902)"),
                ))
            } else {
                Some((3, format!("its subject is User `{name}`")))
            }
        }
        "Group" => {
            if req.groups.iter().any(|g| g == name) {
                None
            } else {
                Some((
                    3,
                    format!(
                        "its subject is Group `{name}`, and the requester is not known to be in it"
                    ),
                ))
            }
        }
        "ServiceAccount" => {
            let ns = match str_of(subject.get("namespace")) {
                "" => b.namespace,
                n => n,
            };
            match &req.subject {
                Subject::ServiceAccount { namespace, name: n } if namespace == ns && n == name => None,
                Subject::ServiceAccount { namespace, name: n } if n == name => Some((
                    1,
                    format!("its subject is ServiceAccount `{ns}/{name}`, not `{namespace}/{n}`"),
                )),
                Subject::User(u) if u == name || name.contains('@') => Some((
                    1,
                    format!("its subject is ServiceAccount `{name}`: a Google identity must be a User subject (KWI902)"),
                )),
                Subject::ServiceAccount { namespace, name: n }
                    if namespace == ns
                        && (crate::wi::edit_distance_at_most(n, name, 2).is_some()
                            || name.starts_with(n.as_str())
                            || n.starts_with(name)) =>
                {
                    Some((
                        2,
                        format!("its subject is ServiceAccount `{ns}/{name}`, not `{namespace}/{n}`"),
                    ))
                }
                _ => Some((3, format!("its subject is ServiceAccount `{ns}/{name}`"))),
            }
        }
        other => Some((3, format!("its subject has kind `{other}`"))),
    }
}

fn strings<'n>(rule: Node<'n>, key: &str) -> Vec<&'n str> {
    match rule.get(key) {
        Some(n) if n.as_seq().is_some() => n
            .as_seq()
            .unwrap_or_default()
            .iter()
            .filter_map(Node::as_str)
            .collect(),
        Some(n) => n.as_str().into_iter().collect(),
        None => Vec::new(),
    }
}

/// Why one PolicyRule does not allow the request (empty: it does).
fn rule_misses(rule: Node<'_>, req: &Request, in_role_binding: bool) -> Vec<(u32, String)> {
    let mut misses = Vec::new();
    let verbs = strings(rule, "verbs");
    if !verbs.iter().any(|v| *v == "*" || *v == req.verb) {
        misses.push((
            1,
            format!(
                "its rule allows verbs [{}], not `{}`",
                verbs.join(", "),
                req.verb
            ),
        ));
    }
    match &req.target {
        Target::Path(path) => {
            let urls = strings(rule, "nonResourceURLs");
            if urls.is_empty() {
                misses.push((3, "its rule is about resources, not URL paths".into()));
            } else if !urls.iter().any(|u| {
                *u == "*"
                    || u == path
                    || (u.ends_with('*') && path.starts_with(u.trim_end_matches('*')))
            }) {
                misses.push((
                    2,
                    format!("its rule allows paths [{}], not `{path}`", urls.join(", ")),
                ));
            } else if in_role_binding {
                misses.push((
                    1,
                    "non-resource URLs are granted only by ClusterRoleBindings".into(),
                ));
            }
        }
        Target::Resource {
            group,
            resource,
            subresource,
            name,
        } => {
            let groups = strings(rule, "apiGroups");
            let resources = strings(rule, "resources");
            if resources.is_empty() {
                misses.push((3, "its rule is about URL paths, not resources".into()));
                return misses;
            }
            let combined = if subresource.is_empty() {
                resource.clone()
            } else {
                format!("{resource}/{subresource}")
            };
            if !groups.iter().any(|g| *g == "*" || g == group) {
                misses.push((
                    2,
                    format!(
                        "its rule is for API groups [{}], not \"{group}\"",
                        groups
                            .iter()
                            .map(|g| format!("\"{g}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            let res_ok = resources.iter().any(|r| {
                *r == "*"
                    || *r == combined
                    || (!subresource.is_empty()
                        && r.strip_prefix("*/") == Some(subresource.as_str()))
            });
            if !res_ok {
                let base_listed = resources.contains(&resource.as_str());
                misses.push((
                    if base_listed { 1 } else { 2 },
                    if base_listed {
                        format!("its rule lists `{resource}` but not the subresource `{combined}`")
                    } else {
                        format!(
                            "its rule covers [{}], not `{combined}`",
                            resources.join(", ")
                        )
                    },
                ));
            }
            let names = strings(rule, "resourceNames");
            if !names.is_empty() && !names.contains(&name.as_str()) {
                misses.push((
                    1,
                    if name.is_empty() {
                        format!("its rule is limited to resourceNames [{}] and the request names no object", names.join(", "))
                    } else {
                        format!("its rule is limited to resourceNames [{}], not `{name}`", names.join(", "))
                    },
                ));
            }
        }
    }
    misses
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(verb: &str, target: Target, ns: &str) -> Request {
        Request {
            subject: Subject::User("u@example.com".into()),
            groups: vec!["system:authenticated".into()],
            verb: verb.into(),
            target,
            namespace: ns.into(),
            iam_permissions: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn res(group: &str, resource: &str, sub: &str, name: &str) -> Target {
        Target::resource(group, resource, sub, name)
    }

    /// Each row: a PolicyRule, a request, whether the rule allows it (k8s RuleAllows).
    #[test]
    fn rule_matching_follows_the_api_server() {
        let rows: &[(&str, &str, Target, bool)] = &[
            (
                "{apiGroups: ['*'], resources: ['*'], verbs: ['*']}",
                "delete",
                res("apps", "deployments", "scale", ""),
                true,
            ),
            (
                "{apiGroups: [apps], resources: ['*/scale'], verbs: [update]}",
                "update",
                res("apps", "deployments", "scale", ""),
                true,
            ),
            (
                "{apiGroups: [apps], resources: ['*/scale'], verbs: [update]}",
                "update",
                res("apps", "deployments", "", ""),
                false,
            ),
            (
                "{apiGroups: [''], resources: [pods], verbs: [get]}",
                "get",
                res("", "pods", "log", ""),
                false,
            ),
            (
                "{apiGroups: [''], resources: [pods/log], verbs: [get]}",
                "get",
                res("", "pods", "log", ""),
                true,
            ),
            (
                "{apiGroups: [apps], resources: [pods], verbs: [get]}",
                "get",
                res("", "pods", "", ""),
                false,
            ),
            (
                "{apiGroups: [''], resources: [pods], resourceNames: [a], verbs: [get]}",
                "get",
                res("", "pods", "", "a"),
                true,
            ),
            (
                "{apiGroups: [''], resources: [pods], resourceNames: [a], verbs: [get]}",
                "get",
                res("", "pods", "", "b"),
                false,
            ),
            (
                "{apiGroups: [''], resources: [pods], resourceNames: [a], verbs: [list]}",
                "list",
                res("", "pods", "", ""),
                false,
            ),
            (
                "{nonResourceURLs: ['/debug/*'], verbs: [get]}",
                "get",
                Target::Path("/debug/pprof".into()),
                true,
            ),
            (
                "{nonResourceURLs: ['/debug'], verbs: [get]}",
                "get",
                Target::Path("/debug/pprof".into()),
                false,
            ),
            (
                "{nonResourceURLs: ['*'], verbs: [get]}",
                "post",
                Target::Path("/x".into()),
                false,
            ),
            (
                "{apiGroups: [''], resources: [pods], verbs: [get]}",
                "get",
                Target::Path("/pods".into()),
                false,
            ),
        ];
        for (rule, verb, target, want) in rows {
            let (tree, problem) = crate::parse::parse_yaml_str("r.yaml", rule.to_string());
            assert!(problem.is_none(), "{rule}");
            let r = req(verb, target.clone(), "ns");
            let misses = rule_misses(tree.roots().next().unwrap(), &r, false);
            assert_eq!(
                misses.is_empty(),
                *want,
                "{rule} {verb} {target:?}: {misses:?}"
            );
        }
    }
}
