//! Command-line interface: arguments, then the library does the work.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::authz;
use crate::config::{self, Config};
use crate::finding::Severity;
use crate::report;
use crate::rules::{self, Rule};
use crate::LintOptions;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Human,
    Json,
    Sarif,
    Github,
    Junit,
}

#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum AnswerFormat {
    #[default]
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum GraphFormat {
    Table,
    Dot,
    Mermaid,
    /// Version 1, schema in docs/kwi-lint-graph.schema.json.
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Parser, Debug)]
#[command(
    name = "kwi-lint",
    version,
    about = "Offline linter for GKE Workload Identity, RBAC and IAM: Kubernetes manifests plus gcloud dumps",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub lint: LintArgs,
}

#[derive(clap::Args, Debug, Default)]
pub struct LintArgs {
    /// Files or folders to lint (default `.`); `-` reads one stream from stdin.
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Option<OutputFormat>,
    /// Lowest severity that makes the exit code 1 (info never fails by default).
    #[arg(long, value_enum)]
    pub fail_level: Option<Level>,
    /// Use this config file instead of the discovered `.kwi-lint.yaml`.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Load extra rule files (`*.yaml`) from this folder (repeatable).
    #[arg(long)]
    pub rules_dir: Vec<PathBuf>,
    /// Skip paths matching this glob (repeatable).
    #[arg(long)]
    pub exclude: Vec<String>,
    /// Do not honour .gitignore and .ignore files.
    #[arg(long)]
    pub no_ignore: bool,
    /// Name of the stdin stream in output (its extension picks YAML or JSON).
    #[arg(long)]
    pub stdin_filename: Option<String>,
    /// Only run these rules: ids, names or prefixes like `KWI2` (repeatable, comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Do not run these rules: ids, names or prefixes (repeatable, comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// When to use colour in human output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: Option<Color>,
    /// Also print how each IAM policy's resource was determined.
    #[arg(long, short)]
    pub verbose: bool,
    /// Benchmark floor: walk, read and parse only (no model, no rules), then print the count.
    #[arg(long)]
    pub parse_only: bool,
    /// Report only findings that this baseline file does not already record.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record the current findings in FILE (then exit 0).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Also report suppressions that match no finding (KWI005).
    #[arg(long)]
    pub report_unused_ignores: bool,
    /// For pre-commit: build the model from the repository in the working
    /// directory, but report only findings in the files given.
    #[arg(long)]
    pub pre_commit: bool,
}

/// What to scan, for the commands that answer questions about a scan.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct ScanArgs {
    /// Files or folders with the RBAC objects, IAM policy dumps and manifests (default `.`).
    pub paths: Vec<PathBuf>,
    /// Use this config file instead of the discovered `.kwi-lint.yaml`.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Skip paths matching this glob (repeatable).
    #[arg(long)]
    pub exclude: Vec<String>,
    /// Do not honour .gitignore and .ignore files.
    #[arg(long)]
    pub no_ignore: bool,
}

