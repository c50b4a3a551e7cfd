//! The regression guard: kwi-lint on real repositories nobody here wrote
//! (../shared/corpus/realworld, with the verdicts of EXPECTED.tsv) reports every
//! true finding listed there and no other error or warning. Findings verified
//! true since are in tests/data/realworld-verified.tsv, each with its evidence.
//! Skips when the shared corpus is absent.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

fn verdicts(text: &str) -> Vec<(String, String, String)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Some((
                c.first()?.to_string(),
                c.get(2)?.to_string(),
                c.get(3)?.to_string(),
            ))
        })
        .collect()
}

#[test]
fn real_repositories_give_only_true_findings() {
    let rw = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/realworld");
    let Ok(expected) = std::fs::read_to_string(rw.join("EXPECTED.tsv")) else {
        eprintln!("skipped: {} not found", rw.display());
        return;
    };
    let mut known = verdicts(&expected);
    known.extend(verdicts(include_str!("data/realworld-verified.tsv")));
    let allowed: BTreeSet<(String, String)> = known
        .iter()
        .map(|(f, r, _)| (f.clone(), r.clone()))
        .collect();
    let mut repos: Vec<_> = std::fs::read_dir(&rw)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    repos.sort();
    let mut reported = BTreeSet::new();
    let mut wrong = Vec::new();
    for repo in &repos {
        let o = common::bin()
            .current_dir(&rw)
            .args(["--format", "json", repo])
            .output()
            .expect("run kwi-lint");
        let v = common::json(&o);
        for f in v["findings"].as_array().into_iter().flatten() {
            let severity = f["severity"].as_str().unwrap_or("");
            if severity != "error" && severity != "warning" {
                continue;
            }
            let key = (
                f["file"].as_str().unwrap_or("").to_string(),
                f["rule"].as_str().unwrap_or("").to_string(),
            );
            if !allowed.contains(&key) {
                wrong.push(format!(
                    "{} {}:{} {}",
                    key.1,
                    key.0,
                    f["line"],
                    f["message"].as_str().unwrap_or("")
                ));
            }
            reported.insert(key);
        }
    }
    let missed: Vec<String> = known
        .iter()
        .filter(|(_, _, verdict)| verdict == "TP")
        .filter(|(f, r, _)| !reported.contains(&(f.clone(), r.clone())))
        .map(|(f, r, _)| format!("{r} {f}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} false positive(s):\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        missed.is_empty(),
        "true findings no longer reported:\n{}",
        missed.join("\n")
    );
}

#[test]
fn the_shared_corpus_gives_only_reviewed_findings() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !corpus.is_dir() {
        eprintln!("skipped: {} not found", corpus.display());
        return;
    }
    let known = verdicts(include_str!("data/corpus-expected.tsv"));
    let allowed: BTreeSet<(String, String)> = known
        .iter()
        .map(|(f, r, _)| (f.clone(), r.clone()))
        .collect();
    let mut tops: Vec<String> = std::fs::read_dir(&corpus)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir() && e.file_name() != "realworld")
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    tops.sort();
    let mut reported = BTreeSet::new();
    let mut wrong = Vec::new();
    for top in &tops {
        let o = common::bin()
            .current_dir(&corpus)
            .args(["--format", "json", top])
            .output()
            .expect("run kwi-lint");
        for f in common::json(&o)["findings"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if !matches!(f["severity"].as_str(), Some("error" | "warning")) {
                continue;
            }
            let key = (
                f["file"].as_str().unwrap_or("").to_string(),
                f["rule"].as_str().unwrap_or("").to_string(),
            );
            if !allowed.contains(&key) {
                wrong.push(format!(
                    "{} {}:{} {}",
                    key.1,
                    key.0,
                    f["line"],
                    f["message"].as_str().unwrap_or("")
                ));
            }
            reported.insert(key);
        }
    }
    let missed: Vec<String> = known
        .iter()
        .filter(|(f, r, v)| v == "TP" && !reported.contains(&(f.clone(), r.clone())))
        .map(|(f, r, _)| format!("{r} {f}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "unreviewed finding(s):\n{}",
        wrong.join("\n")
    );
    assert!(
        missed.is_empty(),
        "true findings no longer reported:\n{}",
        missed.join("\n")
    );
}
