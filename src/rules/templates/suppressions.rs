//! KWI004/KWI005/KWI009: suppressions that explain nothing, suppress
//! nothing, or name a rule that does not exist.

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

pub fn unknown_rules(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in ctx.suppressions {
        for (rule, span) in s.rules.iter().zip(&s.rule_spans) {
            let known = ctx
                .catalogue
                .iter()
                .any(|r| crate::suppress::matches(rule, &r.id, &r.name));
            if known {
                continue;
            }
            let escaped = crate::escape::text(rule);
            let mut f = Finding::new(
                &ctx.rule.id,
                s.file,
                *span,
                format!("`{escaped}` names no rule: this suppression hides nothing, and the finding it was meant for is still reported"),
            );
            f = match crate::rules::nearest(ctx.catalogue, rule) {
                Some(near) => f.help(format!("did you mean `{near}`? `kwi-lint rules` lists every rule id and name")),
                None => f.help("use a rule id (`KWI201`), a name (`wi-binding-missing`) or a prefix of at least 4 characters (`KWI2`); `kwi-lint rules` lists them"),
            };
            out.push(f);
        }
    }
    out
}
