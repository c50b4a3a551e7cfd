//! README's rules table is generated from `rules/`: this fails when it is stale.
//! `UPDATE_README=1 cargo test --test readme` rewrites it.

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
            panic!("README.md's rules table is out of date: run UPDATE_README=1 cargo test --test readme");
        }
    }
}
