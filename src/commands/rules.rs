//! `kwi-lint rules` and `kwi-lint explain RULE`.

use std::path::PathBuf;

use super::fail;
use crate::rules::{self, Rule};

fn with_rules(dirs: &[PathBuf], f: impl FnOnce(&[Rule]) -> i32) -> i32 {
    match rules::load(dirs) {
        Ok(r) => f(&r),
        Err(e) => fail(e),
    }
}

/// `rules`: one line per rule.
pub fn list(rules_dir: &[PathBuf]) -> i32 {
    with_rules(rules_dir, |rules| {
        let mut out = String::new();
        for r in rules {
            out.push_str(&format!(
                "{:<8} {:<34} {:<8} {:<8} {}\n",
                r.id,
                r.name,
                r.severity.as_str(),
                if r.enabled { "on" } else { "opt-in" },
                r.summary
            ));
        }
        if super::print_out(&out) {
            0
        } else {
            2
        }
    })
}

/// `explain RULE`: the rule's documentation.
pub fn explain_one(rule: &str, rules_dir: &[PathBuf]) -> i32 {
    with_rules(rules_dir, |rules| {
        match rules
            .iter()
            .find(|r| r.id.eq_ignore_ascii_case(rule) || &*r.name == rule)
        {
            Some(r) if super::print_out(&explain(r)) => 0,
            Some(_) => 2,
            None => fail(format!("no rule `{rule}`; `kwi-lint rules` lists them")),
        }
    })
}

/// The documentation of one rule, as `explain` prints it.
pub fn explain(r: &Rule) -> String {
    let mut s = format!("{} ({})\n\n{}\n\n", r.id, r.name, r.summary);
    s.push_str(&format!(
        "Severity: {}. {}. Category: {}.\n",
        r.severity.as_str(),
        if r.enabled {
            "Enabled by default"
        } else {
            "Opt-in (enable it in .kwi-lint.yaml or with --select)"
        },
        r.category
    ));
    for (title, body) in [("Why it matters", &r.why), ("How to fix", &r.fix)] {
        if !body.is_empty() {
            s.push_str(&format!("\n## {title}\n\n{body}\n"));
        }
    }
    for (title, body) in [("Bad", &r.bad_example), ("Good", &r.good_example)] {
        if !body.is_empty() {
            s.push_str(&format!(
                "\n## {title}\n\n```yaml\n{}\n```\n",
                body.trim_end()
            ));
        }
    }
    s
}
