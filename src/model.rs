//! Classification of documents and the indexes rules query: Kubernetes
//! objects by namespace/name, pod templates, GSAs by email, IAM policies by
//! resource, clusters and node pools, projects and enabled services.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use globset::GlobSet;

use crate::config::Config;
use crate::parse::{Entries, Node, ParsedFile};
use crate::source::{FileId, Span};
use crate::wi;

#[derive(Debug)]
pub struct Object<'a> {
    pub file: FileId,
    pub node: Node<'a>,
    pub kind: &'a str,
    pub api_version: &'a str,
    pub name: Option<&'a str>,
    pub namespace: &'a str,
}

impl<'a> Object<'a> {
    pub fn metadata(&self) -> Option<Node<'a>> {
        self.node.get("metadata")
    }
    pub fn annotations(&self) -> Entries<'a> {
        self.metadata()
            .map(|m| m.map_at("annotations"))
            .unwrap_or_default()
    }
    /// Span of `metadata.name`, or of the object when it has none.
    pub fn name_span(&self) -> Span {
        self.node
            .path(&["metadata", "name"])
            .map(|n| n.span())
            .unwrap_or(self.node.span())
    }
    pub fn display(&self) -> String {
        format!(
            "{} {}/{}",
            self.kind,
            self.namespace,
            self.name.unwrap_or("?")
        )
    }
}

/// A pod template (or a Pod) and the service account it runs as.
#[derive(Debug)]
pub struct Workload<'a> {
    pub object: usize,
    /// The pod template: a node with `metadata` and `spec` (the Pod itself for kind Pod).
    pub template: Node<'a>,
    pub spec: Node<'a>,
    pub ksa: &'a str,
    /// `serviceAccountName` value node, when set.
    pub ksa_node: Option<Node<'a>>,
}

#[derive(Debug)]
pub struct Cluster<'a> {
    pub file: FileId,
    pub node: Node<'a>,
    pub name: &'a str,
    pub project: Option<String>,
    pub location: Option<&'a str>,
    /// `workloadIdentityConfig.workloadPool` (or legacy `identityNamespace`) value node.
    pub workload_pool: Option<Node<'a>>,
    pub autopilot: bool,
}

impl Cluster<'_> {
    pub fn pool(&self) -> Option<&str> {
        self.workload_pool
            .and_then(Node::as_str)
            .filter(|s| !s.is_empty())
    }
    pub fn name_span(&self) -> Span {
        self.node
            .get("name")
            .map(|n| n.span())
            .unwrap_or(self.node.span())
    }
}

#[derive(Debug)]
pub struct NodePool<'a> {
    pub file: FileId,
    pub node: Node<'a>,
    pub name: &'a str,
    pub cluster: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PolicyResource {
    Project {
        id: Option<String>,
        number: Option<String>,
    },
    ServiceAccount(String),
    Folder(String),
    Organization(String),
    Other(String),
}

impl PolicyResource {
    pub fn from_config(s: &str) -> Option<PolicyResource> {
        let parts: Vec<&str> = s.trim_start_matches("//").split('/').collect();
        match parts.as_slice() {
            ["projects", p] => Some(project_ref(p)),
            ["projects", _, "serviceAccounts", e] | ["serviceAccounts", e] if e.contains('@') => {
                Some(PolicyResource::ServiceAccount(e.to_string()))
            }
            ["folders", f] => Some(PolicyResource::Folder(f.to_string())),
            ["organizations", o] => Some(PolicyResource::Organization(o.to_string())),
            _ => None,
        }
    }
    pub fn describe(&self) -> String {
        match self {
            PolicyResource::Project { id: Some(id), .. } => format!("project {id}"),
            PolicyResource::Project {
                number: Some(n), ..
            } => format!("project number {n}"),
            PolicyResource::Project { .. } => "a project".into(),
            PolicyResource::ServiceAccount(e) => format!("service account {e}"),
            PolicyResource::Folder(f) => format!("folder {f}"),
            PolicyResource::Organization(o) => format!("organization {o}"),
            PolicyResource::Other(o) => o.clone(),
        }
    }
}

fn project_ref(p: &str) -> PolicyResource {
    if p.bytes().all(|b| b.is_ascii_digit()) {
        PolicyResource::Project {
            id: None,
            number: Some(p.to_string()),
        }
    } else {
        PolicyResource::Project {
            id: Some(p.to_string()),
            number: None,
        }
    }
}

