//! kwi-lint reads YAML the way Kubernetes does. Two oracles:
//! - `tests/data/k8s-yaml-scalar-oracle.tsv`: how sigs.k8s.io/yaml over go-yaml
//!   v2 types 122 scalars (copied from shared/data, made with the real Go code);
//! - `kubectl create --dry-run=client --validate=false -f F`: "error parsing F"
//!   exactly when Kubernetes' decoder rejects F's syntax. Run on every YAML and
//!   JSON file of testdata/ and of ../shared/corpus (when present); skipped
//!   with a message when kubectl is not installed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use kwi_lint::parse::{self, Kind, Scalar};
use serde_json::Value;

/// Our value for `labels: {v: SCALAR}`, as the JSON sigs.k8s.io/yaml would
/// produce, or the error text.
fn decode(scalar: &str) -> Result<Value, String> {
    let (tree, err) = parse::parse_yaml_str("oracle.yaml", format!("labels:\n  v: {scalar}\n"));
    if let Some(e) = err {
        return Err(e.message);
    }
    let root = tree.roots().next().ok_or("no document")?;
    let v = root.path(&["labels", "v"]).ok_or("no value")?;
    Ok(match v.kind() {
        Kind::Map => Value::Object(
            v.entries()
                .map(|(k, x)| (k.text().unwrap_or("").to_string(), scalar_json(x)))
                .collect(),
        ),
        Kind::Seq => Value::Array(v.items().map(scalar_json).collect()),
        Kind::Scalar => scalar_json(v),
    })
}

fn scalar_json(n: kwi_lint::parse::Node<'_>) -> Value {
    match n.scalar() {
        Some(Scalar::Null) | None => Value::Null,
        Some(Scalar::Bool(b)) => Value::Bool(b),
        Some(Scalar::Int(i)) => Value::from(i),
        Some(Scalar::Uint(u)) => Value::from(u),
        Some(Scalar::Float(f)) => Value::from(f),
        Some(Scalar::Str(s)) => Value::String(s.to_string()),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn scalar_typing_matches_the_go_yaml_oracle() {
    let table = include_str!("data/k8s-yaml-scalar-oracle.tsv");
    let mut wrong = Vec::new();
    let mut rows = 0;
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let (scalar, kind, expected) = (cols[0], cols[1], cols[2]);
        rows += 1;
        let got = decode(scalar);
        let ok = match (&got, kind) {
            (Err(e), "ERR") => e == expected,
            (Ok(v), _) => serde_json::from_str::<Value>(expected).is_ok_and(|x| same(v, &x)),
            _ => false,
        };
        if !ok {
            wrong.push(format!("{scalar:?}: want {kind} {expected}, got {got:?}"));
        }
    }
    assert_eq!(rows, 122, "the oracle has 122 rows");
    assert!(
        wrong.is_empty(),
        "{} of {rows} rows differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

fn yaml_and_json_files(root: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            yaml_and_json_files(&p, out);
        } else if t.is_file()
            && p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x, "yaml" | "yml" | "json"))
        {
            out.push(p);
        }
    }
}

fn kubectl_available() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The files kubectl says "error parsing" about, asked in batches.
fn kubectl_rejects(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut rejected = BTreeSet::new();
    for batch in files.chunks(200) {
        let mut cmd = Command::new("kubectl");
        cmd.args([
            "create",
            "--dry-run=client",
            "--validate=false",
            "-o",
            "name",
        ]);
        // No cluster: keep kubectl from reading the user's kubeconfig.
        cmd.env("KUBECONFIG", "/dev/null");
        for f in batch {
            cmd.arg("-f").arg(f);
        }
        let out = cmd.output().expect("run kubectl");
        let stderr = String::from_utf8_lossy(&out.stderr);
        for line in stderr.lines() {
            let line = line.trim_start_matches("error: ");
            if let Some(rest) = line.strip_prefix("error parsing ") {
                if let Some(f) = batch
                    .iter()
                    .find(|f| rest.starts_with(&format!("{}: ", f.display())))
                {
                    rejected.insert(f.clone());
                }
            }
        }
    }
    rejected
}

#[test]
fn syntax_verdicts_match_kubectl() {
    if !kubectl_available() {
        eprintln!("skipped: kubectl is not installed");
        return;
    }
    let mut files = Vec::new();
    yaml_and_json_files(Path::new("testdata"), &mut files);
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if shared.is_dir() {
        yaml_and_json_files(&shared, &mut files);
    } else {
        eprintln!(
            "note: {} not found; only testdata/ is compared",
            shared.display()
        );
    }
    files.sort();
    let rejected = kubectl_rejects(&files);
    let mut differ = Vec::new();
    for f in &files {
        let Ok(bytes) = std::fs::read(f) else {
            continue;
        };
        // kubectl reads invalid UTF-8 and NULs; we refuse them before parsing.
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        if text.contains('\0') {
            continue;
        }
        // go-yaml's own nesting cap, not our configurable 256 levels.
        let limits = parse::Limits {
            max_depth: 10_000,
            ..parse::Limits::default()
        };
        let ours = parse::syntax_errors(&f.display().to_string(), text, &limits);
        let theirs = rejected.contains(f);
        if ours.is_empty() == theirs {
            differ.push(format!(
                "{}: kubectl {}, kwi-lint {}",
                f.display(),
                if theirs { "rejects" } else { "accepts" },
                ours.first()
                    .map_or("accepts".to_string(), |e| format!("rejects: {}", e.message))
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} files differ from kubectl:\n{}",
        differ.len(),
        files.len(),
        differ.join("\n")
    );
}
