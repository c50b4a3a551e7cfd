//! kwi-lint: an offline linter for GKE Workload Identity, RBAC and IAM.
//!
//! One direction of flow: `walk` → `parse` → `model` → `rules` → `report`.

pub mod authz;
pub mod builtin;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error_messages;
pub mod escape;
pub mod finding;
pub mod gcp;
pub mod gke;
pub mod graph;
pub mod ignores;
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
    path: PathBuf,
    display: String,
    helm_chart: bool,
    limits: &parse::Limits,
) -> ParsedFile {
    let mut f = match walk::read_bounded(&path, limits.max_file_size) {
        Ok(bytes) => {
            let format = Format::from_name(&display);
            parse::parse_bytes(id, display, bytes, format, helm_chart, limits)
        }
        Err(walk::ReadError::TooLarge(n)) => {
            ParsedFile::too_large(id, display, n, limits.max_file_size)
        }
        Err(e) => parse::unreadable(id, display, format!("cannot read file: {e}")),
    };
    f.set_path(path);
    f
}

/// Reads, parses and renders every input: files in parallel, in a stable
/// order, then the files kustomizations refer to that the walk did not
/// reach (a base outside the scanned folder, an excluded patch).
pub fn load(opts: &LintOptions, config: &Config) -> Scan {
    let mut files = read_inputs(opts, config);
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
                    p.clone(),
                    walk::display_path(p),
                    false,
                    &config.limits,
                )
            })
            .collect();
        // Every tree lives until the report: grow the table by what is added,
        // not by doubling it.
        files.reserve_exact(more.len());
        files.extend(more);
    }
    Scan::new(files)
}

/// Walks the paths and reads and parses every file the walk finds, in
/// rayon's pool, in the order of the files' names (ids are places in it).
pub fn read_inputs(opts: &LintOptions, config: &Config) -> Vec<ParsedFile> {
    let mut excludes = config.exclude.clone();
    excludes.extend(opts.exclude.iter().cloned());
    let globs = walk::build_globset(&excludes).unwrap_or_default();
    let roots: Vec<PathBuf> = opts
        .paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .cloned()
        .collect();
    let walk_opts = walk::WalkOptions {
        excludes: &globs,
        no_ignore: opts.no_ignore,
    };
    let limits = &config.limits;
    let read = |c: walk::Candidate| read_file(0, c.path, c.display, c.helm_chart, limits);
    // (place in the walk, file), in any order.
    let (mut parsed, errors) = if rayon::current_num_threads() > 1 {
        // The walk goes on on one thread while the others parse what it has
        // found: it is system calls that a second walker thread did not
        // speed up (20,000 files in 9,000 folders: ~100 ms on one thread or
        // two, a fifth of a parse-only run when it came first).
        let done = std::sync::Mutex::new(Vec::new());
        let mut met = 0usize;
        let errors = rayon::scope(|s| {
            walk::discover(&roots, &walk_opts, &mut |c| {
                let (at, done) = (met, &done);
                met += 1;
                s.spawn(move |_| {
                    let f = read(c);
                    done.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((at, Some(f)));
                });
            })
        });
        (done.into_inner().unwrap_or_else(|e| e.into_inner()), errors)
    } else {
        // One thread: nothing to overlap.
        let mut found = Vec::new();
        let errors = walk::discover(&roots, &walk_opts, &mut |c| found.push(c));
        let parsed = found
            .into_iter()
            .enumerate()
            .map(|(at, c)| (at, Some(read(c))))
            .collect();
        (parsed, errors)
    };
    // By name (the walk's order breaks ties: two roots that reach one file
    // under one name), sorting keys rather than moving the files about.
    let mut by_name: Vec<(&str, usize, usize)> = parsed
        .iter()
        .enumerate()
        .filter_map(|(i, (at, f))| Some((f.as_ref()?.source().name.as_str(), *at, i)))
        .collect();
    by_name.sort_unstable();
    by_name.dedup_by_key(|(name, _, _)| *name);
    let order: Vec<usize> = by_name.into_iter().map(|(_, _, i)| i).collect();
    let mut files: Vec<ParsedFile> = order
        .into_iter()
        .filter_map(|i| parsed[i].1.take())
        .collect();
    for (i, f) in files.iter_mut().enumerate() {
        f.set_id(i as u32);
    }
    files.reserve_exact(errors.len() + 1);
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
    alias_budget(&mut files, limits);
    files
}

