//! The model rules query: documents classified (Kubernetes objects in
//! `kubernetes.rs`, gcloud dumps in `gcloud.rs`) and indexed: objects by
//! namespace/name, pod templates, GSAs by email, IAM policies by resource,
//! clusters and node pools, projects and enabled services.

mod gcloud;
mod kubernetes;

use std::collections::{HashMap, HashSet};

use crate::config::Config;
use crate::parse::{Node, ParsedFile};
use crate::source::{FileId, Location, Span};
use crate::wi;

pub use gcloud::*;
pub use kubernetes::*;

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
    /// Whether each file is one kwi-lint judges: it holds a Kubernetes
    /// object or a dump shape it knows (or, when broken, looks like one).
    pub ours: Vec<bool>,
    /// Cluster scope of each file with manifests (index into `clusters`).
    pub scope: HashMap<FileId, usize>,
    pub stats: Stats,
}

impl<'a> Model<'a> {
    pub fn build(files: &'a [ParsedFile], config: &Config) -> Model<'a> {
        let mut m = Model {
            files: files.iter().collect(),
            ..Model::default()
        };
        let mut pending_policies = Vec::new();
        m.ours = vec![false; files.len()];
        for f in files {
            for root in f.roots() {
                // A `.json` file that only parsed as YAML counts only for its objects.
                let ours = m.classify_object(f.id, root, 0)
                    || !f.yaml_in_json && m.classify_gcloud(f.id, root, &mut pending_policies, 0);
                if ours {
                    m.ours[f.id as usize] = true;
                } else {
                    m.stats.unknown_documents += 1;
                }
            }
            if f.looks_ours {
                m.ours[f.id as usize] = true;
            }
        }
        m.index_objects();
        m.link_node_pools();
        m.resolve_policies(pending_policies, config);
        m.index_members();
        m.assign_scopes(config);
        m
    }

    /// Whether kwi-lint judges this file (see `ours`).
    pub fn is_ours(&self, id: FileId) -> bool {
        self.ours.get(id as usize).copied().unwrap_or(false)
    }

    /// The comment after `node` on its line, when it says a tool sets the
    /// value (kpt setters: `# kpt-set: ${project}`, `# {"$kpt-set":"project"}`,
    /// `io.k8s.cli.setters`): the value in the file is a placeholder.
    pub fn set_by_tool(&self, node: Node<'_>) -> Option<&str> {
        let f = self.files.get(node.file() as usize)?;
        let end = node.span().end;
        let i = f.comments.partition_point(|c| c.start < end);
        let c = *f.comments.get(i)?;
        let between = f.source.text.get(end as usize..c.start as usize)?;
        let text = f.source.slice(c);
        let marker = ["kpt-set", "io.k8s.cli.setters", "io.k8s.cli.substitutions"];
        (!between.contains('\n') && marker.iter().any(|m| text.contains(m))).then_some(text)
    }

    pub fn file_name(&self, id: FileId) -> &str {
        &self.files[id as usize].source.name
    }

    /// `file:line:col` of a location.
    pub fn location_at(&self, at: Location) -> String {
        self.location(at.file, at.span)
    }

    /// `file:line:col` of the start of `span` in file `id`.
    pub fn location(&self, id: FileId, span: Span) -> String {
        let src = &self.files[id as usize].source;
        let p = src.position(span.start as usize);
        format!("{}:{}:{}", src.name, p.line, p.column)
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

fn cluster_matches(c: &Cluster, name: &str) -> bool {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        [n] => c.name == *n,
        [l, n] => c.name == *n && c.location == Some(*l),
        [p, l, n] => c.name == *n && c.location == Some(*l) && c.project.as_deref() == Some(*p),
        _ => false,
    }
}
