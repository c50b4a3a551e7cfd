//! Human output through miette: a snippet per finding with a label on the
//! node, related snippets in other files, the fix, and a summary line.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan};

use super::{summary_line, Resolved, Summary};
use crate::finding::{Severity, Text};
use crate::source::{SharedSource, SourceFile};

#[derive(Debug)]
struct Report {
    /// Shown with a source snippet; false for lines too long to draw.
    snippet: bool,
    message: String,
    code: Option<String>,
    severity: miette::Severity,
    source: SharedSource,
    label: LabeledSpan,
    help: Option<String>,
    related: Vec<Report>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.code
            .as_ref()
            .map(|c| Box::new(c) as Box<dyn fmt::Display>)
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.snippet
            .then_some(&self.source as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.snippet {
            Some(Box::new(std::iter::once(self.label.clone())))
        } else {
            None
        }
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(self.related.iter().map(|r| r as &dyn Diagnostic)))
        }
    }
}

fn miette_severity(s: Severity) -> miette::Severity {
    match s {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
        Severity::Info => miette::Severity::Advice,
    }
}

/// miette cannot draw a label past column 65,535 (it panics on the format
/// width), and a snippet of such a line is useless anyway.
const MAX_SNIPPET_LINE: usize = 4096;

fn line_too_long(file: &SourceFile, offset: usize) -> bool {
    let line = file.position(offset).line as usize;
    let (start, end) = file.line_span(line);
    end - start > MAX_SNIPPET_LINE
}

fn build(f: &Resolved, sources: &mut HashMap<String, SharedSource>) -> Report {
    let mut source = |file: &Arc<SourceFile>| {
        sources
            .entry(file.name.clone())
            .or_insert_with(|| SharedSource::new(file.clone()))
            .clone()
    };
    let long = line_too_long(&f.file, f.byte_start);
    Report {
        snippet: !long,
        message: if long {
            format!(
                "{}:{}:{}: {}",
                f.file.name, f.start.line, f.start.column, f.message
            )
        } else {
            f.message.to_string()
        },
        code: Some(format!("{}({})", f.rule, f.name)),
        severity: miette_severity(f.severity),
        source: source(&f.file),
        label: LabeledSpan::new(
            Some("here".to_string()),
            f.byte_start,
            f.byte_end - f.byte_start,
        ),
        help: f.help.as_ref().map(Text::to_string),
        related: f
            .related
            .iter()
            .map(|r| {
                let long = line_too_long(&r.file, r.byte_start);
                (r, long)
            })
            .map(|(r, long)| Report {
                snippet: !long,
                message: if long {
                    format!(
                        "{}:{}:{}: {}",
                        r.file.name, r.start.line, r.start.column, r.message
                    )
                } else {
                    r.message.to_string()
                },
                code: None,
                severity: miette::Severity::Advice,
                source: source(&r.file),
                label: LabeledSpan::new(
                    Some("related".to_string()),
                    r.byte_start,
                    r.byte_end - r.byte_start,
                ),
                help: None,
                related: Vec::new(),
            })
            .collect(),
    }
}

/// Writes each finding as it is drawn, then the summary line.
pub fn write<'f>(
    out: &mut impl std::io::Write,
    findings: impl Iterator<Item = &'f Resolved>,
    summary: &Summary,
    color: bool,
) -> std::io::Result<()> {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    // Never wrap: a fix command, an email or an annotation key broken over
    // two lines cannot be pasted (the terminal wraps long lines itself).
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_context_lines(1)
        .with_width(100)
        .with_wrap_lines(false);
    let mut text = String::new();
    let mut sources = HashMap::new();
    for f in findings {
        text.clear();
        let mut report = build(f, &mut sources);
        // Related spans are drawn as reports of their own: miette would put
        // an empty `Advice: ` line before each.
        let related = std::mem::take(&mut report.related);
        let mut failed = handler.render_report(&mut text, &report).is_err();
        for r in &related {
            failed |= handler.render_report(&mut text, r).is_err();
        }
        if failed {
            text.push_str(&format!(
                "{}:{}:{}: {} {}\n",
                f.file.name, f.start.line, f.start.column, f.rule, f.message
            ));
        }
        text.push('\n');
        out.write_all(text.as_bytes())?;
    }
    writeln!(out, "{}", summary_line(summary))
}
