//! Scopes: the sets of objects deployed together, and the clusters each runs
//! on (SPEC §2.3).
//!
//! Every kustomization root is a scope of its rendered objects; files in no
//! kustomization form the default scope; `clusters:` in the config maps
//! manifests to clusters (its globs match files, or a root's folder). An
//! Argo CD `Application` or a Flux `Kustomization` whose path is a scope's
//! folder binds it to the cluster dump its destination names. With one
//! cluster dump every scope runs on it; with several and no mapping, a
//! workload could run on any of them.

use std::path::{Path, PathBuf};

use super::{Cluster, Model, Object};
use crate::config::Config;
use crate::parse::Node;
use crate::source::FileId;

/// The scope of files in no kustomization.
pub const DEFAULT_SCOPE: usize = 0;

#[derive(Debug, Clone)]
pub struct Scope {
    /// `default`, or the kustomization root's folder.
    pub name: String,
    /// The root's kustomization file.
    pub root: Option<FileId>,
    /// The clusters it is bound to (indexes into `Model::clusters`); empty
    /// when nothing says.
    pub clusters: Vec<usize>,
    /// What bound it ("config", "the only cluster dump", "Argo CD Application x").
    pub bound_by: Option<String>,
    /// Kustomize features in its tree that kwi-lint does not evaluate.
    pub unevaluated: Vec<String>,
    /// The kustomizations its rendering read.
    pub kustomizations: Vec<FileId>,
}

impl<'a> Model<'a> {
    /// Binds scopes to clusters (config, Argo CD / Flux, a single dump).
    pub(super) fn bind_scopes(&mut self, config: &Config) {
        for (i, s) in config.scopes.iter().enumerate() {
            let Some(name) = &s.cluster else { continue };
            if let Some(ci) = self.clusters.iter().position(|c| cluster_matches(c, name)) {
                self.bind(i + 1, ci, "config `scopes:`".into());
            }
        }
        for cs in &config.clusters {
            let Ok(globs) = crate::walk::build_globset(&cs.manifests) else {
                continue;
            };
            let Some(ci) = self
                .clusters
                .iter()
                .position(|c| cluster_matches(c, &cs.name))
            else {
                continue;
            };
            for s in 0..self.scopes.len() {
                let Some(root) = self.scopes[s].root else {
                    continue;
                };
                let name = self.file_name(root);
                let dir = self.scopes[s].name.clone();
                if config.glob_matches(&globs, name)
                    || config.glob_matches(&globs, &format!("{dir}/"))
                {
                    self.bind(s, ci, "config `clusters:`".into());
                }
            }
            for o in 0..self.objects.len() {
                if self.objects[o].scope == DEFAULT_SCOPE
                    && config.glob_matches(&globs, self.file_name(self.objects[o].file))
                {
                    self.file_clusters.entry(self.objects[o].file).or_insert(ci);
                }
            }
        }
        self.bind_by_deployers();
        if self.clusters.len() == 1 {
            for s in 0..self.scopes.len() {
                if self.scopes[s].clusters.is_empty() {
                    self.bind(s, 0, "the only cluster dump in the scan".into());
                }
            }
        }
    }

    fn bind(&mut self, scope: usize, cluster: usize, why: String) {
        let s = &mut self.scopes[scope];
        if !s.clusters.contains(&cluster) {
            s.clusters.push(cluster);
            s.bound_by.get_or_insert(why);
        }
    }

