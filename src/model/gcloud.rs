//! Google Cloud dumps (gcloud and REST output), recognised by shape, and
//! whose resource each IAM policy is.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use globset::GlobSet;
use rayon::prelude::*;

use crate::config::Config;
use crate::parse::Node;
use crate::source::{FileId, Location};

use super::Model;
use crate::gcp::project_ref;
pub use crate::gcp::{GkeVersion, PolicyResource};

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

impl<'a> Cluster<'a> {
    /// `fleet.project`: the fleet host project (ID or number) it is registered to.
    pub fn fleet_project(&self) -> Option<&'a str> {
        self.node
            .path(&["fleet", "project"])
            .and_then(Node::as_str)
            .filter(|s| !s.is_empty())
    }
    pub fn pool(&self) -> Option<&str> {
        self.workload_pool
            .and_then(Node::as_str)
            .filter(|s| !s.is_empty())
    }
    /// Where the name is written (or the object, when it has none).
    pub fn name_loc(&self) -> Location {
        self.node
            .get("name")
            .map(|n| n.loc())
            .unwrap_or(self.node.loc())
    }
}

#[derive(Debug)]
pub struct NodePool<'a> {
    pub file: FileId,
    pub node: Node<'a>,
    pub name: &'a str,
    pub cluster: Option<usize>,
}

#[derive(Debug)]
pub struct Binding<'a> {
    /// The binding object (`role`, `members`, `condition`).
    pub node: Node<'a>,
    pub role: Node<'a>,
    /// `role`'s text (empty when null): rules ask it of every binding.
    role_text: &'a str,
    pub members: Vec<Node<'a>>,
}

impl<'a> Binding<'a> {
    pub fn role_str(&self) -> &'a str {
        self.role_text
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

/// A fleet membership dump: the cluster it registers and the fleet's pool.
#[derive(Debug)]
pub struct Membership<'a> {
    /// `//container.googleapis.com/projects/P/locations/L/clusters/C`.
    pub cluster_link: &'a str,
    /// `authority.workloadIdentityPool`: `FLEET_HOST_PROJECT.svc.id.goog`.
    pub pool: &'a str,
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

/// The gcloud dumps of some documents, in their order: read by a task of
/// the model's parallel classification, then added to the model.
#[derive(Default)]
pub(super) struct Dumps<'a> {
    pub clusters: Vec<Cluster<'a>>,
    /// A pool listed in a cluster dump names its cluster by its place in
    /// `clusters` here.
    pub node_pools: Vec<NodePool<'a>>,
    pub services: Vec<Services<'a>>,
    pub projects: Vec<Project<'a>>,
    pub accounts: Vec<AccountEntry<'a>>,
    pub custom_roles: Vec<CustomRole<'a>>,
    pub memberships: Vec<Membership<'a>>,
    /// IAM policies, whose resources are found once all dumps are read.
    pub policies: Vec<PendingPolicy<'a>>,
    /// Documents recognised.
    pub count: usize,
}

impl<'a> Model<'a> {
    /// Takes dumps read by `Dumps::classify`, after those already taken.
    pub(super) fn add_dumps(&mut self, d: Dumps<'a>, policies: &mut Vec<PendingPolicy<'a>>) {
        let first = self.clusters.len();
        self.clusters.extend(d.clusters);
        self.node_pools
            .extend(d.node_pools.into_iter().map(|p| NodePool {
                cluster: p.cluster.map(|c| c + first),
                ..p
            }));
        self.services.extend(d.services);
        self.projects.extend(d.projects);
        self.accounts.extend(d.accounts);
        self.custom_roles.extend(d.custom_roles);
        self.memberships.extend(d.memberships);
        policies.extend(d.policies);
        self.stats.gcloud_dumps += d.count;
    }
}

