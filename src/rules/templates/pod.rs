//! KWI5xx and KWI6xx: DNS, credentials and start-up inside the pod.

use std::net::IpAddr;

use super::network::env_vars;
use super::{Ctx, Params};
use crate::finding::Finding;
use crate::gke;
use crate::model::Model;
use crate::parse::Node;

const METADATA_IP: &str = "169.254.169.254";

pub fn metadata_host(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let mut out = Vec::new();
    for w in &model.workloads {
        let o = &model.objects[w.object];
        for (_, value) in env_vars(w, "GCE_METADATA_HOST") {
            let Some(value) = value else { continue };
            let v = value.as_str().unwrap_or("");
            if v == METADATA_IP || v == "169.254.169.254:80" {
                continue;
            }
            let why = if v.contains("://") {
                "it must be a bare address, without a scheme"
            } else if v.contains(char::is_whitespace) {
                "it contains whitespace"
            } else if v.starts_with("169.254.169.252") {
                "169.254.169.252 is the metadata server's node-local backend, not the address pods talk to"
            } else if v.starts_with("metadata") {
                "a host name needs DNS, which this variable exists to avoid"
            } else {
                "pods reach the GKE metadata server only at 169.254.169.254"
            };
            out.push(
                Finding::new(
                    &ctx.rule.id,
                    o.file,
                    value.span(),
                    format!("GCE_METADATA_HOST is `{v}` in {}: {why}", o.display()),
                )
                .help("set `value: \"169.254.169.254\"`"),
            );
        }
    }
    out
}

pub fn pod_dns(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let mut out = Vec::new();
    for w in &model.workloads {
        let o = &model.objects[w.object];
        for alias in w.spec.seq_at("hostAliases") {
            let ip = alias.get("ip").and_then(Node::as_str).unwrap_or("");
            for h in alias.seq_at("hostnames") {
                if h.as_str() == Some("metadata.google.internal") && ip != METADATA_IP {
                    out.push(
                        Finding::new(&ctx.rule.id, o.file, h.span(), format!("hostAliases maps metadata.google.internal to `{ip}` in {}: client libraries then miss the metadata server", o.display()))
                            .help("remove this hostAliases entry (or map it to 169.254.169.254)"),
                    );
                }
            }
        }
        let Some(policy) = w
            .spec
            .get("dnsPolicy")
            .filter(|p| p.as_str() == Some("None"))
        else {
            continue;
        };
        if !env_vars(w, "GCE_METADATA_HOST").is_empty() {
            continue;
        }
        let dns_ip = model.cluster_of(o.file).and_then(gke::kube_dns_ip);
        let ok = w
            .spec
            .path(&["dnsConfig"])
            .map(|c| c.seq_at("nameservers"))
            .unwrap_or_default()
            .iter()
            .filter_map(Node::as_str)
            .any(|ns| {
                let Ok(ip) = ns.parse::<IpAddr>() else {
                    return false;
                };
                ns == METADATA_IP
                    || match dns_ip {
                        Some(d) => ip == d,
                        None => matches!(ip, IpAddr::V4(v) if v.is_private()),
                    }
            });
        if !ok {
            out.push(
                Finding::new(&ctx.rule.id, o.file, policy.span(), format!("{} uses `dnsPolicy: None` without the cluster DNS or GCE_METADATA_HOST: metadata.google.internal does not resolve", o.display()))
                    .help(format!(
                        "add the cluster DNS ({}) to dnsConfig.nameservers, or set env GCE_METADATA_HOST=169.254.169.254",
                        dns_ip.map(|i| i.to_string()).unwrap_or_else(|| "kube-dns ClusterIP".into())
                    )),
            );
        }
    }
    out
}

pub fn key_file(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let mut out = Vec::new();
    for w in model.workloads.iter().filter(|w| model.is_wi_workload(w)) {
        let o = &model.objects[w.object];
        for (name, _) in env_vars(w, "GOOGLE_APPLICATION_CREDENTIALS") {
            let mut f = Finding::new(
                &ctx.rule.id,
                o.file,
                name.span(),
                format!("{} uses Workload Identity but sets GOOGLE_APPLICATION_CREDENTIALS: the key file overrides Workload Identity", o.display()),
            );
            if let Some((k, _)) = model
                .service_account(o.namespace, w.ksa)
                .and_then(Model::wi_annotation)
            {
                let sa = model
                    .service_account(o.namespace, w.ksa)
                    .map(|s| s.file)
                    .unwrap_or(o.file);
                f = f.related(sa, k.span(), "the KSA is bound to a GSA here");
            }
            out.push(f.help("remove GOOGLE_APPLICATION_CREDENTIALS (and the mounted key) so that client libraries use Workload Identity"));
        }
    }
    out
}

fn reaches_metadata(c: Node<'_>) -> bool {
    ["command", "args"].iter().any(|k| {
        c.seq_at(k)
            .iter()
            .filter_map(Node::as_str)
            .any(|s| s.contains(METADATA_IP) || s.contains("metadata.google.internal"))
    })
}

pub fn init_waits(ctx: &Ctx, params: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let kinds = params.list("kinds");
    let mut out = Vec::new();
    for w in model.workloads.iter().filter(|w| model.is_wi_workload(w)) {
        let o = &model.objects[w.object];
        if !kinds.is_empty() && !kinds.iter().any(|k| k == o.kind) {
            continue;
        }
        if w.spec.seq_at("initContainers").iter().any(reaches_metadata) {
            continue;
        }
        out.push(
            Finding::new(&ctx.rule.id, o.file, o.name_span(), format!("{} uses Workload Identity and has no init container that waits for the GKE metadata server", o.display()))
                .help("add an init container such as:\n- name: wait-for-metadata\n  image: gcr.io/google.com/cloudsdktool/cloud-sdk:alpine\n  command: [sh, -c, \"curl -sS -H 'Metadata-Flavor: Google' 'http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token' --retry 30 --retry-connrefused --retry-max-time 60 --connect-timeout 3 --fail --retry-all-errors > /dev/null\"]"),
        );
    }
    out
}