    /// Argo CD Applications and Flux Kustomizations that deploy a scanned
    /// folder to a named cluster.
    fn bind_by_deployers(&mut self) {
        let mut bindings: Vec<(usize, usize, String)> = Vec::new();
        for o in &self.objects {
            let (paths, cluster) = match (o.kind, o.api_version.split('/').next().unwrap_or("")) {
                ("Application", "argoproj.io") => {
                    let spec = o.node.get("spec");
                    let sources = spec
                        .and_then(|s| s.get("source"))
                        .into_iter()
                        .chain(spec.map(|s| s.seq_at("sources")).unwrap_or_default());
                    let paths: Vec<&str> = sources.filter_map(|s| s.str_at(&["path"])).collect();
                    let dest = spec.and_then(|s| s.get("destination"));
                    let name = dest.and_then(|d| d.str_at(&["name"]));
                    let server = dest.and_then(|d| d.str_at(&["server"]));
                    let found = self.clusters.iter().position(|c| {
                        name == Some(c.name)
                            || server.is_some_and(|s| {
                                c.node
                                    .get("endpoint")
                                    .and_then(Node::as_str)
                                    .is_some_and(|e| {
                                        s.trim_start_matches("https://").trim_end_matches('/') == e
                                    })
                            })
                    });
                    (paths, found)
                }
                ("Kustomization", "kustomize.toolkit.fluxcd.io") => {
                    let path = o.node.str_at(&["spec", "path"]);
                    let secret = o.node.str_at(&["spec", "kubeConfig", "secretRef", "name"]);
                    let found = secret.and_then(|s| {
                        self.clusters
                            .iter()
                            .position(|c| s == c.name || s.contains(c.name))
                    });
                    (path.into_iter().collect(), found)
                }
                _ => continue,
            };
            let Some(ci) = cluster else { continue };
            let Some(base) = self.files[o.file as usize].path().map(repo_root) else {
                continue;
            };
            for p in paths {
                let dir = canonical(&base.join(p.trim_start_matches("./")));
                for (si, s) in self.scopes.iter().enumerate() {
                    let Some(root) = s.root else { continue };
                    let root_dir = self.files[root as usize]
                        .path()
                        .and_then(Path::parent)
                        .map(canonical);
                    if root_dir.as_ref() == Some(&dir) {
                        bindings.push((si, ci, format!("{} {}", o.kind, o.name.unwrap_or("?"))));
                    }
                }
            }
        }
        for (s, c, why) in bindings {
            self.bind(s, c, why);
        }
    }

    /// The clusters an object could run on: its scope's, the config's
    /// mapping of its file, or, when nothing says, every cluster in the scan.
    pub fn clusters_for(&self, o: &Object<'a>) -> &[usize] {
        if let Some(ci) = self.file_clusters.get(&o.file) {
            return std::slice::from_ref(ci);
        }
        let bound = &self.scopes[o.scope].clusters;
        if bound.is_empty() {
            &self.all_clusters
        } else {
            bound
        }
    }

    /// The clusters an object is known to run on (config, a deployer, the
    /// only dump): none when several are possible and nothing says.
    pub fn known_clusters_for(&self, o: &Object<'a>) -> &[usize] {
        if let Some(ci) = self.file_clusters.get(&o.file) {
            return std::slice::from_ref(ci);
        }
        &self.scopes[o.scope].clusters
    }

    /// The one cluster an object runs on, when exactly one is possible.
    pub fn cluster_of(&self, o: &Object<'a>) -> Option<&Cluster<'a>> {
        match self.clusters_for(o) {
            [one] => Some(&self.clusters[*one]),
            _ => None,
        }
    }

    /// Whether an object could run on cluster `ci`.
    pub fn runs_on(&self, o: &Object<'a>, ci: usize) -> bool {
        self.clusters_for(o).contains(&ci)
    }

    /// Whether two objects are known to run in one cluster together: the same
    /// scope; the default scope beside another whose clusters are not known to
    /// differ; two kustomization roots only when both are bound to one cluster
    /// (two overlays of one base are usually two environments).
    pub fn together(&self, a: &Object<'a>, b: &Object<'a>) -> bool {
        if a.scope == b.scope {
            return true;
        }
        let (ca, cb) = (self.clusters_for(a), self.clusters_for(b));
        let overlap = ca.iter().any(|c| cb.contains(c));
        if a.scope != DEFAULT_SCOPE && b.scope != DEFAULT_SCOPE {
            let bound = |o: &Object<'a>| {
                !self.scopes[o.scope].clusters.is_empty()
                    || self.file_clusters.contains_key(&o.file)
            };
            return bound(a) && bound(b) && overlap;
        }
        ca.is_empty() || cb.is_empty() || overlap
    }

    /// Whether the scan holds several clusters and nothing says which of
    /// its workloads run on which.
    pub fn unmapped_clusters(&self) -> bool {
        self.clusters.len() > 1
            && self
                .workloads
                .iter()
                .any(|w| self.known_clusters_for(&self.objects[w.object]).is_empty())
    }
}

/// The folder an Argo CD / Flux path is relative to: the git repository
/// holding the file (the nearest folder with `.git`), else the file's folder.
fn repo_root(file: &Path) -> PathBuf {
    let abs = canonical(file);
    abs.ancestors()
        .skip(1)
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| abs.parent().unwrap_or(Path::new(".")).to_path_buf())
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// `NAME`, `LOCATION/NAME` or `PROJECT/LOCATION/NAME`.
pub fn cluster_matches(c: &Cluster, name: &str) -> bool {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        [n] => c.name == *n,
        [l, n] => c.name == *n && c.location == Some(*l),
        [p, l, n] => c.name == *n && c.location == Some(*l) && c.project.as_deref() == Some(*p),
        _ => false,
    }
}