/// Who asks and in which project, for `can-i` and `why-forbidden`.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct AuthzArgs {
    /// Groups the requester is in, besides the implicit ones (repeatable), e.g. a Google group.
    #[arg(long = "as-group", value_name = "GROUP")]
    pub as_group: Vec<String>,
    /// Only use the IAM policy of this project (ID or number).
    #[arg(long)]
    pub project: Option<String>,
    /// Output format (json: version 1, see README).
    #[arg(long, value_enum, default_value = "text")]
    pub format: AnswerFormat,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Would GKE allow SUBJECT to do VERB on RESOURCE? Evaluates the scanned RBAC and IAM offline.
    #[command(name = "can-i")]
    CanI {
        /// The requester: an email (Google account or service account) or `system:serviceaccount:NS:NAME`.
        #[arg(long = "as", value_name = "SUBJECT")]
        subject: String,
        /// get, list, watch, create, update, patch, delete, deletecollection, bind, escalate, impersonate…
        verb: String,
        /// `pods`, `deployments.apps`, `pods/exec` (subresource), `pods/NAME` (one object), or `/healthz` (a URL path).
        resource: String,
        /// Namespace of the request (default `default` for namespaced resources).
        #[arg(short = 'n', long)]
        namespace: Option<String>,
        /// Ask about every namespace at once (the cluster scope).
        #[arg(short = 'A', long)]
        all_namespaces: bool,
        /// A subresource such as `log` or `scale`.
        #[arg(long)]
        subresource: Option<String>,
        #[command(flatten)]
        who: AuthzArgs,
        #[command(flatten)]
        scan: ScanArgs,
    },
    /// Explain a Forbidden error: parse it, then answer as `can-i` does.
    #[command(name = "why-forbidden")]
    WhyForbidden {
        /// The error text as kubectl or the API printed it (`-` reads it from stdin).
        message: String,
        #[command(flatten)]
        who: AuthzArgs,
        #[command(flatten)]
        scan: ScanArgs,
    },
    /// How the scan was understood: each scope (a kustomization root, or the
    /// files in none), the cluster it runs on, and its objects as rendered.
    Scopes {
        /// List every object of each scope.
        #[arg(long)]
        objects: bool,
        /// Print every object as kwi-lint rendered it (YAML), to compare with `kubectl kustomize`.
        #[arg(long)]
        rendered: bool,
        /// Output format (json: version 1).
        #[arg(long, value_enum, default_value = "text")]
        format: AnswerFormat,
        #[command(flatten)]
        scan: ScanArgs,
    },
    /// The identity chain of every Workload Identity pod: workload → KSA → GSA → project roles.
    Graph {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: GraphFormat,
        #[command(flatten)]
        scan: ScanArgs,
    },
    /// Recognise Workload Identity and RBAC error messages in a log read from stdin (or files).
    #[command(name = "explain-error")]
    ExplainError {
        /// Log files to read instead of stdin.
        files: Vec<PathBuf>,
        /// Output format (json: version 1, schema in docs/kwi-lint-explain-error.schema.json).
        #[arg(long, value_enum, default_value = "text")]
        format: AnswerFormat,
    },
    /// List every rule.
    Rules {
        /// Extra rule folders to include.
        #[arg(long)]
        rules_dir: Vec<PathBuf>,
    },
    /// Print one rule's documentation.
    Explain {
        /// Rule id or name, e.g. KWI201.
        rule: String,
        /// Extra rule folders, to explain a rule of your own.
        #[arg(long)]
        rules_dir: Vec<PathBuf>,
    },
}

fn level(l: Level) -> Severity {
    match l {
        Level::Info => Severity::Info,
        Level::Warning => Severity::Warning,
        Level::Error => Severity::Error,
    }
}

fn fail(msg: impl std::fmt::Display) -> i32 {
    eprintln!("kwi-lint: {msg}");
    2
}

