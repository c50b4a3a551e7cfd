//! Walks `testdata/<RULE>/` and asserts, for every rule, the exact findings
//! (rule, file, line, column) in `bad/` and none of that rule in `good/`.
//! A rule's further situations (a fleet cluster, Cloud DNS, direct resource
//! access) are cases of their own: `testdata/<RULE>/cases/<NAME>/` with the
//! same `bad/`, `good/` and `expected.txt`, each linted as a separate scan.

use std::path::{Path, PathBuf};
use std::time::Instant;

use kwi_lint::config;
use kwi_lint::{rules, LintOptions};

fn lint(dir: &Path, rule: &str) -> Vec<String> {
    let mut config = config::discover(dir)
        .map(|p| config::load(&p).expect("config"))
        .unwrap_or_default();
    // Every default rule runs, as for a user, plus the rule under test (it may be opt-in).
    config.rules.entry(rule.to_string()).or_default().enabled = Some(true);
    let all = kwi_lint::load_rules(&config, &[]).expect("rules load");
    let active = rules::effective(&all, &config, &[], &[]);
    assert!(
        active.iter().any(|r| &*r.id == rule),
        "rule {rule} not active"
    );
    let opts = LintOptions {
        paths: vec![dir.to_path_buf()],
        ..LintOptions::default()
    };
    let scan = kwi_lint::load(&opts, &config);
    let out = kwi_lint::lint_files(
        &scan,
        &active,
        &all,
        &config,
        Instant::now(),
        kwi_lint::Extras {
            identities: true,
            notes: false,
            inputs: false,
        },
    );
    let prefix = format!("{}/", dir.display());
    out.findings
        .iter()
        .filter(|f| &*f.rule == rule)
        .map(|f| {
            let file = f.file.name.strip_prefix(&prefix).unwrap_or(&f.file.name);
            format!("{} {}:{}:{}", f.rule, file, f.start.line, f.start.column)
        })
        .collect()
}

fn rule_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("testdata")
        .expect("testdata/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("bad").is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_rule_has_bad_and_good_cases() {
    let all = rules::load(&[] as &[PathBuf]).expect("rules");
    for r in &all {
        let dir = Path::new("testdata").join(&*r.id);
        assert!(
            dir.join("bad").is_dir() && dir.join("good").is_dir(),
            "{} lacks testdata/{}/bad and good",
            r.id,
            r.id
        );
        assert!(
            dir.join("expected.txt").is_file(),
            "{} lacks testdata/{}/expected.txt",
            r.id,
            r.id
        );
    }
    assert_eq!(
        rule_dirs().len(),
        all.len(),
        "a testdata folder has no rule"
    );
}

/// (rule, case folder): the rule's own folder, then each of its `cases/*`.
fn cases() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for dir in rule_dirs() {
        let rule = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        let mut extra: Vec<PathBuf> = std::fs::read_dir(dir.join("cases"))
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        extra.sort();
        out.push((rule.clone(), dir.clone()));
        for case in extra {
            assert!(
                case.join("bad").is_dir()
                    && case.join("good").is_dir()
                    && case.join("expected.txt").is_file(),
                "{} needs bad/, good/ and expected.txt",
                case.display()
            );
            out.push((rule.clone(), case));
        }
    }
    out
}

#[test]
fn bad_cases_give_exactly_the_expected_findings() {
    let mut failures = Vec::new();
    for (rule, dir) in cases() {
        let case = dir.display().to_string();
        let expected: Vec<String> = std::fs::read_to_string(dir.join("expected.txt"))
            .expect("expected.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
        assert!(
            !expected.is_empty(),
            "{case}: expected.txt lists no finding"
        );
        let got = lint(&dir.join("bad"), &rule);
        if got != expected {
            failures.push(format!(
                "{case}/bad:\n  expected {expected:#?}\n  got      {got:#?}"
            ));
        }
        let good = lint(&dir.join("good"), &rule);
        if !good.is_empty() {
            failures.push(format!(
                "{case}/good must be silent for {rule}, got {good:#?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
