//! README's rules table is generated from `rules/`: this fails when it is stale.
//! `UPDATE_README=1 cargo test --release --test e2e readme::` rewrites it.

use std::path::PathBuf;

#[test]
fn readme_rules_table_is_current() {
    let rules = kwi_lint::rules::load(&[] as &[PathBuf]).expect("rules");
    let mut table =
        String::from("| id | name | severity | default | summary |\n|---|---|---|---|---|\n");
    for r in &rules {
        table.push_str(&format!(
            "| {} | `{}` | {} | {} | {} |\n",
            r.id,
            r.name,
            r.severity.as_str(),
            if r.enabled { "on" } else { "opt-in" },
            r.summary.replace('|', "\\|")
        ));
    }
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let (start, end) = ("<!-- rules-table:start -->\n", "<!-- rules-table:end -->");
    let a = readme.find(start).expect("start marker") + start.len();
    let b = readme.find(end).expect("end marker");
    if readme[a..b] != table {
        if std::env::var_os("UPDATE_README").is_some() {
            std::fs::write(
                "README.md",
                format!("{}{}{}", &readme[..a], table, &readme[b..]),
            )
            .expect("write");
        } else {
            panic!("README.md's rules table is out of date: run UPDATE_README=1 cargo test --release --test e2e readme::");
        }
    }
}

/// Splits a command line: whitespace separates, '…' quotes.
fn split_args(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    args.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        args.push(cur);
    }
    args
}

/// Every `<!-- output: ARGS -->` block in README.md is the real output of
/// `kwi-lint ARGS`. `UPDATE_README=1 cargo test --release --test e2e readme::` rewrites them.
#[test]
fn readme_command_outputs_are_real() {
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let marker = "<!-- output: ";
    let mut updated = String::new();
    let mut rest = readme.as_str();
    let mut stale = Vec::new();
    let mut count = 0;
    while let Some(i) = rest.find(marker) {
        let head_end = rest[i..].find(" -->\n").expect("marker end") + i;
        let args = split_args(&rest[i + marker.len()..head_end]);
        let block_start = head_end + " -->\n".len();
        assert!(
            rest[block_start..].starts_with("```text\n"),
            "an output marker must be followed by a ```text block"
        );
        let body_start = block_start + "```text\n".len();
        let body_end = rest[body_start..].find("```\n").expect("block end") + body_start;
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_kwi-lint"))
            .args(&args)
            .env("NO_COLOR", "1")
            .output()
            .expect("run");
        let actual = String::from_utf8_lossy(&o.stdout).into_owned();
        if rest[body_start..body_end] != actual {
            stale.push(args.join(" "));
        }
        updated.push_str(&rest[..body_start]);
        updated.push_str(&actual);
        rest = &rest[body_end..];
        count += 1;
    }
    updated.push_str(rest);
    assert!(count >= 6, "README shows every question command");
    if !stale.is_empty() {
        if std::env::var_os("UPDATE_README").is_some() {
            std::fs::write("README.md", updated).expect("write");
        } else {
            panic!("README.md output is stale for: {stale:?}; run UPDATE_README=1 cargo test --release --test e2e readme::");
        }
    }
}
