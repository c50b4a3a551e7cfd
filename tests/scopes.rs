//! What is deployed together, and where: scopes, clusters, and the
//! pre-commit hook that sees the findings a change causes anywhere.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{bin, scratch};

fn findings(o: &Output) -> Vec<String> {
    common::findings_as(o, |f| {
        format!(
            "{} {}:{}:{}",
            f["rule"].as_str().unwrap(),
            f["file"].as_str().unwrap(),
            f["line"],
            f["column"]
        )
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// testdata/KWI008/bad: clusters `prod` and `staging-eu` (its pool runs
/// GCE_METADATA), a WI Deployment, and no mapping.
fn two_clusters(name: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    copy_dir(Path::new("testdata/KWI008/bad"), &dir);
    dir
}

fn lint_in(dir: &Path, args: &[&str]) -> Output {
    bin()
        .current_dir(dir)
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn several_clusters_without_a_mapping_are_each_checked() {
    let dir = two_clusters("two-clusters");
    let got = findings(&lint_in(&dir, &["."]));
    assert_eq!(
        got,
        [
            "KWI008 dumps/prod.json:2:11",
            // A fact about one dump never depends on scoping.
            "KWI303 dumps/staging-eu.json:16:19",
        ]
    );
}

#[test]
fn a_config_mapping_puts_workloads_on_their_cluster() {
    let dir = two_clusters("two-clusters-mapped");
    std::fs::write(
        dir.join(".kwi-lint.yaml"),
        "clusters:\n  - name: prod\n    manifests: [\"k8s/**\"]\n",
    )
    .unwrap();
    // No WI workload lands on staging-eu's pool any more.
    assert_eq!(findings(&lint_in(&dir, &["."])), Vec::<String>::new());
}

#[test]
fn an_argo_cd_application_binds_its_folder_to_a_cluster() {
    let dir = two_clusters("two-clusters-argo");
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    std::fs::rename(dir.join("k8s"), dir.join("apps")).unwrap();
    std::fs::write(
        dir.join("apps/kustomization.yaml"),
        "resources: [app.yaml]\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("argo")).unwrap();
    std::fs::write(
        dir.join("argo/shop.yaml"),
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: shop\n  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: https://example.com/acme/deploy.git\n    path: apps\n  destination:\n    name: prod\n    namespace: shop\n",
    )
    .unwrap();
    assert_eq!(findings(&lint_in(&dir, &["."])), Vec::<String>::new());
    let o = bin()
        .current_dir(&dir)
        .args(["scopes", "."])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("apps  kustomization apps/kustomization.yaml  2 object(s)  cluster prod (Application shop)"),
        "{text}"
    );
}

#[test]
fn scopes_of_dumps_alone_says_what_it_found() {
    let o = bin()
        .args(["scopes", "testdata/KWI304/bad"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.starts_with("no Kubernetes objects in the scan; cluster dumps: "),
        "{text}"
    );
    assert!(text.contains("testdata/KWI304/bad/cluster.json:"), "{text}");
}

#[test]
fn scopes_lists_each_root_and_what_it_renders() {
    let o = bin()
        .args(["scopes", "--objects", "testdata/KWI201/bad"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("testdata/KWI201/bad/kustomize/overlays/prod  kustomization testdata/KWI201/bad/kustomize/overlays/prod/kustomization.yaml  2 object(s)"), "{text}");
    assert!(text.contains("    ServiceAccount shop/frontend  testdata/KWI201/bad/kustomize/base/serviceaccount.yaml:4:9"), "{text}");
    let rendered = bin()
        .args([
            "scopes",
            "--rendered",
            "testdata/KWI201/bad/kustomize/overlays/prod",
        ])
        .output()
        .unwrap();
    let yaml = String::from_utf8_lossy(&rendered.stdout);
    assert!(yaml.contains("\"namespace\": \"shop\""), "{yaml}");
    assert!(yaml.contains("\"iam.gke.io/gcp-service-account\": \"frontend-gsa@acme-prod.iam.gserviceaccount.com\""), "{yaml}");
}

/// A git repository with a WI Deployment that reaches the metadata server,
/// in a namespace without a mesh, bound to a GSA whose policy is right.
fn committed_repo(name: &str, extra: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = scratch(name);
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .current_dir(&dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["config", "user.email", "ci@example.com"]);
    git(&["config", "user.name", "ci"]);
    for (path, text) in REPO.iter().chain(extra) {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    git(&["add", "."]);
    git(&["commit", "-qm", "start"]);
    dir
}

const REPO: &[(&str, &str)] = &[
    ("dumps/cluster.json", "{\"name\": \"prod\", \"location\": \"us-central1\", \"selfLink\": \"https://container.googleapis.com/v1/projects/acme-prod/locations/us-central1/clusters/prod\", \"currentMasterVersion\": \"1.29.1-gke.1589018\", \"workloadIdentityConfig\": {\"workloadPool\": \"acme-prod.svc.id.goog\"}, \"nodePools\": [{\"name\": \"pool\", \"version\": \"1.29.1-gke.1589018\", \"config\": {\"workloadMetadataConfig\": {\"mode\": \"GKE_METADATA\"}}}]}\n"),
    ("dumps/api-gsa@acme-prod.iam.gserviceaccount.com.json", "{\"bindings\": [{\"role\": \"roles/iam.workloadIdentityUser\", \"members\": [\"serviceAccount:acme-prod.svc.id.goog[shop/api]\"]}]}\n"),
    ("k8s/namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"),
    ("k8s/sa.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n  namespace: shop\n  annotations:\n    iam.gke.io/gcp-service-account: api-gsa@acme-prod.iam.gserviceaccount.com\n"),
    ("k8s/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  selector:\n    matchLabels: {app: api}\n  template:\n    metadata:\n      labels: {app: api}\n    spec:\n      serviceAccountName: api\n      containers:\n        - name: api\n          image: us-docker.pkg.dev/acme-prod/app/api:1.0\n"),
];

const DENY: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny\n  namespace: shop\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n";
const ALLOW: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-metadata\n  namespace: shop\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n    - to: [{ipBlock: {cidr: 169.254.169.252/32}}]\n      ports: [{protocol: TCP, port: 988}]\n    - ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]\n";

/// Stages `changes` (path, new text or None to delete) and runs the hook's
/// command on the staged files that still exist, as pre-commit does.
fn pre_commit(dir: &Path, changes: &[(&str, Option<&str>)]) -> Vec<String> {
    let mut passed = Vec::new();
    for (path, text) in changes {
        match text {
            Some(t) => {
                std::fs::write(dir.join(path), t).unwrap();
                passed.push(path.to_string());
            }
            None => {
                std::fs::remove_file(dir.join(path)).unwrap();
            }
        }
        Command::new("git")
            .current_dir(dir)
            .args(["add", "-A", path])
            .output()
            .unwrap();
    }
    let mut args = vec!["--format", "json", "--pre-commit"];
    args.extend(passed.iter().map(String::as_str));
    let rules: Vec<String> = findings(&bin().current_dir(dir).args(&args).output().unwrap())
        .into_iter()
        .map(|f| f.split(' ').next().unwrap_or("").to_string())
        .collect();
    rules
}

#[test]
fn pre_commit_sees_what_a_change_breaks_elsewhere() {
    // A clean start.
    let dir = committed_repo("pre-commit-clean", &[]);
    assert_eq!(pre_commit(&dir, &[]), Vec::<String>::new());

    // A default-deny egress policy: the findings are on the Deployment, which did not change.
    let dir = committed_repo("pre-commit-deny", &[]);
    assert_eq!(
        pre_commit(&dir, &[("k8s/deny.yaml", Some(DENY))]),
        ["KWI401", "KWI402"]
    );

    // Istio injection turned on for the namespace.
    let dir = committed_repo("pre-commit-istio", &[]);
    let istio = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    istio-injection: enabled\n";
    assert_eq!(
        pre_commit(&dir, &[("k8s/namespace.yaml", Some(istio))]),
        ["KWI701", "KWI702"]
    );

    // The GSA's policy now names the wrong KSA.
    let dir = committed_repo("pre-commit-policy", &[]);
    let wrong = REPO[1].1.replace("[shop/api]", "[default/api]");
    assert_eq!(
        pre_commit(
            &dir,
            &[(
                "dumps/api-gsa@acme-prod.iam.gserviceaccount.com.json",
                Some(&wrong)
            )]
        ),
        ["KWI201"]
    );

    // The policy that let the pod out is deleted: pre-commit passes no file for it.
    let dir = committed_repo(
        "pre-commit-delete",
        &[("k8s/deny.yaml", DENY), ("k8s/allow-metadata.yaml", ALLOW)],
    );
    assert_eq!(pre_commit(&dir, &[]), Vec::<String>::new());
    assert_eq!(
        pre_commit(&dir, &[("k8s/allow-metadata.yaml", None)]),
        ["KWI401", "KWI402"]
    );
}
