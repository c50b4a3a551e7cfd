//! Every integration test in one binary: one link of the library instead of
//! one per file (a fresh `cargo test --release` spent minutes linking sixteen
//! test binaries with LTO), and the slow kubectl-bound suites run in parallel
//! with the rest. Each file below is a module; filter by its name
//! (`cargo test --release --test e2e golden::`).

mod common;

mod ci_recipes;
mod cli;
mod formats;
mod fuzz_regressions;
mod golden;
mod hostile;
mod kubernetes_yaml;
mod kustomize;
mod limits;
mod network;
mod precommit;
mod questions;
mod readme;
mod real_repos;
mod rules;
mod scopes;
