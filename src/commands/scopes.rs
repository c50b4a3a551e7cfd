//! `kwi-lint scopes`: how the scan was understood — each scope (what is
//! deployed together: a kustomization root, or the files in none), the
//! cluster it runs on and why, and with `--objects` every object as rendered.

use serde_json::{json, Value};

use super::args::{AnswerFormat, ScanArgs};
use super::with_scan;
use crate::model::{Model, Object};
use crate::parse::Node;

/// What a reader needs to check a rendered object against `kubectl kustomize`.
fn object_json(m: &Model, o: &Object) -> Value {
    let spec = m
        .workloads
        .iter()
        .find(|w| w.object == o.index)
        .map(|w| w.spec);
    let labels: serde_json::Map<String, Value> = o
        .metadata()
        .map(|md| md.map_at("labels"))
        .unwrap_or_default()
        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), json!(v.as_str().unwrap_or("")))))
        .collect();
    json!({
        "kind": o.kind,
        "namespace": o.namespace,
        "name": o.name,
        "service_account": spec.and_then(|s| s.get("serviceAccountName")).and_then(Node::as_str),
        "gcp_service_account": Model::wi_annotation(o).and_then(|(_, v)| v.as_str()),
        "labels": labels,
        "at": m.location_at(o.name_loc()),
    })
}

pub fn json(m: &Model, objects: bool) -> String {
    let scopes: Vec<Value> = m
        .scopes
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let members: Vec<&Object> = m.objects.iter().filter(|o| o.scope == i).collect();
            let mut v = json!({
                "name": s.name,
                "root": s.root.map(|f| m.file_name(f)),
                "clusters": s.clusters.iter().map(|c| m.clusters[*c].name).collect::<Vec<_>>(),
                "bound_by": s.bound_by,
                "unevaluated": s.unevaluated,
                "objects": members.len(),
            });
            if objects {
                v["rendered"] = Value::Array(members.iter().map(|o| object_json(m, o)).collect());
            }
            v
        })
        .collect();
    let out = json!({"version": 1, "scopes": scopes});
    serde_json::to_string_pretty(&out).unwrap_or_default() + "\n"
}

/// Every object of every scope as YAML (scalars double-quoted), each with
/// the place it was written: what kwi-lint lints, to compare with
/// `kubectl kustomize DIR`.
pub fn yaml(m: &Model) -> String {
    let mut out = String::new();
    for (i, s) in m.scopes.iter().enumerate() {
        for o in m.objects.iter().filter(|o| o.scope == i) {
            out.push_str(&format!(
                "---\n# scope {}, from {}\n",
                s.name,
                m.location_at(o.node.loc())
            ));
            emit(o.node, 0, &mut out);
        }
    }
    out
}

fn emit(n: Node<'_>, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match n.kind() {
        crate::parse::Kind::Map => {
            if n.entries().is_empty() {
                out.push_str(&format!("{pad}{{}}\n"));
            }
            for (k, v) in n.entries() {
                let key = serde_json::to_string(k.text().unwrap_or("")).unwrap_or_default();
                if v.is_scalar() || v.entries().is_empty() && v.items().is_empty() {
                    out.push_str(&format!("{pad}{key}: "));
                    emit(v, 0, out);
                } else {
                    out.push_str(&format!("{pad}{key}:\n"));
                    emit(v, indent + 2, out);
                }
            }
        }
        crate::parse::Kind::Seq => {
            if n.items().is_empty() {
                out.push_str(&format!("{pad}[]\n"));
            }
            for item in n.items() {
                if item.is_scalar() {
                    out.push_str(&format!("{pad}- "));
                    emit(item, 0, out);
                } else {
                    out.push_str(&format!("{pad}-\n"));
                    emit(item, indent + 2, out);
                }
            }
        }
        crate::parse::Kind::Scalar => {
            let text = match n.scalar() {
                Some(crate::parse::Scalar::Str(s)) => serde_json::to_string(s).unwrap_or_default(),
                Some(crate::parse::Scalar::Null) => "null".to_string(),
                _ => n.text().unwrap_or("").to_string(),
            };
            out.push_str(&format!("{pad}{text}\n"));
        }
    }
}

pub fn text(m: &Model, objects: bool) -> String {
    let mut out = String::new();
    for (i, s) in m.scopes.iter().enumerate() {
        let members: Vec<&Object> = m.objects.iter().filter(|o| o.scope == i).collect();
        if i == 0 && members.is_empty() {
            continue;
        }
        let cluster = if s.clusters.is_empty() {
            match m.clusters.len() {
                0 => "no cluster dump".to_string(),
                _ => "any scanned cluster (not mapped)".to_string(),
            }
        } else {
            let names: Vec<&str> = s.clusters.iter().map(|c| m.clusters[*c].name).collect();
            format!(
                "cluster {} ({})",
                names.join(", "),
                s.bound_by.as_deref().unwrap_or("")
            )
        };
        let what = match s.root {
            Some(f) => format!("kustomization {}", m.file_name(f)),
            None => "files in no kustomization".to_string(),
        };
        out.push_str(&format!(
            "{}  {what}  {} object(s)  {cluster}\n",
            s.name,
            members.len()
        ));
        if objects {
            for o in members {
                out.push_str(&format!(
                    "    {}  {}\n",
                    o.display(),
                    m.location_at(o.name_loc())
                ));
            }
        }
    }
    if out.is_empty() {
        // A folder of gcloud dumps alone: say what was found, not nothing.
        let clusters: Vec<String> = m
            .clusters
            .iter()
            .map(|c| format!("{} ({})", c.name, m.location_at(c.node.loc())))
            .collect();
        out.push_str(&format!(
            "no Kubernetes objects in the scan; cluster dumps: {}\n",
            if clusters.is_empty() {
                "none".to_string()
            } else {
                clusters.join(", ")
            }
        ));
    }
    if m.unmapped_clusters() {
        out.push_str(&format!(
            "\nnote: {} cluster dumps and no mapping: each workload is checked against every cluster; map them in .kwi-lint.yaml:\nclusters:\n{}",
            m.clusters.len(),
            m.clusters
                .iter()
                .map(|c| format!("  - name: {}\n    manifests: [\"PATH/**\"]\n", c.name))
                .collect::<String>()
        ));
    }
    out
}

pub fn run(objects: bool, rendered: bool, format: AnswerFormat, scan: &ScanArgs) -> i32 {
    with_scan(scan, |model, _| {
        let out = match format {
            _ if rendered => yaml(model),
            AnswerFormat::Text => crate::escape::report(&text(model, objects)),
            AnswerFormat::Json => json(model, objects),
        };
        if super::print_out(&out) {
            0
        } else {
            2
        }
    })
}
