//! The arguments the commands share, as clap parses them.

use std::path::PathBuf;

use clap::ValueEnum;

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