#[derive(Debug)]
pub struct Binding<'a> {
    /// The binding object (`role`, `members`, `condition`).
    pub node: Node<'a>,
    pub role: Node<'a>,
    pub members: Vec<Node<'a>>,
}

impl Binding<'_> {
    pub fn role_str(&self) -> &str {
        self.role.as_str().unwrap_or("")
    }
}

#[derive(Debug)]
pub struct Policy<'a> {
    pub file: FileId,
    /// The policy object (the one with `bindings`).
    pub node: Node<'a>,
    pub resource: Option<PolicyResource>,
    /// Which rule of SPEC §2.2 named the resource.
    pub resolved_by: &'static str,
    pub bindings: Vec<Binding<'a>>,
}

#[derive(Debug)]
pub struct Services<'a> {
    pub file: FileId,
    pub node: Node<'a>,
    pub enabled: Vec<&'a str>,
    pub partial: bool,
    pub project_number: Option<String>,
}

#[derive(Debug)]
pub struct Project<'a> {
    pub file: FileId,
    pub node: Node<'a>,
    pub id: Option<&'a str>,
    pub number: Option<String>,
}

/// A custom IAM role (`gcloud iam roles describe … --format=json`).
#[derive(Debug)]
pub struct CustomRole<'a> {
    pub file: FileId,
    pub node: Node<'a>,
    /// `projects/P/roles/R` or `organizations/O/roles/R`.
    pub name: &'a str,
    pub permissions: Vec<&'a str>,
}

/// One entry of `gcloud iam service-accounts list`.
#[derive(Debug)]
pub struct AccountEntry<'a> {
    pub email: &'a str,
    pub unique_id: Option<&'a str>,
}

/// GKE versions order as (major, minor, patch, gke-build).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GkeVersion(pub u32, pub u32, pub u32, pub u64);

impl GkeVersion {
    pub fn parse(s: &str) -> Option<GkeVersion> {
        let s = s.trim().trim_start_matches('v');
        let (base, build) = match s.split_once("-gke.") {
            Some((b, g)) => (b, g.parse().ok()?),
            None => (s, 0),
        };
        let mut it = base.split('.').map(|p| p.parse::<u32>());
        let major = it.next()?.ok()?;
        let minor = it.next()?.ok()?;
        let patch = it.next().unwrap_or(Ok(0)).ok()?;
        Some(GkeVersion(major, minor, patch, build))
    }
}

/// Counts of what was recognised, for the summary line.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub objects: usize,
    pub gcloud_dumps: usize,
    pub unknown_documents: usize,
}

#[derive(Debug, Default)]
pub struct Model<'a> {
    pub files: Vec<&'a ParsedFile>,
    pub objects: Vec<Object<'a>>,
    pub workloads: Vec<Workload<'a>>,
    /// (namespace, name) → index into `objects`, for ServiceAccounts.
    pub service_accounts: HashMap<(&'a str, &'a str), usize>,
    pub sa_namespaces: HashSet<&'a str>,
    /// (kind, namespace) → indexes into `objects`, in scan order.
    pub by_kind_ns: HashMap<(&'a str, &'a str), Vec<usize>>,
    pub clusters: Vec<Cluster<'a>>,
    pub node_pools: Vec<NodePool<'a>>,
    pub policies: Vec<Policy<'a>>,
    pub services: Vec<Services<'a>>,
    pub projects: Vec<Project<'a>>,
    pub accounts: Vec<AccountEntry<'a>>,
    pub custom_roles: Vec<CustomRole<'a>>,
    /// GSA email → indexes into `policies`.
    pub policies_by_gsa: HashMap<String, Vec<usize>>,
    /// Every Workload Identity member of every policy, parsed once:
    /// (policy index, binding index, member node, member).
    pub members: Vec<(usize, usize, Node<'a>, wi::Member)>,
    /// (namespace, KSA) → indexes into `members` that name it, in policy order;
    /// KSA empty for a namespace-wide set.
    pub member_ksas: HashMap<(String, String), Vec<usize>>,
    /// Cluster scope of each file with manifests (index into `clusters`).
    pub scope: HashMap<FileId, usize>,
    pub stats: Stats,
}

/// Kinds without a namespace (their `namespace` is empty in the model).
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "Node",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "CustomResourceDefinition",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "APIService",
];

