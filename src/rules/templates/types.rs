//! KWI006: values Kubernetes reads as strings written as numbers, booleans or
//! collections. `kubectl apply` rejects them ("cannot unmarshal bool into Go
//! struct field ObjectMeta.metadata.annotations of type string").

use super::{Ctx, Params};
use crate::finding::{Finding, Severity};
use crate::parse::{resolve, Kind, Node, Scalar};

/// Why `n` is not a string as Kubernetes' decoder reads it, if it is not.
fn not_string(n: Node<'_>) -> Option<&'static str> {
    match n.kind() {
        Kind::Map => Some("a mapping"),
        Kind::Seq => Some("a list"),
        Kind::Scalar => match n.scalar()? {
            Scalar::Null | Scalar::Str(_) => None,
            s => Some(s.describe()),
        },
    }
}

fn check_meta(ctx: &Ctx, object: usize, meta: Node<'_>, what: &str, out: &mut Vec<Finding>) {
    for key in ["name", "namespace", "generateName"] {
        if let Some(v) = meta.get(key) {
            if let Some(kind) = not_string(v) {
                let text = v.as_str().unwrap_or("");
                out.push(
                    Finding::at(
                        &ctx.rule.id,
                        v.loc(),
                        format!("{what} metadata.{key} is {kind}; Kubernetes expects a string"),
                    )
                    .object(object)
                    .help(format!("quote it: `{key}: \"{text}\"`")),
                );
            }
        }
    }
    for map in ["labels", "annotations"] {
        for (k, v) in meta.map_at(map) {
            // Kubernetes turns a non-string key into its JSON text: `yes` becomes
            // `true`, `0x10` becomes `16`. Only a key whose name changes matters.
            let raw = k.text().unwrap_or("");
            // A string key keeps its name: only other keys are converted (a
            // run has a label or annotation key per 100 bytes of input).
            let key = k.scalar().filter(|s| !matches!(s, Scalar::Str(_)));
            if let Some((Ok(renamed), s)) = key.map(|s| (resolve::key_string(&s), s)) {
                if renamed != raw {
                    let kind = s.describe();
                    out.push(
                        Finding::at(&ctx.rule.id, k.loc(),
                            format!("the key `{raw}` of metadata.{map} is {kind}: Kubernetes stores it as `{renamed}`"),
                        ).object(object)
                        .severity(Severity::Warning)
                        .help(format!("quote the key: `\"{raw}\": …`")),
                    );
                }
            }
            if let Some(kind) = not_string(v) {
                let key = k.as_str().unwrap_or("?");
                let text = v.as_str().unwrap_or("…");
                out.push(
                    Finding::at(&ctx.rule.id, v.loc(), format!("the value of {map} `{key}` is {kind}; Kubernetes rejects the object (values are strings)")).object(object)
                        .help(format!("quote it: `{key}: \"{text}\"`")),
                );
            }
        }
    }
}

pub fn string_fields(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let mut out = Vec::new();
    for o in ctx.objects() {
        if let Some(meta) = o.metadata() {
            check_meta(ctx, o.index, meta, o.kind, &mut out);
        }
    }
    for w in ctx.workloads() {
        let o = &model.objects[w.object];
        if o.kind != "Pod" {
            if let Some(meta) = w.template.get("metadata") {
                check_meta(ctx, w.object, meta, "the pod template's", &mut out);
            }
        }
        for key in ["serviceAccountName", "serviceAccount"] {
            if let Some(v) = w.spec.get(key) {
                if let Some(kind) = not_string(v) {
                    out.push(
                        Finding::at(
                            &ctx.rule.id,
                            v.loc(),
                            format!(
                                "{} spec.{key} is {kind}; Kubernetes expects a string",
                                o.display()
                            ),
                        )
                        .object(o.index)
                        .help(format!(
                            "quote it: `{key}: \"{}\"`",
                            v.as_str().unwrap_or("")
                        )),
                    );
                }
            }
        }
    }
    out
}
