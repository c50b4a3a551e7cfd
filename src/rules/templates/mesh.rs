//! KWI7xx: Istio sidecars in front of the GKE metadata server.

use super::{Ctx, Params};
use crate::finding::Finding;
use crate::istio;

pub fn capture(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let mut out = Vec::new();
    for (w, s) in ctx.workloads().iter().zip(ctx.sidecars()) {
        if !s.injected || !s.captures_metadata || !model.is_wi_workload(w) {
            continue;
        }
        let o = &model.objects[w.object];
        let span = s
            .exclude_node
            .map(|n| n.loc())
            .unwrap_or_else(|| o.name_loc());
        let mut f = Finding::at(&ctx.rule.id, span,
            if s.native {
                format!("{} uses Workload Identity ({}) and its Istio sidecar captures traffic to 169.254.169.254: the native sidecar starts before the app, but every token request still goes through Envoy, so it fails while Envoy drains at shutdown and under `outboundTrafficPolicy: REGISTRY_ONLY` without a ServiceEntry", o.display(), super::wi_why(model, w))
            } else {
                format!("{} uses Workload Identity ({}) and its Istio sidecar captures traffic to 169.254.169.254: metadata requests fail until Envoy is ready", o.display(), super::wi_why(model, w))
            },
        ).object(o.index);
        f = super::wi_related(f, model, w);
        if s.native {
            // Start-up is safe with a native sidecar; what is left is milder.
            f = f.severity(crate::finding::Severity::Warning);
        }
        if let Some(at) = s.injected_by {
            f = f.related_at(at, "the Istio sidecar is injected because of this");
        }
        if let (Some(at), None) = (s.exclude_at, s.exclude_node) {
            f = f.related_at(
                at,
                "the mesh-wide exclusion list, which does not contain 169.254.169.254",
            );
        }
        let current = s
            .exclude_node
            .and_then(|n| n.as_str())
            .filter(|v| !v.trim().is_empty());
        let value = match current {
            Some(v) => format!("{v},169.254.169.254/32"),
            None => "169.254.169.254/32".into(),
        };
        out.push(f.help(format!(
            "exclude the metadata server from capture in the pod template (a pod annotation replaces the mesh-wide list):\nmetadata:\n  annotations:\n    {}: \"{value}\"",
            istio::EXCLUDE
        )));
    }
    out
}

pub fn hold(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let mut out = Vec::new();
    for (w, s) in ctx.workloads().iter().zip(ctx.sidecars()) {
        if !s.injected || !s.captures_metadata || s.native || s.hold || !model.is_wi_workload(w) {
            continue;
        }
        let o = &model.objects[w.object];
        let span = s
            .proxy_config_node
            .map(|n| n.loc())
            .unwrap_or_else(|| o.name_loc());
        let mut f = Finding::at(&ctx.rule.id, span,
                format!("{} uses Workload Identity ({}) behind an Istio sidecar without holdApplicationUntilProxyStarts: the app can ask for tokens before Envoy runs", o.display(), super::wi_why(model, w)),
            ).object(o.index);
        f = super::wi_related(f, model, w);
        if let Some(at) = s.injected_by {
            f = f.related_at(at, "the Istio sidecar is injected because of this");
        }
        out.push(
            f.help(format!(
                "metadata:\n  annotations:\n    {}: '{{\"holdApplicationUntilProxyStarts\": true}}'\n(or set meshConfig.defaultConfig.holdApplicationUntilProxyStarts: true mesh-wide)",
                istio::PROXY_CONFIG
            )),
        );
    }
    out
}

pub fn malformed(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let mut out = Vec::new();
    for (w, s) in ctx.workloads().iter().zip(ctx.sidecars()) {
        let o = &model.objects[w.object];
        for (node, why) in &s.malformed {
            out.push(
                Finding::at(&ctx.rule.id, node.loc(), format!("malformed Istio annotation on {}: {why}", o.display())).object(o.index)
                    .help("CIDR lists are comma-separated (`169.254.169.254/32,10.0.0.0/8`); proxy.istio.io/config is YAML or JSON such as `{\"holdApplicationUntilProxyStarts\": true}`"),
            );
        }
    }
    out
}
