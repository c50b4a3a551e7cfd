//! The model rules query: documents classified (Kubernetes objects in
//! `kubernetes.rs`, gcloud dumps in `gcloud.rs`) and indexed: objects by
//! namespace/name, pod templates, GSAs by email, IAM policies by resource,
//! clusters and node pools, projects and enabled services.

mod gcloud;
mod kubernetes;
pub mod kustomize;
mod scopes;

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use crate::config::Config;
use crate::parse::{Node, ParsedFile};
use crate::source::{FileId, Location, Span};
use crate::wi;

pub use gcloud::*;
pub use kubernetes::*;
pub use scopes::{cluster_matches, Scope, DEFAULT_SCOPE};

/// The model's indexes, looked up for every object by every rule with keys
/// from the scan: foldhash hashes them several times faster than std's
/// SipHash and is seeded at random, so a crafted repository cannot make its
/// keys collide.
pub type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
pub type Set<K> = HashSet<K, foldhash::fast::RandomState>;

/// What a few hundred files hold, found in parallel: their Kubernetes
/// objects and gcloud dumps in order (with what was read from them), the
/// files holding either, and how many documents were neither.
type Classified<'a> = (Found<'a>, Dumps<'a>, Vec<FileId>, usize);

/// Files per parallel task when the model classifies documents.
const FILES_PER_TASK: usize = 256;

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
    /// NetworkPolicies by namespace (a policy never selects pods of another),
    /// in object order: read beside the objects, while their nodes are in
    /// the cache.
    pub network_policies: Map<&'a str, Vec<crate::netpol::NetworkPolicy<'a>>>,
    /// Every `ignore.kwi-lint.io/…` annotation: object index, key, value,
    /// in object order.
    pub ignore_annotations: Vec<(usize, Node<'a>, Node<'a>)>,
    /// (namespace, name) → indexes into `objects`, for ServiceAccounts (one
    /// per scope that renders it).
    pub service_accounts: Map<(&'a str, &'a str), Vec<usize>>,
    pub sa_namespaces: Set<&'a str>,
    /// (kind, namespace) → indexes into `objects`, in scan order.
    pub by_kind_ns: Map<(&'a str, &'a str), Vec<usize>>,
    /// Namespace name → indexes into `objects` of the Namespace objects
    /// that define it (every pod asks for its namespace's labels).
    pub namespaces: Map<&'a str, Vec<usize>>,
    pub clusters: Vec<Cluster<'a>>,
    pub node_pools: Vec<NodePool<'a>>,
    pub policies: Vec<Policy<'a>>,
    pub services: Vec<Services<'a>>,
    pub projects: Vec<Project<'a>>,
    pub accounts: Vec<AccountEntry<'a>>,
    pub custom_roles: Vec<CustomRole<'a>>,
    pub memberships: Vec<Membership<'a>>,
    /// GSA email → indexes into `policies`.
    pub policies_by_gsa: Map<String, Vec<usize>>,
    /// Every Workload Identity member of every policy, parsed once:
    /// (policy index, binding index, member node, member).
    pub members: Vec<(usize, usize, Node<'a>, wi::Member)>,
    /// Namespace → KSA → indexes into `members` that name it, in policy
    /// order; KSA empty for a namespace-wide set. Two levels, so that a
    /// lookup by `&str` makes no strings.
    member_ksas: Map<String, Map<String, Vec<usize>>>,
    /// Indexes into `members` of sets that name no namespace (a cluster,
    /// a KSA UID, the whole pool, token attributes): checked for every KSA.
    pub member_sets: Vec<usize>,
    /// `assume: {workload_pool: …}` from the config.
    pub assumed_pool: Option<String>,
    /// `assume: {workload_identity: true}`: every pod is a WI pod.
    pub assume_wi: bool,
    /// Whether each file is one kwi-lint judges: it holds a Kubernetes
    /// object or a dump shape it knows (or, when broken, looks like one).
    pub ours: Vec<bool>,
    /// What is deployed together: the default scope, then each kustomization root.
    pub scopes: Vec<Scope>,
    /// Files of the default scope mapped to a cluster by `clusters:`.
    pub file_clusters: Map<FileId, usize>,
    /// 0..clusters.len(): the clusters an unmapped object could run on.
    pub all_clusters: Vec<usize>,
    /// Entries of kustomizations that could not be evaluated (KWI007).
    pub kustomize_notes: &'a [kustomize::Note],
    pub stats: Stats,
    /// `wi_reason` of each workload (same order), worked out when first
    /// asked: eight rules ask it, each answer walks the IAM members, and most
    /// rules ask only of the pods their cheaper tests pick.
    wi_reasons: Vec<std::sync::OnceLock<Option<WiReason>>>,
}

