//! Kubernetes objects: what a document with `apiVersion` and `kind` is, and
//! the pod templates inside workloads.

use crate::netpol::NetworkPolicy;
use crate::parse::{Entries, Node};
use crate::source::{FileId, Location};

use super::{Map, Model, Set};

#[derive(Debug)]
pub struct Object<'a> {
    /// Its index in `Model::objects` (findings name their object by it).
    pub index: usize,
    /// Its scope (index into `Model::scopes`): what is deployed with it.
    pub scope: usize,
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
    /// Where the name is written (or the object, when it has none).
    pub fn name_loc(&self) -> Location {
        self.node
            .path(&["metadata", "name"])
            .map(|n| n.loc())
            .unwrap_or(self.node.loc())
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
    /// Whether it has `metadata.ownerReferences` (read while the object's
    /// nodes are in the cache): only those can be a controller's copy.
    pub owned: bool,
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

/// Kinds and API versions the model and rules compare against, or met
/// often: an object's `kind` and `apiVersion` point to these tables (and to
/// `CLUSTER_SCOPED` and `WORKLOAD_KINDS`), not into its file's text, so the
/// passes over every object that compare them (the indexes, scopes,
/// NetworkPolicies, ServiceAccounts) do not touch a cache line of every
/// file. Any other value points into the text.
const MORE_KINDS: &[&str] = &[
    "Pod",
    "CronJob",
    "Service",
    "ServiceAccount",
    "ConfigMap",
    "Secret",
    "NetworkPolicy",
    "Role",
    "RoleBinding",
    "Ingress",
    "PersistentVolumeClaim",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "Application",
    "Kustomization",
    "HelmRelease",
    "IAMPolicyMember",
    "IAMPolicy",
    "IAMPartialPolicy",
    "IAMServiceAccount",
    "Sidecar",
    "ServiceEntry",
    "Rollout",
];

const KNOWN_API_VERSIONS: &[&str] = &[
    "v1",
    "apps/v1",
    "batch/v1",
    "networking.k8s.io/v1",
    "rbac.authorization.k8s.io/v1",
    "policy/v1",
    "autoscaling/v2",
    "argoproj.io/v1alpha1",
    "iam.cnrm.cloud.google.com/v1beta1",
    "networking.istio.io/v1",
    "networking.istio.io/v1beta1",
    "networking.istio.io/v1alpha3",
];

/// `text` itself, or the equal string of a table (see `MORE_KINDS`).
fn known<'a>(text: &'a str, tables: &[&'static [&'static str]]) -> &'a str {
    tables
        .iter()
        .flat_map(|t| t.iter())
        .find(|k| **k == text)
        .map_or(text, |k| k)
}

/// The Kubernetes objects of a document (`apiVersion` and `kind`), with
/// `List`s expanded, into `found` (their `index` is set when the model takes
/// them); `false` when the document is not one. Reads nothing but the
/// document, so files are classified in parallel.
fn objects_of<'a>(
    file: FileId,
    node: Node<'a>,
    scope: usize,
    depth: usize,
    found: &mut Found<'a>,
) -> bool {
    let kind = node.get("kind").and_then(Node::as_string);
    let api_version = node.get("apiVersion").and_then(Node::as_string);
    let (Some(kind), Some(api_version)) = (kind, api_version) else {
        return false;
    };
    if kind.ends_with("List") {
        if let Some(items) = node.get("items").and_then(Node::as_seq) {
            for item in items {
                if depth < 3 {
                    objects_of(file, item, scope, depth + 1, found);
                }
            }
            return true;
        }
    }
    if api_version.starts_with("kustomize.config.k8s.io") {
        // A kustomization is read by the renderer, not linted as an object.
        return true;
    }
    let namespace = if CLUSTER_SCOPED.contains(&kind) {
        ""
    } else {
        let ns = node
            .path(&["metadata", "namespace"])
            .and_then(Node::as_str)
            .unwrap_or("default");
        // The first of this task's objects to name it: one copy in cache
        // for all of them (a scan has far fewer namespaces than objects).
        *found.namespaces.entry(ns).or_insert(ns)
    };
    let name = node.path(&["metadata", "name"]).and_then(Node::as_str);
    found.objects.push(Object {
        index: 0,
        scope,
        file,
        node,
        kind: known(kind, &[WORKLOAD_KINDS, MORE_KINDS, CLUSTER_SCOPED]),
        api_version: known(api_version, &[KNOWN_API_VERSIONS]),
        name,
        namespace,
    });
    true
}

