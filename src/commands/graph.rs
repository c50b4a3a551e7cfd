//! `kwi-lint graph`: the identity chain of every Workload Identity pod.

use super::args::{GraphFormat, ScanArgs};
use super::{fail, with_scan};
use crate::rules;
use std::io::Write;

pub fn run(format: GraphFormat, scan: &ScanArgs) -> i32 {
    with_scan(scan, |model, config| {
        let rules = match crate::load_rules(config, &[]) {
            Ok(r) => r,
            Err(e) => return fail(format!("rule error: {e}")),
        };
        let active = rules::effective(&rules, config, &[], &[]);
        let findings = crate::lint_model_per_copy(model, &active, &rules, config);
        let g = crate::graph::build(model, &findings);
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let written = match format {
            // Printed as it is made: the table of a big scan is megabytes.
            GraphFormat::Table => {
                crate::graph::write_table(&g, |part| out.write_all(part.as_bytes()))
            }
            GraphFormat::Dot => out.write_all(crate::graph::dot(&g).as_bytes()),
            GraphFormat::Mermaid => out.write_all(crate::graph::mermaid(&g).as_bytes()),
            GraphFormat::Json => out.write_all(crate::graph::json(&g).as_bytes()),
        };
        // As the lint does: output that cannot be written is exit code 2.
        let code = if written.and_then(|()| out.flush()).is_err() {
            2
        } else {
            0
        };
        // The process ends after printing: freeing each chain and finding one
        // by one would only cost time.
        std::mem::forget(g);
        std::mem::forget(findings);
        code
    })
}
