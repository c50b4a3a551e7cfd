//! The CI integrations users copy: `action.yml` (a composite GitHub Action)
//! and `ci/kwi-lint.gitlab-ci.yml`. Each is parsed, its shape checked, and its
//! shell steps run in a scratch repository with the built binary on PATH, as
//! the runner would run them (expressions substituted, `$GITHUB_OUTPUT` read
//! back between steps).

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kwi_lint::parse::{parse_yaml_str, Node, Tree};

fn load(path: &str) -> Tree {
    let text = std::fs::read_to_string(path).expect("read");
    let (tree, error) = parse_yaml_str(path, text);
    assert!(error.is_none(), "{path}: {error:?}");
    tree
}

fn root(tree: &Tree) -> Node<'_> {
    tree.roots().next().expect("a document")
}

fn str_at<'a>(n: Node<'a>, path: &[&str]) -> &'a str {
    n.str_at(path)
        .unwrap_or_else(|| panic!("missing {}", path.join(".")))
}

/// PATH with the built binary first, behind a `cargo` that refuses to run:
/// a step that would build kwi-lint again fails at once instead of for minutes.
fn path_with_binary() -> String {
    let fake = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-cargo");
    std::fs::create_dir_all(&fake).expect("mkdir");
    let cargo = fake.join("cargo");
    std::fs::write(
        &cargo,
        "#!/bin/sh\necho \"cargo $* was run\" >&2\nexit 99\n",
    )
    .expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_kwi-lint"));
    let dir = bin.parent().expect("bin dir").display().to_string();
    format!(
        "{}:{dir}:{}",
        fake.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// A scratch repository holding a copy of `testdata/demo` as `demo/` and one
/// clean manifest as `clean/`.
fn repo(name: &str) -> PathBuf {
    let dir = common::scratch(name);
    let copy = Command::new("cp")
        .args(["-r", "testdata/demo"])
        .arg(dir.join("demo"))
        .status()
        .expect("cp");
    assert!(copy.success());
    std::fs::create_dir_all(dir.join("clean")).expect("mkdir");
    std::fs::write(
        dir.join("clean/sa.yaml"),
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n  namespace: shop\n",
    )
    .expect("write");
    dir
}

// ---- GitHub Action ----

/// Substitutes the `${{ … }}` expressions the action uses.
fn expand(text: &str, inputs: &HashMap<&str, String>, outputs: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("closed expression") + start;
        let expr = rest[start + 3..end].trim();
        let value = if let Some(name) = expr.strip_prefix("inputs.") {
            inputs.get(name).cloned().unwrap_or_default()
        } else if let Some(name) = expr.strip_prefix("steps.lint.outputs.") {
            outputs.get(name).cloned().unwrap_or_default()
        } else if expr == "github.action_path" {
            env!("CARGO_MANIFEST_DIR").to_string()
        } else {
            panic!("unexpected expression in a run step: {expr}")
        };
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

struct Action<'t> {
    steps: Vec<Node<'t>>,
    defaults: HashMap<&'t str, String>,
}

impl<'t> Action<'t> {
    fn new(tree: &'t Tree) -> Action<'t> {
        let r = root(tree);
        assert_eq!(str_at(r, &["runs", "using"]), "composite");
        let defaults = r
            .map_at("inputs")
            .map(|(k, v)| {
                let name = k.as_str().expect("input name");
                (name, str_at(v, &["default"]).to_string())
            })
            .collect();
        Action {
            steps: r.path(&["runs", "steps"]).expect("steps").items().collect(),
            defaults,
        }
    }

    fn step(&self, name: &str) -> Node<'t> {
        *self
            .steps
            .iter()
            .find(|s| s.str_at(&["name"]) == Some(name))
            .unwrap_or_else(|| panic!("no step {name}"))
    }

    /// Runs a `shell: bash` step as the runner does (`bash -e {0}`, its
    /// `env:` expanded); returns its output and what it wrote to `$GITHUB_OUTPUT`.
    fn run(
        &self,
        name: &str,
        cwd: &Path,
        inputs: &HashMap<&str, String>,
        outputs: &mut HashMap<String, String>,
    ) -> Output {
        let step = self.step(name);
        assert_eq!(str_at(step, &["shell"]), "bash", "{name}");
        let mut all = self.defaults.clone();
        all.extend(inputs.iter().map(|(k, v)| (*k, v.clone())));
        let script = expand(str_at(step, &["run"]), &all, outputs);
        let output_file = cwd.join("github-output.txt");
        let _ = std::fs::remove_file(&output_file);
        let mut cmd = Command::new("bash");
        cmd.args([
            "--noprofile",
            "--norc",
            "-e",
            "-o",
            "pipefail",
            "-c",
            &script,
        ])
        .current_dir(cwd)
        .env("PATH", path_with_binary())
        .env("GITHUB_OUTPUT", &output_file);
        for (k, v) in step.map_at("env") {
            let value = expand(v.as_str().unwrap_or(""), &all, outputs);
            cmd.env(k.as_str().expect("env name"), value);
        }
        let o = cmd.output().expect("bash");
        for line in std::fs::read_to_string(&output_file)
            .unwrap_or_default()
            .lines()
        {
            let (k, v) = line.split_once('=').expect("name=value");
            outputs.insert(k.to_string(), v.to_string());
        }
        o
    }
}

#[test]
fn github_action_lints_uploads_and_fails_on_findings() {
    let tree = load("action.yml");
    let action = Action::new(&tree);
    let upload = action.step("Upload to code scanning");
    assert!(str_at(upload, &["uses"]).starts_with("github/codeql-action/upload-sarif@"));
    assert_eq!(
        str_at(upload, &["with", "sarif_file"]),
        "${{ steps.lint.outputs.sarif }}"
    );
    // The report is uploaded even when the lint step failed.
    assert!(str_at(upload, &["if"]).contains("always()"));

    let dir = repo("action");
    let mut outputs = HashMap::new();
    let o = action.run("Install kwi-lint", &dir, &HashMap::new(), &mut outputs);
    let said = common::stdout(&o);
    assert!(
        o.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The built binary is this version: no two-minute build in the test.
    assert!(said.contains("already installed"), "{said}");

    // Findings: the lint step passes (so the upload runs), the last step fails.
    let inputs = HashMap::from([("paths", "demo".to_string())]);
    let o = action.run("Lint", &dir, &inputs, &mut outputs);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(outputs["exit-code"], "1");
    assert_eq!(outputs["sarif"], "kwi-lint.sarif");
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("kwi-lint.sarif")).expect("sarif"))
            .expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(results.iter().any(|r| r["ruleId"] == "KWI201"));
    let o = action.run("Fail on findings", &dir, &inputs, &mut outputs);
    assert_eq!(o.status.code(), Some(1));

    // Clean: every step passes.
    let inputs = HashMap::from([("paths", "clean".to_string())]);
    let o = action.run("Lint", &dir, &inputs, &mut outputs);
    assert!(o.status.success());
    assert_eq!(outputs["exit-code"], "0");
    let o = action.run("Fail on findings", &dir, &inputs, &mut outputs);
    assert_eq!(o.status.code(), Some(0));

    // Arguments pass through; a missing folder is a usage error that stops the job.
    let inputs = HashMap::from([
        ("paths", "demo".to_string()),
        ("args", "--fail-level error --select KWI305".to_string()),
        ("sarif", "only-305.sarif".to_string()),
    ]);
    let o = action.run("Lint", &dir, &inputs, &mut outputs);
    assert!(o.status.success());
    let only: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("only-305.sarif")).expect("sarif"))
            .expect("json");
    let rules: Vec<&str> = only["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["ruleId"].as_str())
        .collect();
    assert!(
        !rules.is_empty() && rules.iter().all(|r| *r == "KWI305"),
        "{rules:?}"
    );
    let inputs = HashMap::from([("paths", "no-such-folder".to_string())]);
    let o = action.run("Lint", &dir, &inputs, &mut outputs);
    assert_eq!(o.status.code(), Some(2));
    assert!(common::stdout(&o).contains("::error title=kwi-lint::"));
}

