//! The hook as users run it: the real `pre-commit` (from PyPI, in a virtual
//! environment) installs this repository's hook from a `.pre-commit-config.yaml`
//! and runs it on scratch repositories, on staged changes as on a real commit.
//! Slow (pre-commit builds the hook with cargo, once), so it is ignored in the
//! normal run; `.ci/run` runs it with `--ignored`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sh(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn ok(cmd: &mut Command) -> Output {
    let out = sh(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// This repository's files (tracked and untracked, not ignored) committed
/// into a fresh repository at `dir`; returns the commit. pre-commit builds a
/// hook once per repository and revision, so every scratch repository below
/// shares one build.
fn snapshot(dir: &Path) -> String {
    let src = std::fs::canonicalize(env!("CARGO_MANIFEST_DIR")).unwrap();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let listed = ok(Command::new("git").current_dir(&src).args([
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
    ]));
    for rel in String::from_utf8_lossy(&listed.stdout)
        .split('\0')
        .filter(|p| !p.is_empty())
    {
        let from = src.join(rel);
        if !from.is_file() {
            continue;
        }
        let to = dir.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
    }
    let git = |args: &[&str]| ok(Command::new("git").current_dir(dir).args(args));
    git(&["init", "-q", "-b", "main"]);
    git(&["config", "user.email", "ci@example.com"]);
    git(&["config", "user.name", "ci"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "snapshot"]);
    let sha = ok(Command::new("git")
        .current_dir(dir)
        .args(["rev-parse", "HEAD"]));
    String::from_utf8_lossy(&sha.stdout).trim().to_string()
}

/// What a commit does, the files it starts from, the staged changes (a
/// deletion is `None`) and the rule the hook must report.
type Case<'a> = (
    &'a str,
    &'a [(&'a str, &'a str)],
    &'a [(&'a str, Option<&'a str>)],
    &'a str,
);

struct Hook {
    pre_commit: PathBuf,
    home: PathBuf,
    config: String,
}

impl Hook {
    fn new(work: &Path) -> Hook {
        let venv = work.join("venv");
        let pre_commit = venv.join("bin/pre-commit");
        if !pre_commit.exists() {
            std::fs::create_dir_all(work).unwrap();
            ok(Command::new("python3").args(["-m", "venv"]).arg(&venv));
            ok(Command::new(venv.join("bin/pip")).args(["install", "--quiet", "pre-commit"]));
        }
        let repo = work.join("kwi-lint-snapshot");
        let rev = snapshot(&repo);
        // The README's snippet, with this snapshot as the repository, pinned
        // by `pre-commit autoupdate` as the README says.
        let readme =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
                .unwrap();
        let snippet = readme
            .split("**pre-commit** (`.pre-commit-config.yaml`):")
            .nth(1)
            .and_then(|rest| rest.split("```yaml\n").nth(1))
            .and_then(|block| block.split("```").next())
            .expect("README has a pre-commit snippet");
        let upstream = "https://github.com/kwi-lint/kwi-lint";
        assert!(snippet.contains(upstream), "{snippet}");
        let setup = work.join("autoupdate");
        let _ = std::fs::remove_dir_all(&setup);
        std::fs::create_dir_all(&setup).unwrap();
        ok(Command::new("git").current_dir(&setup).args(["init", "-q"]));
        let config_path = setup.join(".pre-commit-config.yaml");
        std::fs::write(
            &config_path,
            snippet.replace(upstream, &repo.display().to_string()),
        )
        .unwrap();
        ok(Command::new(&pre_commit)
            .current_dir(&setup)
            .env("PRE_COMMIT_HOME", work.join("cache"))
            .arg("autoupdate"));
        let config = std::fs::read_to_string(&config_path).unwrap();
        assert!(
            config.contains(&format!("rev: {rev}")),
            "autoupdate pins the commit:\n{config}"
        );
        Hook {
            pre_commit,
            home: work.join("cache"),
            config,
        }
    }

    /// A git repository holding `files`, committed, with the hook configured.
    fn repo(&self, dir: &Path, files: &[(&str, &str)]) {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        let git = |args: &[&str]| ok(Command::new("git").current_dir(dir).args(args));
        git(&["init", "-q"]);
        git(&["config", "user.email", "ci@example.com"]);
        git(&["config", "user.name", "ci"]);
        std::fs::write(dir.join(".pre-commit-config.yaml"), &self.config).unwrap();
        for (path, text) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        git(&["add", "."]);
        git(&["commit", "-qm", "start", "--no-verify"]);
    }

    /// `pre-commit run` on what is staged (or every file).
    fn run(&self, dir: &Path, all_files: bool) -> (bool, String) {
        let mut cmd = Command::new(&self.pre_commit);
        cmd.current_dir(dir)
            .env("PRE_COMMIT_HOME", &self.home)
            .args(["run", "kwi-lint", "--verbose"]);
        if all_files {
            cmd.arg("--all-files");
        }
        let out = sh(&mut cmd);
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }
}

