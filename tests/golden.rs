//! Snapshot tests of the rendered output for the demo. Regenerate with
//! `UPDATE_GOLDEN=1 cargo test --test golden` and review the diff.

use std::process::Command;

fn render(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_kwi-lint"))
        .args(args)
        .output()
        .expect("run");
    let text = String::from_utf8(o.stdout).expect("utf-8");
    // The summary's run time is the one value that changes between runs.
    match text.rfind(" in ") {
        Some(i) if text[i..].trim_end().ends_with(" s") => format!("{} in T s\n", &text[..i]),
        _ => text,
    }
}

fn check(name: &str, actual: &str) {
    let path = format!("tests/golden/{name}");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b);
        panic!("{path} differs (first differing line: {first:?}); run UPDATE_GOLDEN=1 cargo test --test golden and review.\n--- actual ---\n{actual}");
    }
}

#[test]
fn demo_human() {
    check(
        "demo.human.txt",
        &render(&["--color", "never", "testdata/demo"]),
    );
}

#[test]
fn demo_json() {
    check("demo.json", &render(&["--format", "json", "testdata/demo"]));
}
