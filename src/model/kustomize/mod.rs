//! Kustomize, natively: renders every kustomization root the way `kubectl
//! kustomize` (kustomize v5.5) does, for what rules observe. Research and
//! the behaviours confirmed with kubectl: `shared/research/kustomize.md`.
//!
//! Per kustomization: `resources` and `bases` (files, directories with a
//! kustomization), then `components` (their resources join, their
//! transformers run on everything so far), then the transformers in
//! kustomize's fixed order: `patchesStrategicMerge`, `patches`, `namespace`,
//! `namePrefix`/`nameSuffix`, `labels`/`commonLabels`, `commonAnnotations`,
//! `patchesJson6902`. At the root, name references (`serviceAccountName`,
//! binding `subjects`, `roleRef`) follow the objects they name, as
//! kustomize's name-reference pass does. Free-form strings (an IAM member, a
//! GSA annotation) are never rewritten.
//!
//! What cannot be evaluated offline (remote bases, generators, Helm charts,
//! transformer plugins) becomes a note, never a guess.

mod rnode;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use regex::Regex;

use crate::parse::{Node, ParsedFile, Style, Tree};
use crate::source::{FileId, Location, Span};
pub use rnode::{json_patch_op, strategic_merge, RNode, RVal};

pub use crate::walk::KUSTOMIZATION_FILES;

/// The rendered roots of a scan.
#[derive(Debug, Default)]
pub struct Rendering {
    /// One tree per root: its documents are the rendered objects.
    pub trees: Vec<Tree>,
    pub roots: Vec<Root>,
    /// Files a kustomization reads (resources, patches, kustomizations):
    /// their objects are linted as rendered, not as written.
    pub consumed: HashSet<FileId>,
    /// Files in a kustomization's folder (or a subfolder of it) that no
    /// kustomization reads: never deployed through it (a commented-out
    /// resource, an alternative patch in `patches/`).
    pub unused: HashSet<FileId>,
    /// Entries that could not be evaluated (KWI007).
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone)]
pub struct Root {
    /// The root's kustomization file.
    pub file: FileId,
    /// Its folder as shown in output.
    pub dir: String,
    /// Features used in its tree that kwi-lint does not evaluate
    /// (`transformers`, `replacements`, generators…): its rendering may differ
    /// from kustomize's there.
    pub unevaluated: Vec<String>,
    /// Every kustomization its rendering read.
    pub kustomizations: Vec<FileId>,
}

#[derive(Debug, Clone)]
pub struct Note {
    pub at: Location,
    pub message: String,
}

/// An object being rendered, with every (name, namespace) it has had.
#[derive(Debug, Clone)]
struct RObj {
    node: RNode,
    /// (name, namespace) in the order they were set; namespace "" = none.
    ids: Vec<(String, String)>,
    /// The name prefixes and suffixes applied to it, innermost first: with
    /// several candidates, a reference goes to the one whose match the referrer's.
    affixes: Vec<(String, String)>,
}

impl RObj {
    fn new(node: RNode) -> RObj {
        let name = node.str_at(&["metadata", "name"]).unwrap_or("").to_string();
        let ns = node
            .str_at(&["metadata", "namespace"])
            .unwrap_or("")
            .to_string();
        RObj {
            node,
            ids: vec![(name, ns)],
            affixes: Vec::new(),
        }
    }
    fn kind(&self) -> &str {
        self.node.str_at(&["kind"]).unwrap_or("")
    }
    fn api_version(&self) -> &str {
        self.node.str_at(&["apiVersion"]).unwrap_or("")
    }
    fn name(&self) -> &str {
        self.ids.last().map(|(n, _)| n.as_str()).unwrap_or("")
    }
    fn namespace(&self) -> &str {
        self.ids.last().map(|(_, n)| n.as_str()).unwrap_or("")
    }
    fn record_id(&mut self) {
        let name = self
            .node
            .str_at(&["metadata", "name"])
            .unwrap_or("")
            .to_string();
        let ns = self
            .node
            .str_at(&["metadata", "namespace"])
            .unwrap_or("")
            .to_string();
        if self.ids.last() != Some(&(name.clone(), ns.clone())) {
            self.ids.push((name, ns));
        }
    }
    /// Whether this object ever had `name` in `ns` ("" and "default" are one).
    fn had(&self, name: &str, ns: &str) -> bool {
        self.ids.iter().any(|(n, s)| n == name && same_ns(s, ns))
    }
}

fn same_ns(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> &str {
        if s.is_empty() {
            "default"
        } else {
            s
        }
    }
    norm(a) == norm(b)
}

fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("")
}

/// Kinds kustomize knows to be cluster-scoped (its OpenAPI data); every
/// other kind, custom resources included, gets the namespace.
fn cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "PersistentVolume"
            | "StorageClass"
            | "PriorityClass"
            | "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
            | "APIService"
            | "Node"
            | "CSIDriver"
            | "CSINode"
            | "RuntimeClass"
            | "IngressClass"
            | "PodSecurityPolicy"
            | "VolumeAttachment"
            | "CertificateSigningRequest"
            | "ComponentStatus"
    )
}

