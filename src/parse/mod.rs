//! Reading and parsing one input into span-carrying documents. Nothing here
//! fails a run: every problem becomes a `FileProblem` with a position.
//!
//! YAML is read as `kubectl -f` reads it (`yaml.rs`, `resolve.rs`), JSON with
//! our own streaming parser (`json.rs`). Templates (Helm, Jinja, Terraform,
//! kpt placeholders) are recognised and skipped with a note instead of being
//! read as broken YAML.

pub mod json;
pub mod libyaml;
pub mod resolve;
pub mod tree;
pub mod yaml;

use std::sync::Arc;

use crate::source::{FileId, SourceFile, Span};
pub use resolve::Scalar;
pub use tree::{Document, Entries, Items, Kind, Node, NodeId, Style, Tag, Tree};

#[derive(Clone, Debug)]
pub struct Limits {
    pub max_file_size: u64,
    pub max_depth: usize,
    pub max_documents: usize,
    /// Nodes reached through aliases, per file.
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
    /// Syntax error, binary data, invalid UTF-8, a limit exceeded (KWI001;
    /// an error in a file of ours, an info elsewhere).
    Syntax,
    /// The file could not be read at all (KWI001, exit code 2).
    Unreadable,
    /// A template (Helm, Jinja, Terraform, kpt): skipped with a note (KWI001, info).
    Template,
}

#[derive(Clone, Debug)]
pub struct FileProblem {
    pub kind: ProblemKind,
    pub span: Span,
    pub message: String,
    pub help: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
    /// `.jsonc`, `tsconfig*.json`: comments and trailing commas allowed.
    JsonWithComments,
    NdJson,
}

impl Format {
    pub fn from_name(name: &str) -> Format {
        let lower = name.to_ascii_lowercase();
        let base = lower.rsplit('/').next().unwrap_or(&lower);
        if base.ends_with(".jsonc") || base.starts_with("tsconfig") && base.ends_with(".json") {
            Format::JsonWithComments
        } else if base.ends_with(".json") {
            Format::Json
        } else if base.ends_with(".jsonl") || base.ends_with(".ndjson") {
            Format::NdJson
        } else {
            Format::Yaml
        }
    }

    pub fn is_json(self) -> bool {
        self != Format::Yaml
    }
}

#[derive(Debug)]
pub struct ParsedFile {
    pub id: FileId,
    /// Where it was read from (none for standard input, or when it is the
    /// name shown, as it most often is: a run holds one per file); see `path`.
    path: Option<Box<std::path::PathBuf>>,
    path_is_name: bool,
    /// Named as kustomize names a kustomization (`kustomization.yaml`, …):
    /// known when the path is set, so finding them does not visit every file.
    pub kustomization: bool,
    pub tree: Tree,
    /// Byte ranges of the file's comments (YAML only).
    pub comments: Box<[Span]>,
    pub problems: Vec<FileProblem>,
    /// A `.json` file that only parsed as YAML: it counts only for the
    /// Kubernetes objects it holds.
    pub yaml_in_json: bool,
    /// Nodes reached through aliases (for the run-wide budget; a file's own
    /// budget is far below `u32::MAX`).
    pub alias_nodes: u32,
    /// A file that did not parse but looks like a manifest or a gcloud dump:
    /// its syntax errors are errors, where other files' are notes.
    pub looks_ours: bool,
}

impl ParsedFile {
    /// Its text and name (the tree's: one handle per file).
    pub fn source(&self) -> &Arc<SourceFile> {
        self.tree.source()
    }

    /// Where it was read from (none for standard input): kustomizations
    /// resolve their references against it.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self.path_is_name {
            true => Some(std::path::Path::new(&self.source().name)),
            false => self.path.as_deref().map(std::path::PathBuf::as_path),
        }
    }

    /// Its place in the run's file table, known once every file is read.
    pub fn set_id(&mut self, id: FileId) {
        self.id = id;
        self.tree.set_file(id);
    }

    pub fn set_path(&mut self, path: std::path::PathBuf) {
        self.kustomization = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| crate::walk::KUSTOMIZATION_FILES.contains(&n));
        self.path_is_name = path.as_os_str() == self.source().name.as_str();
        self.path = (!self.path_is_name).then(|| Box::new(path));
    }

    fn empty(id: FileId, source: Arc<SourceFile>) -> ParsedFile {
        ParsedFile {
            id,
            path: None,
            path_is_name: false,
            kustomization: false,
            tree: Tree::new(id, source),
            comments: Box::default(),
            problems: Vec::new(),
            yaml_in_json: false,
            alias_nodes: 0,
            looks_ours: false,
        }
    }

    /// The root of every document.
    pub fn roots(&self) -> impl Iterator<Item = Node<'_>> + '_ {
        self.tree.roots()
    }

    /// Drops the documents and says why (a limit hit after parsing).
    pub fn drop_documents(&mut self, problem: FileProblem) {
        self.tree.clear_documents();
        self.problems.push(problem);
    }

    /// A file not read because of its size.
    pub fn too_large(id: FileId, name: String, size: u64, limit: u64) -> ParsedFile {
        let mut f = ParsedFile::empty(id, SourceFile::new(name, String::new()));
        f.problems.push(size_problem(size, limit));
        f
    }
}

