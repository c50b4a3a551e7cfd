//! testdata/hostile/ and the inputs that cannot live in git: each gives a
//! clear diagnostic with a position (or, for valid but empty input, nothing),
//! in bounded time, and the other files are still linted.

use crate::common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs kwi-lint, killing it after `limit`: a hang is a failure, not a stuck CI.
fn run_bounded(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kwi-lint"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    // Drain the pipes while it runs: a report larger than a pipe buffer
    // would otherwise block the child until the limit.
    let drain = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return Output {
                status,
                stdout: out.join().unwrap_or_default(),
                stderr: err.join().unwrap_or_default(),
            };
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("kwi-lint {args:?} did not finish in {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn findings(o: &Output) -> Vec<String> {
    common::findings_as(o, |f| {
        format!(
            "{} {}:{}:{}",
            f["rule"].as_str().unwrap(),
            f["file"].as_str().unwrap().rsplit('/').next().unwrap(),
            f["line"],
            f["column"]
        )
    })
}

#[test]
fn hostile_files_give_exact_diagnostics() {
    let o = run_bounded(
        &["--format", "json", "testdata/hostile"],
        Duration::from_secs(20),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        findings(&o),
        [
            "KWI001 alias-bomb.yaml:4:10",
            "KWI001 binary.yaml:1:8",
            // The BOM is not a column; CRLF does not shift columns.
            "KWI102 bom.yaml:7:37",
            // Keys sigs.k8s.io/yaml cannot turn into JSON fail the document.
            "KWI001 complex-keys.yaml:7:5",
            "KWI001 complex-keys.yaml:15:5",
            // Old Mac line endings (a lone CR) end lines too.
            "KWI102 cr-only.yaml:7:37",
            "KWI102 crlf.yaml:7:37",
            "KWI001 deep-block.yaml:1:513",
            "KWI001 deep-flow.yaml:1:259",
            "KWI001 deep.json:1:257",
            "KWI001 invalid-utf8.yaml:4:12",
            // `yes` is stored as `true` and `0x10` as `16`; `1` stays `1`.
            "KWI006 non-string-keys.yaml:7:5",
            "KWI006 non-string-keys.yaml:9:5",
            // A suppression comment inside a string value suppresses nothing.
            "KWI101 suppression-in-string.yaml:11:5",
            "KWI006 wrong-types.yaml:4:9",
            "KWI006 wrong-types.yaml:7:23",
        ]
    );
}

#[test]
fn crlf_spans_cover_exactly_the_value() {
    let o = run_bounded(
        &[
            "--format",
            "json",
            "testdata/hostile/crlf.yaml",
            "testdata/hostile/bom.yaml",
        ],
        Duration::from_secs(10),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for f in v["findings"].as_array().unwrap() {
        let text = std::fs::read(f["file"].as_str().unwrap()).unwrap();
        let (s, e) = (
            f["byte_start"].as_u64().unwrap() as usize,
            f["byte_end"].as_u64().unwrap() as usize,
        );
        assert_eq!(
            &text[s..e],
            b"serviceAccount:api-gsa@acme-prod.iam.gserviceaccount.com"
        );
    }
}

#[test]
fn big_files_links_and_unreadable_paths() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-generated");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    // 64 MiB + 1 byte: over the default limit, reported and skipped.
    let big = vec![b'#'; 64 * 1024 * 1024 + 1];
    std::fs::write(dir.join("big.yaml"), &big).unwrap();
    std::fs::write(dir.join("ok.yaml"), "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n  annotations:\n    iam.gke.io/gcp-service-accounts: x\n").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("..", dir.join("sub/loop")).unwrap();
        std::os::unix::fs::symlink(&dir, dir.join("sub/loop2")).unwrap();
    }
    let o = run_bounded(
        &["--format", "json", dir.to_str().unwrap()],
        Duration::from_secs(30),
    );
    assert_eq!(findings(&o), ["KWI001 big.yaml:1:1", "KWI101 ok.yaml:6:5"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("over the 67108864 byte limit"));
    // An unreadable input (here: a dangling link named on the command line) exits 2,
    // and the readable file is still linted.
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.join("nowhere.yaml"), dir.join("dangling.yaml")).unwrap();
    let o = run_bounded(
        &[
            "--format",
            "json",
            dir.join("dangling.yaml").to_str().unwrap(),
            dir.join("ok.yaml").to_str().unwrap(),
        ],
        Duration::from_secs(10),
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        findings(&o),
        ["KWI001 dangling.yaml:1:1", "KWI101 ok.yaml:6:5"]
    );
    // The limit is configurable.
    std::fs::write(
        dir.join(".kwi-lint.yaml"),
        "limits:\n  max_file_size: 100\n",
    )
    .unwrap();
    let o = run_bounded(
        &["--format", "json", dir.join("ok.yaml").to_str().unwrap()],
        Duration::from_secs(10),
    );
    assert_eq!(findings(&o), ["KWI001 ok.yaml:1:1"]);
}