/// Stages `changes` (path, new text or None to delete).
fn stage(dir: &Path, changes: &[(&str, Option<&str>)]) {
    for (path, text) in changes {
        match text {
            Some(t) => std::fs::write(dir.join(path), t).unwrap(),
            None => std::fs::remove_file(dir.join(path)).unwrap(),
        }
        ok(Command::new("git")
            .current_dir(dir)
            .args(["add", "-A", path]));
    }
}

const BROKEN: &str = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n  namespace: prod\n  annotations:\n    iam.gke.io/gcp-service-account: serviceAccount:api-gsa@acme-prod.iam.gserviceaccount.com\n";

const GSA_POLICY: &str = "dumps/api-gsa@acme-prod.iam.gserviceaccount.com.json";
const WRONG_POLICY: &str = "{\"bindings\": [{\"role\": \"roles/iam.workloadIdentityUser\", \"members\": [\"serviceAccount:acme-prod.svc.id.goog[default/api]\"]}]}\n";
const CLEAN: &[(&str, &str)] = &[
    ("dumps/cluster.json", "{\"name\": \"prod\", \"location\": \"us-central1\", \"selfLink\": \"https://container.googleapis.com/v1/projects/acme-prod/locations/us-central1/clusters/prod\", \"currentMasterVersion\": \"1.29.1-gke.1589018\", \"workloadIdentityConfig\": {\"workloadPool\": \"acme-prod.svc.id.goog\"}, \"nodePools\": [{\"name\": \"pool\", \"version\": \"1.29.1-gke.1589018\", \"config\": {\"workloadMetadataConfig\": {\"mode\": \"GKE_METADATA\"}}}]}\n"),
    (GSA_POLICY, "{\"bindings\": [{\"role\": \"roles/iam.workloadIdentityUser\", \"members\": [\"serviceAccount:acme-prod.svc.id.goog[shop/api]\"]}]}\n"),
    ("k8s/namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"),
    ("k8s/sa.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n  namespace: shop\n  annotations:\n    iam.gke.io/gcp-service-account: api-gsa@acme-prod.iam.gserviceaccount.com\n"),
    ("k8s/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  selector:\n    matchLabels: {app: api}\n  template:\n    metadata:\n      labels: {app: api}\n    spec:\n      serviceAccountName: api\n      containers:\n        - name: api\n          image: us-docker.pkg.dev/acme-prod/app/api:1.0\n"),
];
const ISTIO_NS: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    istio-injection: enabled\n";
const DENY: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny\n  namespace: shop\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n";
const ALLOW: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-metadata\n  namespace: shop\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n    - to: [{ipBlock: {cidr: 169.254.169.252/32}}]\n      ports: [{protocol: TCP, port: 988}]\n    - ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]\n";

#[test]
#[ignore = "installs pre-commit from PyPI and builds the hook; run by .ci/run"]
fn the_hook_fails_on_what_a_commit_breaks_and_passes_once_fixed() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pre-commit-e2e");
    let hook = Hook::new(&work);

    // A broken manifest, every file.
    let repo = work.join("scratch");
    hook.repo(&repo, &[("k8s/sa.yaml", BROKEN)]);
    let (passed, text) = hook.run(&repo, true);
    assert!(
        !passed,
        "the hook must fail on the broken manifest:\n{text}"
    );
    assert!(
        text.contains("KWI102") && text.contains("k8s/sa.yaml"),
        "{text}"
    );
    stage(
        &repo,
        &[("k8s/sa.yaml", Some(&BROKEN.replace("serviceAccount:", "")))],
    );
    let (passed, text) = hook.run(&repo, true);
    assert!(passed, "the hook must pass once fixed:\n{text}");

    // Staged changes whose findings land in files that did not change.
    let with_policies: Vec<(&str, &str)> = CLEAN
        .iter()
        .copied()
        .chain([("k8s/deny.yaml", DENY), ("k8s/allow-metadata.yaml", ALLOW)])
        .collect();
    let cases: &[Case] = &[
        (
            "a default-deny egress policy",
            CLEAN,
            &[("k8s/deny.yaml", Some(DENY))],
            "KWI401",
        ),
        (
            "Istio on the namespace",
            CLEAN,
            &[("k8s/namespace.yaml", Some(ISTIO_NS))],
            "KWI701",
        ),
        (
            "the policy names the wrong KSA",
            CLEAN,
            &[(GSA_POLICY, Some(WRONG_POLICY))],
            "KWI201",
        ),
        (
            "the allow rule deleted",
            &with_policies,
            &[("k8s/allow-metadata.yaml", None)],
            "KWI401",
        ),
    ];
    for (what, start, changes, rule) in cases {
        let repo = work.join(format!("staged-{}", what.replace(' ', "-")));
        hook.repo(&repo, start);
        let (passed, text) = hook.run(&repo, false);
        assert!(passed, "{what}: the clean start must pass:\n{text}");
        stage(&repo, changes);
        let (passed, text) = hook.run(&repo, false);
        assert!(!passed, "{what}: the hook must fail:\n{text}");
        assert!(text.contains(rule), "{what}: {rule} expected:\n{text}");
        ok(Command::new("git")
            .current_dir(&repo)
            .args(["reset", "-q", "--hard"]));
        let (passed, text) = hook.run(&repo, false);
        assert!(passed, "{what}: the hook must pass once undone:\n{text}");
    }
}
