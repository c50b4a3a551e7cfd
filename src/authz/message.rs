//! Reads a Forbidden error exactly as the API server (and GKE) prints it:
//!
//! ```text
//! Error from server (Forbidden): roles.rbac.authorization.k8s.io is forbidden:
//! User "a@p.iam.gserviceaccount.com" cannot list resource "roles" in API group
//! "rbac.authorization.k8s.io" in the namespace "kube-system": requires one of
//! ["container.roles.list"] permission(s).
//! ```
//!
//! Forms (k8s.io/apiserver responsewriters.forbiddenMessage + NewForbidden):
//! `… in the namespace "NS"`, `… at the cluster scope`, `resource "pods/exec"`
//! (subresource), `pods "web-0" is forbidden` (named object), and
//! `forbidden: User "u" cannot get path "/metrics"` (non-resource URL).
//! The message may be wrapped across lines, HTML-escaped (`&lt;`) or quoted
//! inside a JSON log line (`\"`).

use std::sync::OnceLock;

use regex::Regex;

use super::request::{Subject, Target};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forbidden {
    pub user: String,
    pub verb: String,
    pub target: Target,
    pub namespace: String,
    /// The IAM permissions GKE named (`requires one of [...]`).
    pub permissions: Vec<String>,
}

impl Forbidden {
    pub fn subject(&self) -> Subject {
        Subject::parse(&self.user)
    }
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).unwrap_or_else(|_| Regex::new("$^").expect("regex")))
}

/// Parses the first Forbidden message in `text`.
pub fn parse(text: &str) -> Option<Forbidden> {
    static RESOURCE: OnceLock<Regex> = OnceLock::new();
    static PATH: OnceLock<Regex> = OnceLock::new();
    static OLD: OnceLock<Regex> = OnceLock::new();
    static NAMED: OnceLock<Regex> = OnceLock::new();
    static PERMS: OnceLock<Regex> = OnceLock::new();
    let text = normalize(text);
    let resource = re(
        &RESOURCE,
        r#"User "([^"]*)" cannot ([A-Za-z]+) resource "([^"/]*)(?:/([^"]*))?" in API group "([^"]*)" (?:in the namespace "([^"]*)"|at the cluster scope)"#,
    );
    let path = re(&PATH, r#"User "([^"]*)" cannot ([A-Za-z]+) path "([^"]*)""#);
    // Kubernetes before 1.14: `cannot list pods in the namespace "x"`, `cannot list roles.rbac.authorization.k8s.io at the cluster scope`.
    let old = re(
        &OLD,
        r#"User "([^"]*)" cannot ([A-Za-z]+) ([a-z0-9.-]+?)(?:/([a-z]+))? (?:in the namespace "([^"]*)"|at the cluster scope)"#,
    );
    let named = re(&NAMED, r#"([a-z0-9.-]+) "([^"]*)" is forbidden:"#);
    let perms = re(&PERMS, r#"requires one of \[([^\]]*)\]"#);
    let permissions: Vec<String> = perms
        .captures(&text)
        .map(|c| {
            c[1].split(',')
                .map(|p| p.trim().trim_matches('"').to_string())
                .filter(|p| !p.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let name = named
        .captures(&text)
        .map(|c| c[2].to_string())
        .unwrap_or_default();
    if let Some(c) = resource.captures(&text) {
        return Some(Forbidden {
            user: c[1].to_string(),
            verb: c[2].to_string(),
            target: Target::Resource {
                group: c[5].to_string(),
                resource: c[3].to_string(),
                subresource: c.get(4).map(|m| m.as_str().to_string()).unwrap_or_default(),
                name,
            },
            namespace: c.get(6).map(|m| m.as_str().to_string()).unwrap_or_default(),
            permissions,
        });
    }
    if let Some(c) = path.captures(&text) {
        return Some(Forbidden {
            user: c[1].to_string(),
            verb: c[2].to_string(),
            target: Target::Path(c[3].to_string()),
            namespace: String::new(),
            permissions,
        });
    }
    if let Some(c) = old.captures(&text) {
        let (resource, group) = match c[3].split_once('.') {
            Some((r, g)) => (r.to_string(), g.to_string()),
            None => (c[3].to_string(), String::new()),
        };
        return Some(Forbidden {
            user: c[1].to_string(),
            verb: c[2].to_string(),
            target: Target::Resource {
                group,
                resource,
                subresource: c.get(4).map(|m| m.as_str().to_string()).unwrap_or_default(),
                name,
            },
            namespace: c.get(5).map(|m| m.as_str().to_string()).unwrap_or_default(),
            permissions,
        });
    }
    None
}

/// One line, unescaped: wrapped terminal output, JSON logs, HTML escapes.
fn normalize(text: &str) -> String {
    let unescaped = text
        .replace("\\\"", "\"")
        .replace("\\n", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#34;", "\"")
        .replace("&amp;", "&");
    unescaped.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(group: &str, resource: &str, sub: &str, name: &str) -> Target {
        Target::resource(group, resource, sub, name)
    }

    #[test]
    fn seed_message_wrapped_over_lines() {
        let m = "Error from server (Forbidden): roles.rbac.authorization.k8s.io is forbidden:\nUser \"example-account@example-project.iam.gserviceaccount.com\" cannot list resource \"roles\" in\nAPI group \"rbac.authorization.k8s.io\" in the namespace \"kube-system\": requires\none of [\"container.roles.list\"] permission(s).";
        let f = parse(m).unwrap();
        assert_eq!(
            f.user,
            "example-account@example-project.iam.gserviceaccount.com"
        );
        assert_eq!(f.verb, "list");
        assert_eq!(f.target, res("rbac.authorization.k8s.io", "roles", "", ""));
        assert_eq!(f.namespace, "kube-system");
        assert_eq!(f.permissions, ["container.roles.list"]);
    }

    #[test]
    fn cluster_scope_subresource_named_and_path() {
        let f = parse(r#"Error from server (Forbidden): nodes is forbidden: User "bob@example.com" cannot list resource "nodes" in API group "" at the cluster scope: requires one of ["container.nodes.list"] permission(s)."#).unwrap();
        assert_eq!(f.target, res("", "nodes", "", ""));
        assert_eq!(f.namespace, "");
        let f = parse(r#"Error from server (Forbidden): pods "web-0" is forbidden: User "system:serviceaccount:ci:deployer" cannot create resource "pods/exec" in API group "" in the namespace "shop""#).unwrap();
        assert_eq!(f.target, res("", "pods", "exec", "web-0"));
        assert_eq!(f.namespace, "shop");
        assert!(f.permissions.is_empty());
        let f = parse(r#"Error from server (Forbidden): forbidden: User "bob@example.com" cannot get path "/metrics""#).unwrap();
        assert_eq!(f.target, Target::Path("/metrics".into()));
        let f = parse(r#"{"msg":"deployments.apps \"api\" is forbidden: User \"a@p.iam.gserviceaccount.com\" cannot patch resource \"deployments\" in API group \"apps\" in the namespace \"prod\": requires one of [\"container.deployments.update\"] permission(s)."}"#).unwrap();
        assert_eq!(f.target, res("apps", "deployments", "", "api"));
        assert_eq!(f.verb, "patch");
        let f = parse(r#"User "system:serviceaccount:default:default" cannot list pods in the namespace "default""#).unwrap();
        assert_eq!(f.target, res("", "pods", "", ""));
        assert!(parse("connection refused").is_none());
    }
}