/// Aliases share nodes, but every walk over a tree follows them: besides
/// each file's budget, the run as a whole may reach at most 50 files' worth
/// of alias nodes. Files past it (in scan order, so any thread count gives
/// the same result) are reported and their documents dropped.
fn alias_budget(files: &mut [ParsedFile], limits: &parse::Limits) {
    let run_budget = (limits.max_alias_nodes as u64).saturating_mul(50);
    let mut used = 0u64;
    for f in files.iter_mut() {
        used = used.saturating_add(f.alias_nodes.into());
        if f.alias_nodes > 0 && used > run_budget {
            f.tree = parse::Tree::new(f.id, f.source().clone());
            f.alias_nodes = 0;
            f.looks_ours = true;
            f.problems.push(parse::FileProblem {
                kind: parse::ProblemKind::Syntax,
                span: source::Span::default(),
                message: format!(
                    "aliases in the files scanned so far expand to more than {run_budget} nodes; this file's documents were skipped"
                ),
                help: Some("raise `limits.max_alias_nodes` (the run allows 50 times it) or exclude generated files".into()),
            });
        }
    }
}

/// Runs rules on a built model: the findings, suppressions applied, resolved.
/// `rules` are the rules that run; `catalogue` is every rule loaded, enabled
/// or not (a suppression may name a rule that is off).
pub fn lint_model(
    model: &model::Model,
    rules: &[Rule],
    catalogue: &[Rule],
    config: &Config,
    inputs: bool,
) -> Vec<Resolved> {
    let kept = lint_unresolved(model, rules, catalogue, config, inputs);
    report::resolve(kept, &sources(model), rules, inputs)
}

/// `lint_model` for `graph`: a finding that an object's copies in several
/// kustomize scopes share is kept once per copy (the lint reports it once),
/// so that each copy's chain shows it.
pub fn lint_model_per_copy(
    model: &model::Model,
    rules: &[Rule],
    catalogue: &[Rule],
    config: &Config,
) -> Vec<Resolved> {
    let kept = lint_unresolved(model, rules, catalogue, config, false);
    report::resolve_all(kept, &sources(model), rules, false)
}

fn sources(model: &model::Model) -> Vec<Arc<SourceFile>> {
    model.files.iter().map(|f| f.source().clone()).collect()
}

/// The findings that survive suppression, with their severities, before
/// they are resolved (and duplicates dropped) for a report.
fn lint_unresolved(
    model: &model::Model,
    rules: &[Rule],
    catalogue: &[Rule],
    config: &Config,
    inputs: bool,
) -> Vec<(finding::Finding, Severity)> {
    let files = &model.files;
    let (post, main): (Vec<Rule>, Vec<Rule>) = rules.iter().cloned().partition(rules::is_post);
    let sups = suppress::collect(model);
    let raw = rules::run(&main, catalogue, model, config, &sups, &[]);
    let applied = suppress::apply(
        raw,
        &sups,
        config,
        model,
        |id| {
            rules
                .iter()
                .find(|r| &*r.id == id)
                .map(|r| r.name.to_string())
                .unwrap_or_default()
        },
        |f| {
            files[f.at.file as usize]
                .source()
                .position(f.at.span.start as usize)
                .line
        },
    );
    let unused: Vec<suppress::Suppression> =
        applied.unused.iter().map(|i| sups[*i].clone()).collect();
    let mut kept = applied.kept;
    let late = rules::run(&post, catalogue, model, config, &sups, &unused);
    // Exactly: growing the run's findings by doubling would copy them.
    kept.reserve_exact(late.len());
    kept.extend(late);
    // What each finding depends on besides its own and related spans: every
    // file its object was assembled from (pre-commit reports on them).
    if inputs {
        for (f, _) in &mut kept {
            if let Some(o) = f.object {
                f.inputs = model.object_inputs(o);
            }
        }
    }
    kept
}

