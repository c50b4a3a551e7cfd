//! kwi-lint renders kustomizations as `kubectl kustomize` does (kustomize
//! v5.5, the oracle; needed only by this test): for every kustomization root
//! under testdata/ and ../shared/corpus, the rendered objects' kind,
//! namespace, name, serviceAccountName, Workload Identity annotation and
//! labels must be kustomize's. Roots kubectl cannot build (remote bases,
//! files missing from the corpus) and roots using features kwi-lint does not
//! evaluate (transformer plugins, replacements) are listed as skipped.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use kwi_lint::parse::{self, Node};
use serde_json::Value;

/// (kind, namespace, name) → (serviceAccountName, WI annotation, labels).
type Objects =
    BTreeMap<(String, String, String), (Option<String>, Option<String>, BTreeMap<String, String>)>;

/// Generated objects are not rendered by kwi-lint (a note says so).
const SKIPPED_KINDS: &[&str] = &["ConfigMap", "Secret"];

fn key(kind: &str, ns: &str, name: &str, cluster_scoped: bool) -> (String, String, String) {
    let ns = if cluster_scoped || ns.is_empty() {
        ""
    } else {
        ns
    };
    // kwi-lint shows a namespaced object without one in `default`.
    let ns = if ns == "default" { "" } else { ns };
    (kind.to_string(), ns.to_string(), name.to_string())
}

fn pod_spec<'a>(o: Node<'a>, kind: &str) -> Option<Node<'a>> {
    match kind {
        "Pod" => o.get("spec"),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "Job"
        | "ReplicaSet"
        | "ReplicationController" => o.path(&["spec", "template", "spec"]),
        "CronJob" => o.path(&["spec", "jobTemplate", "spec", "template", "spec"]),
        _ => None,
    }
}

/// kubectl kustomize's output, read with kwi-lint's own parser.
fn theirs(yaml: &str, cluster_scoped: &dyn Fn(&str) -> bool) -> Objects {
    let (tree, _) = parse::parse_yaml_str("kustomize.out.yaml", yaml.to_string());
    let mut out = Objects::new();
    for o in tree.roots() {
        let kind = o.str_at(&["kind"]).unwrap_or("");
        if SKIPPED_KINDS.contains(&kind) {
            continue;
        }
        let ns = o.str_at(&["metadata", "namespace"]).unwrap_or("");
        let name = o.str_at(&["metadata", "name"]).unwrap_or("");
        let sa = pod_spec(o, kind)
            .and_then(|s| s.str_at(&["serviceAccountName"]))
            .map(str::to_string);
        let gsa = o
            .path(&["metadata", "annotations", "iam.gke.io/gcp-service-account"])
            .and_then(Node::as_str)
            .map(str::to_string);
        let labels = o
            .path(&["metadata", "labels"])
            .map(|l| l.entries())
            .unwrap_or_default()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str()?.to_string(),
                    v.as_str().unwrap_or("").to_string(),
                ))
            })
            .collect();
        out.insert(key(kind, ns, name, cluster_scoped(kind)), (sa, gsa, labels));
    }
    out
}