const WORKLOAD_KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
];

impl<'a> Model<'a> {
    pub fn build(files: &'a [ParsedFile], config: &Config) -> Model<'a> {
        let mut m = Model {
            files: files.iter().collect(),
            ..Model::default()
        };
        let mut pending_policies: Vec<(FileId, Node<'a>, Option<PolicyResource>, &'static str)> =
            Vec::new();
        for f in files {
            for root in f.roots() {
                m.classify(f.id, root, &mut pending_policies, 0);
            }
        }
        m.index_objects();
        m.link_node_pools();
        m.resolve_policies(pending_policies, config);
        m.index_members();
        m.assign_scopes(config);
        m
    }

    pub fn file_name(&self, id: FileId) -> &str {
        &self.files[id as usize].source.name
    }

    /// `file:line:col` of the start of `span` in file `id`.
    pub fn location(&self, id: FileId, span: Span) -> String {
        let src = &self.files[id as usize].source;
        let p = src.position(span.start as usize);
        format!("{}:{}:{}", src.name, p.line, p.column)
    }

    fn classify(
        &mut self,
        file: FileId,
        node: Node<'a>,
        policies: &mut Vec<(FileId, Node<'a>, Option<PolicyResource>, &'static str)>,
        depth: usize,
    ) {
        if depth > 3 {
            return;
        }
        if let Some(items) = node.as_seq() {
            if items
                .first()
                .is_some_and(|i| i.path(&["config", "name"]).is_some())
            {
                // `gcloud services list --format=json` prints a bare array.
                self.add_services(file, node, items.collect(), false);
                return;
            }
            // gcloud `list` output: an array of resources.
            for item in items {
                self.classify(file, item, policies, depth + 1);
            }
            return;
        }
        if node.as_map().is_none() {
            if !node.is_null() {
                self.stats.unknown_documents += 1;
            }
            return;
        }
        let kind = node.get("kind").and_then(Node::as_str);
        let api_version = node.get("apiVersion").and_then(Node::as_str);
        if let (Some(kind), Some(api_version)) = (kind, api_version) {
            if kind.ends_with("List") {
                if let Some(items) = node.get("items").and_then(Node::as_seq) {
                    for item in items {
                        self.classify(file, item, policies, depth + 1);
                    }
                    return;
                }
            }
            if kind == "Kustomization" || api_version.starts_with("kustomize.config.k8s.io") {
                return;
            }
            let namespace = if CLUSTER_SCOPED.contains(&kind) {
                ""
            } else {
                node.path(&["metadata", "namespace"])
                    .and_then(Node::as_str)
                    .unwrap_or("default")
            };
            let name = node.path(&["metadata", "name"]).and_then(Node::as_str);
            self.objects.push(Object {
                file,
                node,
                kind,
                api_version,
                name,
                namespace,
            });
            self.stats.objects += 1;
            return;
        }
        self.classify_gcloud(file, node, policies, depth);
    }

    fn classify_gcloud(
        &mut self,
        file: FileId,
        node: Node<'a>,
        policies: &mut Vec<(FileId, Node<'a>, Option<PolicyResource>, &'static str)>,
        depth: usize,
    ) {
        if depth > 4 {
            return;
        }
        let has = |k: &str| node.get(k).is_some();
        // REST list wrappers.
        for key in ["clusters", "nodePools", "accounts", "roles"] {
            if let Some(items) = node.get(key).and_then(Node::as_seq) {
                if node.as_map().is_some_and(|e| e.len() <= 3) {
                    for item in items {
                        self.classify_gcloud(file, item, policies, depth + 1);
                    }
                    return;
                }
            }
        }
        if let Some(items) = node.get("services").and_then(Node::as_seq) {
            self.add_services(file, node, items.collect(), has("nextPageToken"));
            return;
        }
        // Asset records carry the resource beside the policy.
        let asset_policy = node
            .get("policy")
            .filter(|_| has("resource"))
            .or_else(|| node.get("iam_policy").or_else(|| node.get("iamPolicy")));
        if let Some(policy) = asset_policy {
            let resource = node
                .get("resource")
                .or_else(|| node.get("name"))
                .and_then(Node::as_str)
                .map(parse_asset_name);
            policies.push((file, policy, resource, "asset record"));
            self.stats.gcloud_dumps += 1;
            return;
        }
        let self_link = node.get("selfLink").and_then(Node::as_str).unwrap_or("");
        let name = node.get("name").and_then(Node::as_str);
        if let Some(name) = name {
            let is_pool = self_link.contains("/nodePools/")
                || (has("config")
                    && (has("initialNodeCount")
                        || has("autoscaling")
                        || has("management")
                        || has("version"))
                    && !has("nodePools"));
            if is_pool {
                self.node_pools.push(NodePool {
                    file,
                    node,
                    name,
                    cluster: None,
                });
                self.stats.gcloud_dumps += 1;
                return;
            }
            let is_cluster = self_link.contains("/clusters/")
                || has("currentMasterVersion")
                || has("nodePools")
                || has("workloadIdentityConfig")
                || (has("endpoint") && has("masterAuth"));
            if is_cluster {
                self.add_cluster(file, node, name, self_link);
                return;
            }
        }
        if let (Some(name), Some(perms)) = (name, node.get("includedPermissions")) {
            if name.contains("/roles/") {
                self.custom_roles.push(CustomRole {
                    file,
                    node,
                    name,
                    permissions: perms
                        .as_seq()
                        .unwrap_or_default()
                        .iter()
                        .filter_map(Node::as_str)
                        .collect(),
                });
                self.stats.gcloud_dumps += 1;
                return;
            }
        }
        if has("bindings")
            || (has("etag") && node.as_map().is_some_and(|e| e.len() <= 2) && !has("name"))
        {
            policies.push((file, node, None, ""));
            self.stats.gcloud_dumps += 1;
            return;
        }
        if let Some(id) = node.get("projectId").and_then(Node::as_str) {
            let number = node
                .get("projectNumber")
                .and_then(Node::as_str)
                .map(str::to_string)
                .or_else(|| {
                    name.and_then(|n| n.strip_prefix("projects/"))
                        .map(str::to_string)
                });
            self.projects.push(Project {
                file,
                node,
                id: Some(id),
                number,
            });
            self.stats.gcloud_dumps += 1;
            return;
        }
        if let Some(email) = node.get("email").and_then(Node::as_str) {
            if has("uniqueId") || has("projectId") {
                self.accounts.push(AccountEntry {
                    email,
                    unique_id: node.get("uniqueId").and_then(Node::as_str),
                });
                self.stats.gcloud_dumps += 1;
                return;
            }
        }
        if node.path(&["config", "name"]).is_some() && has("state") {
            self.add_services(file, node, vec![node], false);
            return;
        }
        self.stats.unknown_documents += 1;
    }

    fn add_services(&mut self, file: FileId, node: Node<'a>, items: Vec<Node<'a>>, partial: bool) {
        let enabled: Vec<&'a str> = items
            .iter()
            .filter(|s| {
                s.get("state")
                    .and_then(Node::as_str)
                    .is_none_or(|st| st == "ENABLED")
            })
            .filter_map(|s| {
                s.path(&["config", "name"])
                    .and_then(Node::as_str)
                    .or_else(|| {
                        s.get("name")
                            .and_then(Node::as_str)
                            .and_then(|n| n.rsplit('/').next())
                    })
            })
            .collect();
        let project_number = items
            .iter()
            .find_map(|s| s.get("parent").and_then(Node::as_str))
            .and_then(|p| p.strip_prefix("projects/"))
            .map(str::to_string);
        self.services.push(Services {
            file,
            node,
            enabled,
            partial,
            project_number,
        });
        self.stats.gcloud_dumps += 1;
    }

    fn add_cluster(&mut self, file: FileId, node: Node<'a>, name: &'a str, self_link: &str) {
        let project = segment_after(self_link, "projects").or_else(|| {
            node.get("project")
                .and_then(Node::as_str)
                .map(str::to_string)
        });
        let location = node
            .get("location")
            .and_then(Node::as_str)
            .or_else(|| node.get("zone").and_then(Node::as_str));
        let workload_pool = node
            .path(&["workloadIdentityConfig", "workloadPool"])
            .or_else(|| node.path(&["workloadIdentityConfig", "identityNamespace"]));
        let autopilot = node.path(&["autopilot", "enabled"]).and_then(Node::as_bool) == Some(true);
        let index = self.clusters.len();
        self.clusters.push(Cluster {
            file,
            node,
            name,
            project,
            location,
            workload_pool,
            autopilot,
        });
        self.stats.gcloud_dumps += 1;
        for pool in node.seq_at("nodePools") {
            if let Some(pname) = pool.get("name").and_then(Node::as_str) {
                self.node_pools.push(NodePool {
                    file,
                    node: pool,
                    name: pname,
                    cluster: Some(index),
                });
            }
        }
    }

    /// Standalone node-pool dumps name their cluster only in `selfLink`.
    fn link_node_pools(&mut self) {
        for i in 0..self.node_pools.len() {
            if self.node_pools[i].cluster.is_some() {
                continue;
            }
            let link = self.node_pools[i]
                .node
                .get("selfLink")
                .and_then(Node::as_str)
                .unwrap_or("");
            let cname = segment_after(link, "clusters");
            let project = segment_after(link, "projects");
            let found = self.clusters.iter().position(|c| {
                cname.as_deref().is_some_and(|n| n == c.name)
                    && (project.is_none() || c.project.is_none() || project == c.project)
            });
            let found = found.or(if self.clusters.len() == 1 && cname.is_none() {
                Some(0)
            } else {
                None
            });
            self.node_pools[i].cluster = found;
        }
        // The same pool in a cluster dump and a node-pool dump is one pool.
        let mut seen: HashSet<(Option<usize>, &str)> = HashSet::new();
        self.node_pools
            .retain(|p| seen.insert((p.cluster, p.name)) || p.cluster.is_none());
    }

    fn index_objects(&mut self) {
        for (i, o) in self.objects.iter().enumerate() {
            self.by_kind_ns
                .entry((o.kind, o.namespace))
                .or_default()
                .push(i);
            if o.kind == "ServiceAccount" && o.api_version == "v1" {
                if let Some(name) = o.name {
                    self.service_accounts.insert((o.namespace, name), i);
                    self.sa_namespaces.insert(o.namespace);
                }
            }
            let template = match o.kind {
                "Pod" => Some(o.node),
                "CronJob" => o.node.path(&["spec", "jobTemplate", "spec", "template"]),
                k if WORKLOAD_KINDS.contains(&k) => o.node.path(&["spec", "template"]),
                _ => None,
            };
            let Some(template) = template else { continue };
            let Some(spec) = template.get("spec").filter(|s| s.as_map().is_some()) else {
                continue;
            };
            let ksa_node = spec
                .get("serviceAccountName")
                .filter(|n| n.as_str().is_some_and(|s| !s.is_empty()))
                .or_else(|| {
                    spec.get("serviceAccount")
                        .filter(|n| n.as_str().is_some_and(|s| !s.is_empty()))
                });
            let ksa = ksa_node.and_then(Node::as_str).unwrap_or("default");
            self.workloads.push(Workload {
                object: i,
                template,
                spec,
                ksa,
                ksa_node,
            });
        }
    }

    fn resolve_policies(
        &mut self,
        pending: Vec<(FileId, Node<'a>, Option<PolicyResource>, &'static str)>,
        config: &Config,
    ) {
        let mappings: Vec<(GlobSet, Option<PolicyResource>)> = config
            .iam_policies
            .iter()
            .map(|p| {
                (
                    crate::walk::build_globset(std::slice::from_ref(&p.path)).unwrap_or_default(),
                    PolicyResource::from_config(&p.resource),
                )
            })
            .collect();
        let accounts: HashMap<&str, &str> = self
            .accounts
            .iter()
            .filter_map(|a| Some((a.unique_id?, a.email)))
            .collect();
        let mut seen: HashSet<(String, &str)> = HashSet::new();
        for (file, node, asset_resource, how) in pending {
            let text = self.files[file as usize].source.slice(node.span());
            // The same resource dumped twice is one resource.
            let mut resolved = asset_resource.map(|r| (r, how));
            if let Some((PolicyResource::ServiceAccount(id), _)) = &mut resolved {
                if let Some(email) = accounts.get(id.as_str()) {
                    *id = email.to_string();
                }
            }
            let fname = self.files[file as usize].source.name.clone();
            if resolved.is_none() {
                resolved = self
                    .resource_from_file_name(&fname)
                    .map(|r| (r, "file name"));
            }
            if resolved.is_none() {
                resolved = self
                    .resource_from_content(node)
                    .map(|r| (r, "content (service agents)"));
            }
            if resolved.is_none() {
                resolved = mappings
                    .iter()
                    .find(|(g, _)| config.glob_matches(g, &fname))
                    .and_then(|(_, r)| r.clone())
                    .map(|r| (r, "config iam_policies"));
            }
            let key = resolved
                .as_ref()
                .map(|(r, _)| format!("{r:?}"))
                .unwrap_or_default();
            if !key.is_empty() && !seen.insert((key, text)) {
                continue;
            }
            let bindings = collect_bindings(node);
            let (resource, resolved_by) = match resolved {
                Some((r, how)) => (Some(r), how),
                None => (None, ""),
            };
            self.policies.push(Policy {
                file,
                node,
                resource,
                resolved_by,
                bindings,
            });
        }
    }

    fn resource_from_file_name(&self, display: &str) -> Option<PolicyResource> {
        let path = Path::new(display);
        let file = path.file_name()?.to_str()?;
        let stem = file
            .strip_suffix(".iam.json")
            .or_else(|| file.strip_suffix(".iam.yaml"))
            .or_else(|| file.strip_suffix(".json"))
            .or_else(|| file.strip_suffix(".yaml"))
            .or_else(|| file.strip_suffix(".yml"))?;
        if stem.contains('@') && stem.ends_with(".gserviceaccount.com") {
            return Some(PolicyResource::ServiceAccount(stem.to_string()));
        }
        let dir = path
            .parent()
            .map(|p| p.to_string_lossy().to_string())
            .unwrap_or_default();
        let dir_of = |f: FileId| {
            Path::new(&self.files[f as usize].source.name)
                .parent()
                .map(|p| p.to_string_lossy().to_string())
                .unwrap_or_default()
        };
        if let Some(p) = self
            .projects
            .iter()
            .find(|p| p.id == Some(stem) && dir_of(p.file) == dir)
        {
            return Some(PolicyResource::Project {
                id: p.id.map(str::to_string),
                number: p.number.clone(),
            });
        }
        if stem.starts_with("project-iam") || stem.starts_with("project_iam") {
            let beside: Vec<&Project> = self
                .projects
                .iter()
                .filter(|p| dir_of(p.file) == dir)
                .collect();
            let p = match beside.as_slice() {
                [one] => Some(*one),
                _ if self.projects.len() == 1 => self.projects.first(),
                _ => None,
            };
            return Some(PolicyResource::Project {
                id: p.and_then(|p| p.id.map(str::to_string)),
                number: p.and_then(|p| p.number.clone()),
            });
        }
        None
    }

    /// A policy that grants a service-agent role or names a Google-managed
    /// agent can only be a project's.
    fn resource_from_content(&self, node: Node<'_>) -> Option<PolicyResource> {
        let mut number = None;
        let mut agent_role = false;
        for b in node.seq_at("bindings") {
            let role = b.get("role").and_then(Node::as_str).unwrap_or("");
            if role.starts_with("roles/") && role.ends_with(".serviceAgent") {
                agent_role = true;
            }
            for m in member_nodes(b) {
                let m = m.as_str().unwrap_or("");
                let email = m.strip_prefix("serviceAccount:").unwrap_or("");
                let (local, domain) = email.split_once('@').unwrap_or(("", ""));
                let n = if domain == "cloudservices.gserviceaccount.com" {
                    Some(local)
                } else if domain.ends_with(".gserviceaccount.com") {
                    local.strip_prefix("service-")
                } else {
                    None
                };
                if let Some(n) =
                    n.filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                {
                    number.get_or_insert_with(|| n.to_string());
                }
            }
        }
        if number.is_none() && !agent_role {
            return None;
        }
        let id = number
            .as_deref()
            .and_then(|n| {
                self.projects
                    .iter()
                    .find(|p| p.number.as_deref() == Some(n))
            })
            .and_then(|p| p.id.map(str::to_string));
        Some(PolicyResource::Project { id, number })
    }

    fn assign_scopes(&mut self, config: &Config) {
        let manifest_files: HashSet<FileId> = self.objects.iter().map(|o| o.file).collect();
        if !config.clusters.is_empty() {
            for scope in &config.clusters {
                let Ok(globs) = crate::walk::build_globset(&scope.manifests) else {
                    continue;
                };
                let Some(ci) = self
                    .clusters
                    .iter()
                    .position(|c| cluster_matches(c, &scope.name))
                else {
                    continue;
                };
                for f in &manifest_files {
                    if config.glob_matches(&globs, self.file_name(*f)) {
                        self.scope.entry(*f).or_insert(ci);
                    }
                }
            }
        } else if self.clusters.len() == 1 {
            for f in manifest_files {
                self.scope.insert(f, 0);
            }
        }
    }

    /// The cluster a manifest file belongs to, if known.
    pub fn cluster_of(&self, file: FileId) -> Option<&Cluster<'a>> {
        self.scope.get(&file).map(|i| &self.clusters[*i])
    }

