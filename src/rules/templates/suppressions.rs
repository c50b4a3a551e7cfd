//! KWI004/KWI005: suppressions that explain nothing, or suppress nothing.

use super::{Ctx, Params};
use crate::finding::Finding;

pub fn missing_reason(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    ctx.suppressions
        .iter()
        .filter(|s| s.reason.is_empty())
        .map(|s| {
            Finding::new(&ctx.rule.id, s.file, s.at, format!("suppression of {} gives no reason", s.rules.join(", ")))
                .help("say why, e.g. `# kwi-lint: ignore[KWI201] binding managed by Terraform in infra/` or `ignore.kwi-lint.io/KWI104: \"created by the operator\"`")
        })
        .collect()
}

pub fn unused(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    ctx.unused_suppressions
        .iter()
        .map(|s| {
            Finding::new(
                &ctx.rule.id,
                s.file,
                s.at,
                format!("suppression of {} matches no finding", s.rules.join(", ")),
            )
            .help("remove it: the problem it hid is gone (or the rule id is wrong)")
        })
        .collect()
}
