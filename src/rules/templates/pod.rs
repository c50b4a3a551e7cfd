//! KWI5xx and KWI6xx: DNS, credentials and start-up inside the pod.

use std::net::IpAddr;

use super::network::env_vars;
use super::{Ctx, Params};
use crate::finding::{Finding, Severity};
use crate::gke;
use crate::model::{Model, Workload};
use crate::parse::Node;

const METADATA_IP: &str = "169.254.169.254";

pub fn metadata_host(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let mut out = Vec::new();
    for w in ctx.workloads() {
        let o = &model.objects[w.object];
        for (name, value) in env_vars(w, "GCE_METADATA_HOST") {
            let Some(value) = value else { continue };
            let v = value.as_str().unwrap_or("");
            if v == METADATA_IP || v == "169.254.169.254:80" {
                continue;
            }
            let (host, port) = split_host_port(v);
            let mut severity = None;
            let why = if v.contains("://") {
                "it must be a bare address, without a scheme".to_string()
            } else if v.contains(char::is_whitespace) {
                "it contains whitespace".to_string()
            } else if is_loopback(host) {
                // A metadata emulator in a sidecar is a deliberate set-up.
                if other_container_serves(w, name, port) {
                    continue;
                }
                format!("no other container of the pod serves port {port} on the loopback address (a metadata emulator sidecar would)")
            } else if v.starts_with("169.254.169.252") {
                "169.254.169.252 is the metadata server's node-local backend, not the address pods talk to".to_string()
            } else if host == "metadata.google.internal" && port == 80 {
                // The client libraries' own default: it works, but needs cluster DNS.
                severity = Some(Severity::Warning);
                "that is the client libraries' default host name, which still needs DNS: the variable exists to avoid it".to_string()
            } else if v.starts_with("metadata") {
                "a host name needs DNS, which this variable exists to avoid".to_string()
            } else {
                "pods reach the GKE metadata server only at 169.254.169.254".to_string()
            };
            let mut f = Finding::at(
                &ctx.rule.id,
                value.loc(),
                format!("GCE_METADATA_HOST is `{v}` in {}: {why}", o.display()),
            )
            .object(o.index)
            .help("set `value: \"169.254.169.254\"`");
            if let Some(s) = severity {
                f = f.severity(s);
            }
            out.push(f);
        }
    }
    out
}

/// `host:port` (port 80 when absent); `[::1]:8080` keeps the brackets off.
fn split_host_port(v: &str) -> (&str, u32) {
    if let Some(rest) = v.strip_prefix('[') {
        let (h, tail) = rest.split_once(']').unwrap_or((rest, ""));
        return (
            h,
            tail.strip_prefix(':')
                .and_then(|p| p.parse().ok())
                .unwrap_or(80),
        );
    }
    match v.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p.parse().unwrap_or(80)),
        _ => (v, 80),
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a container of the pod other than the one that sets `env_name`
/// can serve `port`: it declares that containerPort, or declares no ports.
/// Init containers count only as native sidecars (`restartPolicy: Always`).
fn other_container_serves(w: &Workload<'_>, env_name: Node<'_>, port: u32) -> bool {
    let at = env_name.span();
    let own = |c: Node<'_>| c.span().start <= at.start && at.end <= c.span().end;
    let sidecars = w
        .spec
        .seq_at("initContainers")
        .filter(|c| c.get("restartPolicy").and_then(Node::as_str) == Some("Always"));
    w.spec
        .seq_at("containers")
        .chain(sidecars)
        .filter(|c| !own(*c))
        .any(|c| {
            let ports = c.seq_at("ports");
            ports.is_empty()
                || ports
                    .filter_map(|p| p.get("containerPort"))
                    .any(|p| p.as_str().and_then(|s| s.parse::<u32>().ok()) == Some(port))
        })
}