fn ours(scope: &Value) -> Objects {
    let mut out = Objects::new();
    for o in scope["rendered"].as_array().into_iter().flatten() {
        let kind = o["kind"].as_str().unwrap_or("");
        if SKIPPED_KINDS.contains(&kind) {
            continue;
        }
        let labels = o["labels"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        let ns = o["namespace"].as_str().unwrap_or("");
        out.insert(
            key(kind, ns, o["name"].as_str().unwrap_or(""), ns.is_empty()),
            (
                o["service_account"].as_str().map(str::to_string),
                o["gcp_service_account"].as_str().map(str::to_string),
                labels,
            ),
        );
    }
    out
}

fn kubectl_available() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The scopes kwi-lint finds under `dir`, with their rendered objects.
fn scopes(dir: &Path) -> Vec<Value> {
    let o = common::run(&[
        "scopes",
        "--objects",
        "--format",
        "json",
        dir.to_str().unwrap(),
    ]);
    let v = common::json(&o);
    v["scopes"].as_array().cloned().unwrap_or_default()
}

#[test]
fn rendering_matches_kubectl_kustomize() {
    if !kubectl_available() {
        eprintln!("skipped: kubectl is not installed");
        return;
    }
    let mut tops = vec![Path::new("testdata").to_path_buf()];
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if let Ok(entries) = std::fs::read_dir(&shared) {
        for e in entries.flatten().filter(|e| e.path().is_dir()) {
            if e.file_name() == "realworld" {
                let rw = std::fs::read_dir(e.path()).into_iter().flatten().flatten();
                tops.extend(rw.map(|r| r.path()).filter(|p| p.is_dir()));
            } else {
                tops.push(e.path());
            }
        }
    }
    tops.sort();
    let mut roots: Vec<(String, Value)> = Vec::new();
    for top in &tops {
        for s in scopes(top) {
            if let Some(root) = s["root"].as_str() {
                let dir = Path::new(root)
                    .parent()
                    .unwrap_or(Path::new("."))
                    .display()
                    .to_string();
                roots.push((dir, s));
            }
        }
    }
    // kubectl runs in parallel: one process per root.
    let results: Vec<(String, Result<String, String>)> = std::thread::scope(|sc| {
        let chunks: Vec<&[(String, Value)]> =
            roots.chunks(roots.len().div_ceil(4).max(1)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                sc.spawn(move || {
                    chunk
                        .iter()
                        .map(|(dir, _)| {
                            let out = Command::new("kubectl")
                                .args(["kustomize", dir])
                                .env("KUBECONFIG", "/dev/null")
                                .output()
                                .expect("kubectl");
                            let res = if out.status.success() {
                                Ok(String::from_utf8_lossy(&out.stdout).into_owned())
                            } else {
                                Err(String::from_utf8_lossy(&out.stderr)
                                    .lines()
                                    .last()
                                    .unwrap_or("")
                                    .chars()
                                    .take(160)
                                    .collect())
                            };
                            (dir.clone(), res)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    let (mut compared, mut skipped, mut differ) = (0, Vec::new(), Vec::new());
    for ((dir, scope), (_, res)) in roots.iter().zip(results) {
        let unevaluated: Vec<&str> = scope["unevaluated"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|f| {
                matches!(
                    *f,
                    "transformers" | "replacements" | "helmCharts" | "generators"
                )
            })
            .collect();
        if !unevaluated.is_empty() {
            skipped.push(format!("{dir}: uses {}", unevaluated.join(", ")));
            continue;
        }
        let yaml = match res {
            Ok(y) => y,
            Err(e) => {
                skipped.push(format!("{dir}: kubectl cannot build it: {e}"));
                continue;
            }
        };
        let mine = ours(scope);
        let cluster_scoped = |kind: &str| {
            mine.keys().any(|(k, ns, _)| k == kind && ns.is_empty())
                && !mine.keys().any(|(k, ns, _)| k == kind && !ns.is_empty())
        };
        let theirs = theirs(&yaml, &cluster_scoped);
        compared += 1;
        for k in theirs
            .keys()
            .chain(mine.keys())
            .collect::<std::collections::BTreeSet<_>>()
        {
            match (mine.get(k), theirs.get(k)) {
                (None, Some(_)) => differ.push(format!("{dir}: kwi-lint misses {k:?}")),
                (Some(_), None) => {
                    differ.push(format!("{dir}: kwi-lint renders {k:?}, kustomize does not"))
                }
                (Some(a), Some(b)) if a != b => differ.push(format!(
                    "{dir}: {k:?}\n    kwi-lint  {a:?}\n    kustomize {b:?}"
                )),
                _ => {}
            }
        }
    }
    eprintln!("{compared} roots compared; {} skipped:", skipped.len());
    for s in &skipped {
        eprintln!("  skipped {s}");
    }
    assert!(compared > 0, "no kustomization root was compared");
    assert!(
        differ.is_empty(),
        "{} differences:\n{}",
        differ.len(),
        differ.join("\n")
    );
}
