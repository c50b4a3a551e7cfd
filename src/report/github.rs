//! `--format github`: GitHub Actions workflow commands. Values are escaped as
//! the runner requires, so no YAML value can inject a command.

use super::{Resolved, Summary};
use crate::finding::Severity;

/// Escaping of a command's message (control characters are shown, not sent).
pub fn escape_data(s: &str) -> String {
    crate::escape::lines(s)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping of a property value (`file=…,title=…`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Writes one workflow command per finding, as each is made.
pub fn write(
    out: &mut impl std::io::Write,
    findings: &[Resolved],
    summary: &Summary,
) -> std::io::Result<()> {
    for f in findings {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut message = f.message.to_string();
        if let Some(h) = &f.help {
            message.push_str("\nhelp: ");
            message.push_str(&h.as_str());
        }
        for r in &f.related {
            message.push_str(&format!(
                "\n{}:{}:{}: {}",
                r.file.name, r.start.line, r.start.column, r.message
            ));
        }
        writeln!(
            out,
            "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            escape_property(&f.file.name),
            f.start.line,
            f.start.column,
            f.end.line,
            f.end.column,
            escape_property(&format!("{} {}", f.rule, f.name)),
            escape_data(&message)
        )?;
    }
    writeln!(out, "{}", escape_data(&super::summary_line(summary)))
}
