//! End-to-end tests: they run the built binary as a user would.

use crate::common;

use std::process::{Command, Output, Stdio};

use crate::common::{bin, json, run, run_stdin, scratch, stdout};

const SA_WITH_PREFIX: &str = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n  namespace: prod\n  annotations:\n    iam.gke.io/gcp-service-account: serviceAccount:api-gsa@acme-prod.iam.gserviceaccount.com\n";

#[test]
fn clean_input_exits_zero() {
    let dir = scratch("clean");
    std::fs::write(
        dir.join("sa.yaml"),
        SA_WITH_PREFIX.replace("serviceAccount:", ""),
    )
    .unwrap();
    let o = run(&["--color", "never", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("0 errors, 0 warnings"));
}

#[test]
fn findings_exit_one_and_fail_level_raises_the_bar() {
    assert_eq!(run(&["testdata/demo"]).status.code(), Some(1));
    // KWI104 bad has only warnings of KWI104.
    let o = run(&[
        "--select",
        "KWI104",
        "--fail-level",
        "error",
        "testdata/KWI104/bad",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = run(&["--select", "KWI104", "testdata/KWI104/bad"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn json_output_has_the_documented_shape() {
    let o = run(&["--format", "json", "testdata/demo"]);
    let v = json(&o);
    assert_eq!(v["version"], 1);
    let f = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "KWI201")
        .expect("a KWI201 finding");
    assert_eq!(f["name"], "wi-binding-missing");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["file"], "testdata/demo/k8s/payments/serviceaccount.yaml");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(7), Some(37))
    );
    assert_eq!(
        (f["end_line"].as_u64(), f["end_column"].as_u64()),
        (Some(7), Some(88))
    );
    let text =
        std::fs::read_to_string("testdata/demo/k8s/payments/serviceaccount.yaml").expect("read");
    let (s, e) = (
        f["byte_start"].as_u64().unwrap() as usize,
        f["byte_end"].as_u64().unwrap() as usize,
    );
    assert_eq!(
        &text[s..e],
        "payments-gsa@acme-shop-prod.iam.gserviceaccount.com"
    );
    let rel = &f["related"][0];
    assert_eq!(
        rel["file"],
        "testdata/demo/gcloud/iam/payments-gsa@acme-shop-prod.iam.gserviceaccount.com.json"
    );
    assert_eq!(
        (rel["line"].as_u64(), rel["column"].as_u64()),
        (Some(6), Some(9))
    );
    assert!(f["help"]
        .as_str()
        .unwrap()
        .starts_with("gcloud iam service-accounts add-iam-policy-binding"));
    assert!(v["summary"]["errors"].as_u64().unwrap() > 0);
}

#[test]
fn stdin_is_linted_under_its_given_name() {
    let o = run_stdin(
        &["--format", "json", "--stdin-filename", "rendered.yaml", "-"],
        SA_WITH_PREFIX,
    );
    let v = json(&o);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(v["findings"][0]["rule"], "KWI102");
    assert_eq!(v["findings"][0]["file"], "rendered.yaml");
    assert_eq!(v["findings"][0]["line"], 7);
}

#[test]
fn a_broken_file_does_not_stop_the_run() {
    let dir = scratch("broken-among-good");
    std::fs::write(dir.join("a-broken.yaml"), "kind: [unclosed\n").unwrap();
    std::fs::write(dir.join("b-sa.yaml"), SA_WITH_PREFIX).unwrap();
    std::fs::write(dir.join("c.json"), "{\"bindings\": [}").unwrap();
    let o = run(&["--format", "json", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["KWI001", "KWI102", "KWI001"]);
    assert_eq!(v["findings"][0]["line"], 2);
}

#[test]
fn unreadable_input_exits_two() {
    let o = run(&["--format", "json", "does/not/exist.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    let v = json(&o);
    assert_eq!(v["findings"][0]["rule"], "KWI001");
    assert!(v["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("cannot read"));
}

#[test]
fn config_errors_point_at_the_line_and_exit_two() {
    let dir = scratch("config-error");
    std::fs::write(
        dir.join(".kwi-lint.yaml"),
        "rules:\n  KWI201: off\nassume:\n  dataplane_v3: true\n",
    )
    .unwrap();
    std::fs::write(dir.join("sa.yaml"), SA_WITH_PREFIX).unwrap();
    let o = run(&[dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(".kwi-lint.yaml:4:3: unknown key `dataplane_v3`"),
        "{err}"
    );
    assert!(err.contains("did you mean `dataplane_v2`"), "{err}");
}

#[test]
fn config_disables_and_reseverities_rules() {
    let dir = scratch("config-ok");
    std::fs::write(dir.join("sa.yaml"), SA_WITH_PREFIX).unwrap();
    std::fs::write(
        dir.join(".kwi-lint.yaml"),
        "rules:\n  KWI102: {severity: info}\n",
    )
    .unwrap();
    let o = run(&["--format", "json", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "info never fails");
    assert_eq!(json(&o)["findings"][0]["severity"], "info");
    std::fs::write(
        dir.join(".kwi-lint.yaml"),
        "rules:\n  wi-annotation-invalid-email: false\n",
    )
    .unwrap();
    let o = run(&["--format", "json", dir.to_str().unwrap()]);
    assert_eq!(json(&o)["findings"].as_array().unwrap().len(), 0);
    let o = run(&[
        "--format",
        "json",
        "--config",
        "/nonexistent/kwi.yaml",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn excludes_and_gitignore_are_honoured() {
    let dir = scratch("excludes");
    std::fs::create_dir_all(dir.join("gen")).unwrap();
    std::fs::create_dir_all(dir.join("node_modules/x")).unwrap();
    std::fs::write(dir.join("gen/sa.yaml"), SA_WITH_PREFIX).unwrap();
    std::fs::write(dir.join("node_modules/x/sa.yaml"), SA_WITH_PREFIX).unwrap();
    std::fs::write(dir.join("ignored.yaml"), SA_WITH_PREFIX).unwrap();
    std::fs::write(dir.join(".gitignore"), "ignored.yaml\n").unwrap();
    let o = run(&[
        "--format",
        "json",
        "--exclude",
        "gen",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(json(&o)["summary"]["files"], 0, "{}", stdout(&o));
    let o = run(&[
        "--format",
        "json",
        "--no-ignore",
        "--exclude",
        "gen",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(json(&o)["summary"]["files"], 1);
    // A file named on the command line is always linted.
    let o = run(&[
        "--format",
        "json",
        dir.join("ignored.yaml").to_str().unwrap(),
    ]);
    assert_eq!(json(&o)["summary"]["files"], 1);
}

#[test]
fn output_is_identical_for_any_thread_count() {
    let one = run(&["--format", "json", "--threads", "1", "testdata"]);
    let two = run(&["--format", "json", "--threads", "2", "testdata"]);
    let eight = run(&["--format", "json", "--threads", "8", "testdata"]);
    assert!(!one.stdout.is_empty());
    assert_eq!(one.stdout, two.stdout);
    assert_eq!(one.stdout, eight.stdout);
}

#[test]
fn rules_and_explain() {
    let o = run(&["rules"]);
    assert_eq!(o.status.code(), Some(0));
    let list = stdout(&o);
    for id in ["KWI001", "KWI201", "KWI306"] {
        assert!(list.contains(id), "{list}");
    }
    let o = run(&["explain", "KWI201"]);
    let text = stdout(&o);
    assert!(text.starts_with("KWI201 (wi-binding-missing)"));
    assert!(text.contains("## How to fix") && text.contains("## Bad") && text.contains("## Good"));
    assert_eq!(run(&["explain", "KWI999"]).status.code(), Some(2));
}

#[test]
fn a_user_rule_runs_without_rust() {
    let dir = scratch("user-rules");
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::write(
        dir.join("rules/automount.yaml"),
        "id: ACME001\nname: sa-automount-token\nseverity: warning\nsummary: ServiceAccounts must not automount tokens.\ncheck:\n  predicate:\n    kinds: [ServiceAccount]\n    path: automountServiceAccountToken\n    op: absent\n  message: \"ServiceAccount {namespace}/{name} does not set automountServiceAccountToken\"\n  help: \"add `automountServiceAccountToken: false`\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("sa.yaml"),
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n",
    )
    .unwrap();
    let o = run(&[
        "--format",
        "json",
        "--rules-dir",
        dir.join("rules").to_str().unwrap(),
        dir.join("sa.yaml").to_str().unwrap(),
    ]);
    let v = json(&o);
    assert_eq!(v["findings"][0]["rule"], "ACME001");
    assert_eq!(
        (
            v["findings"][0]["line"].as_u64(),
            v["findings"][0]["column"].as_u64()
        ),
        (Some(4), Some(9))
    );
    // A broken rule file is a clear error with its position.
    std::fs::write(dir.join("rules/bad.yaml"), "id: ACME002\nname: x\nsummary: y\ncheck:\n  predicate:\n    path: a\n    op: is_pink\n  message: m\n").unwrap();
    let o = run(&[
        "--rules-dir",
        dir.join("rules").to_str().unwrap(),
        dir.join("sa.yaml").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.yaml:7:9: unknown operator `is_pink`"));
}

#[test]
fn a_user_rule_cannot_silently_replace_a_built_in_one() {
    let dir = scratch("user-rule-clash");
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    let off = "id: KWI101\nname: my-off-switch\nsummary: s\nenabled: false\ncheck:\n  template: wi-binding-missing\n";
    std::fs::write(dir.join("rules/KWI101.yaml"), off).unwrap();
    std::fs::write(
        dir.join("sa.yaml"),
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n  annotations:\n    iam.gke.io/gcp-service-accounts: x\n",
    )
    .unwrap();
    let args = |_: ()| {
        run(&[
            "--format",
            "json",
            "--rules-dir",
            dir.join("rules").to_str().unwrap(),
            dir.join("sa.yaml").to_str().unwrap(),
        ])
    };
    let o = args(());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("KWI101.yaml:1:1: rule KWI101 clashes with KWI101"),
        "{err}"
    );
    assert!(err.contains("override: true"), "{err}");
    // A clash by name is one too.
    std::fs::write(
        dir.join("rules/KWI101.yaml"),
        "id: ACME101\nname: wi-annotation-misspelled\nsummary: s\ncheck:\n  template: wi-binding-missing\n",
    )
    .unwrap();
    assert_eq!(args(()).status.code(), Some(2));
    // Said on purpose, it replaces the built-in rule.
    std::fs::write(
        dir.join("rules/KWI101.yaml"),
        format!("override: true\n{off}"),
    )
    .unwrap();
    let o = args(());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(rules_of(&o), Vec::<String>::new());
}

#[test]
fn crlf_and_bom_keep_exact_positions() {
    let dir = scratch("crlf");
    let text = format!("\u{feff}{}", SA_WITH_PREFIX.replace('\n', "\r\n"));
    std::fs::write(dir.join("sa.yaml"), &text).unwrap();
    let o = run(&["--format", "json", dir.join("sa.yaml").to_str().unwrap()]);
    let f = &json(&o)["findings"][0];
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(7), Some(37))
    );
    let (s, e) = (
        f["byte_start"].as_u64().unwrap() as usize,
        f["byte_end"].as_u64().unwrap() as usize,
    );
    assert_eq!(
        &text[s..e],
        "serviceAccount:api-gsa@acme-prod.iam.gserviceaccount.com"
    );
}

#[test]
fn hostile_inputs_become_diagnostics() {
    let dir = scratch("hostile");
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        bomb.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 9].join(", ")
        ));
    }
    std::fs::write(dir.join("bomb.yaml"), bomb).unwrap();
    std::fs::write(dir.join("deep.yaml"), "[".repeat(20_000)).unwrap();
    std::fs::write(dir.join("deep.json"), "[".repeat(20_000)).unwrap();
    std::fs::write(dir.join("binary.yaml"), [0u8, 159, 146, 150, 0, 1]).unwrap();
    std::fs::write(dir.join("latin1.yaml"), b"name: caf\xe9\n").unwrap();
    std::fs::write(dir.join("empty.yaml"), "").unwrap();
    std::fs::write(dir.join("dashes.yaml"), "---\n---\n").unwrap();
    std::fs::write(dir.join("scalar.yaml"), "just a string\n").unwrap();
    std::fs::write(dir.join("types.yaml"), "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: 123\n  namespace: null\n  labels: {yes: a}\n  annotations: {1: 2}\n").unwrap();
    // kubectl: "error converting YAML to JSON: yaml: invalid map key".
    std::fs::write(
        dir.join("complexkey.yaml"),
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  annotations: {[a]: b}\n",
    )
    .unwrap();
    let o = run(&["--format", "json", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    let got: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["rule"].as_str().unwrap(),
                f["file"].as_str().unwrap().rsplit('/').next().unwrap()
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "KWI001 binary.yaml",
            "KWI001 bomb.yaml",
            "KWI001 complexkey.yaml",
            "KWI001 deep.json",
            "KWI001 deep.yaml",
            "KWI001 latin1.yaml",
            // name: 123; the label key `yes` (stored as `true`); the value 2 of key 1.
            "KWI006 types.yaml",
            "KWI006 types.yaml",
            "KWI006 types.yaml",
        ]
    );
}

fn rules_of(o: &Output) -> Vec<String> {
    json(o)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f["rule"].as_str().unwrap(), f["line"]))
        .collect()
}

#[test]
fn suppressions_by_comment_annotation_and_path() {
    let dir = scratch("suppressions");
    let base = SA_WITH_PREFIX.trim_end();
    // Comment on the line above the node.
    std::fs::write(dir.join("above.yaml"), base.replace("    iam.gke.io/gcp-service-account:", "    # kwi-lint: ignore[KWI102] the overlay strips it\n    iam.gke.io/gcp-service-account:")).unwrap();
    // Comment on the same line.
    std::fs::write(
        dir.join("same.yaml"),
        format!("{base} # kwi-lint: ignore[KWI1] managed elsewhere\n"),
    )
    .unwrap();
    // Annotation on the object, by rule name.
    std::fs::write(dir.join("annotated.yaml"), base.replace("  annotations:\n", "  annotations:\n    ignore.kwi-lint.io/wi-annotation-invalid-email: \"patched by kustomize\"\n")).unwrap();
    // A comment two lines above does not apply.
    std::fs::write(
        dir.join("far.yaml"),
        base.replace(
            "  annotations:\n",
            "  # kwi-lint: ignore[KWI102] too far away\n  annotations:\n",
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("generated")).unwrap();
    std::fs::write(dir.join("generated/sa.yaml"), SA_WITH_PREFIX).unwrap();
    std::fs::write(
        dir.join(".kwi-lint.yaml"),
        "per_path_ignores:\n  \"generated/**\": [KWI102]\n",
    )
    .unwrap();
    let o = run(&["--format", "json", dir.to_str().unwrap()]);
    let v = json(&o);
    let got: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}:{}",
                f["rule"].as_str().unwrap(),
                f["file"].as_str().unwrap().rsplit('/').next().unwrap(),
                f["line"]
            )
        })
        .collect();
    assert_eq!(got, ["KWI102 far.yaml:8"], "{}", stdout(&o));
    // Without a reason the suppression still works, and is itself reported.
    std::fs::write(
        dir.join("far.yaml"),
        base.replace(
            "    iam.gke.io/gcp-service-account:",
            "    # kwi-lint: ignore[KWI102]\n    iam.gke.io/gcp-service-account:",
        ),
    )
    .unwrap();
    let o = run(&["--format", "json", dir.to_str().unwrap()]);
    assert_eq!(rules_of(&o), ["KWI004 7"]);
    assert_eq!(o.status.code(), Some(0), "info does not fail");
    // An unused suppression is reported on request.
    std::fs::write(
        dir.join("far.yaml"),
        SA_WITH_PREFIX.replace("serviceAccount:", "").replace(
            "  annotations:\n",
            "  annotations:\n    # kwi-lint: ignore[KWI102] stale\n",
        ),
    )
    .unwrap();
    let o = run(&[
        "--format",
        "json",
        "--report-unused-ignores",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(rules_of(&o), ["KWI005 7"]);
    let o = run(&["--format", "json", dir.to_str().unwrap()]);
    assert_eq!(rules_of(&o), Vec::<String>::new());
}

#[test]
fn select_and_ignore_take_ids_names_and_groups() {
    let demo = ["--format", "json", "testdata/demo"];
    let all = rules_of(&run(&demo));
    let only = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend_from_slice(&demo);
        json(&run(&a))["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let g2 = only(&["--select", "KWI2"]);
    assert!(!g2.is_empty() && g2.iter().all(|r| r.starts_with("KWI2")));
    assert!(only(&["--ignore", "KWI2,KWI3"])
        .iter()
        .all(|r| !r.starts_with("KWI2") && !r.starts_with("KWI3")));
    assert_eq!(only(&["--select", "wi-binding-missing"]), ["KWI201"]);
    assert!(all.len() > g2.len());
    assert_eq!(
        run(&["--select", "KWI999", "testdata/demo"]).status.code(),
        Some(2)
    );
}

#[test]
fn baseline_round_trip_survives_moved_lines() {
    let dir = scratch("baseline");
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join("sa.yaml"), SA_WITH_PREFIX).unwrap();
    let baseline = dir.join("baseline.json");
    let o = run(&[
        "--write-baseline",
        baseline.to_str().unwrap(),
        repo.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let o = run(&[
        "--format",
        "json",
        "--baseline",
        baseline.to_str().unwrap(),
        repo.to_str().unwrap(),
    ]);
    assert_eq!(rules_of(&o), Vec::<String>::new());
    assert_eq!(o.status.code(), Some(0));
    // What the baseline hid is said, on stderr and in the JSON summary.
    let hidden = json(&o)["summary"]["baseline_hidden"]
        .as_u64()
        .expect("count");
    assert!(hidden > 0);
    assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("hid {hidden} known finding(s)")));
    let human = run(&[
        "--baseline",
        baseline.to_str().unwrap(),
        repo.to_str().unwrap(),
    ]);
    assert!(stdout(&human).contains(&format!("({hidden} known finding")));
    let plain = run(&["--format", "json", repo.to_str().unwrap()]);
    assert!(json(&plain)["summary"].get("baseline_hidden").is_none());
    // Unrelated edits move the line: still known.
    std::fs::write(
        repo.join("sa.yaml"),
        format!("# owned by team payments\n\n{SA_WITH_PREFIX}"),
    )
    .unwrap();
    let o = run(&[
        "--format",
        "json",
        "--baseline",
        baseline.to_str().unwrap(),
        repo.to_str().unwrap(),
    ]);
    assert_eq!(rules_of(&o), Vec::<String>::new());
    // A new problem is reported.
    std::fs::write(
        repo.join("b.yaml"),
        SA_WITH_PREFIX.replace("name: api", "name: web"),
    )
    .unwrap();
    let o = run(&[
        "--format",
        "json",
        "--baseline",
        baseline.to_str().unwrap(),
        repo.to_str().unwrap(),
    ]);
    assert_eq!(rules_of(&o), ["KWI102 7"]);
    assert_eq!(o.status.code(), Some(1));
    std::fs::write(&baseline, "not json").unwrap();
    assert_eq!(
        run(&[
            "--baseline",
            baseline.to_str().unwrap(),
            repo.to_str().unwrap()
        ])
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn baseline_does_not_hide_the_same_mistake_on_another_object() {
    let dir = scratch("baseline-identity");
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let sa = |ns: &str, name: &str| {
        format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: {ns}\n  annotations:\n    iam.gke.io/gcp-service-accounts: app@acme-prod.iam.gserviceaccount.com\n")
    };
    std::fs::write(repo.join("sa.yaml"), sa("a", "api")).unwrap();
    let baseline = dir.join("baseline.json");
    let b = baseline.to_str().unwrap();
    let r = repo.to_str().unwrap();
    assert_eq!(run(&["--write-baseline", b, r]).status.code(), Some(0));
    assert!(std::fs::read_to_string(&baseline)
        .unwrap()
        .contains("\"version\": 2"));
    assert_eq!(
        rules_of(&run(&["--format", "json", "--baseline", b, r])),
        Vec::<String>::new()
    );
    // a/api is fixed, and prod/payments gets the same typo in the same file.
    std::fs::write(repo.join("sa.yaml"), sa("prod", "payments")).unwrap();
    let o = run(&["--format", "json", "--baseline", b, r]);
    assert_eq!(rules_of(&o), ["KWI101 7"]);
    assert_eq!(o.status.code(), Some(1));
    // A version 1 baseline (no object in the key) is still read.
    let v1 = r#"{"version": 1, "findings": []}"#;
    std::fs::write(&baseline, v1).unwrap();
    assert_eq!(
        rules_of(&run(&["--format", "json", "--baseline", b, r])),
        ["KWI101 7"]
    );
}

#[test]
fn pre_commit_mode_reports_only_the_given_files_with_the_whole_model() {
    let dir = scratch("pre-commit-mode");
    std::fs::write(
        dir.join("sa.yaml"),
        SA_WITH_PREFIX.replace("serviceAccount:", ""),
    )
    .unwrap();
    std::fs::write(
        dir.join("other.yaml"),
        SA_WITH_PREFIX.replace("name: api", "name: other"),
    )
    .unwrap();
    std::fs::write(
        dir.join("api-gsa@acme-prod.iam.gserviceaccount.com.json"),
        "{\"bindings\": [{\"role\": \"roles/iam.workloadIdentityUser\", \"members\": [\"serviceAccount:acme-prod.svc.id.goog[prod/wrong]\"]}]}\n",
    )
    .unwrap();
    let o = bin()
        .current_dir(&dir)
        .args(["--format", "json", "--pre-commit", "sa.yaml"])
        .output()
        .unwrap();
    let v = json(&o);
    let got: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["file"].as_str().unwrap()))
        .collect();
    // KWI201 needs the policy file, which was not passed; other.yaml's KWI102 is not reported.
    assert_eq!(got, [("KWI201", "sa.yaml")]);
}

#[test]
fn special_files_and_symlink_loops_do_not_hang() {
    let dir = scratch("special-files");
    std::fs::write(dir.join("ok.yaml"), SA_WITH_PREFIX).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&dir, dir.join("loop")).unwrap();
        std::os::unix::fs::symlink(dir.join("missing.yaml"), dir.join("dangling.yaml")).unwrap();
        let status = Command::new("mkfifo")
            .arg(dir.join("pipe.yaml"))
            .status()
            .expect("mkfifo");
        assert!(status.success());
    }
    // The walk does not follow links and skips the FIFO: one file, no hang.
    let o = run(&["--format", "json", dir.to_str().unwrap()]);
    assert_eq!(json(&o)["summary"]["files"], 1, "{}", stdout(&o));
    assert_eq!(o.status.code(), Some(1));
    // Named explicitly, the FIFO is reported instead of read.
    let o = run(&[
        "--format",
        "json",
        dir.join("pipe.yaml").to_str().unwrap(),
        dir.join("ok.yaml").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let v = json(&o);
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["message"]
            .as_str()
            .unwrap()
            .contains("not a regular file")));
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "KWI102"));
}

#[test]
fn generated_corpus_output_is_identical_for_any_thread_count() {
    let dir = scratch("determinism-corpus");
    let status = Command::new("python3")
        .args([
            "bench/gen_corpus.py",
            "--files",
            "400",
            "--seed",
            "7",
            "--gcloud",
            "--force",
            "--out",
        ])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("python3 runs the corpus generator");
    assert!(status.success());
    let d = dir.to_str().unwrap();
    let outputs: Vec<Vec<u8>> = ["1", "2", "8"]
        .iter()
        .map(|t| run(&["--format", "json", "--threads", t, d]).stdout)
        .collect();
    let v: serde_json::Value = serde_json::from_slice(&outputs[0]).unwrap();
    assert!(
        v["findings"].as_array().unwrap().len() > 50,
        "the corpus makes the rules fire"
    );
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
    let human: Vec<Vec<u8>> = ["1", "8"]
        .iter()
        .map(|t| run(&["--color", "never", "--threads", t, d]).stdout)
        .collect();
    // Only the run time in the summary line may differ.
    let strip = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .rsplit_once(" in ")
            .map(|(a, _)| a.to_string())
            .unwrap_or_default()
    };
    assert_eq!(strip(&human[0]), strip(&human[1]));
}

#[test]
fn fix_commands_print_on_one_line_that_a_shell_can_split() {
    // Narrow terminal: miette would wrap at ~100 columns, or at COLUMNS.
    let human = common::bin()
        .env("COLUMNS", "60")
        .args(["--color", "never", "testdata/demo"])
        .output()
        .expect("run");
    let human = String::from_utf8_lossy(&human.stdout).into_owned();
    let o = run(&["--format", "json", "testdata/demo"]);
    let v = json(&o);
    let mut commands = 0;
    for f in v["findings"].as_array().unwrap() {
        let Some(help) = f["help"].as_str() else {
            continue;
        };
        let first = help.lines().next().unwrap_or("");
        if !(first.starts_with("gcloud ") || first.starts_with("kubectl ")) {
            continue;
        }
        commands += 1;
        assert!(
            human
                .lines()
                .any(|l| l.trim_start().trim_start_matches("help: ") == first),
            "`{first}` is not on one line of the human output"
        );
        // A shell splits it: quotes are balanced, every flag is `--name` or `--name=value`.
        assert_eq!(first.matches('"').count() % 2, 0, "{first}");
        for word in first.split_whitespace().filter(|w| w.starts_with('-')) {
            assert!(
                word.starts_with("--") && word.len() > 2 && !word.ends_with('='),
                "bad flag `{word}` in `{first}`"
            );
        }
    }
    assert!(commands >= 4, "the demo has {commands} fix commands");
    assert!(!human.contains("Advice: \n"), "an empty Advice line");
}

#[test]
fn config_typos_in_rule_names_are_errors_with_a_position() {
    let dir = scratch("config-typos");
    std::fs::write(dir.join("sa.yaml"), SA_WITH_PREFIX).unwrap();
    for (config, want) in [
        ("rules:\n  KWI999: off\n", ".kwi-lint.yaml:2:3: `KWI999` names no rule"),
        ("rules:\n  wi-bindng-missing: off\n", ".kwi-lint.yaml:2:3: `wi-bindng-missing` names no rule (did you mean `wi-binding-missing`?)"),
        ("per_path_ignores:\n  \"dumps/**\": [KWI2O4]\n", ".kwi-lint.yaml:2:16: `KWI2O4` names no rule (did you mean `KWI204`?)"),
        ("select: [KWI1, KWI999]\n", ".kwi-lint.yaml:1:16: `KWI999` names no rule"),
    ] {
        std::fs::write(dir.join(".kwi-lint.yaml"), config).unwrap();
        let o = run(&[dir.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{config}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{config}: {err}");
    }
    // Names, ids and prefixes that exist are fine.
    std::fs::write(
        dir.join(".kwi-lint.yaml"),
        "rules:\n  KWI104: off\n  wi-default-identity: {enabled: false}\nselect: [KWI1, KWI2]\nignore: [wi-binding-missing]\n",
    )
    .unwrap();
    assert_eq!(run(&[dir.to_str().unwrap()]).status.code(), Some(1));
}

#[test]
fn verbose_says_how_each_iam_policy_was_resolved() {
    let dir = "testdata/KWI003/good/dumps";
    let o = run(&["-v", dir]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        err.contains("note: testdata/KWI003/good/dumps/api-gsa@acme-prod.iam.gserviceaccount.com.json: IAM policy of service account api-gsa@acme-prod.iam.gserviceaccount.com (from the file name)"),
        "{err}"
    );
    let quiet = run(&[dir]);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("IAM policy of"));
}

/// A CAI export names a service account by its unique ID; a `gcloud iam
/// service-accounts list` entry (which also has `projectId` and a `name`
/// under `projects/`) maps it to the email, and is not read as a project;
/// so does the service account's own resource asset.
#[test]
fn a_service_account_list_maps_unique_ids_to_emails() {
    let dir = scratch("sa-unique-id");
    std::fs::write(
        dir.join("iam-service-accounts.json"),
        r#"[{"email": "app@acme-shop.iam.gserviceaccount.com",
  "name": "projects/acme-shop/serviceAccounts/app@acme-shop.iam.gserviceaccount.com",
  "projectId": "acme-shop", "uniqueId": "109876543210987654321"}]"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("assets.json"),
        r#"{"asset_type":"iam.googleapis.com/ServiceAccount","iam_policy":{"bindings":[{"members":["serviceAccount:acme-shop.svc.id.goog[shop/app]"],"role":"roles/iam.workloadIdentityUser"}]},"name":"//iam.googleapis.com/projects/acme-shop/serviceAccounts/109876543210987654321"}"#,
    )
    .unwrap();
    let mapped = "assets.json: IAM policy of service account app@acme-shop.iam.gserviceaccount.com (from the asset record)";
    let o = run(&["-v", dir.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(err.contains(mapped), "{err}");
    // The service account's resource asset (`gcloud asset export
    // --content-type=resource`) maps it too.
    std::fs::remove_file(dir.join("iam-service-accounts.json")).unwrap();
    let o = run(&["-v", dir.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        err.contains("IAM policy of service account 109876543210987654321"),
        "{err}"
    );
    std::fs::write(
        dir.join("resources.json"),
        r#"{"name":"//iam.googleapis.com/projects/acme-shop/serviceAccounts/109876543210987654321","asset_type":"iam.googleapis.com/ServiceAccount","resource":{"version":"v1","discovery_name":"ServiceAccount","parent":"//cloudresourcemanager.googleapis.com/projects/123456789012","data":{"email":"app@acme-shop.iam.gserviceaccount.com","name":"projects/acme-shop/serviceAccounts/app@acme-shop.iam.gserviceaccount.com","projectId":"acme-shop","uniqueId":"109876543210987654321"}},"ancestors":["projects/123456789012"]}"#,
    )
    .unwrap();
    let o = run(&["-v", dir.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(err.contains(mapped), "{err}");
    assert!(!err.contains("resources.json"), "{err}");
}

/// KWI201's nearest miss, from the members the model parsed: the first member
/// with the fewest differences, users and groups never; a member written
/// without `serviceAccount:` is read as it was meant.
#[test]
fn kwi201_names_the_nearest_miss_of_the_gsa_policy() {
    let nearest = |members: &str| {
        let dir = scratch(&format!("kwi201-nearest-{}", members.len()));
        let sa = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n  namespace: prod\n  annotations:\n    iam.gke.io/gcp-service-account: api-gsa@acme-prod.iam.gserviceaccount.com\n";
        std::fs::write(dir.join("sa.yaml"), sa).unwrap();
        let policy = format!("{{\"bindings\": [\n  {{\"role\": \"roles/iam.workloadIdentityUser\",\n   \"members\": [{members}]}}\n]}}\n");
        std::fs::write(
            dir.join("api-gsa@acme-prod.iam.gserviceaccount.com.json"),
            policy,
        )
        .unwrap();
        let o = run(&[
            "--format",
            "json",
            "--select",
            "KWI201",
            dir.to_str().unwrap(),
        ]);
        let v = json(&o);
        let f = &v["findings"][0];
        assert_eq!(f["rule"], "KWI201", "{v}");
        let r = &f["related"][0];
        format!(
            "{}:{} {}",
            r["line"],
            r["column"],
            r["message"].as_str().unwrap()
        )
    };
    assert_eq!(
        nearest("\"user:ann@acme.com\", \"acme-prod.svc.id.goog[prod/api]\", \"serviceAccount:acme-prod.svc.id.goog[dev/api]\""),
        "3:37 nearest miss: the member lacks the `serviceAccount:` prefix"
    );
    assert_eq!(
        nearest("\"group:ops@acme.com\", \"serviceAccount:acme-prod.svc.id.goog[dev/web]\", \"serviceAccount:acme-prod.svc.id.goog[dev/api]\""),
        "3:87 nearest miss: namespace `dev` instead of `prod`"
    );
}
