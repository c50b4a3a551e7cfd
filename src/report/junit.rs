//! `--format junit`: JUnit XML as GitLab and Jenkins read it. One test suite
//! per rule; one test case per rule and file with findings, failing.

use std::collections::BTreeMap;

use super::{Resolved, Summary};
use crate::rules::Rule;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("&#13;"),
            // Control characters are not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

pub fn render(findings: &[Resolved], summary: &Summary, rules: &[Rule]) -> String {
    let mut by_rule: BTreeMap<&str, BTreeMap<&str, Vec<&Resolved>>> = BTreeMap::new();
    for f in findings {
        by_rule
            .entry(&f.rule)
            .or_default()
            .entry(&f.file.name)
            .or_default()
            .push(f);
    }
    let failures: usize = by_rule.values().map(|m| m.len()).sum();
    let tests: usize = rules
        .iter()
        .map(|r| by_rule.get(&*r.id).map_or(1, |m| m.len()))
        .sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"kwi-lint\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{:.3}\">\n",
        summary.seconds
    ));
    for r in rules {
        let files = by_rule.get(&*r.id);
        let n = files.map_or(1, |m| m.len());
        let fails = files.map_or(0, |m| m.len());
        out.push_str(&format!(
            "  <testsuite name=\"{} {}\" tests=\"{n}\" failures=\"{fails}\" errors=\"0\">\n",
            escape(&r.id),
            escape(&r.name)
        ));
        match files {
            None => out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"no findings\"/>\n",
                escape(&r.id)
            )),
            Some(files) => {
                for (file, fs) in files {
                    out.push_str(&format!(
                        "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\">\n",
                        escape(&r.id),
                        escape(file),
                        escape(file)
                    ));
                    for f in fs {
                        let mut body = format!(
                            "{}:{}:{}: {}",
                            f.file.name, f.start.line, f.start.column, f.message
                        );
                        if let Some(h) = &f.help {
                            body.push_str(&format!("\nhelp: {h}"));
                        }
                        out.push_str(&format!(
                            "      <failure type=\"{}\" message=\"{}\">{}</failure>\n",
                            f.severity.as_str(),
                            escape(&f.message.as_str()),
                            escape(&body)
                        ));
                    }
                    out.push_str("    </testcase>\n");
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
