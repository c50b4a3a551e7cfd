//! The hook as users run it: the real `pre-commit` (from PyPI, in a virtual
//! environment) installs this repository's hook and runs it on a scratch repo.
//! Slow (pre-commit builds the hook with cargo), so it is ignored in the
//! normal run; `.ci/run` runs it with `--ignored`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sh(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    out
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

const BROKEN: &str = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n  namespace: prod\n  annotations:\n    iam.gke.io/gcp-service-account: serviceAccount:api-gsa@acme-prod.iam.gserviceaccount.com\n";

#[test]
#[ignore = "installs pre-commit from PyPI and builds the hook; run by .ci/run"]
fn pre_commit_hook_fails_on_a_broken_manifest_and_passes_once_fixed() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pre-commit-e2e");
    let venv = work.join("venv");
    let pre_commit = venv.join("bin/pre-commit");
    if !pre_commit.exists() {
        std::fs::create_dir_all(&work).unwrap();
        ok(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        ok(Command::new(venv.join("bin/pip")).args(["install", "--quiet", "pre-commit"]));
    }
    let repo = work.join("scratch");
    let _ = std::fs::remove_dir_all(&repo);
    std::fs::create_dir_all(repo.join("k8s")).unwrap();
    let git = |args: &[&str]| ok(Command::new("git").current_dir(&repo).args(args));
    git(&["init", "-q"]);
    git(&["config", "user.email", "ci@example.com"]);
    git(&["config", "user.name", "ci"]);
    std::fs::write(repo.join("k8s/sa.yaml"), BROKEN).unwrap();
    git(&["add", "."]);
    let this_repo: PathBuf = std::fs::canonicalize(env!("CARGO_MANIFEST_DIR")).unwrap();
    let hook = |repo: &Path| {
        sh(Command::new(&pre_commit)
            .current_dir(repo)
            .env("PRE_COMMIT_HOME", work.join("cache"))
            .args(["try-repo"])
            .arg(&this_repo)
            .args(["kwi-lint", "--all-files", "--verbose"]))
    };
    let broken = hook(&repo);
    let text = String::from_utf8_lossy(&broken.stdout);
    assert!(
        !broken.status.success(),
        "the hook must fail on the broken manifest:\n{text}"
    );
    assert!(text.contains("KWI102"), "{text}");
    assert!(text.contains("k8s/sa.yaml"), "{text}");
    std::fs::write(
        repo.join("k8s/sa.yaml"),
        BROKEN.replace("serviceAccount:", ""),
    )
    .unwrap();
    git(&["add", "."]);
    let fixed = hook(&repo);
    assert!(
        fixed.status.success(),
        "the hook must pass once fixed:\n{}\n{}",
        String::from_utf8_lossy(&fixed.stdout),
        String::from_utf8_lossy(&fixed.stderr)
    );
}
