//! Command-line interface: the arguments, then the command that does the work
//! (`src/commands/`).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::{self, args::*};

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

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Would GKE allow SUBJECT to do VERB on RESOURCE? Evaluates the scanned RBAC and IAM offline.
    #[command(name = "can-i")]
    CanI {
        #[command(flatten)]
        question: commands::can_i::Question,
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
        Some(Command::Rules { rules_dir }) => commands::rules::list(&rules_dir),
        Some(Command::Explain { rule, rules_dir }) => {
            commands::rules::explain_one(&rule, &rules_dir)
        }
        Some(Command::CanI {
            question,
            who,
            scan,
        }) => commands::can_i::run(question, &who, &scan),
        Some(Command::WhyForbidden { message, who, scan }) => {
            commands::why_forbidden::run(message, &who, &scan)
        }
        Some(Command::Graph { format, scan }) => commands::graph::run(format, &scan),
        Some(Command::Scopes {
            objects,
            rendered,
            format,
            scan,
        }) => commands::scopes::run(objects, rendered, format, &scan),
        Some(Command::ExplainError { files, format }) => {
            commands::explain_error::run(&files, format)
        }
        None => commands::lint::run(cli.lint),
    }
}
