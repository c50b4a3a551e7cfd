//! A Kubernetes API request as the authorizers see it: who, which verb, on
//! what, where; and the GKE IAM permission that would also allow it.

use crate::builtin;
use crate::model::Model;
use crate::parse::Node;

/// Built-in resources: (plural, API group, namespaced).
const RESOURCES: &[(&str, &str, bool)] = &[
    ("pods", "", true),
    ("services", "", true),
    ("endpoints", "", true),
    ("configmaps", "", true),
    ("secrets", "", true),
    ("serviceaccounts", "", true),
    ("persistentvolumeclaims", "", true),
    ("replicationcontrollers", "", true),
    ("events", "", true),
    ("limitranges", "", true),
    ("resourcequotas", "", true),
    ("podtemplates", "", true),
    ("bindings", "", true),
    ("nodes", "", false),
    ("namespaces", "", false),
    ("persistentvolumes", "", false),
    ("componentstatuses", "", false),
    ("users", "", false),
    ("groups", "", false),
    ("deployments", "apps", true),
    ("statefulsets", "apps", true),
    ("daemonsets", "apps", true),
    ("replicasets", "apps", true),
    ("controllerrevisions", "apps", true),
    ("jobs", "batch", true),
    ("cronjobs", "batch", true),
    ("horizontalpodautoscalers", "autoscaling", true),
    ("poddisruptionbudgets", "policy", true),
    ("podsecuritypolicies", "policy", false),
    ("networkpolicies", "networking.k8s.io", true),
    ("ingresses", "networking.k8s.io", true),
    ("ingressclasses", "networking.k8s.io", false),
    ("roles", "rbac.authorization.k8s.io", true),
    ("rolebindings", "rbac.authorization.k8s.io", true),
    ("clusterroles", "rbac.authorization.k8s.io", false),
    ("clusterrolebindings", "rbac.authorization.k8s.io", false),
    ("storageclasses", "storage.k8s.io", false),
    ("volumeattachments", "storage.k8s.io", false),
    ("csidrivers", "storage.k8s.io", false),
    ("csinodes", "storage.k8s.io", false),
    ("csistoragecapacities", "storage.k8s.io", true),
    ("customresourcedefinitions", "apiextensions.k8s.io", false),
    (
        "mutatingwebhookconfigurations",
        "admissionregistration.k8s.io",
        false,
    ),
    (
        "validatingwebhookconfigurations",
        "admissionregistration.k8s.io",
        false,
    ),
    ("apiservices", "apiregistration.k8s.io", false),
    ("leases", "coordination.k8s.io", true),
    ("endpointslices", "discovery.k8s.io", true),
    ("certificatesigningrequests", "certificates.k8s.io", false),
    ("priorityclasses", "scheduling.k8s.io", false),
    ("runtimeclasses", "node.k8s.io", false),
    ("tokenreviews", "authentication.k8s.io", false),
    ("subjectaccessreviews", "authorization.k8s.io", false),
    ("selfsubjectaccessreviews", "authorization.k8s.io", false),
    ("selfsubjectrulesreviews", "authorization.k8s.io", false),
    ("localsubjectaccessreviews", "authorization.k8s.io", true),
    ("backendconfigs", "cloud.google.com", true),
    ("frontendconfigs", "networking.gke.io", true),
    ("managedcertificates", "networking.gke.io", true),
    ("volumesnapshots", "snapshot.storage.k8s.io", true),
    ("volumesnapshotclasses", "snapshot.storage.k8s.io", false),
    ("volumesnapshotcontents", "snapshot.storage.k8s.io", false),
];

/// kubectl's short names and kinds, for the resource argument.
const ALIASES: &[(&str, &str)] = &[
    ("po", "pods"),
    ("svc", "services"),
    ("ep", "endpoints"),
    ("cm", "configmaps"),
    ("sa", "serviceaccounts"),
    ("pvc", "persistentvolumeclaims"),
    ("rc", "replicationcontrollers"),
    ("ev", "events"),
    ("limits", "limitranges"),
    ("quota", "resourcequotas"),
    ("no", "nodes"),
    ("ns", "namespaces"),
    ("pv", "persistentvolumes"),
    ("cs", "componentstatuses"),
    ("deploy", "deployments"),
    ("sts", "statefulsets"),
    ("ds", "daemonsets"),
    ("rs", "replicasets"),
    ("cj", "cronjobs"),
    ("hpa", "horizontalpodautoscalers"),
    ("pdb", "poddisruptionbudgets"),
    ("psp", "podsecuritypolicies"),
    ("netpol", "networkpolicies"),
    ("ing", "ingresses"),
    ("sc", "storageclasses"),
    ("crd", "customresourcedefinitions"),
    ("crds", "customresourcedefinitions"),
    ("csr", "certificatesigningrequests"),
    ("pc", "priorityclasses"),
    ("policies", "podsecuritypolicies"),
    ("endpoints", "endpoints"),
];

