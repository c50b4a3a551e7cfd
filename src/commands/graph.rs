//! `kwi-lint graph`: the identity chain of every Workload Identity pod.

use super::args::{GraphFormat, ScanArgs};
use super::{fail, with_scan};
use crate::rules;

pub fn run(format: GraphFormat, scan: &ScanArgs) -> i32 {
    with_scan(scan, |model, config| {
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
    })
}