impl<'a> Dumps<'a> {
    /// Recognises a gcloud/REST dump by its shape; `false` when the document
    /// is none of the shapes of SPEC §2.2 (then it is not ours).
    pub(super) fn classify(&mut self, file: FileId, node: Node<'a>, depth: usize) -> bool {
        if depth > 4 {
            return false;
        }
        if let Some(items) = node.as_seq() {
            if !items.is_empty() && items.iter().all(is_service) {
                // `gcloud services list --format=json` prints a bare array.
                self.add_services(file, node, items.collect(), false);
                return true;
            }
            // gcloud `list` output: an array of resources.
            let mut any = false;
            for item in items {
                any |= self.classify(file, item, depth + 1);
            }
            return any;
        }
        if !node.is_map() {
            return false;
        }
        let has = |k: &str| node.get(k).is_some();
        // REST list wrappers: `{"clusters": [...]}` and friends.
        for key in ["clusters", "nodePools", "accounts", "roles"] {
            if let Some(items) = node.get(key).and_then(Node::as_seq) {
                if node.entries().all(|(k, _)| matches!(k.text(), Some(x) if x == key || x == "nextPageToken" || x == "missingZones")) {
                    let mut any = false;
                    for item in items {
                        any |= self.classify(file, item, depth + 1);
                    }
                    return any;
                }
            }
        }
        if let Some(items) = node.get("services").and_then(Node::as_seq) {
            let only_page = node
                .entries()
                .all(|(k, _)| matches!(k.text(), Some("services" | "nextPageToken")));
            if only_page && items.iter().all(is_service) {
                self.add_services(file, node, items.collect(), has("nextPageToken"));
                return true;
            }
            return false;
        }
        if is_service(node) {
            self.add_services(file, node, vec![node], false);
            return true;
        }
        // A service account's resource asset (`gcloud asset export
        // --content-type=resource`, `asset list`): maps its unique ID, which
        // names it in policy asset records, to its email.
        if let Some(data) = node.path(&["resource", "data"]).filter(|d| d.is_map()) {
            let email = data.get("email").and_then(Node::as_string);
            if let Some(email) = email.filter(|e| e.ends_with(".gserviceaccount.com")) {
                self.accounts.push(AccountEntry {
                    email,
                    unique_id: data.get("uniqueId").and_then(Node::as_str),
                });
                if !has("iam_policy") && !has("iamPolicy") {
                    self.count += 1;
                    return true;
                }
            }
        }
        // Asset records carry the resource beside the policy.
        let asset = node
            .get("policy")
            .filter(|_| has("resource"))
            .or_else(|| node.get("iam_policy").or_else(|| node.get("iamPolicy")))
            .filter(|p| is_policy(*p));
        if let Some(policy) = asset {
            let resource = node
                .get("resource")
                .or_else(|| node.get("name"))
                .and_then(Node::as_str)
                .map(parse_asset_name);
            self.policies.push((file, policy, resource, "asset record"));
            self.count += 1;
            return true;
        }
        if is_policy(node) {
            self.policies.push((file, node, None, ""));
            self.count += 1;
            return true;
        }
        let self_link = node.get("selfLink").and_then(Node::as_str).unwrap_or("");
        let name = node.get("name").and_then(Node::as_string);
        if let Some(name) = name {
            let config = node.get("config").filter(|c| c.is_map());
            let is_pool = self_link.contains("/nodePools/")
                || config.is_some()
                    && [
                        "initialNodeCount",
                        "autoscaling",
                        "management",
                        "version",
                        "status",
                    ]
                    .iter()
                    .any(|k| has(k))
                    && !has("nodePools");
            if is_pool {
                self.node_pools.push(NodePool {
                    file,
                    node,
                    name,
                    cluster: None,
                });
                self.count += 1;
                return true;
            }
            let is_cluster = self_link.contains("/clusters/")
                || has("currentMasterVersion")
                || node.get("nodePools").is_some_and(|p| {
                    p.as_seq()
                        .is_some_and(|ps| ps.iter().all(|x| x.get("name").is_some()))
                })
                || node
                    .get("workloadIdentityConfig")
                    .is_some_and(|w| w.is_map())
                || has("endpoint") && has("masterAuth");
            if is_cluster {
                self.add_cluster(file, node, name, self_link);
                return true;
            }
            // `gcloud container fleet memberships describe`: the fleet pool a
            // member cluster's workloads use.
            if let (Some(pool), Some(link)) = (
                node.path(&["authority", "workloadIdentityPool"])
                    .and_then(Node::as_str),
                node.path(&["endpoint", "gkeCluster", "resourceLink"])
                    .and_then(Node::as_str),
            ) {
                self.memberships.push(Membership {
                    cluster_link: link,
                    pool,
                });
                self.count += 1;
                return true;
            }
            if let Some(perms) = node.get("includedPermissions").and_then(Node::as_seq) {
                if name.contains("/roles/") {
                    self.custom_roles.push(CustomRole {
                        file,
                        node,
                        name,
                        permissions: perms.filter_map(Node::as_str).collect(),
                    });
                    self.count += 1;
                    return true;
                }
            }
        }
        if let Some(id) = node.get("projectId").and_then(Node::as_string) {
            // `gcloud projects describe` (and the Resource Manager v3 project).
            // v3's `name` is `projects/NUMBER`; v1's is the display name, and
            // a service account list entry's (`projects/ID/serviceAccounts/EMAIL`,
            // beside its `projectId`) names no project number.
            let numbered = name
                .and_then(|n| n.strip_prefix("projects/"))
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            let number = node
                .get("projectNumber")
                .and_then(Node::as_str)
                .map(str::to_string)
                .or_else(|| numbered.map(str::to_string));
            if number.is_some() || has("lifecycleState") || has("createTime") {
                self.projects.push(Project {
                    file,
                    node,
                    id: Some(id),
                    number,
                });
                self.count += 1;
                return true;
            }
        }
        if let Some(email) = node.get("email").and_then(Node::as_string) {
            let listed = has("uniqueId") || name.is_some_and(|n| n.starts_with("projects/"));
            if email.ends_with(".gserviceaccount.com") && listed {
                self.accounts.push(AccountEntry {
                    email,
                    unique_id: node.get("uniqueId").and_then(Node::as_str),
                });
                self.count += 1;
                return true;
            }
        }
        false
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
        self.count += 1;
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
        self.count += 1;
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
}

impl<'a> Model<'a> {
    /// Standalone node-pool dumps name their cluster only in `selfLink`.
    pub(super) fn link_node_pools(&mut self) {
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

    pub(super) fn resolve_policies(&mut self, pending: Vec<PendingPolicy<'a>>, config: &Config) {
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
        // Each policy's resource is found in parallel (file names, content,
        // globs: a scan may hold thousands), then deduplicated in scan order.
        let this = &*self;
        let resolved: Vec<(Option<(PolicyResource, &'static str)>, String)> = pending
            .par_iter()
            .map(|&(file, node, ref asset_resource, how)| {
                let mut resolved = asset_resource.clone().map(|r| (r, how));
                if let Some((PolicyResource::ServiceAccount(id), _)) = &mut resolved {
                    if let Some(email) = accounts.get(id.as_str()) {
                        *id = email.to_string();
                    }
                }
                let fname = &this.files[file as usize].source().name;
                if resolved.is_none() {
                    resolved = this
                        .resource_from_file_name(fname)
                        .map(|r| (r, "file name"));
                }
                if resolved.is_none() {
                    resolved = this
                        .resource_from_content(node)
                        .map(|r| (r, "content (service agents)"));
                }
                if resolved.is_none() {
                    resolved = mappings
                        .iter()
                        .find(|(g, _)| config.glob_matches(g, fname))
                        .and_then(|(_, r)| r.clone())
                        .map(|r| (r, "config iam_policies"));
                }
                let key = resolved
                    .as_ref()
                    .map(|(r, _)| format!("{r:?}"))
                    .unwrap_or_default();
                (resolved, key)
            })
            .collect();
        let mut seen: super::Set<(String, &str)> = Default::default();
        let kept: Vec<_> = pending
            .into_iter()
            .zip(resolved)
            .filter_map(|((file, node, _, _), (resolved, key))| {
                // The same resource dumped twice is one resource.
                let text = self.files[file as usize].source().slice(node.span());
                (key.is_empty() || seen.insert((key, text))).then_some((file, node, resolved))
            })
            .collect();
        let policies: Vec<Policy<'a>> = kept
            .into_par_iter()
            .map(|(file, node, resolved)| {
                let (resource, resolved_by) = match resolved {
                    Some((r, how)) => (Some(r), how),
                    None => (None, ""),
                };
                Policy {
                    file,
                    node,
                    resource,
                    resolved_by,
                    bindings: collect_bindings(node),
                }
            })
            .collect();
        self.policies.extend(policies);
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
            Path::new(&self.files[f as usize].source().name)
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
}

/// An IAM policy as `get-iam-policy` prints it: `bindings` (each with a
/// `role` and `members`), `etag`, `version`, `auditConfigs`, and nothing else.
fn is_policy(n: Node<'_>) -> bool {
    let mut keys = 0;
    for (k, _) in n.entries() {
        match k.text() {
            Some("bindings" | "etag" | "version" | "auditConfigs") => keys += 1,
            _ => return false,
        }
    }
    if keys == 0 {
        return false;
    }
    match n.get("bindings") {
        None => n.get("etag").is_some(),
        Some(b) if b.is_map() => is_binding(b),
        Some(b) => b.as_seq().is_some_and(|items| items.iter().all(is_binding)),
    }
}

fn is_binding(b: Node<'_>) -> bool {
    b.get("role").and_then(Node::as_string).is_some()
        && b.get("members")
            .is_some_and(|m| m.as_string().is_some() || m.is_seq())
}

/// One entry of `gcloud services list` (or the Service Usage API):
/// `config.name` and `state`, or `name: projects/N/services/SERVICE`.
fn is_service(n: Node<'_>) -> bool {
    n.path(&["config", "name"])
        .and_then(Node::as_string)
        .is_some()
        && n.get("state").is_some()
        || n.get("name")
            .and_then(Node::as_string)
            .is_some_and(|s| s.starts_with("projects/") && s.contains("/services/"))
}

/// An IAM policy found while classifying, before its resource is known.
pub(super) type PendingPolicy<'a> = (FileId, Node<'a>, Option<PolicyResource>, &'static str);

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
            let role = b.get("role")?;
            Some(Binding {
                node: b,
                role,
                role_text: role.as_str().unwrap_or(""),
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