/// The pod spec paths of kinds with a pod template, and whether kustomize's
/// name-reference pass updates their `serviceAccountName` (not ReplicaSet).
fn pod_spec_path(kind: &str) -> Option<(&'static [&'static str], bool)> {
    Some(match kind {
        "Pod" => (&["spec"], true),
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "ReplicationController" => {
            (&["spec", "template", "spec"], true)
        }
        "ReplicaSet" => (&["spec", "template", "spec"], false),
        "CronJob" => (&["spec", "jobTemplate", "spec", "template", "spec"], true),
        _ => return None,
    })
}

fn template_meta_path(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "Job"
        | "ReplicaSet"
        | "ReplicationController" => &["spec", "template", "metadata"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "metadata"],
        _ => return None,
    })
}

/// A resource path that names a remote base (kustomize would fetch it).
fn is_remote(s: &str) -> bool {
    s.contains("://")
        || s.starts_with("git@")
        || ["github.com/", "gitlab.com/", "bitbucket.org/"]
            .iter()
            .any(|h| s.starts_with(h))
        || s.contains("?ref=")
        || s.contains("?version=")
}

/// The kustomization file of a folder, as kustomize looks for it.
pub fn kustomization_file(dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The paths a kustomization refers to (resources, bases, components,
/// patch files), resolved against its folder.
fn references<'a>(root: Node<'a>, dir: &Path) -> Vec<(Node<'a>, PathBuf)> {
    let mut out = Vec::new();
    let mut add = |n: Node<'a>| {
        if let Some(s) = n.as_str().filter(|s| !is_remote(s)) {
            out.push((n, dir.join(s)));
        }
    };
    for key in ["resources", "bases", "components", "patchesStrategicMerge"] {
        root.seq_at(key).for_each(&mut add);
    }
    for key in ["patches", "patchesJson6902"] {
        for p in root.seq_at(key) {
            if let Some(path) = p.get("path") {
                add(path);
            }
        }
    }
    out
}

/// Files the scan's kustomizations need that are not among `files` yet:
/// referenced files, and the kustomization files of referenced folders.
pub fn missing_files(files: &[ParsedFile]) -> Vec<PathBuf> {
    let kusts: Vec<&ParsedFile> = files.iter().filter(|f| f.kustomization).collect();
    if kusts.is_empty() {
        return Vec::new();
    }
    let known: HashSet<PathBuf> = files
        .iter()
        .filter_map(|f| f.path())
        .map(canonical)
        .collect();
    let mut want: Vec<PathBuf> = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    for k in kusts {
        let Some(path) = k.path() else { continue };
        let dir = path.parent().unwrap_or(Path::new("."));
        let Some(root) = k.roots().next() else {
            continue;
        };
        for (_, p) in references(root, dir) {
            let target = if p.is_dir() {
                match kustomization_file(&p) {
                    Some(f) => f,
                    None => continue,
                }
            } else if p.is_file() {
                p
            } else {
                continue;
            };
            let c = canonical(&target);
            if !known.contains(&c) && seen.insert(c) {
                want.push(crate::walk::normalize(&target));
            }
        }
    }
    want.sort();
    want
}

struct Renderer<'a> {
    /// Unevaluated features met while building the current root.
    unevaluated: Vec<String>,
    /// Kustomizations read while building the current root.
    read: Vec<FileId>,
    files: &'a [ParsedFile],
    by_path: HashMap<PathBuf, FileId>,
    notes: Vec<Note>,
    consumed: HashSet<FileId>,
    /// Folders being built, for cycles.
    stack: Vec<PathBuf>,
}

/// A `target:` selector of a patch.
struct Selector {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Vec<(String, Option<String>, bool)>,
    annotations: Vec<(String, Option<String>, bool)>,
}

/// A selector field as kustomize reads it: an anchored regex; empty selects all.
fn anchored(n: Option<Node<'_>>) -> Option<Regex> {
    let s = n?.as_str().filter(|s| !s.is_empty())?;
    Regex::new(&format!("^(?:{s})$")).ok()
}

/// The namespace a target's `namespace` is matched against (kustomize's
/// `EffectiveNamespace`): none is `default`, and a cluster-scoped object has
/// a made-up one that no real namespace matches.
fn effective_namespace<'s>(kind: &str, ns: &'s str) -> &'s str {
    if cluster_scoped(kind) {
        "_non_namespaceable_"
    } else if ns.is_empty() {
        "default"
    } else {
        ns
    }
}

/// `a=b,c!=d,e,!f` (equality and existence; kustomize's label selectors).
fn parse_selector(s: Option<&str>) -> Vec<(String, Option<String>, bool)> {
    s.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            if let Some((k, v)) = t.split_once("!=") {
                (k.trim().to_string(), Some(v.trim().to_string()), false)
            } else if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
                (k.trim().to_string(), Some(v.trim().to_string()), true)
            } else if let Some(k) = t.strip_prefix('!') {
                (k.trim().to_string(), None, false)
            } else {
                (t.to_string(), None, true)
            }
        })
        .collect()
}

impl Selector {
    fn parse(n: Node<'_>) -> Selector {
        Selector {
            group: anchored(n.get("group")),
            version: anchored(n.get("version")),
            kind: anchored(n.get("kind")),
            name: anchored(n.get("name")),
            namespace: anchored(n.get("namespace")),
            labels: parse_selector(n.get("labelSelector").and_then(Node::as_str)),
            annotations: parse_selector(n.get("annotationSelector").and_then(Node::as_str)),
        }
    }

