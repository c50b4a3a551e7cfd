//! `kwi-lint [PATHS]`: the lint itself.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use super::args::{Color, Level, LintArgs, OutputFormat};
use super::fail;
use crate::config::{self, Config};
use crate::finding::Severity;
use crate::report;
use crate::rules;
use crate::LintOptions;

fn level(l: Level) -> Severity {
    match l {
        Level::Info => Severity::Info,
        Level::Warning => Severity::Warning,
        Level::Error => Severity::Error,
    }
}

pub fn run(args: LintArgs) -> i32 {
    let started = std::time::Instant::now();
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let config = match load_config(&args, &paths) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let all_rules = match crate::load_rules(&config, &args.rules_dir) {
        Ok(r) => r,
        Err(e) => return fail(format!("rule error: {e}")),
    };
    if let Err(e) = check_selectors(&args, &config, &all_rules) {
        return fail(e);
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
        return parse_only(&pool, &opts, &config, started);
    }
    let (scan, mut outcome) = pool.install(|| {
        let scan = crate::load(&opts, &config);
        let extras = crate::Extras {
            identities: args.baseline.is_some()
                || args.write_baseline.is_some()
                || matches!(args.format, Some(OutputFormat::Sarif)),
            notes: args.verbose,
            inputs: report_only.is_some(),
        };
        let outcome = crate::lint_files(&scan, &active, &all_rules, &config, started, extras);
        (scan, outcome)
    });
    // The process ends after printing: freeing every node one by one would
    // only cost time. (The model is freed: the report reuses its memory.)
    std::mem::forget(scan);
    // Nothing linted is not a pass: a wrong path or a folder of symlinks
    // would otherwise turn CI green without a word (the report is still printed).
    let nothing_linted = !args.pre_commit && outcome.summary.files == 0 && !outcome.unreadable;
    if let Some(only) = &report_only {
        // A finding counts when anything it depends on changed: its own file,
        // a related span's file, or a file its object was assembled from.
        outcome
            .findings
            .retain(|f| f.inputs.iter().any(|i| only.contains(&i.name)));
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
        if let Err(e) = apply_baseline(&mut outcome, path, &config) {
            return fail(e);
        }
    }
    // In the pool: the JSON report is formatted in parallel, on `--threads`.
    if pool
        .install(|| write_report(&args, &outcome, &active))
        .is_err()
    {
        return 2;
    }
    let fail_level = args
        .fail_level
        .map(level)
        .or(config.fail_level)
        .unwrap_or(Severity::Warning);
    let code = if nothing_linted {
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
    };
    // Nor every finding.
    std::mem::forget(outcome);
    code
}

/// The config named by `--config`, else the one discovered from the first path.
fn load_config(args: &LintArgs, paths: &[PathBuf]) -> Result<Config, String> {
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
    let mut config = config.map_err(|e| format!("config error: {e}"))?;
    if args.report_unused_ignores {
        config.rules.entry("KWI005".into()).or_default().enabled = Some(true);
    }
    Ok(config)
}

/// Every `--select`/`--ignore` (and the config's) must name a rule.
fn check_selectors(args: &LintArgs, config: &Config, all: &[rules::Rule]) -> Result<(), String> {
    let selectors = args
        .select
        .iter()
        .chain(&args.ignore)
        .chain(&config.select)
        .chain(&config.ignore);
    for sel in selectors {
        if !all.iter().any(|r| rules::selector_matches(r, sel)) {
            return Err(format!(
                "`{sel}` matches no rule; `kwi-lint rules` lists them"
            ));
        }
    }
    Ok(())
}

/// The benchmark floor: discovery, reading and parsing, nothing else.
fn parse_only(
    pool: &rayon::ThreadPool,
    opts: &LintOptions,
    config: &Config,
    started: std::time::Instant,
) -> i32 {
    let files = pool.install(|| crate::read_inputs(opts, config));
    let docs: usize = files.iter().map(|f| f.tree.docs.len()).sum();
    let n = files.len();
    // The process ends now: freeing every node one by one would only cost time.
    std::mem::forget(files);
    println!(
        "parsed {n} files ({docs} documents) in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    0
}

/// Drops the findings a baseline records, and says how many.
fn apply_baseline(
    outcome: &mut crate::Outcome,
    path: &std::path::Path,
    config: &Config,
) -> Result<(), String> {
    let text = crate::walk::read_text_bounded(path, config.limits.max_file_size)
        .map_err(|e| format!("cannot read baseline {}: {e}", path.display()))?;
    let before = outcome.findings.len();
    outcome.findings = report::baseline::filter(std::mem::take(&mut outcome.findings), &text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let hidden = before - outcome.findings.len();
    eprintln!(
        "kwi-lint: the baseline {} hid {hidden} known finding(s)",
        path.display(),
    );
    outcome.recount();
    outcome.summary.baseline_hidden = Some(hidden);
    Ok(())
}

/// Writes the report to stdout in the chosen format, as it is made.
fn write_report(
    args: &LintArgs,
    outcome: &crate::Outcome,
    active: &[rules::Rule],
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let (findings, summary) = (&outcome.findings, &outcome.summary);
    match args.format.unwrap_or(OutputFormat::Human) {
        OutputFormat::Human => {
            let color = match args.color.unwrap_or(Color::Auto) {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => {
                    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
                }
            };
            // Skipped files (templates, files that are not ours and do not
            // parse) are one line for a person unless they ask; machine
            // formats keep each note.
            let skip = |f: &report::Resolved| {
                !args.verbose && &*f.rule == "KWI001" && f.severity == Severity::Info
            };
            let skipped = findings.iter().filter(|f| skip(f)).count();
            let mut summary = summary.clone();
            summary.infos -= skipped;
            let shown = findings.iter().filter(|f| !skip(f));
            report::human::write(&mut out, shown, &summary, color)?;
            if skipped > 0 {
                writeln!(
                    out,
                    "{skipped} file(s) skipped: templates, or files that are neither Kubernetes nor gcloud and do not parse (`-v` lists them)"
                )?;
            }
        }
        OutputFormat::Json => report::json::write(&mut out, findings, summary)?,
        OutputFormat::Sarif => report::sarif::write(&mut out, findings, summary, active)?,
        OutputFormat::Github => report::github::write(&mut out, findings, summary)?,
        OutputFormat::Junit => {
            out.write_all(report::junit::render(findings, summary, active).as_bytes())?
        }
    }
    out.flush()
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
