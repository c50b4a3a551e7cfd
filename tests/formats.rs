//! Every output format: golden snapshots of the demo, and a test that parses
//! each format back (the SARIF against the official 2.1.0 schema).

use std::process::Command;

use crate::common::{golden, scratch};

fn run(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_kwi-lint"))
        .args(args)
        .output()
        .expect("run");
    String::from_utf8(o.stdout).expect("utf-8")
}

/// Masks the run time, the one value that changes between runs.
fn mask(text: &str) -> String {
    let re = |s: &str| {
        let mut out = String::new();
        for line in s.lines() {
            let l = match line.rfind(" in ") {
                Some(i) if line.ends_with(" s") => format!("{} in T s", &line[..i]),
                _ => line.to_string(),
            };
            let l = match l.find("time=\"") {
                Some(i) => {
                    let end = l[i + 6..].find('"').map(|e| i + 6 + e).unwrap_or(l.len());
                    format!("{}time=\"T{}", &l[..i], &l[end..])
                }
                None => l,
            };
            out.push_str(&l);
            out.push('\n');
        }
        out
    };
    re(text)
}

fn sarif_validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("tests/data/sarif-schema-2.1.0.json").expect("schema"),
    )
    .expect("schema json");
    jsonschema::validator_for(&schema).expect("valid schema")
}

#[test]
fn sarif_is_valid_against_the_official_schema() {
    let text = run(&["--format", "sarif", "testdata/demo"]);
    golden("demo.sarif", &text);
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let validator = sarif_validator();
    let errors: Vec<String> = validator
        .iter_errors(&v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let run0 = &v["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().expect("rules");
    assert!(rules.iter().any(|r| r["id"] == "KWI201"
        && r["helpUri"]
            .as_str()
            .unwrap()
            .ends_with("/rules/KWI201.yaml")));
    let r = run0["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "KWI201")
        .expect("KWI201 result");
    let region = &r["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(7), Some(37))
    );
    assert_eq!(
        r["relatedLocations"][0]["physicalLocation"]["region"]["startLine"],
        6
    );
    assert!(r["properties"]["fix"]
        .as_str()
        .unwrap()
        .starts_with("gcloud iam service-accounts"));
}

#[test]
fn sarif_validation_can_fail() {
    let text = run(&["--format", "sarif", "testdata/demo"]);
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v["runs"][0]["results"][0]["level"] = serde_json::json!("catastrophic");
    assert!(!sarif_validator().is_valid(&v));
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v["version"] = serde_json::json!("2.0.0");
    assert!(!sarif_validator().is_valid(&v));
}

#[test]
fn github_golden() {
    golden(
        "demo.github.txt",
        &mask(&run(&["--format", "github", "testdata/demo"])),
    );
}

#[test]
fn junit_parses_back() {
    let text = run(&["--format", "junit", "testdata/demo"]);
    golden("demo.junit.xml", &mask(&text));
    let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suite = root
        .children()
        .find(|n| n.attribute("name") == Some("KWI201 wi-binding-missing"))
        .expect("KWI201 suite");
    let case = suite
        .children()
        .find(|n| n.has_tag_name("testcase"))
        .expect("testcase");
    assert_eq!(
        case.attribute("name"),
        Some("testdata/demo/k8s/payments/serviceaccount.yaml")
    );
    let failure = case
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("failure");
    assert_eq!(failure.attribute("type"), Some("error"));
    assert!(failure
        .text()
        .unwrap()
        .starts_with("testdata/demo/k8s/payments/serviceaccount.yaml:7:37:"));
    let failures: usize = root.attribute("failures").unwrap().parse().unwrap();
    assert_eq!(
        failures,
        doc.descendants()
            .filter(
                |n| n.has_tag_name("testcase") && n.children().any(|c| c.has_tag_name("failure"))
            )
            .count()
    );
}

const HOSTILE: &str = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: \"a\\u001b[31mred,b:c\"\n  namespace: prod\n  annotations:\n    iam.gke.io/gcp-service-account: \"x%0A::error::owned\\n::warning file=a,line=1::injected <&>\\r\\u0007\"\n";

#[test]
fn hostile_values_are_escaped_in_every_format() {
    let dir = scratch("hostile-formats");
    let file = dir.join("evil,name:x.yaml");
    std::fs::write(&file, HOSTILE).unwrap();
    let f = file.to_str().unwrap();

    let gh = run(&["--format", "github", f]);
    let lines: Vec<&str> = gh.lines().collect();
    // One command per finding plus the summary: no injected line.
    assert!(
        lines.iter().all(|l| !l.starts_with("::")
            || l.starts_with("::error file=")
            || l.starts_with("::warning file=")),
        "{gh}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("::")).count(),
        1,
        "{gh}"
    );
    assert!(
        gh.contains("%250A%3A%3Aerror") || gh.contains("%250A::error"),
        "{gh}"
    );
    assert!(gh.contains("evil%2Cname%3Ax.yaml"), "{gh}");
    assert!(!gh.contains('\u{1b}') && !gh.contains('\u{7}'));

    let human = run(&["--color", "never", f]);
    assert!(!human.contains('\u{7}'), "BEL in human output");
    let json = run(&["--format", "json", f]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert!(v["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("::error::owned"));
    let junit = run(&["--format", "junit", f]);
    roxmltree::Document::parse(&junit).expect("valid XML");
    let sarif: serde_json::Value =
        serde_json::from_str(&run(&["--format", "sarif", f])).expect("valid SARIF JSON");
    assert!(sarif_validator().is_valid(&sarif));
}

#[test]
fn raw_control_bytes_in_a_file_never_reach_the_terminal() {
    let dir = scratch("raw-controls");
    let file = dir.join("sa.yaml");
    std::fs::write(&file, "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n  annotations:\n    iam.gke.io/gcp-service-account: serviceAccount:a\u{1b}]0;pwned\u{7}@b.iam.gserviceaccount.com\n").unwrap();
    let human = run(&["--color", "never", file.to_str().unwrap()]);
    assert!(human.contains("sa.yaml"), "{human}");
    assert!(
        !human.contains('\u{1b}') && !human.contains('\u{7}'),
        "{human:?}"
    );
}

#[test]
fn json_output_matches_its_published_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("docs/kwi-lint-output.schema.json").expect("schema"),
    )
    .expect("json");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    for path in ["testdata/demo", "testdata"] {
        let v: serde_json::Value =
            serde_json::from_str(&run(&["--format", "json", path])).expect("json");
        let errors: Vec<String> = validator
            .iter_errors(&v)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{path}: {errors:#?}");
    }
    let mut bad: serde_json::Value =
        serde_json::from_str(&run(&["--format", "json", "testdata/demo"])).expect("json");
    bad["findings"][0]["line"] = serde_json::json!(0);
    assert!(!validator.is_valid(&bad));
}