    fn matches(&self, o: &RObj) -> bool {
        let av = o.api_version();
        let (group, version) = av.rsplit_once('/').unwrap_or(("", av));
        let first = o.ids.first().cloned().unwrap_or_default();
        let is = |r: &Option<Regex>, v: &str| r.as_ref().is_none_or(|r| r.is_match(v));
        let either = |r: &Option<Regex>, a: &str, b: &str| {
            r.as_ref().is_none_or(|r| r.is_match(a) || r.is_match(b))
        };
        let map_ok = |sel: &[(String, Option<String>, bool)], map: &str| {
            let m = o.node.path(&["metadata", map]);
            sel.iter().all(|(k, v, eq)| {
                let got = m.and_then(|m| m.get(k)).and_then(RNode::text);
                match (v, eq) {
                    (Some(v), true) => got == Some(v.as_str()),
                    (Some(v), false) => got != Some(v.as_str()),
                    (None, true) => got.is_some(),
                    (None, false) => got.is_none(),
                }
            })
        };
        is(&self.group, group)
            && is(&self.version, version)
            && is(&self.kind, o.kind())
            && either(&self.name, &first.0, o.name())
            && either(
                &self.namespace,
                effective_namespace(o.kind(), &first.1),
                effective_namespace(o.kind(), o.namespace()),
            )
            && map_ok(&self.labels, "labels")
            && map_ok(&self.annotations, "annotations")
    }
}