/// Runs the command line and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.command {
        Some(Command::Rules { rules_dir }) => with_rules(&rules_dir, |rules| {
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
            print!("{out}");
            0
        }),
        Some(Command::Explain { rule, rules_dir }) => with_rules(&rules_dir, |rules| {
            match rules
                .iter()
                .find(|r| r.id.eq_ignore_ascii_case(&rule) || r.name == rule)
            {
                Some(r) => {
                    print!("{}", explain(r));
                    0
                }
                None => fail(format!("no rule `{rule}`; `kwi-lint rules` lists them")),
            }
        }),
        Some(Command::CanI {
            subject,
            verb,
            resource,
            namespace,
            all_namespaces,
            subresource,
            who,
            scan,
        }) => {
            if let Some(p) = authz::Subject::parse(&subject).problem() {
                return fail(p);
            }
            if verb.trim().is_empty() || resource.trim().is_empty() {
                return fail("VERB and RESOURCE must not be empty (e.g. `kwi-lint can-i --as alice@example.com get pods -n shop`)");
            }
            with_scan(&scan, |model, _| {
                let mut notes = Vec::new();
                let (target, namespaced) = authz::request::parse_resource(
                    model,
                    &resource,
                    subresource.as_deref(),
                    None,
                    &mut notes,
                );
                let namespace = match (&target, namespaced, all_namespaces, namespace) {
                    (authz::Target::Path(_), ..) | (_, false, ..) | (_, _, true, _) => {
                        String::new()
                    }
                    (_, true, false, Some(ns)) => ns,
                    (_, true, false, None) => {
                        notes.push(
                        "no --namespace given: asked about namespace `default`, as kubectl does"
                            .into(),
                    );
                        "default".into()
                    }
                };
                let subject = authz::Subject::parse(&subject);
                let iam_permissions = authz::request::iam_permission(&verb, &target)
                    .into_iter()
                    .collect();
                let req = authz::Request {
                    groups: groups(&subject, &who),
                    subject,
                    verb,
                    target,
                    namespace,
                    iam_permissions,
                    notes,
                };
                answer(model, &req, &who, None)
            })
        }
        Some(Command::WhyForbidden { message, who, scan }) => {
            let text = if message == "-" {
                match crate::walk::read_stream(std::io::stdin(), 16 << 20) {
                    Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                    Err(e) => return fail(format!("cannot read stdin: {e}")),
                }
            } else {
                message
            };
            let Some(f) = authz::message::parse(&text) else {
                return fail("no Forbidden message found: expected text like `User \"NAME\" cannot VERB resource \"RESOURCE\" in API group \"GROUP\" in the namespace \"NS\"`");
            };
            if f.subject().problem().is_some() {
                return fail(format!(
                    "the message names no valid user (`{}`): expected `User \"EMAIL\"` or `User \"system:serviceaccount:NAMESPACE:NAME\"`",
                    f.subject().username()
                ));
            }
            with_scan(&scan, |model, _| {
                let subject = f.subject();
                let mut notes = Vec::new();
                let derived = authz::request::iam_permission(&f.verb, &f.target);
                let iam_permissions = if f.permissions.is_empty() {
                    derived.into_iter().collect()
                } else {
                    if let Some(d) = derived.filter(|d| !f.permissions.contains(d)) {
                        notes.push(format!(
                            "the message names {}, kwi-lint would have derived {d}",
                            f.permissions.join(", ")
                        ));
                    }
                    f.permissions.clone()
                };
                let req = authz::Request {
                    groups: groups(&subject, &who),
                    subject,
                    verb: f.verb.clone(),
                    target: f.target.clone(),
                    namespace: f.namespace.clone(),
                    iam_permissions,
                    notes,
                };
                answer(model, &req, &who, Some("the scan allows this request, yet the cluster refused it: the scanned files are not what the cluster runs (not applied yet, another cluster or project, or a Google group the requester is not in)"))
            })
        }
        Some(Command::Graph { format, scan }) => with_scan(&scan, |model, config| {
            let rules = match crate::load_rules(config, &[]) {
                Ok(r) => r,
                Err(e) => return fail(format!("rule error: {e}")),
            };
            let active = rules::effective(&rules, config, &[], &[]);
            let findings = crate::lint_model(model, &active, &rules, config);
            let g = crate::graph::build(model, &findings);
            print!(
                "{}",
                match format {
                    GraphFormat::Table => crate::escape::report(&crate::graph::table(&g)),
                    GraphFormat::Dot => crate::graph::dot(&g),
                    GraphFormat::Mermaid => crate::graph::mermaid(&g),
                    GraphFormat::Json => crate::graph::json(&g),
                }
            );
            0
        }),
        Some(Command::Scopes {
            objects,
            rendered,
            format,
            scan,
        }) => with_scan(&scan, |model, _| {
            print!(
                "{}",
                match format {
                    _ if rendered => crate::commands::scopes::yaml(model),
                    AnswerFormat::Text => {
                        crate::escape::report(&crate::commands::scopes::text(model, objects))
                    }
                    AnswerFormat::Json => crate::commands::scopes::json(model, objects),
                }
            );
            0
        }),
        Some(Command::ExplainError { files, format }) => explain_error(&files, format),
        None => lint(cli.lint),
    }
}

fn groups(subject: &authz::Subject, who: &AuthzArgs) -> Vec<String> {
    let mut g = subject.implicit_groups();
    for x in &who.as_group {
        if !g.contains(x) {
            g.push(x.clone());
        }
    }
    g
}