/// Subresources: `pods/exec` names one of these, not a pod called `exec`.
pub const SUBRESOURCES: &[&str] = &[
    "exec",
    "log",
    "attach",
    "portforward",
    "proxy",
    "status",
    "scale",
    "eviction",
    "binding",
    "token",
    "ephemeralcontainers",
    "finalize",
    "approval",
    "resize",
    "rollback",
];

/// Who makes the request, as the API server authenticates it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// A Google account or service account (its email), or any other user name.
    User(String),
    ServiceAccount {
        namespace: String,
        name: String,
    },
}

impl Subject {
    pub fn parse(s: &str) -> Subject {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("system:serviceaccount:") {
            if let Some((ns, name)) = rest.split_once(':') {
                return Subject::ServiceAccount {
                    namespace: ns.to_string(),
                    name: name.to_string(),
                };
            }
        }
        // IAM-style prefixes are accepted: GKE authenticates the bare email.
        let bare = s
            .strip_prefix("user:")
            .or_else(|| s.strip_prefix("serviceAccount:"))
            .unwrap_or(s);
        Subject::User(bare.to_string())
    }

    /// Why this subject cannot authenticate at all (empty name or a
    /// `system:serviceaccount:` name without its namespace or name).
    pub fn problem(&self) -> Option<String> {
        match self {
            Subject::User(u) if u.is_empty() => Some("--as is empty: give an email or `system:serviceaccount:NAMESPACE:NAME`".into()),
            Subject::User(u) if u.starts_with("system:serviceaccount:") || u == "system:serviceaccount" => Some(format!(
                "--as `{u}` is not a service account name: write `system:serviceaccount:NAMESPACE:NAME`"
            )),
            Subject::ServiceAccount { namespace, name } if namespace.is_empty() || name.is_empty() || name.contains(':') => {
                Some(format!(
                    "--as `{}` is not a service account name: write `system:serviceaccount:NAMESPACE:NAME`",
                    self.username()
                ))
            }
            _ => None,
        }
    }

