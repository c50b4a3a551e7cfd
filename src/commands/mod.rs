//! One file per command; `cli.rs` only parses the arguments and calls them.

pub mod args;
pub mod can_i;
pub mod explain_error;
pub mod graph;
pub mod lint;
pub mod rules;
pub mod scopes;
pub mod why_forbidden;

use std::path::PathBuf;

use crate::config::{self, Config};
use crate::LintOptions;
use args::ScanArgs;

/// Prints a usage or input error; exit code 2.
pub(crate) fn fail(msg: impl std::fmt::Display) -> i32 {
    eprintln!("kwi-lint: {msg}");
    2
}

/// Loads config and files for a question about the scan, builds the model and runs `f`.
pub(crate) fn with_scan(
    scan: &ScanArgs,
    f: impl FnOnce(&crate::model::Model, &Config) -> i32,
) -> i32 {
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
        .map(|f| f.source().name.as_str())
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
    // The process ends after the command: freeing the model and every
    // parsed file piece by piece would only cost time.
    std::mem::forget(model);
    std::mem::forget(scan);
    code
}

/// Prints a command's output; false when it cannot be written (a closed
/// pipe, `| head`; a full disk): the command then ends with exit code 2, as
/// the lint does, where `print!` would panic.
pub fn print_out(s: &str) -> bool {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())
        .and_then(|()| out.flush())
        .is_ok()
}
