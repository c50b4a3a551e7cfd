//! kwi-lint: an offline linter for GKE Workload Identity, RBAC and IAM.
//!
//! One direction of flow: `walk` → `parse` → `model` → `rules` → `report`.

pub mod authz;
pub mod builtin;
pub mod cli;
pub mod commands;
pub mod config;
pub mod errors;
pub mod escape;
pub mod finding;
pub mod gke;
pub mod graph;
pub mod istio;
pub mod model;
pub mod netpol;
pub mod parse;
pub mod report;
pub mod rules;
pub mod source;
pub mod suppress;
pub mod walk;
pub mod wi;

use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;

use crate::config::Config;
use crate::finding::Severity;
use crate::parse::{Format, ParsedFile, ProblemKind};
use crate::report::{Resolved, Summary};
use crate::rules::Rule;
use crate::source::SourceFile;

/// What to lint and how.
#[derive(Clone, Debug, Default)]
pub struct LintOptions {
    pub paths: Vec<PathBuf>,
    pub stdin_filename: Option<String>,
    pub exclude: Vec<String>,
    pub no_ignore: bool,
}

/// The result of a lint run.
pub struct Outcome {
    pub findings: Vec<Resolved>,
    pub summary: Summary,
    /// Some input could not be read (exit code 2).
    pub unreadable: bool,
    /// `--verbose` notes: how each IAM policy's resource was found.
    pub notes: Vec<String>,
}

impl Outcome {
    /// Recomputes the summary's counts after findings were filtered.
    pub fn recount(&mut self) {
        let count = |s: Severity| self.findings.iter().filter(|f| f.severity == s).count();
        self.summary.errors = count(Severity::Error);
        self.summary.warnings = count(Severity::Warning);
        self.summary.infos = count(Severity::Info);
    }
}

/// What a run reads: the parsed files and the kustomizations rendered from them.
pub struct Scan {
    pub files: Vec<ParsedFile>,
    pub rendering: model::kustomize::Rendering,
}

impl Scan {
    /// Renders the kustomizations among `files`.
    pub fn new(files: Vec<ParsedFile>) -> Scan {
        let rendering = model::kustomize::render(&files);
        Scan { files, rendering }
    }

    pub fn model(&self, config: &Config) -> model::Model<'_> {
        model::Model::build(&self.files, &self.rendering, config)
    }
}

/// Reads one file into the file table (id = its index).
fn read_file(
    id: u32,
    path: &std::path::Path,
    display: String,
    helm_chart: bool,
    limits: &parse::Limits,
) -> ParsedFile {
    let mut f = match walk::read_bounded(path, limits.max_file_size) {
        Ok(bytes) => {
            let format = Format::from_name(&display);
            parse::parse_bytes(id, display, bytes, format, helm_chart, limits)
        }
        Err(walk::ReadError::TooLarge(n)) => {
            ParsedFile::too_large(id, display, n, limits.max_file_size)
        }
        Err(e) => parse::unreadable(id, display, format!("cannot read file: {e}")),
    };
    f.path = Some(path.to_path_buf());
    f
}

/// Reads, parses and renders every input: files in parallel, in a stable
/// order, then the files kustomizations refer to that the walk did not
/// reach (a base outside the scanned folder, an excluded patch).
pub fn load(opts: &LintOptions, config: &Config) -> Scan {
    let mut files = load_files(opts, config);
    loop {
        let missing = model::kustomize::missing_files(&files);
        if missing.is_empty() {
            break;
        }
        let start = files.len() as u32;
        let more: Vec<ParsedFile> = missing
            .par_iter()
            .enumerate()
            .map(|(i, p)| {
                read_file(
                    start + i as u32,
                    p,
                    walk::display_path(p),
                    false,
                    &config.limits,
                )
            })
            .collect();
        files.extend(more);
    }
    Scan::new(files)
}

/// Reads and parses every input, in parallel, in a stable order.
pub fn load_files(opts: &LintOptions, config: &Config) -> Vec<ParsedFile> {
    let mut excludes = config.exclude.clone();
    excludes.extend(opts.exclude.iter().cloned());
    let globs = walk::build_globset(&excludes).unwrap_or_default();
    let roots: Vec<PathBuf> = opts
        .paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .cloned()
        .collect();
    let (candidates, errors) = walk::discover(
        &roots,
        &walk::WalkOptions {
            excludes: &globs,
            no_ignore: opts.no_ignore,
        },
    );
    let limits = &config.limits;
    let mut files: Vec<ParsedFile> = candidates
        .par_iter()
        .enumerate()
        .map(|(i, c)| read_file(i as u32, &c.path, c.display.clone(), c.helm_chart, limits))
        .collect();
    for e in errors {
        let id = files.len() as u32;
        files.push(parse::unreadable(id, e.display, e.message));
    }
    if opts.paths.iter().any(|p| p.as_os_str() == "-") {
        let name = opts
            .stdin_filename
            .clone()
            .unwrap_or_else(|| "<stdin>".into());
        let id = files.len() as u32;
        // Read no more than the limit: `head -c 3G /dev/zero | kwi-lint -`
        // stops at the limit, not after buffering the stream.
        files.push(
            match walk::read_stream(std::io::stdin().lock(), limits.max_file_size) {
                Ok(bytes) => parse::parse_bytes(
                    id,
                    name.clone(),
                    bytes,
                    Format::from_name(&name),
                    false,
                    limits,
                ),
                Err(walk::ReadError::TooLarge(n)) => {
                    // Piped on purpose: the limit is an error, not a skipped file.
                    let mut f = ParsedFile::too_large(id, name, n, limits.max_file_size);
                    f.looks_ours = true;
                    f
                }
                Err(e) => parse::unreadable(id, name, format!("cannot read standard input: {e}")),
            },
        );
    }
    files
}