fn size_problem(size: u64, limit: u64) -> FileProblem {
    FileProblem {
        kind: ProblemKind::Syntax,
        span: Span::default(),
        message: format!("file is {size} bytes, over the {limit} byte limit; skipped"),
        help: Some("raise `limits.max_file_size` in .kwi-lint.yaml or exclude the file".into()),
    }
}

/// A file that could not be read: an empty source and one problem.
pub fn unreadable(id: FileId, name: String, message: String) -> ParsedFile {
    let mut f = ParsedFile::empty(id, SourceFile::new(name, String::new()));
    f.problems.push(FileProblem {
        kind: ProblemKind::Unreadable,
        span: Span::default(),
        message,
        help: Some("check the path and its permissions, or exclude it with --exclude".into()),
    });
    f
}

/// Parses a YAML text that is not a scanned file (the config, rule files,
/// embedded data, an annotation's value): the tree and the first error.
pub fn parse_yaml_str(name: &str, text: String) -> (Tree, Option<ParseError>) {
    let source = SourceFile::new(name, text);
    let base = source.bom_len();
    let mut tree = Tree::new(u32::MAX, source);
    let out = yaml::parse(&mut tree, base, &Limits::default());
    (tree, out.errors.into_iter().next())
}

/// The syntax errors of a file's text as kubectl would meet them (no template
/// recognition, default limits): for differential tests against kubectl.
pub fn syntax_errors(name: &str, text: String, limits: &Limits) -> Vec<ParseError> {
    let mut f = ParsedFile::empty(0, SourceFile::new(name, text));
    let base = f.source().bom_len();
    parse_body(&mut f, base, Format::from_name(name), limits)
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
    if bytes.len() as u64 > limits.max_file_size {
        return ParsedFile::too_large(id, name, bytes.len() as u64, limits.max_file_size);
    }
    let head = &bytes[..bytes.len().min(8192)];
    if let Some(at) = memchr::memchr(0, head) {
        let text = String::from_utf8_lossy(&bytes[..at]).into_owned();
        let len = text.len();
        let mut f = ParsedFile::empty(id, SourceFile::new(name, text));
        f.problems.push(FileProblem {
            kind: ProblemKind::Syntax,
            span: Span::new(len, len),
            message: format!("binary data (a NUL byte at byte {at}), not YAML or JSON; skipped"),
            help: Some("exclude binary files with --exclude".into()),
        });
        return f;
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            // The lossy text is byte-identical up to `at`.
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let mut f = ParsedFile::empty(id, SourceFile::new(name, text));
            f.problems.push(FileProblem {
                kind: ProblemKind::Syntax,
                span: Span::new(at, at),
                message: format!("invalid UTF-8 at byte {at}; skipped"),
                help: Some("Kubernetes manifests must be UTF-8: re-encode the file".into()),
            });
            return f;
        }
    };
    let mut f = ParsedFile::empty(id, SourceFile::new(name, text));
    let source = f.source().clone();
    let base = source.bom_len();
    let body = &source.text[base..];
    let marker = template::find_marker(&source.text, base, format, source.name.as_str());
    let helm = helm_chart.then(|| template::find(body, "{{")).flatten();
    if let Some(at) = helm {
        let at = at + base;
        f.problems
            .push(template::note(Span::new(at, at + 2), "Helm chart template"));
        return f;
    }
    f.tree.reserve_for(body.len());
    let errors = parse_body(&mut f, base, format, limits);
    f.tree.shrink();
    if let Some(m) = marker {
        // A template that parses only by accident (`{{ x }}` read as a flow
        // mapping) or not at all is skipped whole, with one note.
        if template::is_template(&f.tree, &m, errors.is_empty()) {
            f.tree = Tree::new(id, source.clone());
            f.comments = Box::default();
            f.problems.push(template::note(
                Span::new(m.offset, m.offset + m.len),
                m.kind,
            ));
            return f;
        }
    }
    f.looks_ours = !errors.is_empty() && looks_ours(body);
    for e in errors {
        let at = e.offset.min(source.text.len());
        // Point at one character so every format shows a caret.
        let end = source.text[at..]
            .chars()
            .next()
            .filter(|c| *c != '\n' && *c != '\r')
            .map(|c| at + c.len_utf8())
            .unwrap_or(at);
        let what = if f.yaml_in_json || format == Format::Yaml {
            "YAML"
        } else {
            "JSON"
        };
        f.problems.push(FileProblem {
            kind: ProblemKind::Syntax,
            span: Span::new(at, end),
            message: format!("{what} syntax error: {}", e.message),
            help: None,
        });
    }
    f
}

