//! Every reproducer of "no input can exhaust memory, stall the run, forge
//! output or hide a finding": each runs the built binary once and asserts
//! its wall time and peak RSS. Peak RSS is the child's `VmHWM`, sampled
//! from /proc every 2 ms: `getrusage`'s `ru_maxrss` (from `wait4`) was tried
//! and reads this test process's own high-water mark instead, because std
//! spawns with posix_spawn (CLONE_VM) and exec keeps the old mm's maximum.
//! The bounds are loose enough for a loaded 2-core CI machine and tight
//! enough that each bug they were written for fails them (the figures
//! before the fix are in each comment).

use crate::common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    seconds: f64,
    max_rss_mb: f64,
}

/// Runs kwi-lint with `args`, writing `input` to its stdin, and measures
/// it. Kills it after 120 s.
fn measure(args: &[&str], input: Input) -> Run {
    let mut child = common::bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        // The child may stop reading at its limit: a broken pipe is expected.
        match input {
            Input::None => {}
            Input::Text(t) => {
                let _ = stdin.write_all(t.as_bytes());
            }
            Input::Zeros(mut n) => {
                let block = vec![0u8; 1 << 20];
                while n > 0 {
                    let k = n.min(block.len() as u64) as usize;
                    if stdin.write_all(&block[..k]).is_err() {
                        break;
                    }
                    n -= k as u64;
                }
            }
        }
    });
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let pid = child.id() as i32;
    let sampler = std::thread::spawn(move || {
        let path = format!("/proc/{pid}/status");
        let mut peak_kb = 0u64;
        // VmHWM only grows; it is gone once the process exits (a zombie has no mm).
        while let Ok(s) = std::fs::read_to_string(&path) {
            let Some(kb) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            else {
                break;
            };
            peak_kb = peak_kb.max(kb);
            std::thread::sleep(Duration::from_millis(2));
        }
        peak_kb
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("kwi-lint {args:?} did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let seconds = start.elapsed().as_secs_f64();
    let peak_kb = sampler.join().unwrap_or(0);
    let _ = writer.join();
    let stdout = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    let code = status.code().unwrap_or(-1);
    Run {
        code,
        stdout,
        stderr,
        seconds,
        max_rss_mb: peak_kb as f64 / 1024.0,
    }
}

enum Input {
    None,
    Text(String),
    Zeros(u64),
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p.display().to_string()
}

/// Asserts the run stayed within `seconds` and `mb` of peak RSS.
fn within(what: &str, r: &Run, seconds: f64, mb: f64) {
    eprintln!(
        "{what}: {:.2} s, {:.0} MB peak RSS",
        r.seconds, r.max_rss_mb
    );
    assert!(
        r.seconds <= seconds && r.max_rss_mb <= mb,
        "{what}: {:.2} s (bound {seconds}), {:.0} MB peak RSS (bound {mb}); exit {}; stderr: {}",
        r.seconds,
        r.max_rss_mb,
        r.code,
        r.stderr.chars().take(400).collect::<String>()
    );
}

fn fan_out() -> String {
    let mut d = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a0: &a0 [x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..5 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        d.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
    }
    d.push_str("  b: *a3\n");
    d
}

#[test]
fn yaml_that_expands_stays_small_and_fast() {
    let dir = common::scratch("limits-yaml");
    // 400 documents of a 4-level alias fan-out (133 KB): was 2.2 GB RSS.
    let f = write(&dir, "a400.yaml", &vec![fan_out(); 400].join("---\n"));
    let r = measure(&["--format", "json", &f], Input::None);
    within("400 alias fan-outs", &r, 10.0, 300.0);
    // 20,000 of them (6.6 MB): aborted with `memory allocation failed`.
    let f = write(&dir, "a20k.yaml", &vec![fan_out(); 20_000].join("---\n"));
    let r = measure(&["--format", "json", &f], Input::None);
    within("20,000 alias fan-outs", &r, 20.0, 600.0);
    assert!(r.code == 0 || r.code == 1, "exit {}: {}", r.code, r.stderr);
    // 100k anchors, then 100k aliases (3.4 MB): was 30 s.
    let mut s = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n");
    for i in 0..100_000 {
        s.push_str(&format!("  k{i}: &a{i} v\n"));
    }
    s.push_str("  l:\n");
    for i in 0..100_000 {
        s.push_str(&format!("    - *a{i}\n"));
    }
    let f = write(&dir, "anchors.yaml", &s);
    within(
        "100k aliases",
        &measure(&["--format", "json", &f], Input::None),
        10.0,
        600.0,
    );
    // One merge key `<<` of 100k keys (1.1 MB): was 144 s.
    let mut s = String::from("base: &b\n");
    for i in 0..100_000 {
        s.push_str(&format!("  k{i}: v\n"));
    }
    s.push_str("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  <<: *b\n");
    let f = write(&dir, "merge.yaml", &s);
    within(
        "merge of 100k keys",
        &measure(&["--format", "json", &f], Input::None),
        10.0,
        600.0,
    );
}

#[test]
fn the_alias_budget_holds_for_the_whole_run() {
    let dir = common::scratch("limits-run-aliases");
    // 60 files, each just under its own budget: a list of 15,000 anchored
    // once and aliased 6 times (90,006 alias nodes, within go-yaml's ratio).
    let items = vec!["x"; 15_000].join(", ");
    let doc = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  l: &l [{items}]\n{}",
        (0..6).map(|i| format!("  c{i}: *l\n")).collect::<String>()
    );
    for i in 0..60 {
        write(&dir, &format!("f{i:02}.yaml"), &doc);
    }
    let r = measure(&["--format", "json", dir.to_str().unwrap()], Input::None);
    within("60 files of aliases", &r, 20.0, 600.0);
    let json: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let over: Vec<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["message"]
                .as_str()
                .unwrap_or("")
                .contains("files scanned so far expand")
        })
        .map(|f| {
            f["file"]
                .as_str()
                .unwrap_or("")
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    // 5,000,000 nodes are 55 files' worth: the other 5 are reported, in scan order.
    assert_eq!(
        over.first().map(String::as_str),
        Some("f55.yaml"),
        "{over:?}"
    );
    assert_eq!(over.len(), 5, "{over:?}");
}

#[test]
fn many_findings_on_one_line_or_many_suppressions_stay_fast() {
    let dir = common::scratch("limits-findings");
    // A minified JSON List of 80,000 objects with one finding each (11.6 MB): was 90 s.
    let items: Vec<String> = (0..80_000)
        .map(|i| format!("{{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{{\"name\":\"sa{i}\",\"namespace\":\"ns\",\"annotations\":{{\"iam.gke.io/gcp-service-accounts\":\"x\"}}}}}}"))
        .collect();
    let f = write(
        &dir,
        "list.json",
        &format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{}]}}",
            items.join(",")
        ),
    );
    let r = measure(&["--format", "json", &f], Input::None);
    within("80,000 findings on one line", &r, 20.0, 1500.0);
    assert_eq!(r.code, 1);
    let json: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let last = json["findings"]
        .as_array()
        .and_then(|a| a.last())
        .cloned()
        .unwrap_or_default();
    // The column of the last finding counts characters from the line start.
    assert!(last["column"].as_u64().unwrap_or(0) > 11_000_000, "{last}");
    // 40k findings and 40k suppressions that match none of them: was 17 s.
    let mut s = String::new();
    for i in 0..40_000 {
        s.push_str(&format!("---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa{i}\n  namespace: ns\n  annotations:\n    # kwi-lint: ignore[KWI999]\n    iam.gke.io/gcp-service-accounts: x\n"));
    }
    let f = write(&dir, "suppressions.yaml", &s);
    within(
        "40k unmatched suppressions",
        &measure(&["--format", "json", &f], Input::None),
        8.0,
        1500.0,
    );
}

