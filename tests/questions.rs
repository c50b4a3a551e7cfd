//! End-to-end tests of the commands that answer questions about a scan:
//! `can-i`, `why-forbidden`, `graph`, `explain-error`. They run the built
//! binary on testdata/authz (RBAC + IAM) and testdata/demo. Snapshots live in
//! tests/golden/; regenerate with `UPDATE_GOLDEN=1 cargo test --test questions`.

use std::path::Path;
use std::process::Output;

use crate::common::{golden, json, run, run_stdin, scratch, stdout};

const AUTHZ: &str = "testdata/authz";

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn can_i(args: &[&str]) -> Output {
    let mut a = vec!["can-i"];
    a.extend_from_slice(args);
    run(&a)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let dest = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).expect("copy");
        }
    }
}

// ---- can-i ----

#[test]
fn allowed_by_a_role_binding() {
    let o = can_i(&[
        "--as",
        "alice@example.com",
        "get",
        "pods",
        "-n",
        "shop",
        AUTHZ,
    ]);
    assert_eq!(code(&o), 0);
    golden("can-i.allowed.txt", &stdout(&o));
}

#[test]
fn denied_lists_the_closest_grants_and_the_fix() {
    let o = can_i(&[
        "--as",
        "alice@example.com",
        "get",
        "pods",
        "-n",
        "prod",
        AUTHZ,
    ]);
    assert_eq!(code(&o), 1);
    golden("can-i.denied.txt", &stdout(&o));
}