/// Annotations that suppress findings on their object (`suppress.rs`).
pub const IGNORE_ANNOTATION_PREFIX: &str = "ignore.kwi-lint.io/";

/// Objects, and what the model reads from each while its nodes are still in
/// the core's cache: its pod template, its `ignore.kwi-lint.io/`
/// annotations and, for a NetworkPolicy, the policy, numbered by the
/// object's place in `objects`.
#[derive(Default)]
pub(super) struct Found<'a> {
    pub objects: Vec<Object<'a>>,
    pub workloads: Vec<Workload<'a>>,
    pub ignores: Vec<(usize, Node<'a>, Node<'a>)>,
    pub network_policies: Vec<NetworkPolicy<'a>>,
    /// Each namespace named, as first met (see `objects_of`).
    namespaces: Map<&'a str, &'a str>,
}

impl<'a> Found<'a> {
    /// The objects of a document (see `objects_of`); `false` when it is not one.
    pub fn add_document(&mut self, file: FileId, root: Node<'a>, scope: usize) -> bool {
        let first = self.objects.len();
        let is_object = objects_of(file, root, scope, 0, self);
        for (i, o) in self.objects.iter().enumerate().skip(first) {
            if let Some(w) = workload_of(o) {
                self.workloads.push(Workload { object: i, ..w });
            }
            if o.kind == "NetworkPolicy" && o.api_version.starts_with("networking.k8s.io/") {
                self.network_policies.push(NetworkPolicy::from_object(i, o));
            }
            for (k, v) in o.annotations() {
                if k.as_str()
                    .is_some_and(|k| k.starts_with(IGNORE_ANNOTATION_PREFIX))
                {
                    self.ignores.push((i, k, v));
                }
            }
        }
        is_object
    }
}

/// The pod template of a workload (or the Pod itself) and its service account.
fn workload_of<'a>(o: &Object<'a>) -> Option<Workload<'a>> {
    let template = match o.kind {
        "Pod" => Some(o.node),
        "CronJob" => o.node.path(&["spec", "jobTemplate", "spec", "template"]),
        k if WORKLOAD_KINDS.contains(&k) => o.node.path(&["spec", "template"]),
        _ => None,
    }?;
    let spec = template.get("spec").filter(|s| s.as_map().is_some())?;
    let ksa_node = spec
        .get("serviceAccountName")
        .filter(|n| n.as_str().is_some_and(|s| !s.is_empty()))
        .or_else(|| {
            spec.get("serviceAccount")
                .filter(|n| n.as_str().is_some_and(|s| !s.is_empty()))
        });
    let ksa = ksa_node.and_then(Node::as_str).unwrap_or("default");
    Some(Workload {
        object: o.index,
        template,
        spec,
        ksa,
        ksa_node,
        owned: o.kind != "Pod" && o.node.path(&["metadata", "ownerReferences"]).is_some(),
    })
}

impl<'a> Model<'a> {
    /// Drops the workloads that are copies of another's template: a
    /// ReplicaSet or Job whose controller (its `ownerReferences` entry with
    /// `controller: true`) is in the scan, or a ReplicaSet its Deployment
    /// scaled to zero. A live export (`kubectl get deploy,rs,pods -o yaml`)
    /// holds a Deployment and its ReplicaSets, made from one template: their
    /// findings belong to the Deployment, where the fix is made, and an old
    /// revision's ReplicaSet runs nothing although it keeps the old template.
    /// Pods stay: they show what admission made of the template (an injected
    /// Istio proxy), which the mesh rules read.
    pub(super) fn drop_controlled_workloads(&mut self) {
        let controlled: Vec<bool> = self
            .workloads
            .iter()
            .map(|w| w.owned && self.is_controlled_copy(&self.objects[w.object]))
            .collect();
        if !controlled.contains(&true) {
            return;
        }
        let mut keep = controlled.into_iter().map(|c| !c);
        self.workloads.retain(|_| keep.next().unwrap_or(true));
    }