    /// The cluster scope index of an object, if any.
    pub fn scope_of(&self, file: FileId) -> Option<usize> {
        self.scope.get(&file).copied()
    }

    /// Objects of one kind in one namespace (`""` for cluster-scoped kinds).
    pub fn objects_in<'s>(
        &'s self,
        kind: &'static str,
        ns: &'a str,
    ) -> impl Iterator<Item = &'s Object<'a>> + 's {
        let idx: &'s [usize] = self
            .by_kind_ns
            .get(&(kind, ns))
            .map(Vec::as_slice)
            .unwrap_or_default();
        idx.iter().map(move |i| &self.objects[*i])
    }

    /// The Namespace object named `name`, if the scan has it.
    pub fn namespace(&self, name: &str) -> Option<&Object<'a>> {
        self.objects_in("Namespace", "")
            .find(|o| o.name == Some(name))
    }

    pub fn service_account(&self, ns: &str, name: &str) -> Option<&Object<'a>> {
        self.service_accounts
            .get(&(ns, name))
            .map(|i| &self.objects[*i])
    }

    /// The WI annotation (key node, value node) of a ServiceAccount.
    pub fn wi_annotation(o: &Object<'a>) -> Option<(Node<'a>, Node<'a>)> {
        o.metadata()?.get("annotations")?.entry(wi::ANNOTATION)
    }

    /// ServiceAccounts that carry the Workload Identity annotation, with its key and value nodes.
    pub fn wi_service_accounts(&self) -> impl Iterator<Item = (&Object<'a>, Node<'a>, Node<'a>)> {
        self.objects
            .iter()
            .filter(|o| o.kind == "ServiceAccount")
            .filter_map(|o| Model::wi_annotation(o).map(|(k, v)| (o, k, v)))
    }

    /// Policies whose resource is the GSA `email`.
    pub fn gsa_policies(&self, email: &str) -> impl Iterator<Item = &Policy<'a>> {
        self.policies_by_gsa
            .get(email)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|i| &self.policies[*i])
    }

    fn index_members(&mut self) {
        for (pi, p) in self.policies.iter().enumerate() {
            if let Some(PolicyResource::ServiceAccount(e)) = &p.resource {
                self.policies_by_gsa.entry(e.clone()).or_default().push(pi);
            }
        }
        for (pi, p) in self.policies.iter().enumerate() {
            for (bi, b) in p.bindings.iter().enumerate() {
                for m in &b.members {
                    let parsed = wi::parse_member(m.as_str().unwrap_or(""));
                    let key = match &parsed {
                        wi::Member::Other => continue,
                        wi::Member::Legacy { ns, ksa, .. }
                        | wi::Member::Principal { ns, ksa, .. } => Some((ns.clone(), ksa.clone())),
                        wi::Member::Namespace { ns, .. } => Some((ns.clone(), String::new())),
                        _ => None,
                    };
                    if let Some(key) = key {
                        self.member_ksas
                            .entry(key)
                            .or_default()
                            .push(self.members.len());
                    }
                    self.members.push((pi, bi, *m, parsed));
                }
            }
        }
    }

    /// All Workload Identity members of every policy.
    pub fn wi_members(
        &self,
    ) -> impl Iterator<Item = (&Policy<'a>, &Binding<'a>, Node<'a>, &wi::Member)> {
        self.members.iter().map(|(pi, bi, node, m)| {
            let p = &self.policies[*pi];
            (p, &p.bindings[*bi], *node, m)
        })
    }

    /// The WI members that let pods using `ns/ksa` from `pool` act, in policy order:
    /// an index lookup, not a scan of every member.
    pub fn wi_members_covering(
        &self,
        pool: Option<&str>,
        ns: &str,
        ksa: &str,
    ) -> Vec<(&Policy<'a>, &Binding<'a>, Node<'a>, &wi::Member)> {
        let mut idx: Vec<usize> = [ksa, ""]
            .iter()
            .filter_map(|k| self.member_ksas.get(&(ns.to_string(), k.to_string())))
            .flatten()
            .copied()
            .collect();
        idx.sort_unstable();
        idx.into_iter()
            .filter(|i| self.members[*i].3.covers(pool, ns, ksa))
            .map(|i| {
                let (pi, bi, node, m) = &self.members[i];
                let p = &self.policies[*pi];
                (p, &p.bindings[*bi], *node, m)
            })
            .collect()
    }

    /// Is this workload a "WI pod" (SPEC §3 preamble)?
    pub fn is_wi_workload(&self, w: &Workload<'a>) -> bool {
        let ns = self.objects[w.object].namespace;
        self.service_account(ns, w.ksa)
            .is_some_and(|sa| Self::wi_annotation(sa).is_some())
            || (!self.member_ksas.is_empty()
                && (self
                    .member_ksas
                    .contains_key(&(ns.to_string(), w.ksa.to_string()))
                    || self
                        .member_ksas
                        .contains_key(&(ns.to_string(), String::new()))))
    }
}