#[test]
fn almost_allowed_says_what_differs() {
    // Right binding, wrong verb.
    let text = stdout(&can_i(&[
        "--as",
        "alice@example.com",
        "delete",
        "pods",
        "-n",
        "shop",
        AUTHZ,
    ]));
    assert!(
        text.contains("testdata/authz/k8s/rbac.yaml:22:5  RoleBinding `shop/alice-reads-pods`"),
        "{text}"
    );
    assert!(
        text.contains("but its rule allows verbs [get, list, watch], not `delete`"),
        "{text}"
    );
    // resourceNames: the ConfigMap by name is allowed, all ConfigMaps are not.
    let o = can_i(&[
        "--as",
        "alice@example.com",
        "get",
        "configmaps",
        "-n",
        "shop",
        AUTHZ,
    ]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("but its rule is limited to resourceNames [shop-settings] and the request names no object"), "{}", stdout(&o));
    let o = can_i(&[
        "--as",
        "alice@example.com",
        "get",
        "configmaps/shop-settings",
        "-n",
        "shop",
        AUTHZ,
    ]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    // A subresource the role does not list.
    let text = stdout(&can_i(&[
        "--as",
        "alice@example.com",
        "create",
        "pods/exec",
        "-n",
        "shop",
        AUTHZ,
    ]));
    assert!(
        text.contains("not `pods/exec`") || text.contains("subresource `pods/exec`"),
        "{text}"
    );
}

#[test]
fn aggregated_cluster_role() {
    let o = can_i(&[
        "--as",
        "bob@example.com",
        "--as-group",
        "sre@example.com",
        "list",
        "endpoints",
        "-n",
        "payments",
        AUTHZ,
    ]);
    assert_eq!(code(&o), 0);
    golden("can-i.aggregated.txt", &stdout(&o));
    // The built-in `edit` aggregates system:aggregate-to-edit.
    let o = can_i(&[
        "--as",
        "system:serviceaccount:ci:deployer",
        "create",
        "deployments.apps",
        "-n",
        "staging",
        AUTHZ,
    ]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("aggregates built-in ClusterRole `system:aggregate-to-edit`"),
        "{}",
        stdout(&o)
    );
    // Non-resource URLs come through the same aggregated role.
    let o = can_i(&[
        "--as",
        "bob@example.com",
        "--as-group",
        "sre@example.com",
        "get",
        "/metrics",
        AUTHZ,
    ]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

#[test]
fn group_subject() {
    let o = can_i(&[
        "--as",
        "bob@example.com",
        "list",
        "endpoints",
        "-n",
        "payments",
        AUTHZ,
    ]);
    assert_eq!(code(&o), 1);
    let text = stdout(&o);
    assert!(text.contains("but its subject is Group `sre@example.com`, and the requester is not known to be in it"), "{text}");
    assert!(text.contains("pass its groups with --as-group"), "{text}");
    let o = can_i(&[
        "--as",
        "bob@example.com",
        "--as-group",
        "sre@example.com",
        "list",
        "endpoints",
        "-n",
        "payments",
        AUTHZ,
    ]);
    assert_eq!(code(&o), 0);
}

#[test]
fn iam_only_grant() {
    let o = can_i(&[
        "--as",
        "ci-bot@acme-prod.iam.gserviceaccount.com",
        "list",
        "pods",
        "-A",
        AUTHZ,
    ]);
    assert_eq!(code(&o), 0);
    golden("can-i.iam.txt", &stdout(&o));
    // A custom role, known from its dump.
    let o = can_i(&[
        "--as",
        "carol@example.com",
        "get",
        "pods/log",
        "-n",
        "shop",
        AUTHZ,
    ]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("testdata/authz/gcloud/project-iam.json:24:9  user:carol@example.com holds projects/acme-prod/roles/podLogReader on project acme-prod"), "{}", stdout(&o));
    // An IAM role without the permission is a near-miss; a group member is only a maybe.
    let o = can_i(&[
        "--as",
        "bob@example.com",
        "list",
        "roles",
        "-n",
        "kube-system",
        AUTHZ,
    ]);
    assert_eq!(code(&o), 1);
    let text = stdout(&o);
    assert!(
        text.contains("but roles/container.clusterViewer does not include container.roles.list"),
        "{text}"
    );
    assert!(
        text.contains("group:platform@example.com holds roles/container.developer"),
        "{text}"
    );
    assert!(text.contains("gcloud projects add-iam-policy-binding acme-prod --member=user:bob@example.com --role=roles/container.viewer"), "{text}");
    // Asserting the group makes its IAM grant count, as for RBAC Group subjects.
    let o = can_i(&[
        "--as",
        "bob@example.com",
        "--as-group",
        "platform@example.com",
        "list",
        "roles",
        "-n",
        "kube-system",
        AUTHZ,
    ]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).starts_with("request:"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("group:platform@example.com holds roles/container.developer"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn kubernetes_service_accounts_get_no_iam() {
    let text = stdout(&can_i(&[
        "--as",
        "system:serviceaccount:ci:deployer",
        "list",
        "pods",
        "-n",
        "prod",
        AUTHZ,
    ]));
    assert!(text.contains("only RBAC applies to it, not IAM"), "{text}");
    assert!(
        !text.contains("gcloud projects add-iam-policy-binding"),
        "{text}"
    );
}

/// The YAML `can-i` prints, applied back into the scan, allows the request.
#[test]
fn least_privilege_yaml_applied_back_allows_the_request() {
    let cases: &[&[&str]] = &[
        &["--as", "alice@example.com", "get", "pods", "-n", "prod"],
        &["--as", "alice@example.com", "list", "nodes"],
        &[
            "--as",
            "system:serviceaccount:ci:deployer",
            "create",
            "pods/exec",
            "-n",
            "shop",
        ],
        &[
            "--as",
            "dave@example.com",
            "update",
            "deployments.apps/web",
            "-n",
            "shop",
        ],
        &["--as", "dave@example.com", "get", "/debug/pprof/profile"],
    ];
    for (i, args) in cases.iter().enumerate() {
        let dir = scratch(&format!("least-privilege-{i}"));
        copy_dir(Path::new(AUTHZ), &dir);
        let path = dir.to_string_lossy().to_string();
        let mut a = args.to_vec();
        a.push(&path);
        let before = can_i(&a);
        assert_eq!(code(&before), 1, "{}", stdout(&before));
        let text = stdout(&before);
        let head = if args.contains(&"-n") {
            "least privilege: apply this Role and RoleBinding\n\n"
        } else {
            "least privilege: apply this ClusterRole and ClusterRoleBinding\n\n"
        };
        let start = text.find(head).expect("least-privilege YAML") + head.len();
        let rest = &text[start..];
        let end = rest
            .find("\nor with IAM")
            .or_else(|| rest.find("\nnote:"))
            .unwrap_or(rest.len());
        std::fs::write(dir.join("k8s/fix.yaml"), &rest[..end]).expect("write fix");
        let after = can_i(&a);
        assert_eq!(
            code(&after),
            0,
            "{args:?}: still denied after applying\n{}\n{}",
            &rest[..end],
            stdout(&after)
        );
        assert!(
            stdout(&after).contains("k8s/fix.yaml"),
            "{}",
            stdout(&after)
        );
        // And the fix itself lints clean.
        let lint = run(&["--color", "never", &path]);
        assert_eq!(code(&lint), 0, "{}", stdout(&lint));
    }
}

#[test]
fn usage_errors_exit_2() {
    let o = run(&["can-i", "get", "pods", AUTHZ]);
    assert_eq!(code(&o), 2, "--as is required");
    for bad in [
        ["--as", "", "get", "pods"],
        ["--as", "system:serviceaccount::", "get", "pods"],
        ["--as", "system:serviceaccount:ci", "get", "pods"],
        ["--as", "alice@example.com", "", "pods"],
        ["--as", "alice@example.com", "get", " "],
    ] {
        let mut args = bad.to_vec();
        args.push(AUTHZ);
        let o = can_i(&args);
        assert_eq!(code(&o), 2, "{bad:?}");
        assert!(o.stdout.is_empty(), "{bad:?}: no answer on a usage error");
    }
    let o = run(&[
        "why-forbidden",
        r#"User "" cannot get resource "pods" in API group "" in the namespace "x""#,
        AUTHZ,
    ]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no valid user"));
    let o = run(&["why-forbidden", "connection refused", AUTHZ]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no Forbidden message found"));
    // A path that does not exist: no answer about an empty scan.
    for args in [
        &[
            "can-i",
            "--as",
            "alice@example.com",
            "get",
            "pods",
            "/nonexistent-kwi",
        ][..],
        &["graph", "/nonexistent-kwi"],
        &["scopes", "/nonexistent-kwi"],
    ] {
        let o = run(args);
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(
            o.stdout.is_empty(),
            "{args:?}: no answer for a missing path"
        );
        assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent-kwi"));
    }
}

// ---- why-forbidden ----

const SEED: &str = "Error from server (Forbidden): roles.rbac.authorization.k8s.io is forbidden:\nUser \"example-account@example-project.iam.gserviceaccount.com\" cannot list resource \"roles\" in\nAPI group \"rbac.authorization.k8s.io\" in the namespace \"kube-system\": requires\none of [\"container.roles.list\"] permission(s).\n";

#[test]
fn why_forbidden_seed_message() {
    let o = run(&["why-forbidden", SEED, AUTHZ]);
    assert_eq!(code(&o), 1);
    golden("why-forbidden.seed.txt", &stdout(&o));
    // From stdin, as pasted.
    let o = run_stdin(&["why-forbidden", "-", AUTHZ], SEED);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o)
        .starts_with("request: list roles.rbac.authorization.k8s.io in namespace `kube-system`"));
}

#[test]
fn why_forbidden_cluster_scope() {
    let m = r#"Error from server (Forbidden): nodes is forbidden: User "bob@example.com" cannot list resource "nodes" in API group "" at the cluster scope: requires one of ["container.nodes.list"] permission(s)."#;
    let o = run(&["why-forbidden", m, AUTHZ]);
    let text = stdout(&o);
    assert!(
        text.starts_with("request: list nodes at the cluster scope\n"),
        "{text}"
    );
    assert!(
        text.contains("kind: ClusterRole\n") && text.contains("kind: ClusterRoleBinding\n"),
        "{text}"
    );
    // bob's IAM role container.clusterViewer lacks nodes.list.
    assert!(
        text.contains("but roles/container.clusterViewer does not include container.nodes.list"),
        "{text}"
    );
}

#[test]
fn why_forbidden_subresource_and_named_object() {
    let m = r#"Error from server (Forbidden): pods "web-0" is forbidden: User "alice@example.com" cannot create resource "pods/exec" in API group "" in the namespace "shop": requires one of ["container.pods.exec"] permission(s)."#;
    let o = run(&["why-forbidden", m, AUTHZ]);
    assert_eq!(code(&o), 1);
    let text = stdout(&o);
    assert!(
        text.starts_with("request: create pods/exec named `web-0` in namespace `shop`\n"),
        "{text}"
    );
    assert!(
        text.contains("IAM permission: container.pods.exec"),
        "{text}"
    );
    assert!(text.contains("resources: [\"pods/exec\"]"), "{text}");
    let m = r#"Error from server (Forbidden): deployments.apps "web" is forbidden: User "alice@example.com" cannot patch resource "deployments" in API group "apps" in the namespace "shop": requires one of ["container.deployments.update"] permission(s)."#;
    let text = stdout(&run(&["why-forbidden", m, AUTHZ]));
    assert!(
        text.starts_with("request: patch deployments.apps named `web` in namespace `shop`\n"),
        "{text}"
    );
    assert!(text.contains("resourceNames: [\"web\"]"), "{text}");
}

#[test]
fn why_forbidden_path() {
    let m = r#"Error from server (Forbidden): forbidden: User "alice@example.com" cannot get path "/metrics""#;
    let text = stdout(&run(&["why-forbidden", m, AUTHZ]));
    assert!(text.starts_with("request: get path /metrics\n"), "{text}");
    assert!(text.contains("nonResourceURLs: [\"/metrics\"]"), "{text}");
}

#[test]
fn why_forbidden_when_the_scan_allows_it() {
    let m = r#"pods is forbidden: User "alice@example.com" cannot list resource "pods" in API group "" in the namespace "shop""#;
    let o = run(&["why-forbidden", m, AUTHZ]);
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("the scanned files are not what the cluster runs"),
        "{}",
        stdout(&o)
    );
}

// ---- --format json ----

fn location(v: &serde_json::Value) -> String {
    format!(
        "{}:{}:{}",
        v["file"].as_str().unwrap_or("?"),
        v["line"],
        v["column"]
    )
}

/// The JSON answer says what the text says: same verdict, same fix, same locations.
#[test]
fn can_i_json_denied_matches_the_text() {
    let args = [
        "--as",
        "alice@example.com",
        "get",
        "pods",
        "-n",
        "prod",
        AUTHZ,
    ];
    let text = stdout(&can_i(&args));
    let mut with_json = args.to_vec();
    with_json.extend(["--format", "json"]);
    let o = can_i(&with_json);
    assert_eq!(code(&o), 1);
    golden("can-i.denied.json", &stdout(&o));
    let v = json(&o);
    assert_eq!(v["version"], 1);
    assert_eq!(v["allowed"], false);
    assert_eq!(v["request"]["namespace"], "prod");
    assert_eq!(v["request"]["iam_permissions"][0], "container.pods.get");
    let yaml = v["fix"]["yaml"].as_str().expect("fix.yaml");
    assert!(text.contains(yaml), "the text prints the same YAML");
    let closest = v["closest_rbac"].as_array().expect("closest_rbac");
    assert!(!closest.is_empty());
    for g in closest {
        assert!(text.contains(&location(&g["subject"]["at"])), "{g}");
        assert!(!g["but"].as_array().expect("but").is_empty());
    }
}

#[test]
fn can_i_json_allowed_through_aggregation_and_builtin_roles() {
    let o = can_i(&[
        "--as",
        "bob@example.com",
        "--as-group",
        "sre@example.com",
        "list",
        "endpoints",
        "-n",
        "payments",
        "--format",
        "json",
        AUTHZ,
    ]);
    assert_eq!(code(&o), 0);
    let v = json(&o);
    assert_eq!(v["allowed"], true);
    assert!(v["fix"].is_null());
    let g = &v["rbac_grants"][0];
    assert_eq!(g["binding"]["name"], "sre-monitoring");
    assert_eq!(g["role"]["name"], "monitoring");
    assert_eq!(g["aggregated_from"]["name"], "monitoring-endpoints");
    assert_eq!(
        location(&g["rule"]["at"]),
        "testdata/authz/k8s/rbac.yaml:48:5"
    );
    // A rule of the built-in `edit` has no file: its location is null.
    let o = can_i(&[
        "--as",
        "system:serviceaccount:ci:deployer",
        "create",
        "deployments.apps",
        "-n",
        "staging",
        "--format",
        "json",
        AUTHZ,
    ]);
    let v = json(&o);
    let g = &v["rbac_grants"][0];
    assert_eq!(g["role"]["builtin"], true);
    assert!(g["role"]["at"].is_null());
    assert_eq!(g["subject"]["namespace"], "ci");
    assert_eq!(
        location(&g["subject"]["at"]),
        "testdata/authz/k8s/rbac.yaml:74:5"
    );
}

#[test]
fn why_forbidden_json() {
    let m = r#"pods is forbidden: User "alice@example.com" cannot list resource "pods" in API group "" in the namespace "shop""#;
    let o = run(&["why-forbidden", m, "--format", "json", AUTHZ]);
    assert_eq!(code(&o), 0);
    let v = json(&o);
    assert_eq!(v["request"]["verb"], "list");
    let notes: Vec<&str> = v["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("not what the cluster runs")),
        "{notes:?}"
    );
    let o = run(&["why-forbidden", SEED, "--format", "json", AUTHZ]);
    assert_eq!(code(&o), 1);
    let v = json(&o);
    assert_eq!(v["request"]["namespace"], "kube-system");
    assert_eq!(v["request"]["api_group"], "rbac.authorization.k8s.io");
    assert!(v["fix"]["gcloud"]
        .as_str()
        .is_some_and(|c| c.contains("--role=roles/container.")));
}

// ---- graph ----

#[test]
fn graph_table() {
    let o = run(&["graph", "testdata/demo"]);
    assert_eq!(code(&o), 0);
    golden("graph.table.txt", &stdout(&o));
}

#[test]
fn graph_dot() {
    golden(
        "graph.dot",
        &stdout(&run(&["graph", "--format", "dot", "testdata/demo"])),
    );
}

#[test]
fn graph_mermaid() {
    golden(
        "graph.mermaid",
        &stdout(&run(&["graph", "--format", "mermaid", "testdata/demo"])),
    );
}

fn validator(schema: &str) -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema).expect("schema")).expect("json");
    jsonschema::validator_for(&schema).expect("valid schema")
}

fn schema_errors(v: &jsonschema::Validator, value: &serde_json::Value) -> Vec<String> {
    v.iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// The JSON graph holds what the table shows, and matches its published schema.
#[test]
fn graph_json_matches_the_table_and_its_schema() {
    let v = validator("docs/kwi-lint-graph.schema.json");
    for dir in [
        "testdata/demo",
        "testdata/graph-shared",
        "testdata/KWI401/cases/direct-access/bad",
        AUTHZ,
    ] {
        let o = run(&["graph", "--format", "json", dir]);
        assert_eq!(code(&o), 0, "{dir}");
        let g: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
        let errors = schema_errors(&v, &g);
        assert!(errors.is_empty(), "{dir}: {errors:#?}");
        let table = stdout(&run(&["graph", dir]));
        let chains = g["chains"].as_array().expect("chains");
        for c in chains {
            let workload = c["workload"].as_str().expect("workload");
            assert!(
                table.contains(workload),
                "{dir}: {workload} not in\n{table}"
            );
            for b in c["breaks"].as_array().expect("breaks") {
                let rule = b["rule"].as_str().expect("rule");
                assert!(table.contains(rule), "{dir}: {rule} not in the table");
            }
        }
        if dir == AUTHZ {
            assert!(chains.is_empty());
        }
    }
    let g: serde_json::Value = serde_json::from_str(&stdout(&run(&[
        "graph",
        "--format",
        "json",
        "testdata/demo",
    ])))
    .expect("json");
    // Each link's status follows from the findings that break it.
    for c in g["chains"].as_array().expect("chains") {
        for link in ["workload", "ksa", "gsa"] {
            let on: Vec<&serde_json::Value> = c["breaks"]
                .as_array()
                .expect("breaks")
                .iter()
                .filter(|b| b["link"] == link)
                .collect();
            let expected = if on.iter().any(|b| b["severity"] == "error") {
                "broken"
            } else if !on.is_empty() {
                "warning"
            } else if link != "workload" && c["gsa"].is_null() {
                "none"
            } else {
                "ok"
            };
            assert_eq!(c["links"][link], expected, "{c:#}");
        }
    }
    let first = &g["chains"][0];
    // A location is file, line and column of the node: here the workload's name.
    let at = &first["workload_at"];
    let file = std::fs::read_to_string(at["file"].as_str().expect("file")).expect("read");
    let line = file
        .lines()
        .nth(at["line"].as_u64().expect("line") as usize - 1)
        .expect("line in file");
    let name = first["workload"]
        .as_str()
        .expect("workload")
        .rsplit('/')
        .next()
        .expect("name");
    let column = at["column"].as_u64().expect("column") as usize;
    assert_eq!(
        line.get(column - 1..column - 1 + name.len()),
        Some(name),
        "{line}"
    );
    let mut bad = g.clone();
    bad["chains"][0]["links"]["ksa"] = serde_json::json!("fine");
    assert!(!v.is_valid(&bad));
}

/// Two KSAs share one project-wide WI binding that also holds a malformed
/// member: the binding's own finding (KWI205, at its role) breaks every
/// chain; the malformed member (KWI202) names neither KSA and breaks none.
/// The api Deployment is defined twice (base and overlay): its table rows
/// carry their locations below the shared folder.
#[test]
fn graph_attributes_a_shared_binding_by_member() {
    let o = run(&["graph", "testdata/graph-shared"]);
    assert_eq!(code(&o), 0);
    let text = stdout(&o);
    golden("graph.shared.txt", &text);
    assert_eq!(text.matches("KWI205 wi-user-on-project").count(), 3);
    assert!(text.contains("Deployment shop/api (app.yaml:20:9) "));
    assert!(text.contains("Deployment shop/api (overlay/api.yaml:4:9) "));
    assert!(text.contains("\nDeployment shop/worker  "));
    assert!(!text.contains("KWI202"));
    let lint = run(&["testdata/graph-shared"]);
    assert!(String::from_utf8_lossy(&lint.stdout).contains("KWI202"));
}

/// One base rendered by two overlays, neither patching the KSA's
/// placeholder GSA: the lint reports the finding once (one place in one
/// file), and the graph marks the KSA → GSA link of both overlays' chains,
/// each told apart by its overlay in the table and in the details.
#[test]
fn graph_marks_a_base_finding_in_the_chain_of_every_overlay() {
    let o = run(&["graph", "testdata/graph-overlays"]);
    let text = stdout(&o);
    for overlay in ["dev", "prod"] {
        let row = format!("Deployment shop/api [testdata/graph-overlays/overlays/{overlay}] ");
        let line = text.lines().find(|l| l.starts_with(&row));
        assert!(
            line.is_some_and(|l| l.ends_with("✓ | ! KWI102 | ✓")),
            "{overlay}: {text}"
        );
    }
    assert_eq!(text.matches("KSA → GSA        KWI102").count(), 2, "{text}");
    // Each chain's details are headed by its overlay, as its row is.
    for overlay in ["dev", "prod"] {
        let head = format!("\nDeployment shop/api [testdata/graph-overlays/overlays/{overlay}]  (testdata/graph-overlays/base/app.yaml:12:9)\n");
        assert!(text.contains(&head), "{overlay}: {text}");
    }
    let lint = stdout(&run(&["--format", "json", "testdata/graph-overlays"]));
    assert_eq!(lint.matches("\"rule\": \"KWI102\"").count(), 1, "{lint}");
}

#[test]
fn graph_shows_direct_grants_and_pods_that_use_wi_without_a_gsa() {
    let o = run(&["graph", "testdata/KWI401/cases/direct-access/bad"]);
    let text = stdout(&o);
    // The pod named by a principal:// grant on a bucket: its role, as a direct grant.
    assert!(
        text.contains("  role  roles/storage.objectViewer on testdata/KWI401/cases/direct-access/bad/bucket-policy.json (direct)  (testdata/KWI401/cases/direct-access/bad/bucket-policy.json:5:9)\n"),
        "{text}"
    );
    // The pod that sets GOOGLE_CLOUD_PROJECT on a WI cluster is in the graph; the web server is not.
    assert!(text.contains("\nDeployment reports/reporter  "), "{text}");
    assert!(!text.contains("reports/web"), "{text}");
}

#[test]
fn graph_of_a_scan_without_workload_identity() {
    let o = run(&["graph", AUTHZ]);
    assert_eq!(stdout(&o), "no Workload Identity workloads in the scan\n");
}

// ---- explain-error ----

const SEED_LOG: &str = "\
Error from server (Forbidden): roles.rbac.authorization.k8s.io is forbidden:
User \"example-account@example-project.iam.gserviceaccount.com\" cannot list resource \"roles\" in
API group \"rbac.authorization.k8s.io\" in the namespace \"kube-system\": requires
one of [\"container.roles.list\"] permission(s).
Error waiting for updating GKE cluster workload identity config: DeployPatch failed
dial tcp 35.232.136.58:443: connect: connection refused
google.auth.exceptions.DefaultCredentialsError: Your default credentials were not found. To set up Application Default Credentials, see https://cloud.google.com/docs/authentication/external/set-up-adc for more information.
Retry limit exceeded. Failed to wait for metadata server to be available. Check if the gke-metadata-server Pod in the kube-system namespace is healthy.
kube-system   gke-metadata-server-8sm2l   0/1       CrashLoopBackOff   194        16h
";

#[test]
fn explain_error_recognises_the_seed_messages() {
    let o = run_stdin(&["explain-error"], SEED_LOG);
    assert_eq!(code(&o), 0);
    let text = stdout(&o);
    for id in [
        "[forbidden]",
        "[deploy-patch]",
        "[control-plane-unavailable]",
        "[no-credentials]",
        "[metadata-timeout]",
        "[metadata-server-crash]",
    ] {
        assert!(text.contains(id), "{id} missing:\n{text}");
    }
    golden("explain-error.seed.txt", &text);
}

/// The JSON explanation holds what the text says, and matches its published schema.
#[test]
fn explain_error_json_matches_the_text_and_its_schema() {
    let v = validator("docs/kwi-lint-explain-error.schema.json");
    let o = run_stdin(&["explain-error", "--format", "json"], SEED_LOG);
    assert_eq!(code(&o), 0);
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let errors = schema_errors(&v, &j);
    assert!(errors.is_empty(), "{errors:#?}");
    let text = stdout(&run_stdin(&["explain-error"], SEED_LOG));
    let messages = j["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), text.matches("\n[").count() + 1);
    for m in messages {
        let head = format!(
            "[{}] {}\n  line {}: ",
            m["id"].as_str().expect("id"),
            m["title"].as_str().expect("title"),
            m["line"]
        );
        assert!(text.contains(&head), "{head} not in\n{text}");
        for r in m["rules"].as_array().expect("rules") {
            assert!(text.contains(r["id"].as_str().expect("rule id")));
        }
    }
    let forbidden = &messages[0];
    assert_eq!(forbidden["id"], "forbidden");
    assert_eq!(
        forbidden["request"]["user"],
        "example-account@example-project.iam.gserviceaccount.com"
    );
    // Nothing recognised: an empty list, exit 1, still valid.
    let o = run_stdin(&["explain-error", "--format", "json"], "all good\n");
    assert_eq!(code(&o), 1);
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert!(schema_errors(&v, &j).is_empty());
    assert_eq!(j["messages"], serde_json::json!([]));
    assert!(j["known"].as_array().expect("known").len() >= 6);
}

#[test]
fn explain_error_on_an_unknown_log() {
    let o = run_stdin(&["explain-error"], "all good\n");
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).starts_with("kwi-lint recognises none of these messages."));
}

/// Output that cannot be written (a pipe closed early, `| head`) ends a
/// question command with exit code 2, as it does the lint: not a panic.
#[test]
fn a_closed_pipe_is_exit_code_two_not_a_panic() {
    let dir = scratch("closed-pipe");
    for i in 0..1500 {
        std::fs::write(
            dir.join(format!("sa{i}.yaml")),
            format!(
                "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app{i}\n  namespace: shop\n  annotations:\n    iam.gke.io/gcp-service-account: app{i}@p.iam.gserviceaccount.com\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: app{i}\n  namespace: shop\nspec:\n  serviceAccountName: app{i}\n  containers:\n    - name: app\n      image: app\n"
            ),
        )
        .unwrap();
    }
    let d = dir.to_str().unwrap();
    for args in [vec!["graph", d], vec!["scopes", "--objects", d]] {
        let mut child = crate::common::bin()
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before the command writes: its output
        // (hundreds of kilobytes) cannot fit in the pipe.
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(code(&o), 2, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