#[test]
fn huge_names_in_question_commands_stay_fast() {
    let dir = common::scratch("limits-names");
    let mut s = String::new();
    for i in 0..20_000 {
        s.push_str(&format!("---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: b{i}, namespace: ns}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}}\nsubjects: [{{kind: User, name: u{i}@example.com}}]\n"));
    }
    let f = write(&dir, "bindings.yaml", &s);
    // A 500 KB user name over 20k bindings: was killed at 90 s.
    let message = format!("Error from server (Forbidden): pods is forbidden: User \"{}\" cannot list resource \"pods\" in API group \"\" in the namespace \"ns\"\n", "a".repeat(500_000));
    let r = measure(&["why-forbidden", "-", &f], Input::Text(message));
    within("why-forbidden, 500 KB name", &r, 10.0, 500.0);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // `can-i --as` with a 50 KB name: was 23 s.
    let name = "b".repeat(50_000);
    let r = measure(
        &["can-i", "--as", &name, "list", "pods", "-n", "ns", &f],
        Input::None,
    );
    within("can-i, 50 KB name", &r, 5.0, 500.0);
    assert_eq!(r.code, 1);
}

#[test]
fn streams_are_read_only_up_to_their_limit() {
    let dir = common::scratch("limits-streams");
    // 3 GB of zeros on stdin: reached 3 GB RSS before the 64 MB limit.
    let r = measure(&["-"], Input::Zeros(3_000_000_000));
    within("3 GB on stdin", &r, 20.0, 400.0);
    assert!(r.stdout.contains("byte limit"), "{}", r.stdout);
    // A 1 GB log with no line break: explain-error aborted allocating 2 GB.
    let r = measure(&["explain-error"], Input::Zeros(1_000_000_000));
    within("explain-error on 1 GB", &r, 60.0, 100.0);
    // A 1.2 GB baseline (sparse): read whole before.
    let baseline = dir.join("big.baseline");
    std::fs::File::create(&baseline)
        .and_then(|f| f.set_len(1_200_000_000))
        .expect("sparse file");
    let ok = write(
        &dir,
        "ok.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    );
    let r = measure(
        &["--baseline", baseline.to_str().unwrap(), &ok],
        Input::None,
    );
    within("1.2 GB baseline", &r, 5.0, 100.0);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("larger than the limit"), "{}", r.stderr);
    // A rule folder (from a repo's config) with a link to /dev/zero, or a FIFO.
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::os::unix::fs::symlink("/dev/zero", rules.join("KWI900.yaml")).unwrap();
    let r = measure(&["--rules-dir", rules.to_str().unwrap(), &ok], Input::None);
    within("rule file linked to /dev/zero", &r, 5.0, 100.0);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
    std::fs::remove_file(rules.join("KWI900.yaml")).unwrap();
    let fifo = rules.join("KWI901.yaml");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let r = measure(&["--rules-dir", rules.to_str().unwrap(), &ok], Input::None);
    within("rule file that is a FIFO", &r, 5.0, 100.0);
    assert_eq!(r.code, 2);
}