/// Runs rules on a built model: the findings, suppressions applied, resolved.
pub fn lint_model(model: &model::Model, rules: &[Rule], config: &Config) -> Vec<Resolved> {
    let files = &model.files;
    let (post, main): (Vec<Rule>, Vec<Rule>) = rules.iter().cloned().partition(rules::is_post);
    let sups = suppress::collect(model);
    let raw = rules::run(&main, model, config, &sups, &[]);
    let applied = suppress::apply(
        raw,
        &sups,
        config,
        model,
        |id| {
            rules
                .iter()
                .find(|r| r.id == id)
                .map(|r| r.name.clone())
                .unwrap_or_default()
        },
        |f| {
            files[f.at.file as usize]
                .source
                .position(f.at.span.start as usize)
                .line
        },
    );
    let unused: Vec<suppress::Suppression> =
        applied.unused.iter().map(|i| sups[*i].clone()).collect();
    let mut kept = applied.kept;
    kept.extend(rules::run(&post, model, config, &sups, &unused));
    // What each finding depends on besides its own and related spans: every
    // file its object was assembled from (pre-commit reports on them).
    for (f, _) in &mut kept {
        if let Some(o) = f.object {
            f.inputs = model.object_inputs(o);
        }
    }
    let sources: Vec<Arc<SourceFile>> = files.iter().map(|f| f.source.clone()).collect();
    report::resolve(kept, &sources, rules)
}

/// Lints already parsed files.
pub fn lint_files(
    scan: &Scan,
    rules: &[Rule],
    config: &Config,
    started: std::time::Instant,
) -> Outcome {
    let files = &scan.files;
    let model = scan.model(config);
    let findings = lint_model(&model, rules, config);
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let notes = model
        .policies
        .iter()
        .map(|p| match &p.resource {
            Some(r) => format!(
                "{}: IAM policy of {} (from the {})",
                model.file_name(p.file),
                r.describe(),
                p.resolved_by
            ),
            None => format!(
                "{}: IAM policy of an unknown resource",
                model.file_name(p.file)
            ),
        })
        .collect();
    Outcome {
        summary: Summary {
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            infos: count(Severity::Info),
            files: files.len(),
            objects: model.stats.objects,
            seconds: started.elapsed().as_secs_f64(),
        },
        unreadable: files
            .iter()
            .any(|f| f.problems.iter().any(|p| p.kind == ProblemKind::Unreadable)),
        findings,
        notes,
    }
}

/// Loads rules for a config: built-ins plus extra folders.
pub fn load_rules(config: &Config, extra_dirs: &[PathBuf]) -> Result<Vec<Rule>, rules::RuleError> {
    let mut dirs = config.rules_dirs.clone();
    dirs.extend(extra_dirs.iter().cloned());
    rules::load(&dirs)
}

/// One fuzzing round: the first byte picks the file name (YAML, JSON, NDJSON),
/// the rest is the file; a second file from the same bytes gives cross-file
/// rules something to join. Every rule and every renderer runs.
pub fn fuzz_one(data: &[u8]) {
    let names = [
        "fuzz.yaml",
        "fuzz.json",
        "fuzz.ndjson",
        "api@acme-prod.iam.gserviceaccount.com.json",
    ];
    let (pick, body) = data.split_first().unwrap_or((&0, &[]));
    let name = names[*pick as usize % names.len()];
    let config = Config::default();
    let files = vec![
        parse::parse_bytes(
            0,
            name.to_string(),
            body.to_vec(),
            Format::from_name(name),
            false,
            &config.limits,
        ),
        parse::parse_bytes(
            1,
            "second.yaml".to_string(),
            body.to_vec(),
            Format::Yaml,
            false,
            &config.limits,
        ),
    ];
    // Loading the rule files once keeps the fuzzer fast.
    static RULES: std::sync::OnceLock<Vec<Rule>> = std::sync::OnceLock::new();
    let all = RULES.get_or_init(|| {
        let mut all = rules::load(&[] as &[PathBuf]).unwrap_or_default();
        for r in &mut all {
            r.enabled = true;
        }
        all
    });
    let scan = Scan::new(files);
    let out = lint_files(&scan, all, &config, std::time::Instant::now());
    let _ = report::human::render(&out.findings, &out.summary, false);
    let _ = report::json::render(&out.findings, &out.summary);
    let _ = report::sarif::render(&out.findings, &out.summary, all);
    let _ = report::github::render(&out.findings, &out.summary);
    let _ = report::junit::render(&out.findings, &out.summary, all);
    let _ = report::baseline::write(&out.findings);
}