pub fn member_nodes(binding: Node<'_>) -> Vec<Node<'_>> {
    match binding.get("members") {
        Some(m) if m.as_seq().is_some() => m.items().iter().collect(),
        // `--flatten=bindings[].members` prints one member as a string.
        Some(m) if m.as_str().is_some() => vec![m],
        _ => Vec::new(),
    }
}

fn collect_bindings(policy: Node<'_>) -> Vec<Binding<'_>> {
    let list: Vec<Node<'_>> = match policy.get("bindings") {
        Some(b) if b.as_seq().is_some() => b.items().iter().collect(),
        Some(b) if b.as_map().is_some() => vec![b],
        _ => Vec::new(),
    };
    list.into_iter()
        .filter_map(|b| {
            Some(Binding {
                node: b,
                role: b.get("role")?,
                members: member_nodes(b),
            })
        })
        .collect()
}

/// `//iam.googleapis.com/projects/P/serviceAccounts/X` and friends.
fn parse_asset_name(name: &str) -> PolicyResource {
    let trimmed = name.trim_start_matches("//");
    let path = trimmed.split_once('/').map(|(_, p)| p).unwrap_or(trimmed);
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["projects", _, "serviceAccounts", sa] => PolicyResource::ServiceAccount(sa.to_string()),
        ["projects", p] => project_ref(p),
        ["folders", f] => PolicyResource::Folder(f.to_string()),
        ["organizations", o] => PolicyResource::Organization(o.to_string()),
        _ => PolicyResource::Other(name.to_string()),
    }
}

