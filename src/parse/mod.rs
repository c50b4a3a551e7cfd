//! Reading and parsing one input into span-carrying documents. Nothing here
//! fails a run: every problem becomes a `FileProblem` with a position.

pub mod json;
pub mod tree;
pub mod yaml;

use std::sync::Arc;

use crate::source::{FileId, SourceFile, Span};
pub use tree::{Document, Node, Style, Value};

#[derive(Clone, Debug)]
pub struct Limits {
    pub max_file_size: u64,
    pub max_depth: usize,
    pub max_documents: usize,
    pub max_alias_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_size: 64 * 1024 * 1024,
            max_depth: 256,
            max_documents: 100_000,
            max_alias_nodes: 100_000,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// Syntax error, binary data, invalid UTF-8, a limit exceeded (KWI001, error).
    Syntax,
    /// The file could not be read at all (KWI001, exit code 2).
    Unreadable,
    /// A Helm chart template: skipped with a note (KWI001, info).
    HelmTemplate,
}

#[derive(Clone, Debug)]
pub struct FileProblem {
    pub kind: ProblemKind,
    pub span: Span,
    pub message: String,
    pub help: Option<String>,
}

#[derive(Debug)]
pub struct ParsedFile {
    pub id: FileId,
    pub source: Arc<SourceFile>,
    pub docs: Vec<Document>,
    pub problems: Vec<FileProblem>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
    NdJson,
}

impl Format {
    pub fn from_name(name: &str) -> Format {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Format::Json
        } else if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            Format::NdJson
        } else {
            Format::Yaml
        }
    }
}

impl ParsedFile {
    /// Replaces the content of a file that was not read because of its size.
    pub fn with_size_problem(mut self, size: u64, limit: u64) -> ParsedFile {
        self.docs.clear();
        self.problems = vec![FileProblem {
            kind: ProblemKind::Syntax,
            span: Span::default(),
            message: format!("file is {size} bytes, over the {limit} byte limit; skipped"),
            help: Some("raise `limits.max_file_size` in .kwi-lint.yaml or exclude the file".into()),
        }];
        self
    }
}

/// A file that could not be read: an empty source and one problem.
pub fn unreadable(id: FileId, name: String, message: String) -> ParsedFile {
    ParsedFile {
        id,
        source: SourceFile::new(name, String::new()),
        docs: Vec::new(),
        problems: vec![FileProblem {
            kind: ProblemKind::Unreadable,
            span: Span::default(),
            message,
            help: Some("check the path and its permissions, or exclude it with --exclude".into()),
        }],
    }
}

/// Parses the bytes of one file. `helm_chart` says whether the file sits in
/// a Helm chart's `templates/` folder.
pub fn parse_bytes(
    id: FileId,
    name: String,
    bytes: Vec<u8>,
    format: Format,
    helm_chart: bool,
    limits: &Limits,
) -> ParsedFile {
    let mut problems = Vec::new();
    if bytes.len() as u64 > limits.max_file_size {
        problems.push(FileProblem {
            kind: ProblemKind::Syntax,
            span: Span::default(),
            message: format!(
                "file is {} bytes, over the {} byte limit; skipped",
                bytes.len(),
                limits.max_file_size
            ),
            help: Some("raise `limits.max_file_size` in .kwi-lint.yaml or exclude the file".into()),
        });
        return ParsedFile {
            id,
            source: SourceFile::new(name, String::new()),
            docs: Vec::new(),
            problems,
        };
    }
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        let at = head.iter().position(|b| *b == 0).unwrap_or(0);
        let text = String::from_utf8_lossy(&bytes[..at]).into_owned();
        let len = text.len();
        problems.push(FileProblem {
            kind: ProblemKind::Syntax,
            span: Span::new(len, len),
            message: format!("binary data (a NUL byte at byte {at}), not YAML or JSON; skipped"),
            help: Some("exclude binary files with --exclude".into()),
        });
        return ParsedFile {
            id,
            source: SourceFile::new(name, text),
            docs: Vec::new(),
            problems,
        };
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            // The lossy prefix is byte-identical up to `at`.
            problems.push(FileProblem {
                kind: ProblemKind::Syntax,
                span: Span::new(at, at),
                message: format!("invalid UTF-8 at byte {at}; skipped"),
                help: Some("Kubernetes manifests must be UTF-8: re-encode the file".into()),
            });
            return ParsedFile {
                id,
                source: SourceFile::new(name, text),
                docs: Vec::new(),
                problems,
            };
        }
    };
    let source = SourceFile::new(name, text);
    let base = source.bom_len();
    let body = &source.text[base..];
    let helm_note = |span| FileProblem {
        kind: ProblemKind::HelmTemplate,
        span,
        message: "Helm chart template: skipped".into(),
        help: Some("lint the rendered output: `helm template RELEASE CHART | kwi-lint -`".into()),
    };
    if helm_chart && body.contains("{{") {
        let at = body.find("{{").unwrap_or(0) + base;
        problems.push(helm_note(Span::new(at, at + 2)));
        return ParsedFile {
            id,
            source,
            docs: Vec::new(),
            problems,
        };
    }
    let (docs, error) = match format {
        Format::Yaml => yaml::parse(body, base, limits),
        Format::Json => json::parse(body, base, false, limits),
        Format::NdJson => json::parse(body, base, true, limits),
    };
    if let Some(e) = error {
        let at = e.offset.min(source.text.len());
        if format == Format::Yaml && body.contains("{{") {
            let t = body.find("{{").unwrap_or(0) + base;
            problems.push(helm_note(Span::new(t, t + 2)));
            return ParsedFile {
                id,
                source,
                docs: Vec::new(),
                problems,
            };
        }
        // Point at one character so every format shows a caret.
        let end = source.text[at..]
            .chars()
            .next()
            .filter(|c| *c != '\n' && *c != '\r')
            .map(|c| at + c.len_utf8())
            .unwrap_or(at);
        problems.push(FileProblem {
            kind: ProblemKind::Syntax,
            span: Span::new(at, end),
            message: format!(
                "{} syntax error: {}",
                if format == Format::Yaml {
                    "YAML"
                } else {
                    "JSON"
                },
                e.message
            ),
            help: None,
        });
    }
    ParsedFile {
        id,
        source,
        docs,
        problems,
    }
}