/// Renders every kustomization root of the scan.
pub fn render(files: &[ParsedFile]) -> Rendering {
    let kust_files: Vec<&ParsedFile> = files.iter().filter(|f| f.kustomization).collect();
    if kust_files.is_empty() {
        return Rendering::default();
    }
    let by_path: HashMap<PathBuf, FileId> = files
        .iter()
        .filter_map(|f| Some((canonical(f.path()?), f.id)))
        .collect();
    // Which kustomizations another one refers to: the others are roots.
    let mut referenced: HashSet<FileId> = HashSet::new();
    for k in &kust_files {
        let (Some(path), Some(root)) = (k.path(), k.roots().next()) else {
            continue;
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        for (_, p) in references(root, dir) {
            if let Some(kf) = p.is_dir().then(|| kustomization_file(&p)).flatten() {
                if let Some(id) = by_path.get(&canonical(&kf)) {
                    if *id != k.id {
                        referenced.insert(*id);
                    }
                }
            }
        }
    }
    let mut r = Renderer {
        unevaluated: Vec::new(),
        read: Vec::new(),
        files,
        by_path,
        notes: Vec::new(),
        consumed: HashSet::new(),
        stack: Vec::new(),
    };
    let mut out = Rendering::default();
    for k in kust_files {
        r.consumed.insert(k.id);
        if referenced.contains(&k.id) {
            continue;
        }
        let Some(path) = k.path() else { continue };
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        r.unevaluated.clear();
        r.read.clear();
        let mut objs = r.build(&dir, k.id);
        fix_name_references(&mut objs);
        let mut tree = rnode::rendered_tree(k.id);
        for o in &objs {
            o.node.add_to(&mut tree);
        }
        let shown = k
            .source()
            .name
            .rsplit_once('/')
            .map(|(d, _)| d)
            .unwrap_or(".");
        out.trees.push(tree);
        let mut unevaluated = std::mem::take(&mut r.unevaluated);
        unevaluated.sort();
        unevaluated.dedup();
        let mut kustomizations = std::mem::take(&mut r.read);
        kustomizations.sort_unstable();
        kustomizations.dedup();
        out.roots.push(Root {
            file: k.id,
            dir: shown.to_string(),
            unevaluated,
            kustomizations,
        });
    }
    // A folder with a kustomization is deployed through it: its other files,
    // and those of its subfolders (`patches/`), are not deployed at all.
    let kust_dirs: HashSet<PathBuf> = files
        .iter()
        .filter(|f| f.kustomization)
        .filter_map(|f| Some(canonical(f.path()?.parent()?)))
        .collect();
    out.unused = files
        .iter()
        .filter(|f| !r.consumed.contains(&f.id))
        .filter(|f| {
            let Some(dir) = f.path().and_then(Path::parent) else {
                return false;
            };
            let dir = canonical(dir);
            dir.ancestors().take(2).any(|d| kust_dirs.contains(d))
        })
        .map(|f| f.id)
        .collect();
    out.consumed = r.consumed;
    out.notes = r.notes;
    out
}

impl<'a> Renderer<'a> {
    fn note(&mut self, at: Location, message: impl Into<String>) {
        self.notes.push(Note {
            at,
            message: message.into(),
        });
    }

    fn file_at(&self, p: &Path) -> Option<&'a ParsedFile> {
        let id = self.by_path.get(&canonical(p))?;
        self.files.get(*id as usize)
    }

    /// Renders the kustomization `file` of folder `dir` (a Component built on
    /// its own, when no kustomization uses it, acts as a Kustomization).
    fn build(&mut self, dir: &Path, file: FileId) -> Vec<RObj> {
        let canon = canonical(dir);
        let Some(k) = self.files[file as usize].roots().next() else {
            return Vec::new();
        };
        if self.stack.contains(&canon) {
            self.note(
                k.loc(),
                format!("kustomization cycle through {}", dir.display()),
            );
            return Vec::new();
        }
        self.stack.push(canon);
        self.read.push(file);
        let mut objs = Vec::new();
        for entry in k.seq_at("resources").chain(k.seq_at("bases")) {
            self.load_resource(dir, entry, &mut objs);
        }
        for c in k.seq_at("components") {
            self.apply_component(dir, c, &mut objs);
        }
        self.unsupported(k);
        self.transform(dir, k, &mut objs);
        self.stack.pop();
        objs
    }

    fn unsupported(&mut self, k: Node<'_>) {
        for (key, what) in [
            ("configMapGenerator", "generated ConfigMaps"),
            ("secretGenerator", "generated Secrets"),
            ("helmCharts", "Helm charts"),
            ("generators", "generator plugins"),
            ("transformers", "transformer plugins"),
            ("replacements", "replacements"),
            ("vars", "vars"),
        ] {
            // A key with nothing under it makes nothing: `vars:` with only
            // comments below (kubebuilder's scaffold), `[]`, `{}`.
            let Some((kn, value)) = k.entry(key) else {
                continue;
            };
            let makes_nothing = value.is_null()
                || (value.is_seq() && value.items().is_empty())
                || (value.is_map() && value.entries().is_empty());
            if !makes_nothing {
                self.unevaluated.push(key.to_string());
                self.note(
                    kn.loc(),
                    format!("`{key}` is not evaluated offline: the {what} it makes are not linted (render with `kustomize build DIR | kwi-lint -`)"),
                );
            }
        }
    }

    /// One `resources`/`bases` entry: a file of objects or a folder with a kustomization.
    fn load_resource(&mut self, dir: &Path, entry: Node<'_>, objs: &mut Vec<RObj>) {
        let Some(s) = entry.as_str() else { return };
        if is_remote(s) {
            self.note(
                entry.loc(),
                format!("remote resource `{s}` is not fetched: its objects are not linted"),
            );
            return;
        }
        let p = dir.join(s);
        if p.is_dir() {
            let Some(kf) = kustomization_file(&p) else {
                self.note(
                    entry.loc(),
                    format!("`{s}` is a folder without a kustomization: kustomize cannot build it"),
                );
                return;
            };
            match self.file_at(&kf) {
                Some(f) => {
                    let id = f.id;
                    let sub = self.build(&p, id);
                    objs.extend(sub);
                }
                None => self.note(entry.loc(), format!("cannot read `{}`", kf.display())),
            }
            return;
        }
        let Some(f) = self.file_at(&p) else {
            self.note(
                entry.loc(),
                format!("resource `{s}` not found: the rendered objects are incomplete"),
            );
            return;
        };
        self.consumed.insert(f.id);
        for root in f.roots() {
            push_objects(root, objs, 0);
        }
    }

    /// `components:` entry: its resources join, its transformers run on all
    /// objects so far (before the parent's transformers).
    fn apply_component(&mut self, dir: &Path, entry: Node<'_>, objs: &mut Vec<RObj>) {
        let Some(s) = entry.as_str() else { return };
        if is_remote(s) {
            self.note(
                entry.loc(),
                format!("remote component `{s}` is not fetched"),
            );
            return;
        }
        let p = dir.join(s);
        let Some(f) = kustomization_file(&p).and_then(|kf| self.file_at(&kf)) else {
            self.note(entry.loc(), format!("component `{s}` not found"));
            return;
        };
        let Some(k) = f.roots().next() else { return };
        self.consumed.insert(f.id);
        self.read.push(f.id);
        let canon = canonical(&p);
        if self.stack.contains(&canon) {
            self.note(entry.loc(), format!("kustomization cycle through {s}"));
            return;
        }
        self.stack.push(canon);
        for r in k.seq_at("resources").chain(k.seq_at("bases")) {
            self.load_resource(&p, r, objs);
        }
        for c in k.seq_at("components") {
            self.apply_component(&p, c, objs);
        }
        self.unsupported(k);
        self.transform(&p, k, objs);
        self.stack.pop();
    }

    /// The built-in transformers, in kustomize's order.
    fn transform(&mut self, dir: &Path, k: Node<'_>, objs: &mut Vec<RObj>) {
        for p in k.seq_at("patchesStrategicMerge") {
            // A path, or the patch itself written inline.
            for doc in self.patch_docs(dir, p, None) {
                self.apply_sm(&doc, None, p.loc(), objs);
            }
        }
        for p in k.seq_at("patches") {
            let source = p.get("patch").or_else(|| p.get("path"));
            let Some(source) = source else { continue };
            let inline = p.get("patch");
            let docs = self.patch_docs(dir, source, inline);
            let target = p.get("target").map(Selector::parse);
            self.apply_patch_docs(&docs, target.as_ref(), source.loc(), objs);
        }
        if let Some(ns) = k
            .get("namespace")
            .filter(|n| n.as_str().is_some_and(|s| !s.is_empty()))
        {
            set_namespace(objs, ns);
        }
        let prefix = k.get("namePrefix").and_then(Node::as_str).unwrap_or("");
        let suffix = k.get("nameSuffix").and_then(Node::as_str).unwrap_or("");
        if !prefix.is_empty() || !suffix.is_empty() {
            for o in objs.iter_mut() {
                o.affixes.push((prefix.to_string(), suffix.to_string()));
                if matches!(
                    o.kind(),
                    "CustomResourceDefinition" | "APIService" | "Namespace"
                ) {
                    continue;
                }
                let Some(name) = o.node.get("metadata").and_then(|m| m.get("name")).cloned() else {
                    continue;
                };
                let text = format!("{prefix}{}{suffix}", name.text().unwrap_or(""));
                let mut renamed = RNode::scalar(&text, name.loc);
                renamed.style = name.style;
                o.node
                    .ensure_map(&["metadata"], name.loc)
                    .set("name", renamed);
                o.record_id();
            }
        }
        if let Some(labels) = k.get("commonLabels") {
            add_labels(objs, labels, true, true);
        }
        for set in k.seq_at("labels") {
            if let Some(pairs) = set.get("pairs") {
                let templates = set.get("includeTemplates").and_then(Node::as_bool) == Some(true);
                let selectors = set.get("includeSelectors").and_then(Node::as_bool) == Some(true);
                add_labels(objs, pairs, templates || selectors, selectors);
            }
        }
        if let Some(annotations) = k.get("commonAnnotations") {
            for o in objs.iter_mut() {
                let kind = o.kind().to_string();
                for (key, v) in annotations.entries() {
                    let (Some(key), Some(_)) = (key.as_str(), v.text()) else {
                        continue;
                    };
                    let val = RNode::import(v);
                    o.node
                        .ensure_map(&["metadata", "annotations"], annotations.loc())
                        .set(key, val.clone());
                    if let Some(path) = template_meta_path(&kind) {
                        let mut p = path.to_vec();
                        p.push("annotations");
                        o.node.ensure_map(&p, annotations.loc()).set(key, val);
                    }
                }
            }
        }
        for p in k.seq_at("patchesJson6902") {
            let source = p.get("patch").or_else(|| p.get("path"));
            let Some(source) = source else { continue };
            let docs = self.patch_docs(dir, source, p.get("patch"));
            let target = p.get("target").map(Selector::parse);
            self.apply_patch_docs(&docs, target.as_ref(), source.loc(), objs);
        }
    }

    /// The documents of a patch: a file next to the kustomization, or inline
    /// YAML (whose nodes point at their own text in a `|` block, else at the
    /// whole value: a quoted or folded value's text moved).
    fn patch_docs(&mut self, dir: &Path, source: Node<'_>, inline: Option<Node<'_>>) -> Vec<RNode> {
        let Some(s) = source.as_str() else {
            return Vec::new();
        };
        let looks_inline = inline.is_some() || s.contains('\n') || s.trim_start().starts_with('{');
        if !looks_inline {
            let p = dir.join(s);
            let Some(f) = self.file_at(&p) else {
                self.note(source.loc(), format!("patch `{s}` not found"));
                return Vec::new();
            };
            self.consumed.insert(f.id);
            return f.roots().map(RNode::import).collect();
        }
        let (tree, err) = crate::parse::parse_yaml_str("<inline patch>", s.to_string());
        if let Some(e) = err {
            self.note(
                source.loc(),
                format!("inline patch does not parse: {}", e.message),
            );
            return Vec::new();
        }
        let lines = BlockLines::of(source, s);
        tree.roots()
            .map(|r| {
                let mut n = RNode::import(r);
                let at = source.loc();
                relocate(&mut n, &|inner: Span| match &lines {
                    Some(lines) => Location {
                        file: at.file,
                        span: Span {
                            start: lines.file_offset(inner.start),
                            end: lines.file_offset(inner.end),
                        },
                    },
                    None => at,
                });
                n
            })
            .collect()
    }

    fn apply_patch_docs(
        &mut self,
        docs: &[RNode],
        target: Option<&Selector>,
        at: Location,
        objs: &mut Vec<RObj>,
    ) {
        for doc in docs {
            let is_json6902 = doc.items().first().is_some_and(|op| op.get("op").is_some());
            if is_json6902 {
                let Some(target) = target else {
                    self.note(at, "a JSON 6902 patch needs a `target`");
                    continue;
                };
                for o in objs.iter_mut().filter(|o| target.matches(o)) {
                    for op in doc.items() {
                        if let Err(e) = json_patch_op(&mut o.node, op) {
                            self.notes.push(Note {
                                at: op.loc,
                                message: format!(
                                    "JSON patch op not applied to {} {}: {e}",
                                    o.kind(),
                                    o.name()
                                ),
                            });
                        }
                    }
                    o.record_id();
                }
            } else {
                self.apply_sm(doc, target, at, objs);
            }
        }
    }

    /// A strategic-merge patch: to every target match, or to the object whose
    /// kind and some past (name, namespace) are the patch's.
    fn apply_sm(
        &mut self,
        patch: &RNode,
        target: Option<&Selector>,
        at: Location,
        objs: &mut Vec<RObj>,
    ) {
        let kind = patch.str_at(&["kind"]).unwrap_or("");
        let group = group_of(patch.str_at(&["apiVersion"]).unwrap_or(""));
        let name = patch.str_at(&["metadata", "name"]).unwrap_or("");
        let ns = patch.str_at(&["metadata", "namespace"]).unwrap_or("");
        let delete = patch.str_at(&["$patch"]) == Some("delete");
        // kustomize leaves the object as it was for `$patch: replace` on the
        // whole object (kubectl kustomize v5.5); deeper, it replaces.
        let unchanged = patch.str_at(&["$patch"]) == Some("replace");
        let mut hit = false;
        let mut i = 0;
        while i < objs.len() {
            let o = &objs[i];
            let selected = match target {
                Some(t) => t.matches(o),
                None => o.kind() == kind && group_of(o.api_version()) == group && o.had(name, ns),
            };
            if !selected {
                i += 1;
                continue;
            }
            hit = true;
            if delete {
                objs.remove(i);
                continue;
            }
            if unchanged {
                i += 1;
                continue;
            }
            let o = &mut objs[i];
            // A strategic-merge patch never renames or moves an object.
            let mut p = patch.clone();
            if let Some(m) = p.get_mut("metadata") {
                m.remove("name");
                m.remove("namespace");
            }
            p.remove("kind");
            p.remove("apiVersion");
            let builtin = !o.api_version().contains('.') || o.api_version().contains(".k8s.io/");
            strategic_merge(&mut o.node, &p, builtin);
            i += 1;
        }
        if !hit {
            self.note(
                at,
                format!(
                    "no object matches the patch for {kind} `{name}`: kustomize would stop here"
                ),
            );
        }
    }
}