    fn is_controlled_copy(&self, o: &Object<'a>) -> bool {
        if o.kind == "Pod" {
            return false;
        }
        let Some(owners) = o.node.path(&["metadata", "ownerReferences"]) else {
            return false;
        };
        let scaled_to_zero = || {
            o.kind == "ReplicaSet"
                && matches!(
                    o.node.path(&["spec", "replicas"]).and_then(Node::scalar),
                    Some(crate::parse::Scalar::Int(0) | crate::parse::Scalar::Uint(0))
                )
        };
        owners
            .items()
            .filter(|r| r.get("controller").and_then(Node::as_bool) == Some(true))
            .any(|r| {
                let kind = r.get("kind").and_then(Node::as_string);
                let name = r.get("name").and_then(Node::as_string);
                // The kinds that own pods or other workloads.
                let mut controllers = WORKLOAD_KINDS.iter().chain(&["CronJob"]).copied();
                let Some(kind) = controllers.find(|k| Some(*k) == kind) else {
                    return false;
                };
                (kind == "Deployment" && scaled_to_zero())
                    || self
                        .objects_in(kind, o.namespace)
                        .any(|owner| owner.name.is_some() && owner.name == name)
            })
    }

    /// Takes objects, numbering them, with what was read from them.
    pub(super) fn add_found(&mut self, found: Found<'a>) {
        let first = self.objects.len();
        self.workloads
            .extend(found.workloads.into_iter().map(|w| Workload {
                object: w.object + first,
                ..w
            }));
        self.ignore_annotations
            .extend(found.ignores.into_iter().map(|(i, k, v)| (i + first, k, v)));
        for p in found.network_policies {
            self.network_policies
                .entry(p.namespace)
                .or_default()
                .push(NetworkPolicy {
                    object: p.object + first,
                    ..p
                });
        }
        for mut o in found.objects {
            o.index = self.objects.len();
            self.objects.push(o);
            self.stats.objects += 1;
        }
    }

    pub(super) fn set_object_index(&mut self, index: ObjectIndex<'a>) {
        self.by_kind_ns = index.by_kind_ns;
        self.namespaces = index.namespaces;
        self.service_accounts = index.service_accounts;
        self.sa_namespaces = index.sa_namespaces;
    }
}

/// The model's indexes of objects, made from the objects alone (so that
/// they can be made beside the steps that read gcloud dumps).
#[derive(Default)]
pub(super) struct ObjectIndex<'a> {
    by_kind_ns: Map<(&'a str, &'a str), Vec<usize>>,
    namespaces: Map<&'a str, Vec<usize>>,
    service_accounts: Map<(&'a str, &'a str), Vec<usize>>,
    sa_namespaces: Set<&'a str>,
}

impl<'a> ObjectIndex<'a> {
    pub(super) fn of(objects: &[Object<'a>]) -> ObjectIndex<'a> {
        let mut ix = ObjectIndex::default();
        for (i, o) in objects.iter().enumerate() {
            ix.by_kind_ns
                .entry((o.kind, o.namespace))
                .or_default()
                .push(i);
            if let ("Namespace", Some(name)) = (o.kind, o.name) {
                ix.namespaces.entry(name).or_default().push(i);
            }
            if o.kind == "ServiceAccount" && o.api_version == "v1" {
                if let Some(name) = o.name {
                    ix.service_accounts
                        .entry((o.namespace, name))
                        .or_default()
                        .push(i);
                    ix.sa_namespaces.insert(o.namespace);
                }
            }
        }
        ix
    }
}