/// Sets each finding's identity (its object's kind/namespace/name and the
/// node's path in it), which only baselines and SARIF fingerprints use:
/// the other formats skip the tree walks and strings.
pub fn identify(model: &model::Model, resolved: &mut [Resolved]) {
    // Each walks its object's tree down to the span: in parallel.
    let ids: std::collections::HashMap<*const SourceFile, u32> = model
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (Arc::as_ptr(f.source()), i as u32))
        .collect();
    let at = |r: &Resolved| {
        Some((
            r.object?,
            source::Location {
                file: ids.get(&Arc::as_ptr(&r.file)).copied().unwrap_or(0),
                span: source::Span::new(r.byte_start, r.byte_end),
            },
        ))
    };
    let mut spans: Vec<(usize, source::Location)> = resolved.iter().filter_map(at).collect();
    spans.sort_unstable_by_key(|(o, at)| (*o, at.file, at.span.start, at.span.end));
    spans.dedup();
    let identities: std::collections::HashMap<(usize, source::Location), String> = spans
        .into_par_iter()
        .map(|(o, at)| {
            let obj = &model.objects[o];
            let id = format!(
                "{}/{}/{} {}",
                obj.kind,
                obj.namespace,
                obj.name.unwrap_or(""),
                node_path(obj.node, at)
            );
            ((o, at), id)
        })
        .collect();
    for r in resolved {
        if let Some(key) = at(r) {
            r.identity = identities.get(&key).cloned();
        }
    }
}

/// The keys and indexes from `root` down to the node at `at`
/// (`metadata.annotations.iam.gke.io/gcp-service-account`).
fn node_path(root: parse::Node<'_>, at: source::Location) -> String {
    let inside = |n: parse::Node<'_>| {
        n.file() == at.file && n.span().start <= at.span.start && at.span.end <= n.span().end
    };
    let mut path = Vec::new();
    let mut node = root;
    'down: loop {
        for (k, v) in node.entries() {
            if inside(k) {
                path.push(k.as_str().unwrap_or("?").to_string());
                break 'down;
            }
            if inside(v) {
                path.push(k.as_str().unwrap_or("?").to_string());
                node = v;
                continue 'down;
            }
        }
        for (i, item) in node.items().enumerate() {
            if inside(item) {
                path.push(i.to_string());
                node = item;
                continue 'down;
            }
        }
        break;
    }
    path.join(".")
}

/// What a lint run makes besides its findings, only when it is wanted.
#[derive(Clone, Copy, Debug, Default)]
pub struct Extras {
    /// Each finding's identity (baselines, SARIF fingerprints).
    pub identities: bool,
    /// How each IAM policy's resource was found (`--verbose`).
    pub notes: bool,
    /// Every file each finding depends on (pre-commit reports a finding
    /// when one of them changed).
    pub inputs: bool,
}