impl<'a> Model<'a> {
    pub fn build(
        files: &'a [ParsedFile],
        rendering: &'a kustomize::Rendering,
        config: &Config,
    ) -> Model<'a> {
        let mut m = Model {
            files: files.iter().collect(),
            kustomize_notes: &rendering.notes,
            assumed_pool: config.assume.workload_pool.clone(),
            assume_wi: config.assume.workload_identity,
            ..Model::default()
        };
        m.scopes.push(Scope {
            name: "default".into(),
            root: None,
            clusters: Vec::new(),
            bound_by: None,
            unevaluated: Vec::new(),
            kustomizations: Vec::new(),
        });
        let mut pending_policies = Vec::new();
        m.ours = vec![false; files.len()];
        // Nearly every document is an object: room for all of them at once
        // (a doubled vector of 10⁵ objects kept megabytes of slack all run).
        let documents = files.iter().map(|f| f.tree.docs.len()).sum::<usize>()
            + rendering.trees.iter().map(|t| t.docs.len()).sum::<usize>();
        m.objects.reserve_exact(documents);
        // Config `scopes:` split the files in no kustomization.
        let config_scopes: Vec<globset::GlobSet> = config
            .scopes
            .iter()
            .map(|s| crate::walk::build_globset(&s.manifests).unwrap_or_default())
            .collect();
        for s in &config.scopes {
            m.scopes.push(Scope {
                name: s.name.clone(),
                root: None,
                clusters: Vec::new(),
                bound_by: None,
                unevaluated: Vec::new(),
                kustomizations: Vec::new(),
            });
        }
        // Read by a kustomization (linted as rendered, below), or in a
        // kustomization's folder without being read (never deployed).
        let rendered =
            |f: &ParsedFile| rendering.consumed.contains(&f.id) || rendering.unused.contains(&f.id);
        // Documents that are Kubernetes objects or gcloud dumps, found in
        // parallel (it reads every document's top keys, pod template and
        // annotations), a few hundred files at a time, each warmed first:
        // their objects and dumps in order.
        let found: Vec<Classified<'a>> = files
            .par_chunks(FILES_PER_TASK)
            .map(|some| {
                let mut found = Found::default();
                let mut dumps = Dumps::default();
                let mut ours = Vec::new();
                let mut unknown = 0;
                for f in some {
                    if rendered(f) {
                        continue;
                    }
                    let scope = config_scopes
                        .iter()
                        .position(|g| config.glob_matches(g, &f.source().name))
                        .map_or(DEFAULT_SCOPE, |i| i + 1);
                    f.tree.warm();
                    for root in f.roots() {
                        // A `.json` file that only parsed as YAML counts only for its objects.
                        if found.add_document(f.id, root, scope)
                            || !f.yaml_in_json && dumps.classify(f.id, root, 0)
                        {
                            ours.push(f.id);
                        } else {
                            unknown += 1;
                        }
                    }
                }
                (found, dumps, ours, unknown)
            })
            .collect();
        for (task, dumps, ours, unknown) in found {
            for id in ours {
                m.ours[id as usize] = true;
            }
            m.add_found(task);
            m.add_dumps(dumps, &mut pending_policies);
            m.stats.unknown_documents += unknown;
        }
        for f in files {
            if rendered(f) || f.looks_ours {
                m.ours[f.id as usize] = true;
            }
        }
        for (tree, root) in rendering.trees.iter().zip(&rendering.roots) {
            m.scopes.push(Scope {
                name: root.dir.clone(),
                root: Some(root.file),
                clusters: Vec::new(),
                bound_by: None,
                unevaluated: root.unevaluated.clone(),
                kustomizations: root.kustomizations.clone(),
            });
            let scope = m.scopes.len() - 1;
            for obj in tree.roots() {
                let mut found = Found::default();
                found.add_document(obj.file(), obj, scope);
                m.add_found(found);
            }
        }
        // The objects' indexes and the gcloud steps (what follows from the
        // dumps) read disjoint parts of the model (neither reads objects):
        // side by side.
        let objects = std::mem::take(&mut m.objects);
        let (index, ()) = rayon::join(
            || ObjectIndex::of(&objects),
            || {
                m.link_node_pools();
                m.resolve_policies(pending_policies, config);
                m.index_members();
            },
        );
        m.objects = objects;
        m.set_object_index(index);
        m.all_clusters = (0..m.clusters.len()).collect();
        m.bind_scopes(config);
        m.drop_controlled_workloads();
        m.wi_reasons = m.workloads.iter().map(|_| Default::default()).collect();
        m
    }

    /// The files object `index` was assembled from: the files of its nodes
    /// and, for a rendered object, every kustomization of its scope.
    pub fn object_inputs(&self, index: usize) -> Vec<FileId> {
        let o = &self.objects[index];
        let mut files = vec![o.file];
        if o.scope != DEFAULT_SCOPE {
            let mut stack = vec![o.node];
            while let Some(n) = stack.pop() {
                files.push(n.file());
                stack.extend(n.entries().flat_map(|(k, v)| [k, v]));
                stack.extend(n.items());
            }
            files.extend(&self.scopes[o.scope].kustomizations);
        }
        files.sort_unstable();
        files.dedup();
        files
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
        let between = f.source().text.get(end as usize..c.start as usize)?;
        let text = f.source().slice(c);
        let marker = ["kpt-set", "io.k8s.cli.setters", "io.k8s.cli.substitutions"];
        (!between.contains('\n') && marker.iter().any(|m| text.contains(m))).then_some(text)
    }

    pub fn file_name(&self, id: FileId) -> &str {
        &self.files[id as usize].source().name
    }

    /// `file:line:col` of a location.
    pub fn location_at(&self, at: Location) -> String {
        self.location(at.file, at.span)
    }

    /// `file:line:col` of the start of `span` in file `id`.
    pub fn location(&self, id: FileId, span: Span) -> String {
        let src = &self.files[id as usize].source();
        let p = src.position(span.start as usize);
        p.in_file(&src.name)
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

    /// The Namespace object `of` runs in, among those deployed with it
    /// (its scope's first).
    pub fn namespace_of(&self, of: &Object<'a>) -> Option<&Object<'a>> {
        let found: Vec<&Object<'a>> = self
            .namespaces
            .get(of.namespace)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|i| &self.objects[*i])
            .filter(|o| self.together(of, o))
            .collect();
        found
            .iter()
            .find(|o| o.scope == of.scope)
            .or(found.first())
            .copied()
    }

    /// A ServiceAccount anywhere in the scan (for "is it defined at all").
    pub fn service_account(&self, ns: &str, name: &str) -> Option<&Object<'a>> {
        self.service_accounts
            .get(&(ns, name))
            .and_then(|v| v.first())
            .map(|i| &self.objects[*i])
    }

    /// The ServiceAccount a pod of object `of` runs as, among those deployed
    /// with it (its scope's first).
    pub fn service_account_of(&self, of: &Object<'a>, name: &str) -> Option<&Object<'a>> {
        let all = self.service_accounts.get(&(of.namespace, name))?;
        let mut seen = all
            .iter()
            .map(|i| &self.objects[*i])
            .filter(|sa| self.together(of, sa));
        let first = seen.next()?;
        Some(
            std::iter::once(first)
                .chain(seen)
                .find(|sa| sa.scope == of.scope)
                .unwrap_or(first),
        )
    }

    /// The WI annotation (key node, value node) of a ServiceAccount.
    pub fn wi_annotation(o: &Object<'a>) -> Option<(Node<'a>, Node<'a>)> {
        o.metadata()?.get("annotations")?.entry(wi::ANNOTATION)
    }

    /// Policies whose resource is the GSA `email`.
    pub fn gsa_policies(&self, email: &str) -> impl Iterator<Item = &Policy<'a>> {
        self.gsa_policy_ids(email)
            .iter()
            .map(|i| &self.policies[*i])
    }

    /// Indexes (into `policies`) of the IAM policies of GSA `email`, in scan order.
    pub fn gsa_policy_ids(&self, email: &str) -> &[usize] {
        self.policies_by_gsa
            .get(email)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The Workload Identity members of policy `pi` (binding index, node,
    /// parsed), in binding order: parsed once, when the model was built.
    pub fn policy_members(&self, pi: usize) -> &[(usize, usize, Node<'a>, wi::Member)] {
        // `members` is in policy order.
        let from = self.members.partition_point(|m| m.0 < pi);
        let to = self.members.partition_point(|m| m.0 <= pi);
        &self.members[from..to]
    }

    fn index_members(&mut self) {
        for (pi, p) in self.policies.iter().enumerate() {
            if let Some(PolicyResource::ServiceAccount(e)) = &p.resource {
                self.policies_by_gsa.entry(e.clone()).or_default().push(pi);
            }
        }
        // Members are parsed in parallel, a policy at a time, then indexed in order.
        let parsed: Vec<Vec<wi::Member>> = self
            .policies
            .par_iter()
            .map(|p| {
                p.bindings
                    .iter()
                    .flat_map(|b| &b.members)
                    .map(|m| wi::parse_member(m.as_str().unwrap_or("")))
                    .collect()
            })
            .collect();
        for ((pi, p), parsed) in self.policies.iter().enumerate().zip(parsed) {
            let mut parsed = parsed.into_iter();
            for (bi, b) in p.bindings.iter().enumerate() {
                for (m, parsed) in b.members.iter().zip(parsed.by_ref()) {
                    let key = match &parsed {
                        wi::Member::Other | wi::Member::Malformed(_) => None,
                        m => match m.names() {
                            Some((ns, ksa)) => Some((ns, ksa.unwrap_or(""))),
                            None => {
                                self.member_sets.push(self.members.len());
                                None
                            }
                        },
                    };
                    if matches!(parsed, wi::Member::Other) {
                        continue;
                    }
                    if let Some((ns, ksa)) = key {
                        self.member_ksas
                            .entry(ns.to_string())
                            .or_default()
                            .entry(ksa.to_string())
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

    /// The number of project `id`, from a project dump.
    pub fn project_number(&self, id: &str) -> Option<&str> {
        self.projects
            .iter()
            .find(|p| p.id == Some(id))
            .and_then(|p| p.number.as_deref())
    }

    /// The workload pool an object's KSAs belong to: its clusters' (when
    /// every cluster it could run on has the same), else the assumed one;
    /// `None`: not known.
    pub fn pool_for(&self, o: &Object<'a>) -> Option<&str> {
        let mut pools = self
            .clusters_for(o)
            .iter()
            .filter_map(|c| self.clusters[*c].pool());
        match (pools.next(), pools.next()) {
            (Some(p), None) => Some(p),
            (Some(_), Some(_)) => None,
            (None, _) => self.assumed_pool.as_deref(),
        }
    }

    /// The fleet pools a cluster may use instead of its project's: its
    /// fleet host project's (`fleet.project`, a number mapped through a
    /// project dump) and any fleet membership dump's for it. `None` in the
    /// list's place when `fleet.project` is a number no dump names (the
    /// pool cannot be checked).
    pub fn fleet_pools(&self, c: &Cluster<'a>) -> (Vec<String>, bool) {
        let mut pools = Vec::new();
        let mut unknown = false;
        if let Some(fp) = c.fleet_project() {
            if fp.bytes().all(|b| b.is_ascii_digit()) {
                match self
                    .projects
                    .iter()
                    .find(|p| p.number.as_deref() == Some(fp))
                    .and_then(|p| p.id)
                {
                    Some(id) => pools.push(format!("{id}.svc.id.goog")),
                    None => unknown = true,
                }
            } else {
                pools.push(format!("{fp}.svc.id.goog"));
            }
        }
        for m in &self.memberships {
            let link = wi::ClusterRef::parse(m.cluster_link);
            if link.is_some_and(|l| {
                l.name == c.name
                    && c.location.is_none_or(|loc| loc == l.location)
                    && c.project.as_deref().is_none_or(|p| {
                        p == l.project || self.project_number(p) == Some(l.project.as_str())
                    })
            }) {
                pools.push(m.pool.to_string());
            }
        }
        (pools, unknown)
    }

    /// Who pods of object `o` running as KSA `ksa` are, for coverage checks.
    pub fn subject_for<'s>(&'s self, o: &'s Object<'a>, ksa: &'s str) -> wi::Subject<'s> {
        let pool = self.pool_for(o);
        let pool_number = pool
            .and_then(|p| p.strip_suffix(".svc.id.goog"))
            .and_then(|id| self.project_number(id));
        let uid = self
            .service_account_of(o, ksa)
            .and_then(|sa| sa.node.path(&["metadata", "uid"]))
            .and_then(Node::as_str);
        let cluster = self.cluster_of(o).and_then(|c| {
            let id = c.project.as_deref()?;
            Some((id, self.project_number(id), c.location?, c.name))
        });
        wi::Subject {
            pool,
            pool_number,
            ns: o.namespace,
            ksa,
            uid,
            cluster,
        }
    }

    /// Indexes into `members` of those that name KSA `ksa` of namespace
    /// `ns` (`ksa` empty: those that name the whole namespace).
    pub fn members_naming(&self, ns: &str, ksa: &str) -> &[usize] {
        self.member_ksas
            .get(ns)
            .and_then(|by_ksa| by_ksa.get(ksa))
            .map_or(&[], Vec::as_slice)
    }

    /// The WI members that may let subject `s` act, in policy order, with
    /// how sure that is: an index lookup, not a scan of every member.
    pub fn wi_members_covering(
        &self,
        s: &wi::Subject,
    ) -> Vec<(
        &Policy<'a>,
        &Binding<'a>,
        Node<'a>,
        &wi::Member,
        wi::Coverage,
    )> {
        let mut idx: Vec<usize> = [s.ksa, ""]
            .iter()
            .flat_map(|k| self.members_naming(s.ns, k))
            .chain(&self.member_sets)
            .copied()
            .collect();
        idx.sort_unstable();
        idx.dedup();
        idx.into_iter()
            .filter_map(|i| {
                let (pi, bi, node, m) = &self.members[i];
                let c = m.coverage(s);
                (c != wi::Coverage::No).then(|| {
                    let p = &self.policies[*pi];
                    (p, &p.bindings[*bi], *node, m, c)
                })
            })
            .collect()
    }

    /// Why a workload is a "WI pod" (SPEC §3.1), or `None` when it is not.
    pub fn wi_reason(&self, w: &Workload<'a>) -> Option<WiReason> {
        match self.cached_wi_reason(w) {
            Some(reason) => reason.clone(),
            None => self.find_wi_reason(w),
        }
    }

    /// The reason computed once per workload of the model (none for a
    /// workload that is not one of them).
    fn cached_wi_reason(&self, w: &Workload<'a>) -> Option<&Option<WiReason>> {
        // Workloads are in object order, one per object.
        let i = self.workloads.partition_point(|x| x.object < w.object);
        match self.wi_reasons.get(i) {
            Some(reason) if self.workloads[i].object == w.object => {
                Some(reason.get_or_init(|| self.find_wi_reason(w)))
            }
            _ => None,
        }
    }

    fn find_wi_reason(&self, w: &Workload<'a>) -> Option<WiReason> {
        let o = &self.objects[w.object];
        if let Some((key, _)) = self
            .service_account_of(o, w.ksa)
            .and_then(Self::wi_annotation)
        {
            return Some(WiReason::Annotated(key.loc()));
        }
        if !self.members.is_empty() {
            let s = self.subject_for(o, w.ksa);
            if let Some((_, _, node, m, _)) = self
                .wi_members_covering(&s)
                .into_iter()
                .find(|c| c.4 == wi::Coverage::Yes)
            {
                return Some(WiReason::Member(node.loc(), m.describe()));
            }
        }
        let clusters = self.clusters_for(o);
        let pooled = if clusters.is_empty() {
            self.assumed_pool.is_some()
        } else {
            clusters.iter().all(|c| self.clusters[*c].pool().is_some())
        };
        if pooled {
            if let Some(name) = google_env(w.spec) {
                return Some(WiReason::CallsGoogle(
                    name.loc(),
                    name.as_str().unwrap_or("").to_string(),
                ));
            }
        }
        self.assume_wi.then_some(WiReason::Assumed)
    }

    /// Is this workload a "WI pod" (SPEC §3.1)?
    pub fn is_wi_workload(&self, w: &Workload<'a>) -> bool {
        // Asked of every workload by many rules: the cached reason is not copied.
        match self.cached_wi_reason(w) {
            Some(reason) => reason.is_some(),
            None => self.find_wi_reason(w).is_some(),
        }
    }
}

/// What made a pod a Workload Identity pod.
#[derive(Clone, Debug)]
pub enum WiReason {
    /// Its KSA carries `iam.gke.io/gcp-service-account` (the key node).
    Annotated(Location),
    /// An IAM member (its node) covers its KSA, namespace or cluster.
    Member(Location, String),
    /// It runs on a cluster with a workload pool and sets this variable.
    CallsGoogle(Location, String),
    /// `assume: {workload_identity: true}`.
    Assumed,
}

impl WiReason {
    /// Why, in words, for messages: "a WI pod: …".
    pub fn describe(&self) -> String {
        match self {
            WiReason::Annotated(_) => format!("its KSA has the `{}` annotation", wi::ANNOTATION),
            WiReason::Member(_, what) => format!("IAM grants roles to {what}"),
            WiReason::CallsGoogle(_, var) => format!(
                "it sets `{var}` on a cluster with a workload pool, so it calls Google APIs through the GKE metadata server"
            ),
            WiReason::Assumed => "the config says `assume: {workload_identity: true}`".into(),
        }
    }

    /// Where the reason is written (none for the config assumption).
    pub fn location(&self) -> Option<Location> {
        match self {
            WiReason::Annotated(l) | WiReason::Member(l, _) | WiReason::CallsGoogle(l, _) => {
                Some(*l)
            }
            WiReason::Assumed => None,
        }
    }
}

/// The first env variable of any container that shows the pod calls Google
/// APIs (its name node).
fn google_env<'a>(spec: Node<'a>) -> Option<Node<'a>> {
    const VARS: &[&str] = &[
        "GOOGLE_CLOUD_PROJECT",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GCE_METADATA_HOST",
    ];
    ["initContainers", "containers"]
        .iter()
        .flat_map(|k| spec.seq_at(k))
        .flat_map(|c| c.seq_at("env"))
        .filter_map(|e| e.get("name"))
        .find(|n| {
            n.as_str()
                .is_some_and(|v| VARS.contains(&v) || v.starts_with("CLOUDSDK_"))
        })
}
