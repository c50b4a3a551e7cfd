//! The regression guard: kwi-lint on real repositories nobody here wrote
//! (../shared/corpus/realworld, with the verdicts of EXPECTED.tsv) reports every
//! true finding listed there and no other error or warning. Findings verified
//! true since are in tests/data/realworld-verified.tsv, each with its evidence.
//! The rest of ../shared/corpus is held to tests/data/corpus-expected.tsv.
//! Skips when the shared corpus is absent.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

/// (file, rule, verdict) rows of a verdict TSV (file, line, rule, verdict, …).
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

/// Lints each folder of `root` (except `skip`) on its own, as a user would, and
/// asserts every error/warning is in `known` and every TP row is reported.
fn only_known_findings(root: &Path, skip: &str, known: &[(String, String, String)]) {
    let allowed: BTreeSet<(String, String)> = known
        .iter()
        .map(|(f, r, _)| (f.clone(), r.clone()))
        .collect();
    let mut folders: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir() && e.file_name() != skip)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut reported = BTreeSet::new();
    let mut wrong = Vec::new();
    for folder in &folders {
        let o = common::bin()
            .current_dir(root)
            .args(["--format", "json", folder])
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
        "{} false positive(s) under {}:\n{}",
        wrong.len(),
        root.display(),
        wrong.join("\n")
    );
    assert!(
        missed.is_empty(),
        "true findings no longer reported:\n{}",
        missed.join("\n")
    );
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
    only_known_findings(&rw, "", &known);
}

#[test]
fn the_shared_corpus_gives_only_reviewed_findings() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !corpus.is_dir() {
        eprintln!("skipped: {} not found", corpus.display());
        return;
    }
    let known = verdicts(include_str!("data/corpus-expected.tsv"));
    only_known_findings(&corpus, "realworld", &known);
}