/// Whether a text that did not parse looks like a Kubernetes manifest
/// (`apiVersion:` and `kind:` keys) or a gcloud dump.
fn looks_ours(text: &str) -> bool {
    let key = |k: &str| {
        text.lines().any(|l| {
            let l = l
                .trim_start()
                .trim_start_matches("- ")
                .trim_start_matches(['"', '{']);
            l.starts_with(k)
                && l[k.len()..]
                    .trim_start_matches('"')
                    .trim_start()
                    .starts_with(':')
        })
    };
    key("apiVersion") && key("kind")
        || key("bindings") && text.contains("role") && text.contains("members")
        || key("workloadIdentityConfig")
        || key("nodePools")
        || key("selfLink")
}

/// Parses into `f.tree` as the file's format says; returns the errors.
fn parse_body(f: &mut ParsedFile, base: usize, format: Format, limits: &Limits) -> Vec<ParseError> {
    let source = f.source().clone();
    let body = &source.text[base..];
    let first = body
        .trim_start_matches([' ', '\t', '\r', '\n'])
        .as_bytes()
        .first();
    match format {
        Format::Yaml if first == Some(&b'{') => {
            // kubectl decodes a stream that starts with `{` as JSON.
            let errors = json::parse(&mut f.tree, base, json::Dialect::Strict, false, limits);
            errors
                .into_iter()
                .map(|e| ParseError {
                    offset: e.offset,
                    message: format!(
                        "{} (kubectl reads a file that starts with `{{` as JSON)",
                        e.message
                    ),
                })
                .collect()
        }
        Format::Yaml => {
            let out = yaml::parse(&mut f.tree, base, limits);
            f.comments = out.comments.into_boxed_slice();
            f.alias_nodes = out.alias_nodes.try_into().unwrap_or(u32::MAX);
            out.errors
        }
        _ => {
            let dialect = if format == Format::JsonWithComments {
                json::Dialect::WithComments
            } else {
                json::Dialect::Strict
            };
            let errors = json::parse(&mut f.tree, base, dialect, format == Format::NdJson, limits);
            // A `.json` file that is really YAML. One that starts with `{` is
            // broken JSON: kubectl decodes such a stream as JSON only.
            if errors.is_empty() || !f.tree.docs.is_empty() || first == Some(&b'{') {
                return errors;
            }
            let mut tree = Tree::new(f.id, f.source().clone());
            let out = yaml::parse(&mut tree, base, limits);
            if !out.errors.is_empty() {
                return errors;
            }
            f.tree = tree;
            f.comments = out.comments.into_boxed_slice();
            f.alias_nodes = out.alias_nodes.try_into().unwrap_or(u32::MAX);
            f.yaml_in_json = true;
            Vec::new()
        }
    }
}

/// Recognising templates before they are read as broken YAML.
mod template {
    use super::{FileProblem, Format, ProblemKind, Tree};
    use crate::source::Span;
    use memchr::memmem;

    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum When {
        /// A template file (`.tftpl`, `.tpl`) whatever it holds.
        Always,
        /// `{{ }}`, `{% %}`: a template when the file does not parse or a
        /// marker sits outside every string value (it parsed by accident).
        OutsideStrings,
        /// `${…}`, `%{…}`, `@x@`, `%%X%%`: also legal inside YAML strings, so
        /// a template only when the file does not parse.
        Broken,
    }

    pub struct Marker {
        /// Byte offset in the file.
        pub offset: usize,
        pub len: usize,
        pub kind: &'static str,
        pub when: When,
    }

    pub fn note(span: Span, kind: &str) -> FileProblem {
        FileProblem {
            kind: ProblemKind::Template,
            span,
            message: format!("{kind}: skipped"),
            help: Some(
                "lint the rendered output instead: `helm template RELEASE CHART | kwi-lint -`, \
                 `kustomize build DIR | kwi-lint -`, or your template tool's equivalent"
                    .into(),
            ),
        }
    }