/// Where each line of a literal block scalar (`patch: |`) starts in its
/// value and in its file: a node of the YAML inside it then points at its own
/// line and column of the kustomization, not at the whole value.
struct BlockLines {
    /// (offset in the value, offset in the file) of each line's start.
    starts: Vec<(u32, u32)>,
    /// The file's length: a value's final line break may be past its end.
    file_len: u32,
}

impl BlockLines {
    /// `None` unless `value` is a literal block scalar whose lines are found
    /// again, byte for byte, in the file (else nodes point at the whole value).
    fn of(node: Node<'_>, value: &str) -> Option<BlockLines> {
        if node.style() != Style::Literal {
            return None;
        }
        let text = node.tree().source().text.as_str();
        let from = node.span().start as usize;
        let header_end = from + text.get(from..)?.find('\n')? + 1;
        let header = text.get(from..header_end)?;
        // An explicit indentation (`|2`) counts from the parent's column: not
        // worth following; auto-detected indentation is what repos write.
        if !header.starts_with('|') || header.bytes().take(3).any(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut starts = Vec::new();
        let mut indent = None;
        let (mut in_value, mut at) = (0usize, header_end);
        while in_value < value.len() && at < text.len() {
            let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
            let line = text[at..end].trim_end_matches('\r');
            let spaces = line.len() - line.trim_start_matches(' ').len();
            let content = if line.trim().is_empty() {
                ""
            } else {
                let i = *indent.get_or_insert(spaces);
                if spaces < i {
                    return None;
                }
                &line[i..]
            };
            let rest = value.get(in_value..)?;
            if !rest.starts_with(content) {
                return None;
            }
            let file_at = at + (line.len() - content.len()).min(indent.unwrap_or(0));
            starts.push((in_value as u32, file_at as u32));
            in_value += content.len() + 1;
            at = end + 1;
        }
        (!starts.is_empty()).then_some(BlockLines {
            starts,
            file_len: text.len() as u32,
        })
    }

    fn file_offset(&self, in_value: u32) -> u32 {
        let i = self.starts.partition_point(|(v, _)| *v <= in_value);
        let (v, f) = self.starts[i.saturating_sub(1)];
        (f + (in_value - v)).min(self.file_len)
    }
}

/// Moves every node of `n` to the place `to` gives for its span in the
/// patch's own text.
fn relocate(n: &mut RNode, to: &dyn Fn(Span) -> Location) {
    n.loc = to(n.loc.span);
    match &mut n.v {
        RVal::Map(m) => {
            for (k, v) in m {
                relocate(k, to);
                relocate(v, to);
            }
        }
        RVal::Seq(s) => s.iter_mut().for_each(|i| relocate(i, to)),
        RVal::Scalar(_) => {}
    }
}

/// The Kubernetes objects of a document (`List`s flattened).
fn push_objects(root: Node<'_>, objs: &mut Vec<RObj>, depth: usize) {
    let kind = root.get("kind").and_then(Node::as_str);
    if root.get("apiVersion").and_then(Node::as_str).is_none() || kind.is_none() {
        return;
    }
    if kind.is_some_and(|k| k.ends_with("List")) {
        if let Some(items) = root.get("items").and_then(Node::as_seq) {
            if depth < 3 {
                items.for_each(|i| push_objects(i, objs, depth + 1));
            }
            return;
        }
    }
    objs.push(RObj::new(RNode::import(root)));
}

/// `namespace:`: set on every namespaced object (and a Namespace's name);
/// subjects named `default` of bindings get it too (kustomize's roleBindingHack).
fn set_namespace(objs: &mut [RObj], ns: Node<'_>) {
    let value = RNode::import(ns);
    for o in objs.iter_mut() {
        let kind = o.kind().to_string();
        if kind == "Namespace" {
            o.node
                .ensure_map(&["metadata"], ns.loc())
                .set("name", value.clone());
        } else if !cluster_scoped(&kind) {
            o.node
                .ensure_map(&["metadata"], ns.loc())
                .set("namespace", value.clone());
        }
        if kind == "RoleBinding" || kind == "ClusterRoleBinding" {
            if let Some(subjects) = o.node.get_mut("subjects") {
                for s in subjects.items_mut() {
                    if s.str_at(&["name"]) == Some("default") {
                        s.set("namespace", value.clone());
                    }
                }
            }
        }
        o.record_id();
    }
}

/// `commonLabels` / `labels`: metadata labels always; pod templates and
/// selectors when asked (selectors of NetworkPolicies only where present).
fn add_labels(objs: &mut [RObj], pairs: Node<'_>, templates: bool, selectors: bool) {
    let at = pairs.loc();
    for o in objs.iter_mut() {
        let kind = o.kind().to_string();
        for (k, v) in pairs.entries() {
            let (Some(key), Some(_)) = (k.as_str(), v.text()) else {
                continue;
            };
            let val = RNode::import(v);
            o.node
                .ensure_map(&["metadata", "labels"], at)
                .set(key, val.clone());
            if templates {
                if let Some(path) = template_meta_path(&kind) {
                    let mut p = path.to_vec();
                    p.push("labels");
                    o.node.ensure_map(&p, at).set(key, val.clone());
                }
            }
            if !selectors {
                continue;
            }
            match kind.as_str() {
                "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet" => {
                    o.node
                        .ensure_map(&["spec", "selector", "matchLabels"], at)
                        .set(key, val.clone());
                }
                "Service" => {
                    o.node
                        .ensure_map(&["spec", "selector"], at)
                        .set(key, val.clone());
                }
                "NetworkPolicy" => {
                    if let Some(m) = o
                        .node
                        .get_mut("spec")
                        .and_then(|s| s.get_mut("podSelector"))
                        .and_then(|s| s.get_mut("matchLabels"))
                    {
                        m.set(key, val.clone());
                    }
                    for (dir, peers) in [("ingress", "from"), ("egress", "to")] {
                        let Some(rules) = o.node.get_mut("spec").and_then(|s| s.get_mut(dir))
                        else {
                            continue;
                        };
                        for rule in rules.items_mut() {
                            let Some(peers) = rule.get_mut(peers) else {
                                continue;
                            };
                            for peer in peers.items_mut() {
                                if let Some(m) = peer
                                    .get_mut("podSelector")
                                    .and_then(|s| s.get_mut("matchLabels"))
                                {
                                    m.set(key, val.clone());
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// kustomize's name-reference pass (once, at the root): a reference is
/// rewritten to its target's current name when it equals a name the target
/// had. `serviceAccountName` of pods and workloads (not ReplicaSet), binding
/// subjects (whatever their kind, as kustomize does) and `roleRef`.
fn fix_name_references(objs: &mut [RObj]) {
    struct Target {
        kind: String,
        ids: Vec<(String, String)>,
        affixes: Vec<(String, String)>,
        name: String,
        ns: String,
    }
    let targets: Vec<Target> = objs
        .iter()
        .filter(|o| matches!(o.kind(), "ServiceAccount" | "Role" | "ClusterRole"))
        .map(|o| Target {
            kind: o.kind().to_string(),
            ids: o.ids.clone(),
            affixes: o.affixes.clone(),
            name: o.name().to_string(),
            ns: o.namespace().to_string(),
        })
        .collect();
    if targets.is_empty() {
        return;
    }
    let had = |t: &Target, name: &str| t.ids.iter().any(|(n, _)| n == name);
    // kustomize's selectReferral: among several candidates, the ones whose
    // prefixes and suffixes are the referrer's.
    let pick = |found: Vec<&'_ Target>, affixes: &[(String, String)]| -> Option<usize> {
        let narrowed: Vec<&Target> = if found.len() > 1 {
            found
                .iter()
                .copied()
                .filter(|t| t.affixes == affixes)
                .collect()
        } else {
            found.clone()
        };
        match narrowed.as_slice() {
            [t] => targets.iter().position(|x| std::ptr::eq(x, *t)),
            _ => None,
        }
    };
    let had_in =
        |t: &Target, name: &str, ns: &str| t.ids.iter().any(|(n, s)| n == name && same_ns(s, ns));
    for o in objs.iter_mut() {
        let kind = o.kind().to_string();
        let ns = o.namespace().to_string();
        let affixes = o.affixes.clone();
        if let Some((path, updated)) = pod_spec_path(&kind) {
            if !updated {
                continue;
            }
            let Some(spec) = path.iter().try_fold(&mut o.node, |n, k| n.get_mut(k)) else {
                continue;
            };
            if let Some(sa) = spec.get_mut("serviceAccountName") {
                let cur = sa.text().unwrap_or("").to_string();
                let found: Vec<&Target> = targets
                    .iter()
                    .filter(|t| t.kind == "ServiceAccount" && same_ns(&t.ns, &ns) && had(t, &cur))
                    .collect();
                if let Some(t) = pick(found, &affixes).map(|i| &targets[i]) {
                    if t.name != cur {
                        let loc = sa.loc;
                        *sa = RNode::scalar(&t.name, loc);
                    }
                }
            }
            continue;
        }
        if kind != "RoleBinding" && kind != "ClusterRoleBinding" {
            continue;
        }
        if let Some(subjects) = o.node.get_mut("subjects") {
            for s in subjects.items_mut() {
                let name = s.str_at(&["name"]).unwrap_or("").to_string();
                let sns = s.str_at(&["namespace"]).unwrap_or("").to_string();
                let found: Vec<&Target> = targets
                    .iter()
                    .filter(|t| t.kind == "ServiceAccount")
                    .filter(|t| {
                        if sns.is_empty() {
                            had(t, &name)
                        } else {
                            had_in(t, &name, &sns)
                        }
                    })
                    .filter(|t| {
                        kind == "ClusterRoleBinding" || same_ns(&t.ns, &ns) || !sns.is_empty()
                    })
                    .collect();
                if let Some(t) = pick(found, &affixes).map(|i| &targets[i]) {
                    let loc = s.get("name").map(|n| n.loc).unwrap_or(s.loc);
                    if t.name != name {
                        s.set("name", RNode::scalar(&t.name, loc));
                    }
                    if !t.ns.is_empty() && t.ns != sns {
                        let at = s.get("namespace").map(|n| n.loc).unwrap_or(loc);
                        s.set("namespace", RNode::scalar(&t.ns, at));
                    }
                }
            }
        }
        if let Some(role_ref) = o.node.get_mut("roleRef") {
            let rk = role_ref.str_at(&["kind"]).unwrap_or("").to_string();
            let rn = role_ref.str_at(&["name"]).unwrap_or("").to_string();
            let found: Vec<&Target> = targets
                .iter()
                .filter(|t| t.kind == rk && had(t, &rn))
                .filter(|t| rk == "ClusterRole" || same_ns(&t.ns, &ns))
                .collect();
            if let Some(t) = pick(found, &affixes).map(|i| &targets[i]) {
                if t.name != rn {
                    let loc = role_ref.get("name").map(|n| n.loc).unwrap_or(role_ref.loc);
                    role_ref.set("name", RNode::scalar(&t.name, loc));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_resources() {
        assert!(is_remote("https://github.com/org/repo//path?ref=v1"));
        assert!(is_remote("github.com/org/repo/path?ref=main"));
        assert!(is_remote("git@github.com:org/repo.git"));
        assert!(!is_remote("../base"));
        assert!(!is_remote("deployment.yaml"));
    }

    #[test]
    fn selectors() {
        let s = parse_selector(Some("app=web, tier!=db,env,!legacy"));
        assert_eq!(s.len(), 4);
        assert_eq!(s[0], ("app".into(), Some("web".into()), true));
        assert_eq!(s[1], ("tier".into(), Some("db".into()), false));
        assert_eq!(s[3], ("legacy".into(), None, false));
    }

    #[test]
    fn nodes_inside_a_literal_patch_point_at_their_own_text() {
        // (kustomization, text of a node inside the patch that must be found
        // where it is written; None: the whole value is pointed at).
        let cases: &[(&str, Option<&str>)] = &[
            ("p: |\n  a: 1\n\n  b:\n    c: here\n", Some("here")),
            ("p: |-\r\n  a: 1\r\n\r\n  b: here\r\n", Some("here")),
            (
                "p: |+ # keep\n   a: 1\n   b: [x, here]\n\n\nq: 2\n",
                Some("here"),
            ),
            ("- |\n  - op: add\n    value: héré\n", Some("héré")),
            ("p: |\n  a: 1\n  b: here", Some("here")),
            ("p: |2\n   a: 1\n   b: here\n", None),
            ("p: >\n  a: 1\n  b: here\n", None),
            ("p: \"a: 1\\nb: here\\n\"\n", None),
        ];
        for (text, want) in cases {
            let (tree, err) = crate::parse::parse_yaml_str("k.yaml", text.to_string());
            assert!(err.is_none(), "{text:?}: {err:?}");
            let root = tree.roots().next().unwrap();
            let node = root.get("p").or_else(|| root.items().next()).unwrap();
            let value = node.as_str().unwrap();
            let lines = BlockLines::of(node, value);
            assert_eq!(lines.is_some(), want.is_some(), "{text:?}");
            let (Some(lines), Some(want)) = (lines, want) else {
                continue;
            };
            let at = value.find(want).unwrap() as u32;
            let (start, end) = (
                lines.file_offset(at),
                lines.file_offset(at + want.len() as u32),
            );
            assert_eq!(&text[start as usize..end as usize], *want, "{text:?}");
        }
    }

    #[test]
    fn targets_match_the_effective_namespace() {
        let (tree, _) = crate::parse::parse_yaml_str(
            "k.yaml",
            "a: {namespace: default}\nb: {namespace: ''}\nc: {namespace: '.*'}\n".into(),
        );
        let root = tree.roots().next().unwrap();
        let target = |k: &str| Selector::parse(root.get(k).unwrap());
        let obj = |doc: &str| {
            let (t, _) = crate::parse::parse_yaml_str("o.yaml", doc.to_string());
            let node = rnode::RNode::import(t.roots().next().unwrap());
            RObj::new(node)
        };
        let sa = obj("kind: ServiceAccount\nmetadata: {name: a}\n");
        let role = obj("kind: ClusterRole\nmetadata: {name: a}\n");
        // An object without a namespace is in `default`; a cluster-scoped one
        // in none, so only a regex that matches anything selects it.
        assert!(target("a").matches(&sa));
        assert!(!target("a").matches(&role));
        assert!(target("b").matches(&sa) && target("b").matches(&role));
        assert!(target("c").matches(&role));
    }
}
