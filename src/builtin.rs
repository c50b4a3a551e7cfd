//! Reference data embedded in the binary (see data/README.md): Kubernetes'
//! bootstrap RBAC policy and the `container.*` permissions of predefined IAM
//! roles. Parsed once, on first use.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::parse::{Node, Tree};

const BOOTSTRAP_ROLES: &str = include_str!("../data/k8s-bootstrap-cluster-roles.yaml");
const BOOTSTRAP_BINDINGS: &str = include_str!("../data/k8s-bootstrap-cluster-role-bindings.yaml");
const IAM_ROLES: &str = include_str!("../data/gke-iam-roles.json");

fn parse_list(name: &str, text: &'static str) -> Tree {
    crate::parse::parse_yaml_str(name, text.to_string()).0
}

fn items(tree: &'static Tree) -> Vec<Node<'static>> {
    tree.roots().flat_map(|r| r.seq_at("items")).collect()
}

/// The bootstrap ClusterRoles every cluster has (`admin`, `view`, `system:*`…).
pub fn cluster_roles() -> &'static [Node<'static>] {
    static TREE: OnceLock<Tree> = OnceLock::new();
    static ITEMS: OnceLock<Vec<Node<'static>>> = OnceLock::new();
    ITEMS.get_or_init(|| {
        items(TREE.get_or_init(|| parse_list("<bootstrap roles>", BOOTSTRAP_ROLES)))
    })
}

/// The bootstrap ClusterRoleBindings every cluster has.
pub fn cluster_role_bindings() -> &'static [Node<'static>] {
    static TREE: OnceLock<Tree> = OnceLock::new();
    static ITEMS: OnceLock<Vec<Node<'static>>> = OnceLock::new();
    ITEMS.get_or_init(|| {
        items(TREE.get_or_init(|| parse_list("<bootstrap bindings>", BOOTSTRAP_BINDINGS)))
    })
}

#[derive(Debug, Deserialize)]
pub struct IamRole {
    pub title: String,
    pub stage: String,
    pub container_permissions: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct IamRoles {
    pub roles: BTreeMap<String, IamRole>,
    pub all_container_permissions: Vec<String>,
}

/// Predefined IAM roles and their `container.*` permissions.
pub fn iam_roles() -> &'static IamRoles {
    static ROLES: OnceLock<IamRoles> = OnceLock::new();
    ROLES.get_or_init(|| {
        serde_json::from_str(IAM_ROLES).unwrap_or(IamRoles {
            roles: BTreeMap::new(),
            all_container_permissions: Vec::new(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_data_loads() {
        assert_eq!(cluster_roles().len(), 31);
        assert_eq!(cluster_role_bindings().len(), 10);
        let iam = iam_roles();
        assert_eq!(iam.roles.len(), 61);
        assert_eq!(iam.all_container_permissions.len(), 413);
        assert!(iam.roles["roles/container.viewer"]
            .container_permissions
            .iter()
            .any(|p| p == "container.roles.list"));
    }
}