    /// The user name the API server sees.
    /// Borrowed for a user: a 500 KB `--as` is not copied per binding.
    pub fn username(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Subject::User(u) => std::borrow::Cow::Borrowed(u),
            Subject::ServiceAccount { namespace, name } => {
                std::borrow::Cow::Owned(format!("system:serviceaccount:{namespace}:{name}"))
            }
        }
    }

    /// Groups every such subject is in.
    pub fn implicit_groups(&self) -> Vec<String> {
        match self {
            Subject::User(u) if u == "system:anonymous" => vec!["system:unauthenticated".into()],
            Subject::User(_) => vec!["system:authenticated".into()],
            Subject::ServiceAccount { namespace, .. } => vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".into(),
            ],
        }
    }

    /// The IAM member for this subject, when it is a Google identity.
    pub fn iam_member(&self) -> Option<String> {
        match self {
            Subject::User(u) if u.contains('@') => Some(if u.ends_with(".gserviceaccount.com") {
                format!("serviceAccount:{u}")
            } else {
                format!("user:{u}")
            }),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Resource {
        group: String,
        resource: String,
        subresource: String,
        name: String,
    },
    /// A non-resource URL such as `/healthz`.
    Path(String),
}

impl Target {
    pub fn resource(group: &str, resource: &str, subresource: &str, name: &str) -> Target {
        Target::Resource {
            group: group.to_string(),
            resource: resource.to_string(),
            subresource: subresource.to_string(),
            name: name.to_string(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Request {
    pub subject: Subject,
    /// Implicit groups plus any given with `--as-group`.
    pub groups: Vec<String>,
    pub verb: String,
    pub target: Target,
    /// Empty for cluster-scoped resources, non-resource URLs and all-namespace requests.
    pub namespace: String,
    /// The IAM permissions GKE would accept instead (from the message, or derived).
    pub iam_permissions: Vec<String>,
    /// How the arguments were read, when that took a guess.
    pub notes: Vec<String>,
}

impl Request {
    /// `list roles.rbac.authorization.k8s.io in namespace kube-system`.
    pub fn describe(&self) -> String {
        describe(&self.verb, &self.target, &self.namespace)
    }
}

/// `list roles.rbac.authorization.k8s.io in namespace kube-system`,
/// `get path /metrics`: a request in words.
pub fn describe(verb: &str, target: &Target, namespace: &str) -> String {
    match target {
        Target::Path(p) => format!("{verb} path {p}"),
        Target::Resource {
            group,
            resource,
            subresource,
            name,
        } => {
            let mut s = format!("{verb} {resource}");
            if !group.is_empty() {
                s.push('.');
                s.push_str(group);
            }
            if !subresource.is_empty() {
                s.push('/');
                s.push_str(subresource);
            }
            if !name.is_empty() {
                s.push_str(&format!(" named `{name}`"));
            }
            if namespace.is_empty() {
                s.push_str(" at the cluster scope");
            } else {
                s.push_str(&format!(" in namespace `{namespace}`"));
            }
            s
        }
    }
}

/// Resolves the RESOURCE argument: `pods`, `deploy`, `deployments.apps`,
/// `pods/exec`, `pods/NAME`, `/healthz`. Returns the target and whether the
/// resource is namespaced.
pub fn parse_resource(
    model: &Model,
    arg: &str,
    subresource: Option<&str>,
    name: Option<&str>,
    notes: &mut Vec<String>,
) -> (Target, bool) {
    if arg.starts_with('/') {
        return (Target::Path(arg.to_string()), false);
    }
    let (res, rest) = match arg.split_once('/') {
        Some((r, x)) => (r, Some(x)),
        None => (arg, None),
    };
    let mut sub = subresource.unwrap_or("").to_string();
    let mut obj_name = name.unwrap_or("").to_string();
    if let Some(x) = rest {
        if subresource.is_none() && SUBRESOURCES.contains(&x) {
            sub = x.to_string();
        } else if obj_name.is_empty() {
            obj_name = x.to_string();
        }
    }
    let lower = res.to_ascii_lowercase();
    let (plural, group_given) = match lower.split_once('.') {
        Some((p, g)) => (p.to_string(), Some(g.to_string())),
        None => (lower.clone(), None),
    };
    let plural = canonical_plural(&plural);
    if let Some((p, g, namespaced)) = RESOURCES
        .iter()
        .find(|(p, g, _)| *p == plural && group_given.as_deref().is_none_or(|x| x == *g))
    {
        return (Target::resource(g, p, &sub, &obj_name), *namespaced);
    }
    // A custom resource the scan defines.
    for crd in model.objects_in("CustomResourceDefinition", "") {
        let spec = crd.node.get("spec");
        let crd_plural = spec.and_then(|s| s.path(&["names", "plural"])?.as_str());
        let crd_group = spec.and_then(|s| s.get("group")?.as_str()).unwrap_or("");
        if crd_plural == Some(plural.as_str())
            && group_given.as_deref().is_none_or(|g| g == crd_group)
        {
            let namespaced = spec.and_then(|s| s.get("scope")?.as_str()) != Some("Cluster");
            return (
                Target::resource(crd_group, &plural, &sub, &obj_name),
                namespaced,
            );
        }
    }
    let group = group_given.unwrap_or_default();
    notes.push(if group.is_empty() {
        format!("`{plural}` is not a built-in resource and no scanned CRD defines it: assumed API group \"\" and namespaced (write RESOURCE.GROUP to be exact)")
    } else {
        format!("`{plural}.{group}` is not a built-in resource and no scanned CRD defines it: assumed namespaced")
    });
    (Target::resource(&group, &plural, &sub, &obj_name), true)
}

/// `pod`, `Pod`, `po` → `pods`.
fn canonical_plural(s: &str) -> String {
    if let Some((_, p)) = ALIASES.iter().find(|(a, _)| *a == s) {
        return p.to_string();
    }
    if RESOURCES.iter().any(|(p, _, _)| *p == s) {
        return s.to_string();
    }
    for plural in [
        format!("{s}s"),
        format!("{s}es"),
        format!("{}ies", s.trim_end_matches('y')),
    ] {
        if RESOURCES.iter().any(|(p, _, _)| *p == plural) {
            return plural;
        }
    }
    s.to_string()
}

/// The `container.*` permission GKE's IAM authorizer checks for a request:
/// `container.<resourceCamelCase>.<verb>`. IAM has no watch, patch or
/// deletecollection: they map to list, update and delete. Custom resources
/// map to `container.thirdPartyObjects.*`. None when no such permission exists.
pub fn iam_permission(verb: &str, target: &Target) -> Option<String> {
    let Target::Resource {
        group,
        resource,
        subresource,
        ..
    } = target
    else {
        return None;
    };
    let known = &builtin::iam_roles().all_container_permissions;
    let camel = known.iter().find_map(|p| {
        let mid = p.strip_prefix("container.")?.split('.').next()?;
        (mid.eq_ignore_ascii_case(resource)).then_some(mid)
    });
    let builtin_resource = RESOURCES
        .iter()
        .any(|(p, g, _)| p == resource && g == group);
    let camel = match camel {
        Some(c) if builtin_resource || group.is_empty() => c.to_string(),
        _ => "thirdPartyObjects".to_string(),
    };
    let base = match verb {
        "watch" => "list",
        "patch" => "update",
        "deletecollection" => "delete",
        v => v,
    };
    let iam_verb = match (subresource.as_str(), base) {
        ("", v) => v.to_string(),
        ("status", "get") => "getStatus".into(),
        ("status", "update") => "updateStatus".into(),
        ("scale", "get") => "getScale".into(),
        ("scale", "update") => "updateScale".into(),
        ("log", _) => "getLogs".into(),
        ("exec", _) => "exec".into(),
        ("attach", _) => "attach".into(),
        ("portforward", _) => "portForward".into(),
        ("proxy", _) => "proxy".into(),
        ("eviction", _) => "evict".into(),
        ("token", _) => "createToken".into(),
        ("approval", _) => "approve".into(),
        ("finalize", _) => "finalize".into(),
        ("rollback", _) => "rollback".into(),
        (_, v) => v.to_string(),
    };
    let perm = format!("container.{camel}.{iam_verb}");
    known.contains(&perm).then_some(perm)
}

/// A string value of a node, or "".
pub fn str_of(n: Option<Node<'_>>) -> &str {
    n.and_then(Node::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(g: &str, r: &str, s: &str) -> Target {
        Target::resource(g, r, s, "")
    }

    #[test]
    fn iam_permissions_follow_gke_naming() {
        let cases = [
            (
                "list",
                res("rbac.authorization.k8s.io", "roles", ""),
                "container.roles.list",
            ),
            (
                "watch",
                res("", "configmaps", ""),
                "container.configMaps.list",
            ),
            (
                "patch",
                res("apps", "deployments", ""),
                "container.deployments.update",
            ),
            (
                "deletecollection",
                res("", "pods", ""),
                "container.pods.delete",
            ),
            ("create", res("", "pods", "exec"), "container.pods.exec"),
            ("get", res("", "pods", "log"), "container.pods.getLogs"),
            (
                "patch",
                res("apps", "deployments", "scale"),
                "container.deployments.updateScale",
            ),
            (
                "get",
                res("apps", "statefulsets", "status"),
                "container.statefulSets.getStatus",
            ),
            (
                "create",
                res("", "serviceaccounts", "token"),
                "container.serviceAccounts.createToken",
            ),
            (
                "bind",
                res("rbac.authorization.k8s.io", "clusterroles", ""),
                "container.clusterRoles.bind",
            ),
            (
                "get",
                res("example.com", "widgets", ""),
                "container.thirdPartyObjects.get",
            ),
        ];
        for (verb, t, want) in cases {
            assert_eq!(
                iam_permission(verb, &t).as_deref(),
                Some(want),
                "{verb} {t:?}"
            );
        }
        assert_eq!(
            iam_permission("get", &Target::Path("/healthz".into())),
            None
        );
    }

    #[test]
    fn resource_arguments() {
        let m = Model::default();
        let mut notes = Vec::new();
        let (t, ns) = parse_resource(&m, "pods/exec", None, None, &mut notes);
        assert_eq!(t, res("", "pods", "exec"));
        assert!(ns);
        let (t, _) = parse_resource(&m, "pods/web-0", None, None, &mut notes);
        assert_eq!(t, Target::resource("", "pods", "", "web-0"));
        let (t, ns) = parse_resource(&m, "ClusterRoles", None, None, &mut notes);
        assert_eq!(t, res("rbac.authorization.k8s.io", "clusterroles", ""));
        assert!(!ns);
        let (t, _) = parse_resource(&m, "deploy", Some("scale"), None, &mut notes);
        assert_eq!(t, res("apps", "deployments", "scale"));
        assert!(notes.is_empty());
        let (t, _) = parse_resource(&m, "widgets.example.com", None, None, &mut notes);
        assert_eq!(t, res("example.com", "widgets", ""));
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn subjects() {
        assert_eq!(
            Subject::parse("system:serviceaccount:ci:deployer"),
            Subject::ServiceAccount {
                namespace: "ci".into(),
                name: "deployer".into()
            }
        );
        let gsa = Subject::parse("serviceAccount:a@p.iam.gserviceaccount.com");
        assert_eq!(gsa.username(), "a@p.iam.gserviceaccount.com");
        assert_eq!(
            gsa.iam_member().as_deref(),
            Some("serviceAccount:a@p.iam.gserviceaccount.com")
        );
        assert_eq!(
            Subject::parse("alice@example.com").iam_member().as_deref(),
            Some("user:alice@example.com")
        );
    }
}