/// The path segment after `key` in a URL such as a selfLink.
pub fn segment_after(link: &str, key: &str) -> Option<String> {
    let mut it = link.split('/');
    while let Some(s) = it.next() {
        if s == key {
            return it.next().filter(|v| !v.is_empty()).map(str::to_string);
        }
    }
    None
}

fn cluster_matches(c: &Cluster, name: &str) -> bool {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        [n] => c.name == *n,
        [l, n] => c.name == *n && c.location == Some(*l),
        [p, l, n] => c.name == *n && c.location == Some(*l) && c.project.as_deref() == Some(*p),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gke_versions_order() {
        let a = GkeVersion::parse("1.20.15-gke.2500").unwrap();
        let b = GkeVersion::parse("1.21.0-gke.1000").unwrap();
        let c = GkeVersion::parse("1.29.1-gke.1589018").unwrap();
        assert!(a < b && b < c);
        assert_eq!(b, GkeVersion(1, 21, 0, 1000));
        assert!(GkeVersion::parse("latest").is_none());
    }

    #[test]
    fn asset_names() {
        assert_eq!(
            parse_asset_name(
                "//iam.googleapis.com/projects/p1/serviceAccounts/a@p1.iam.gserviceaccount.com"
            ),
            PolicyResource::ServiceAccount("a@p1.iam.gserviceaccount.com".into())
        );
        assert_eq!(
            parse_asset_name("//cloudresourcemanager.googleapis.com/projects/1041"),
            PolicyResource::Project {
                id: None,
                number: Some("1041".into())
            }
        );
    }
}
