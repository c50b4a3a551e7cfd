//! Snapshot tests of the rendered output for the demo. Regenerate with
//! `UPDATE_GOLDEN=1 cargo test --test golden` and review the diff.

use std::process::Command;

use crate::common::golden;

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

#[test]
fn demo_human() {
    golden(
        "demo.human.txt",
        &render(&["--color", "never", "testdata/demo"]),
    );
}

#[test]
fn demo_json() {
    golden("demo.json", &render(&["--format", "json", "testdata/demo"]));
}