/// Prints the answer; exit code 0 allowed, 1 denied (as `kubectl auth can-i`).
/// Prints the answer; `if_allowed` is a last note for an allowed answer.
fn answer(
    model: &crate::model::Model,
    req: &authz::Request,
    who: &AuthzArgs,
    if_allowed: Option<&str>,
) -> i32 {
    let mut a = authz::evaluate(model, req, who.project.as_deref());
    if let Some(note) = if_allowed.filter(|_| a.allowed) {
        a.notes.push(note.to_string());
    }
    let project = who.project.as_deref();
    print!(
        "{}",
        match who.format {
            AnswerFormat::Text => crate::escape::report(&authz::render(model, req, &a, project)),
            AnswerFormat::Json => authz::json::render(model, req, &a, project),
        }
    );
    if a.allowed {
        0
    } else {
        1
    }
}

/// YAML/JSON files the staged change deletes (or renames away), as shown in
/// output; empty outside a git repository.
fn staged_deletions() -> Vec<String> {
    let Ok(out) = std::process::Command::new("git")
        .args([
            "diff",
            "--cached",
            "--name-only",
            "--diff-filter=DR",
            "-z",
            "--no-renames",
        ])
        .output()
    else {
        return Vec::new();
    };
    if !out.status.success() {
        return Vec::new();
    }
    let prefix = std::process::Command::new("git")
        .args(["rev-parse", "--show-prefix"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    String::from_utf8_lossy(&out.stdout)
        .split('\0')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let lower = p.to_ascii_lowercase();
            [".yaml", ".yml", ".json", ".jsonl", ".ndjson"]
                .iter()
                .any(|e| lower.ends_with(e))
                || lower.ends_with("kustomization")
        })
        .map(|p| p.strip_prefix(&prefix).unwrap_or(p).to_string())
        .collect()
}

/// Loads config and files for a question about the scan, builds the model and runs `f`.
fn with_scan(scan: &ScanArgs, f: impl FnOnce(&crate::model::Model, &Config) -> i32) -> i32 {
    let paths = if scan.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        scan.paths.clone()
    };
    // A path that does not exist is a usage error: no answer about nothing.
    if let Some(missing) = paths.iter().find(|p| !p.exists()) {
        eprintln!(
            "kwi-lint: {}: no such file or directory (check the path)",
            missing.display()
        );
        return 2;
    }
    let config = match &scan.config {
        Some(p) => config::load(p),
        None => match config::discover(&paths[0]) {
            Some(p) => config::load(&p),
            None => Ok(Config::default()),
        },
    };
    let config = match config {
        Ok(c) => c,
        Err(e) => return fail(format!("config error: {e}")),
    };
    let opts = LintOptions {
        paths,
        stdin_filename: None,
        exclude: scan.exclude.clone(),
        no_ignore: scan.no_ignore,
    };
    let scan = crate::load(&opts, &config);
    let broken: Vec<&str> = scan
        .files
        .iter()
        .filter(|f| {
            f.problems
                .iter()
                .any(|p| p.kind != crate::parse::ProblemKind::Template)
        })
        .map(|f| f.source.name.as_str())
        .collect();
    if !broken.is_empty() {
        eprintln!(
            "kwi-lint: {} file(s) could not be read or parsed and were left out (first: {}); `kwi-lint` on them says why",
            broken.len(),
            broken[0]
        );
    }
    let model = scan.model(&config);
    let code = f(&model, &config);
    drop(model);
    std::mem::forget(scan);
    code
}