    /// The searcher for one of the markers, built once: `memmem::find` builds
    /// one per call, which cost more than searching a small file (1.3 % of
    /// a parse-only run), as `str::find` did (7 %).
    fn finder(pat: &str) -> &'static memmem::Finder<'static> {
        const PATTERNS: [&str; 6] = ["{{", "{%", "${", "%{", "%%", "@"];
        static FINDERS: std::sync::LazyLock<Vec<memmem::Finder<'static>>> =
            std::sync::LazyLock::new(|| PATTERNS.iter().map(memmem::Finder::new).collect());
        // Only called with the constants above (never with input).
        let i = PATTERNS
            .iter()
            .position(|p| *p == pat)
            .expect("a marker pattern");
        &FINDERS[i]
    }

    /// Where `pat`, one of the markers, first occurs in `text`.
    pub fn find(text: &str, pat: &str) -> Option<usize> {
        finder(pat).find(text.as_bytes())
    }

    /// The first template marker in the file's text (from `base`), if any.
    pub fn find_marker(text: &str, base: usize, format: Format, name: &str) -> Option<Marker> {
        let body = &text[base..];
        let tftpl = name.ends_with(".tftpl") || name.ends_with(".tpl");
        let at = |offset: usize, len: usize, kind: &'static str, when: When| {
            Some(Marker {
                offset: base + offset,
                len,
                kind,
                when: if tftpl { When::Always } else { when },
            })
        };
        let find = |pat: &str| find(body, pat);
        if let Some(i) = find("{{") {
            return at(i, 2, "Go/Helm template (`{{ }}`)", When::OutsideStrings);
        }
        if let Some(i) = find("{%") {
            return at(i, 2, "Jinja template (`{% %}`)", When::OutsideStrings);
        }
        for pat in ["${", "%{"] {
            if let Some(i) = find(pat) {
                return at(i, 2, "Terraform template (`${…}`, `%{…}`)", When::Broken);
            }
        }
        if format == Format::Yaml {
            if let Some((i, len)) = placeholder(body) {
                return at(
                    i,
                    len,
                    "template placeholder (`@x@`, `%%X%%`)",
                    When::Broken,
                );
            }
        }
        None
    }

    /// `@name@` or `%%NAME%%` placeholders.
    fn placeholder(body: &str) -> Option<(usize, usize)> {
        let b = body.as_bytes();
        for delim in ["%%", "@"] {
            let mut from = 0;
            while let Some(p) = find(&body[from..], delim) {
                let open = from + p;
                let s = open + delim.len();
                let mut e = s;
                while e < b.len()
                    && (b[e].is_ascii_alphanumeric() || matches!(b[e], b'_' | b'-' | b'.'))
                {
                    e += 1;
                }
                if e > s && b[s].is_ascii_alphabetic() && body[e..].starts_with(delim) {
                    return Some((open, e + delim.len() - open));
                }
                from = s;
            }
        }
        None
    }

    /// Whether the parsed file is really a template: see `When`.
    pub fn is_template(tree: &Tree, m: &Marker, parsed: bool) -> bool {
        match m.when {
            When::Always => true,
            When::Broken => !parsed,
            When::OutsideStrings => !parsed || outside_strings(tree),
        }
    }

    /// Whether some `{{` or `{%` lies outside the string scalars of the tree.
    fn outside_strings(tree: &Tree) -> bool {
        let text = &tree.source().text;
        let mut strings: Vec<Span> = tree
            .scalar_nodes()
            .filter(|n| n.as_string().is_some())
            .map(|n| n.span())
            .collect();
        strings.sort_unstable();
        let inside = |at: usize| {
            let i = strings.partition_point(|s| (s.start as usize) <= at);
            strings[..i]
                .iter()
                .rev()
                .take(64)
                .any(|s| at < s.end as usize)
        };
        // memchr's search: `str::match_indices` was 1.5 % of parsing real repos.
        ["{{", "{%"]
            .into_iter()
            .any(|pat| finder(pat).find_iter(text.as_bytes()).any(|i| !inside(i)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kustomization_is_known_by_its_path_name() {
        let named = |path: &str| {
            let mut f = parse_bytes(
                0,
                path.to_string(),
                b"resources: []\n".to_vec(),
                Format::Yaml,
                false,
                &Limits::default(),
            );
            f.set_path(std::path::PathBuf::from(path));
            f.kustomization
        };
        assert!(named("overlays/prod/kustomization.yaml"));
        assert!(named("kustomization.yml"));
        assert!(named("base/Kustomization"));
        assert!(!named("base/kustomization.json"));
        assert!(!named("base/Kustomization.yaml"));
        assert!(!named("my-kustomization.yaml"));
    }
}
