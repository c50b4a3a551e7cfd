//! KWI006: values Kubernetes reads as strings written as numbers, booleans or
//! collections. `kubectl apply` rejects them ("cannot unmarshal bool into Go
//! struct field ObjectMeta.metadata.annotations of type string").

use super::{Ctx, Params};
use crate::finding::Finding;
use crate::parse::{Node, Style, Value};

/// Why `n` is not a string as Kubernetes' decoder reads it, if it is not.
fn not_string(n: &Node) -> Option<&'static str> {
    match &n.value {
        Value::Map(_) => Some("a mapping"),
        Value::Seq(_) => Some("a list"),
        Value::Scalar {
            style: Style::Plain,
            ..
        } if n.is_null() => None,
        Value::Scalar {
            style: Style::Plain,
            ..
        } if n.as_bool().is_some() => Some("a boolean"),
        Value::Scalar {
            style: Style::Plain,
            ..
        } if n.as_string().is_none() => Some("a number"),
        _ => None,
    }
}

fn check_meta(ctx: &Ctx, file: u32, meta: &Node, what: &str, out: &mut Vec<Finding>) {
    for key in ["name", "namespace", "generateName"] {
        if let Some(v) = meta.get(key) {
            if let Some(kind) = not_string(v) {
                let text = v.as_str().unwrap_or("");
                out.push(
                    Finding::new(
                        &ctx.rule.id,
                        file,
                        v.span,
                        format!("{what} metadata.{key} is {kind}; Kubernetes expects a string"),
                    )
                    .help(format!("quote it: `{key}: \"{text}\"`")),
                );
            }
        }
    }
    for map in ["labels", "annotations"] {
        for (k, v) in meta.map_at(map) {
            if let Some(kind) = not_string(k) {
                out.push(
                    Finding::new(
                        &ctx.rule.id,
                        file,
                        k.span,
                        format!("a key of metadata.{map} is {kind}; keys are strings"),
                    )
                    .help("quote the key"),
                );
            }
            if let Some(kind) = not_string(v) {
                let key = k.as_str().unwrap_or("?");
                let text = v.as_str().unwrap_or("…");
                out.push(
                    Finding::new(&ctx.rule.id, file, v.span, format!("the value of {map} `{key}` is {kind}; Kubernetes rejects the object (values are strings)"))
                        .help(format!("quote it: `{key}: \"{text}\"`")),
                );
            }
        }
    }
}

pub fn string_fields(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let mut out = Vec::new();
    for o in &model.objects {
        if let Some(meta) = o.metadata() {
            check_meta(ctx, o.file, meta, o.kind, &mut out);
        }
    }
    for w in &model.workloads {
        let o = &model.objects[w.object];
        if o.kind != "Pod" {
            if let Some(meta) = w.template.get("metadata") {
                check_meta(ctx, o.file, meta, "the pod template's", &mut out);
            }
        }
        for key in ["serviceAccountName", "serviceAccount"] {
            if let Some(v) = w.spec.get(key) {
                if let Some(kind) = not_string(v) {
                    out.push(
                        Finding::new(
                            &ctx.rule.id,
                            o.file,
                            v.span,
                            format!(
                                "{} spec.{key} is {kind}; Kubernetes expects a string",
                                o.display()
                            ),
                        )
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