fn explain_error(files: &[PathBuf], format: AnswerFormat) -> i32 {
    use std::io::Read;
    // Streamed line by line: a 1 GB log costs a line of memory. Files may be
    // pipes (`<(kubectl logs …)`); each ends with a line break.
    let mut input: Box<dyn Read> = Box::new(std::io::empty());
    if files.is_empty() {
        input = Box::new(std::io::stdin());
    }
    for f in files {
        match std::fs::File::open(f) {
            Ok(file) => input = Box::new(input.chain(file).chain(&b"\n"[..])),
            Err(e) => return fail(format!("cannot read {}: {e}", f.display())),
        }
    }
    let rules = rules::load(&[] as &[PathBuf]).unwrap_or_default();
    let log = std::io::BufReader::with_capacity(1 << 16, input);
    let explained = match format {
        AnswerFormat::Text => crate::errors::explain_reader(log, &rules)
            .map(|(out, found)| (crate::escape::report(&out), found)),
        AnswerFormat::Json => crate::errors::explain_json(log, &rules),
    };
    let (out, found) = match explained {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot read the log: {e}")),
    };
    print!("{out}");
    if found {
        0
    } else {
        1
    }
}

fn with_rules(dirs: &[PathBuf], f: impl FnOnce(&[Rule]) -> i32) -> i32 {
    match rules::load(dirs) {
        Ok(r) => f(&r),
        Err(e) => fail(e),
    }
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

fn lint(args: LintArgs) -> i32 {
    let started = std::time::Instant::now();
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let config = match &args.config {
        Some(p) => config::load(p),
        None => {
            let start = paths
                .iter()
                .find(|p| p.as_os_str() != "-")
                .cloned()
                .unwrap_or_else(|| PathBuf::from("."));
            match config::discover(&start) {
                Some(p) => config::load(&p),
                None => Ok(Config::default()),
            }
        }
    };
    let mut config = match config {
        Ok(c) => c,
        Err(e) => return fail(format!("config error: {e}")),
    };
    if args.report_unused_ignores {
        config.rules.entry("KWI005".into()).or_default().enabled = Some(true);
    }
    let all_rules = match crate::load_rules(&config, &args.rules_dir) {
        Ok(r) => r,
        Err(e) => return fail(format!("rule error: {e}")),
    };
    for sel in args
        .select
        .iter()
        .chain(&args.ignore)
        .chain(&config.select)
        .chain(&config.ignore)
    {
        if !all_rules.iter().any(|r| rules::selector_matches(r, sel)) {
            return fail(format!(
                "`{sel}` matches no rule; `kwi-lint rules` lists them"
            ));
        }
    }
    let active = rules::effective(&all_rules, &config, &args.select, &args.ignore);
    // pre-commit passes the changed files; cross-file rules need the whole
    // repository. A staged deletion can break a chain anywhere: then report all.
    let deleted = if args.pre_commit {
        staged_deletions()
    } else {
        Vec::new()
    };
    if let Some(d) = deleted.first() {
        eprintln!(
            "kwi-lint: {d} is deleted in this commit: reporting every finding of the repository"
        );
    }
    let report_only: Option<Vec<String>> = (args.pre_commit && deleted.is_empty())
        .then(|| paths.iter().map(|p| crate::walk::display_path(p)).collect());
    let opts = LintOptions {
        paths: if args.pre_commit {
            vec![PathBuf::from(".")]
        } else {
            paths
        },
        stdin_filename: args.stdin_filename.clone(),
        exclude: args.exclude.clone(),
        no_ignore: args.no_ignore,
    };
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
    {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    if args.parse_only {
        // The benchmark floor: discovery, reading and parsing, nothing else.
        let files = pool.install(|| crate::load_files(&opts, &config));
        let docs: usize = files.iter().map(|f| f.tree.docs.len()).sum();
        let n = files.len();
        // The process ends now: freeing every node one by one would only cost time.
        std::mem::forget(files);
        let files = n;
        println!(
            "parsed {files} files ({docs} documents) in {:.2} s",
            started.elapsed().as_secs_f64()
        );
        return 0;
    }
    let (scan, outcome) = pool.install(|| {
        let scan = crate::load(&opts, &config);
        let outcome = crate::lint_files(&scan, &active, &all_rules, &config, started);
        (scan, outcome)
    });
    // The process ends after printing: freeing every node one by one would only cost time.
    std::mem::forget(scan);
    let mut outcome = outcome;
    // Nothing linted is not a pass: a wrong path or a folder of symlinks
    // would otherwise turn CI green without a word (the report is still printed).
    let nothing_linted = !args.pre_commit && outcome.summary.files == 0 && !outcome.unreadable;
    if let Some(only) = &report_only {
        // A finding counts when anything it depends on changed: its own file,
        // a related span's file, or a file its object was assembled from.
        outcome
            .findings
            .retain(|f| f.inputs.iter().any(|i| only.contains(i)));
        outcome.recount();
    }
    if args.verbose {
        for n in &outcome.notes {
            eprintln!("note: {}", crate::escape::text(n));
        }
    }
    if let Some(path) = &args.write_baseline {
        return match std::fs::write(path, report::baseline::write(&outcome.findings)) {
            Ok(()) => {
                eprintln!(
                    "kwi-lint: wrote {} finding(s) to {}",
                    outcome.findings.len(),
                    path.display()
                );
                0
            }
            Err(e) => fail(format!("cannot write baseline {}: {e}", path.display())),
        };
    }
    if let Some(path) = &args.baseline {
        let text = match crate::walk::read_text_bounded(path, config.limits.max_file_size) {
            Ok(t) => t,
            Err(e) => return fail(format!("cannot read baseline {}: {e}", path.display())),
        };
        let before = outcome.findings.len();
        match report::baseline::filter(std::mem::take(&mut outcome.findings), &text) {
            Ok(kept) => outcome.findings = kept,
            Err(e) => return fail(format!("{}: {e}", path.display())),
        }
        let hidden = before - outcome.findings.len();
        eprintln!(
            "kwi-lint: the baseline {} hid {hidden} known finding(s)",
            path.display(),
        );
        outcome.recount();
        outcome.summary.baseline_hidden = Some(hidden);
    }
    let color = match args.color.unwrap_or(Color::Auto) {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let format = args.format.unwrap_or(OutputFormat::Human);
    // Skipped files (templates, files that are not ours and do not parse) are
    // one line for a person unless they ask; machine formats keep each note.
    let text = match format {
        OutputFormat::Human => {
            let skip = |f: &report::Resolved| {
                !args.verbose && f.rule == "KWI001" && f.severity == crate::finding::Severity::Info
            };
            let skipped = outcome.findings.iter().filter(|f| skip(f)).count();
            let mut summary = outcome.summary.clone();
            summary.infos -= skipped;
            let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            let shown = outcome.findings.iter().filter(|f| !skip(f));
            let mut written = report::human::write(&mut out, shown, &summary, color);
            if skipped > 0 {
                written = written.and_then(|_| writeln!(
                    out,
                    "{skipped} file(s) skipped: templates, or files that are neither Kubernetes nor gcloud and do not parse (`-v` lists them)"
                ));
            }
            if written.and_then(|_| out.flush()).is_err() {
                return 2;
            }
            String::new()
        }
        // JSON and SARIF are written as they are serialized (a report can be
        // larger than everything else the run holds).
        OutputFormat::Json | OutputFormat::Sarif | OutputFormat::Github => String::new(),
        OutputFormat::Junit => report::junit::render(&outcome.findings, &outcome.summary, &active),
    };
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = match format {
        OutputFormat::Json => report::json::write(&mut stdout, &outcome.findings, &outcome.summary),
        OutputFormat::Sarif => {
            report::sarif::write(&mut stdout, &outcome.findings, &outcome.summary, &active)
        }
        OutputFormat::Github => {
            report::github::write(&mut stdout, &outcome.findings, &outcome.summary)
        }
        _ => stdout.write_all(text.as_bytes()),
    };
    if written.and_then(|_| stdout.flush()).is_err() {
        return 2;
    }
    let fail_level = args
        .fail_level
        .map(level)
        .or(config.fail_level)
        .unwrap_or(Severity::Warning);
    if nothing_linted {
        eprintln!(
            "kwi-lint: no YAML or JSON file found in {}; nothing was linted (symlinks inside a folder are not followed: name them as paths)",
            opts.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        2
    } else if outcome.unreadable {
        2
    } else if outcome.findings.iter().any(|f| f.severity >= fail_level) {
        1
    } else {
        0
    }
}