// ---- GitLab CI ----

#[test]
fn gitlab_job_writes_a_junit_report_and_fails_on_findings() {
    let tree = load("ci/kwi-lint.gitlab-ci.yml");
    let job = root(&tree).get("kwi-lint").expect("job kwi-lint");
    assert_eq!(str_at(job, &["artifacts", "when"]), "always");
    assert_eq!(
        str_at(job, &["artifacts", "reports", "junit"]),
        "kwi-lint.xml"
    );
    let script: Vec<&str> = job
        .seq_at("script")
        .iter()
        .map(|l| l.as_str().expect("script line"))
        .collect();
    assert!(script
        .iter()
        .any(|l| l.contains("cargo install --locked --git")));

    let run = |dir: &Path, paths: &str| -> Output {
        let mut cmd = Command::new("bash");
        // GitLab runs the lines in one shell and stops at the first failure.
        cmd.args(["--noprofile", "--norc", "-e", "-c", &script.join("\n")])
            .current_dir(dir)
            .env("PATH", path_with_binary());
        for (k, v) in job.map_at("variables") {
            let v = v
                .as_str()
                .unwrap_or("")
                .replace("$CI_PROJECT_DIR", &dir.display().to_string());
            cmd.env(k.as_str().expect("name"), v);
        }
        cmd.env("KWI_LINT_PATHS", paths);
        cmd.output().expect("bash")
    };
    let dir = repo("gitlab");
    let o = run(&dir, "demo");
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let xml = std::fs::read_to_string(dir.join("kwi-lint.xml")).expect("report");
    let doc = roxmltree::Document::parse(&xml).expect("JUnit XML");
    let failures = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .count();
    assert!(failures > 0);
    assert!(xml.contains("KWI201"));

    let o = run(&dir, "clean");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let xml = std::fs::read_to_string(dir.join("kwi-lint.xml")).expect("report");
    roxmltree::Document::parse(&xml).expect("JUnit XML");
}