/// Lints already parsed files.
pub fn lint_files(
    scan: &Scan,
    rules: &[Rule],
    catalogue: &[Rule],
    config: &Config,
    started: std::time::Instant,
    extras: Extras,
) -> Outcome {
    let files = &scan.files;
    let model = scan.model(config);
    let mut findings = lint_model(&model, rules, catalogue, config, extras.inputs);
    if extras.identities {
        identify(&model, &mut findings);
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let policies = if extras.notes {
        &model.policies[..]
    } else {
        &[]
    };
    let notes = policies
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
            baseline_hidden: None,
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
    let all = rules::load(&dirs)?;
    // A rule the config names must exist: `rules: {KWI999: off}` or a
    // misspelt name would otherwise change nothing, silently.
    for r in &config.rule_refs {
        let known = if r.whole {
            all.iter().any(|x| *x.id == r.text || *x.name == r.text)
        } else {
            all.iter().any(|x| rules::selector_matches(x, &r.text))
        };
        if known {
            continue;
        }
        let hint = rules::nearest(&all, &r.text)
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default();
        return Err(rules::RuleError {
            file: r.file.clone(),
            line: r.line,
            column: r.column,
            message: format!(
                "`{}` names no rule{hint}; `kwi-lint rules` lists them",
                r.text
            ),
        });
    }
    Ok(all)
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
        // Rendered with `second.yaml` (the same bytes) as a resource it can
        // name: its first document is the kustomization, the rest objects.
        "kustomization.yaml",
    ];
    let (pick, body) = data.split_first().unwrap_or((&0, &[]));
    let name = names[*pick as usize % names.len()];
    let config = Config::default();
    let mut files = vec![
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
    for f in &mut files {
        let name = f.source().name.clone();
        f.set_path(PathBuf::from(name));
    }
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
    let out = lint_files(
        &scan,
        all,
        all,
        &config,
        std::time::Instant::now(),
        Extras {
            identities: true,
            notes: true,
            inputs: true,
        },
    );
    let sink = &mut std::io::sink();
    let _ = report::human::write(sink, out.findings.iter(), &out.summary, false);
    let _ = report::json::write(sink, &out.findings, &out.summary);
    let _ = report::sarif::write(sink, &out.findings, &out.summary, all);
    let _ = report::github::write(sink, &out.findings, &out.summary);
    let _ = report::junit::render(&out.findings, &out.summary, all);
    let _ = report::baseline::write(&out.findings);
}

/// The question commands on arbitrary bytes, for the fuzzer: the input is
/// both a log (`explain-error`, the Forbidden-message parser of
/// `why-forbidden`) and the scanned file, and its first lines are read as
/// `can-i` arguments (user, verb, resource, namespace). Any panic is a bug.
pub fn fuzz_question(data: &[u8]) {
    let _ = error_messages::explain_reader(data, &[]);
    let text = String::from_utf8_lossy(data);
    let config = Config::default();
    let files = vec![parse::parse_bytes(
        0,
        "scan.yaml".to_string(),
        data.to_vec(),
        Format::Yaml,
        false,
        &config.limits,
    )];
    let scan = Scan::new(files);
    let model = scan.model(&config);
    let mut requests = Vec::new();
    if let Some(f) = authz::message::parse(&text) {
        let subject = f.subject();
        let _ = subject.problem();
        requests.push(authz::Request {
            groups: subject.implicit_groups(),
            subject,
            verb: f.verb.clone(),
            target: f.target.clone(),
            namespace: f.namespace.clone(),
            iam_permissions: f.permissions.clone(),
            notes: Vec::new(),
        });
    }
    let mut args = text.lines().map(str::trim);
    if let (Some(user), Some(verb), Some(resource)) = (args.next(), args.next(), args.next()) {
        let namespace = args.next().unwrap_or("").to_string();
        let mut notes = Vec::new();
        let (target, namespaced) =
            authz::request::parse_resource(&model, resource, None, None, &mut notes);
        let subject = authz::Subject::parse(user);
        let iam_permissions = authz::request::iam_permission(verb, &target)
            .into_iter()
            .collect();
        requests.push(authz::Request {
            groups: subject.implicit_groups(),
            subject,
            verb: verb.to_string(),
            target,
            namespace: if namespaced { namespace } else { String::new() },
            iam_permissions,
            notes,
        });
    }
    for req in &requests {
        let answer = authz::evaluate(&model, req, Some("fuzz-project"));
        let _ = escape::report(&authz::render(&model, req, &answer, Some("fuzz-project")));
        let _ = authz::json::render(&model, req, &answer, Some("fuzz-project"));
    }
    let _ = graph::table(&graph::build(&model, &[]));
}