/// A folder the walk cannot enter is reported at that folder, its cause said
/// once, and the rest is linted (exit 2). Root reads every folder: as root the
/// run is made as `nobody`, and skipped where that cannot be done.
#[test]
#[cfg(unix)]
fn an_unreadable_folder_is_named_with_its_cause() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("unreadable-folder");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("locked")).unwrap();
    let sa = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n  annotations:\n    iam.gke.io/gcp-service-accounts: x\n";
    std::fs::write(dir.join("locked/sa.yaml"), sa).unwrap();
    std::fs::write(dir.join("ok.yaml"), sa).unwrap();
    std::fs::set_permissions(dir.join("locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let bin = env!("CARGO_BIN_EXE_kwi-lint");
    let args = ["--format", "json", dir.to_str().unwrap()];
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let o = if root {
        let as_nobody = |more: &[&str]| {
            Command::new("runuser")
                .args(["-u", "nobody", "--", bin])
                .args(more)
                .output()
        };
        match as_nobody(&["--version"]) {
            Ok(v) if v.status.success() => as_nobody(&args).unwrap(),
            _ => {
                eprintln!("skipped: root, and kwi-lint cannot be run as nobody");
                return;
            }
        }
    } else {
        run_bounded(&args, Duration::from_secs(10))
    };
    std::fs::set_permissions(dir.join("locked"), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(findings(&o), ["KWI001 locked:1:1", "KWI101 ok.yaml:6:5"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let message = v["findings"][0]["message"].as_str().unwrap();
    let locked = dir.join("locked");
    assert_eq!(
        message,
        format!("{}: Permission denied (os error 13)", locked.display())
    );
}

/// A folder of symlinks to repositories lints nothing: that is a usage
/// error (exit 2) with a word, not a green run; the symlink named as a path
/// is followed.
#[cfg(unix)]
#[test]
fn a_run_that_lints_no_file_says_so_and_exits_2() {
    let dir = common::scratch("symlinked-repos");
    let repo = std::fs::canonicalize("testdata/KWI402/bad").unwrap();
    std::fs::create_dir_all(dir.join("links")).unwrap();
    std::os::unix::fs::symlink(&repo, dir.join("links/repo")).unwrap();
    let o = common::run(&[dir.join("links").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing was linted"));
    let o = common::run(&["--format", "json", dir.join("links/repo").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "the named symlink is followed");
    assert_eq!(common::json(&o)["findings"].as_array().unwrap().len(), 1);
}

/// What a forged line or a terminal escape would look like in any output.
fn forged(text: &str, github: bool) -> Vec<String> {
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        // Our own GitHub annotations are the only lines that may start with `::`.
        let ours = github
            && ["::error file=", "::warning file=", "::notice file="]
                .iter()
                .any(|p| line.starts_with(p));
        if t.starts_with("::") && !ours {
            bad.push(format!("line {}: starts a workflow command: {line}", i + 1));
        }
    }
    for c in text.chars() {
        let invisible = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}');
        if (c.is_control() && c != '\n') || invisible {
            bad.push(format!("raw {:?}", c));
        }
    }
    bad
}

#[test]
fn scanned_names_cannot_forge_output_in_any_format() {
    let dir = common::scratch("forge");
    // A file name with a line break and a workflow command in it.
    std::fs::write(
        dir.join("nl\n::error file=x::PWN.yaml"),
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n  annotations:\n    iam.gke.io/gcp-service-accounts: x\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("objs.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: \"web\\n::error::x\\e[2J\\u202e\"\n  namespace: prod\nspec:\n  template:\n    spec:\n      serviceAccountName: \"api\\n::warning::y\\a\"\n      containers: [{name: a, image: b}]\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: \"api\\n::warning::y\\a\"\n  namespace: prod\n  annotations:\n    iam.gke.io/gcp-service-account: \"x\\u200b@b-project.iam.gserviceaccount.com\\e]0;t\\a\"\n# a comment with a raw CR\r::error::cr \u{1b}[31m and \u{2066}bidi\u{2069}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: \"rb\\n::error::z\\e]0;t\\a\", namespace: prod}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: \"r\\r::error::q\"}\nsubjects: [{kind: User, name: \"u\\n::error::s@example.com\\u2066\"}]\n",
    )
    .unwrap();
    let d = dir.to_str().unwrap();
    let message = "Error from server (Forbidden): pods is forbidden: User \"u\u{1b}[2J\" cannot list resource \"pods\" in API group \"\" in the namespace \"prod\"";
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("human", vec!["--color", "never", d]),
        ("human -v", vec!["-v", "--color", "never", d]),
        ("github", vec!["--format", "github", d]),
        ("json", vec!["--format", "json", d]),
        ("sarif", vec!["--format", "sarif", d]),
        ("junit", vec!["--format", "junit", d]),
        ("graph", vec!["graph", d]),
        ("graph dot", vec!["graph", "--format", "dot", d]),
        ("graph mermaid", vec!["graph", "--format", "mermaid", d]),
        ("graph json", vec!["graph", "--format", "json", d]),
        (
            "can-i",
            vec!["can-i", "--as", "u", "list", "pods", "-n", "prod", d],
        ),
        ("why-forbidden", vec!["why-forbidden", message, d]),
        ("scopes", vec!["scopes", d]),
    ];
    let mut failures = Vec::new();
    for (what, args) in cases {
        let o = run_bounded(&args, Duration::from_secs(30));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        for b in forged(&all, what == "github") {
            failures.push(format!("{what}: {b}"));
        }
    }
    // explain-error echoes log lines.
    for format in ["text", "json"] {
        let o = common::run_stdin(
            &["explain-error", "--format", format],
            "\u{1b}]0;x\u{7}DeployPatch failed \u{202e}\n::error::e DeployPatch failed\n",
        );
        for b in forged(&String::from_utf8_lossy(&o.stdout), false) {
            failures.push(format!("explain-error {format}: {b}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