pub fn pod_dns(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let mut out = Vec::new();
    for w in ctx.workloads() {
        let o = &model.objects[w.object];
        for alias in w.spec.seq_at("hostAliases") {
            let ip = alias.get("ip").and_then(Node::as_str).unwrap_or("");
            for h in alias.seq_at("hostnames") {
                if h.as_str() == Some("metadata.google.internal") && ip != METADATA_IP {
                    out.push(
                        Finding::at(&ctx.rule.id, h.loc(), format!("hostAliases maps metadata.google.internal to `{ip}` in {}: client libraries then miss the metadata server", o.display())).object(o.index)
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
        let dns_ip = model.cluster_of(o).and_then(gke::kube_dns_ip);
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
                Finding::at(&ctx.rule.id, policy.loc(), format!("{} uses `dnsPolicy: None` without the cluster DNS or GCE_METADATA_HOST: metadata.google.internal does not resolve", o.display())).object(o.index)
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
    for w in ctx.workloads() {
        let vars = env_vars(w, "GOOGLE_APPLICATION_CREDENTIALS");
        if vars.is_empty() || !model.is_wi_workload(w) {
            continue;
        }
        let o = &model.objects[w.object];
        for (name, value) in vars {
            let path = value.and_then(Node::as_str).unwrap_or("");
            if is_federation_config(w, name, path) {
                continue;
            }
            let mut f = Finding::at(&ctx.rule.id, name.loc(),
                format!("{} uses Workload Identity ({}) but sets GOOGLE_APPLICATION_CREDENTIALS: the key file overrides Workload Identity", o.display(), super::wi_why(model, w)),
            ).object(o.index);
            if let Some((k, _)) = model
                .service_account_of(o, w.ksa)
                .and_then(Model::wi_annotation)
            {
                f = f.related_at(k.loc(), "the KSA is bound to a GSA here");
            } else if !matches!(model.wi_reason(w), Some(crate::model::WiReason::CallsGoogle(l, _)) if l == name.loc())
            {
                f = super::wi_related(f, model, w);
            }
            out.push(f.help("remove GOOGLE_APPLICATION_CREDENTIALS (and the mounted key) so that client libraries use Workload Identity"));
        }
    }
    out
}

/// Whether GOOGLE_APPLICATION_CREDENTIALS points into a volume that holds a
/// workload identity federation credential configuration (a projected
/// service account token, a ConfigMap: fleet Workload Identity, federation
/// from other clouds), not a service account key (kept in a Secret).
fn is_federation_config(w: &Workload<'_>, env_name: Node<'_>, path: &str) -> bool {
    let at = env_name.span();
    let container = w
        .spec
        .seq_at("containers")
        .chain(w.spec.seq_at("initContainers"))
        .find(|c| c.span().start <= at.start && at.end <= c.span().end);
    let Some(mount) = container.and_then(|c| {
        c.seq_at("volumeMounts").find(|m| {
            m.str_at(&["mountPath"])
                .is_some_and(|p| path.starts_with(p.trim_end_matches('/')) && !p.is_empty())
        })
    }) else {
        return false;
    };
    let Some(volume) = w
        .spec
        .seq_at("volumes")
        .find(|v| v.str_at(&["name"]) == mount.str_at(&["name"]))
    else {
        return false;
    };
    volume.get("configMap").is_some()
        || volume.path(&["projected", "sources"]).is_some_and(|s| {
            s.items()
                .any(|src| src.get("serviceAccountToken").is_some())
                && !s.items().any(|src| src.get("secret").is_some())
        })
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
    for w in ctx.workloads() {
        let o = &model.objects[w.object];
        if !kinds.is_empty() && !kinds.iter().any(|k| k == o.kind) {
            continue;
        }
        if w.spec.seq_at("initContainers").iter().any(reaches_metadata) || !model.is_wi_workload(w)
        {
            continue;
        }
        out.push(
            super::wi_related(Finding::at(&ctx.rule.id, o.name_loc(), format!("{} uses Workload Identity ({}) and has no init container that waits for the GKE metadata server", o.display(), super::wi_why(model, w))).object(o.index), model, w)
                .help("add an init container such as:\n- name: wait-for-metadata\n  image: gcr.io/google.com/cloudsdktool/cloud-sdk:alpine\n  command: [sh, -c, \"curl -sS -H 'Metadata-Flavor: Google' 'http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token' --retry 30 --retry-connrefused --retry-max-time 60 --connect-timeout 3 --fail --retry-all-errors > /dev/null\"]"),
        );
    }
    out
}
