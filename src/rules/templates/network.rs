//! KWI4xx: NetworkPolicy egress to the metadata server and to cluster DNS.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use super::{Ctx, Params};
use crate::finding::{Finding, Piece, Text};
use crate::gke::{self, Endpoint};
use crate::model::{Map, Workload};
use crate::netpol::{Miss, Peer, PodEgress, Proto, Selector};
use crate::parse::Node;

pub fn pod_labels<'a>(w: &Workload<'a>) -> Vec<(&'a str, &'a str)> {
    w.template
        .path(&["metadata", "labels"])
        .and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str()?, v.as_str()?)))
        .collect()
}

/// Every container of the pod, init containers included.
pub fn containers<'a>(w: &Workload<'a>) -> impl Iterator<Item = Node<'a>> {
    let spec = w.spec;
    spec.seq_at("initContainers")
        .iter()
        .chain(spec.seq_at("containers").iter())
}

/// `(name node, value node)` of every env var named `name` in the pod.
pub fn env_vars<'a>(w: &Workload<'a>, name: &str) -> Vec<(Node<'a>, Option<Node<'a>>)> {
    containers(w)
        .flat_map(|c| c.seq_at("env").iter())
        .filter_map(|e| {
            let n = e.get("name")?;
            (n.as_str() == Some(name)).then(|| (n, e.get("value")))
        })
        .collect()
}

fn describe_miss(m: &Miss, ep: &Endpoint) -> String {
    match m {
        Miss::WrongPort => format!(
            "nearest miss: this rule allows {} but not port {}",
            ep.ip, ep.port
        ),
        Miss::WrongProtocol => format!(
            "nearest miss: this rule allows port {} but not over TCP",
            ep.port
        ),
        Miss::Excepted => format!("nearest miss: this rule's `except` carves {} out", ep.ip),
        _ => "nearest miss".into(),
    }
}

/// Where a pod can run: its clusters and the node pool it selects.
type Placement<'a> = (Vec<usize>, Option<&'a str>);

/// A message's end and a help, shared by the findings that say them.
type Said = (Arc<str>, Arc<str>);

/// What the egress rules would otherwise work out again in every chunk of
/// objects (a few thousand findings share a handful of each).
#[derive(Default)]
pub struct EgressMemo<'a> {
    /// The metadata server endpoints pods of a placement need.
    requirements: Mutex<Map<Placement<'a>, Arc<[gke::Requirement]>>>,
    /// KWI401's message end and help for the requirements (by index) that
    /// a placement's pods find blocked.
    blocked: Mutex<Map<(Placement<'a>, Vec<usize>), Said>>,
    /// "… selects this pod for egress", by the policy's object.
    selects: Mutex<Map<usize, Arc<str>>>,
}

fn memo<K: std::hash::Hash + Eq, V: Clone>(
    map: &Mutex<Map<K, V>>,
    key: K,
    make: impl FnOnce(&K) -> V,
) -> V {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(key).or_insert_with_key(make).clone()
}

/// Adds every policy that selects the pod as a related span (a policy
/// selects many pods: its words are shared).
fn related_policies(mut f: Finding, ctx: &Ctx, egress: &PodEgress) -> Finding {
    for p in &egress.policies {
        let po = &ctx.model.objects[p.object];
        let said = memo(&ctx.shared.egress.selects, p.object, |_| {
            ctx.shared
                .shared_text(format!("{} selects this pod for egress", po.display()))
        });
        f = f.related_at(po.name_loc(), said);
    }
    f
}

/// Calls `f` for every Workload Identity pod that its NetworkPolicies isolate for egress.
fn for_each_isolated_wi_pod<'a>(ctx: &Ctx<'_, 'a>, mut f: impl FnMut(&Workload<'a>, &PodEgress)) {
    let model = ctx.model;
    let pols = &model.network_policies;
    if pols.is_empty() {
        return;
    }
    for w in ctx.workloads() {
        let o = &model.objects[w.object];
        // A pod no policy can select is not isolated: its Workload Identity
        // reason, the dearer test, is asked only of pods that are.
        let Some(pols) = pols.get(o.namespace) else {
            continue;
        };
        let labels = pod_labels(w);
        let mut egress = PodEgress::of(pols, o.namespace, &labels);
        // Only policies deployed with the pod (its scope, or the default scope
        // on the same cluster) apply to it.
        egress
            .policies
            .retain(|p| model.together(o, &model.objects[p.object]));
        if egress.isolated() && model.is_wi_workload(w) {
            f(w, &egress);
        }
    }
}

pub fn metadata_egress(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let memos = &ctx.shared.egress;
    let mut out = Vec::new();
    // Requirements depend only on where a pod can run: computed once per
    // placement, not once per pod (each lists the pools of its clusters); so
    // is what is said about the ones a pod's policies block, shared by the
    // findings that say it.
    for_each_isolated_wi_pod(ctx, |w, egress| {
        let o = &model.objects[w.object];
        let (clusters, selector) = gke::placement(model, w);
        let placement = (clusters.to_vec(), selector);
        let requirements = memo(&memos.requirements, placement.clone(), |_| {
            gke::requirements_on(model, clusters, selector, ctx.config).into()
        });
        let blocked: Vec<usize> = requirements
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                !r.any_of
                    .iter()
                    .any(|ep| egress.allows_ip(ep.ip(), ep.port, Proto::Tcp))
            })
            .map(|(i, _)| i)
            .collect();
        let Some(&first) = blocked.first() else {
            return;
        };
        let first = requirements[first].any_of[0];
        let (what, help) = memo(&memos.blocked, (placement, blocked), |(_, blocked)| {
            let (what, help) = blocked_texts(blocked.iter().map(|i| &requirements[*i]));
            (ctx.shared.shared_text(what), ctx.shared.shared_text(help))
        });
        let msg = Text::pieces(vec![
            Piece::Own(
                format!(
                    "{} uses Workload Identity ({}) but its NetworkPolicies block egress to the GKE metadata server: ",
                    o.display(),
                    super::wi_why(model, w),
                )
                .into_boxed_str(),
            ),
            Piece::Shared(what),
        ]);
        let mut f = super::wi_related(
            Finding::at(&ctx.rule.id, o.name_loc(), msg).object(o.index),
            model,
            w,
        );
        if let Some((_, r, m)) = egress.nearest_miss(first.ip(), first.port, Proto::Tcp) {
            let miss = ctx.shared.shared_text(describe_miss(&m, &first));
            f = f.related_at(r.node.loc(), miss);
        }
        f = related_policies(f, ctx, egress);
        out.push(f.help(help));
    });
    out
}

/// What KWI401 says of the requirements a pod's policies block: the end of
/// its message ("TCP 169.254.169.254:80 (node pools …) is not allowed") and
/// its fix.
fn blocked_texts<'r>(
    blocked: impl Iterator<Item = &'r gke::Requirement> + Clone,
) -> (String, String) {
    let needs: Vec<String> = blocked
        .clone()
        .map(|r| {
            let eps: Vec<String> = r.any_of.iter().map(|e| e.to_string()).collect();
            if r.pools.is_empty() {
                eps.join(" or ")
            } else {
                format!("{} (node pools {})", eps.join(" or "), r.pools.join(", "))
            }
        })
        .collect();
    let mut what = format!("{} is not allowed", needs.join("; "));
    if let Some(a) = blocked.clone().find_map(|r| r.assumption.as_ref()) {
        what.push_str(&format!(" ({a})"));
    }
    let yaml: Vec<String> = blocked.map(|r| r.any_of[0].egress_yaml()).collect();
    let help = format!(
        "add to the `egress:` list of a NetworkPolicy that selects the pod:\n{}",
        yaml.join("\n")
    );
    (what, help)
}

fn private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => v.is_private(),
        IpAddr::V6(_) => false,
    }
}

/// Whether an ipBlock peer contains `ip` (not carved out by `except`).
fn peer_contains(peer: &Peer, ip: IpAddr) -> bool {
    matches!(peer, Peer::IpBlock { cidr: Some(c), except, .. }
        if c.contains(&ip) && !except.iter().any(|e| e.contains(&ip)))
}

/// Whether a peer can select the kube-dns pods (`k8s-app: kube-dns` in kube-system).
fn peer_reaches_dns(peer: &Peer, policy_ns: &str, dns_ip: Option<IpAddr>) -> bool {
    let kube_system: &[(&str, &str)] = &[("kubernetes.io/metadata.name", "kube-system")];
    let kube_dns: &[(&str, &str)] = &[("k8s-app", "kube-dns")];
    match peer {
        Peer::IpBlock {
            cidr: Some(c),
            except,
            ..
        } => match dns_ip {
            Some(ip) => c.contains(&ip) && !except.iter().any(|e| e.contains(&ip)),
            // kube-dns has an IPv4 ClusterIP: `::/0` never reaches it.
            None => c.network().is_ipv4() && (private(c.network()) || c.prefix_len() == 0),
        },
        Peer::IpBlock { .. } => false,
        Peer::Pods {
            namespaces, pods, ..
        } => {
            let ns_ok = match namespaces {
                Some(sel) => sel.matches(kube_system),
                None => policy_ns == "kube-system",
            };
            ns_ok && pods.as_ref().is_none_or(|p: &Selector| p.matches(kube_dns))
        }
    }
}

pub fn dns_egress(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let mut out = Vec::new();
    for_each_isolated_wi_pod(ctx, |w, egress| {
        let o = &model.objects[w.object];
        if !env_vars(w, "GCE_METADATA_HOST").is_empty() {
            return;
        }
        let cluster = model.cluster_of(o);
        let dns_ip = cluster.and_then(gke::kube_dns_ip);
        // A pod of no known cluster uses what `assume: {dns: …}` says, else
        // it may be on Cloud DNS or kube-dns: either is accepted.
        use crate::config::AssumedDns;
        let (dns, node_local) = match (cluster, ctx.config.assume.dns) {
            (Some(c), _) => (gke::cluster_dns(c), gke::node_local_dns(c)),
            (None, Some(AssumedDns::KubeDns)) => (gke::ClusterDns::KubeDns, false),
            (None, Some(AssumedDns::CloudDns)) => (gke::ClusterDns::CloudDns, false),
            (None, Some(AssumedDns::NodeLocal)) => (gke::ClusterDns::KubeDns, true),
            (None, None) => (gke::ClusterDns::Either, false),
        };
        let reaches = |peer: &Peer, ns: &str| {
            (dns != gke::ClusterDns::CloudDns && peer_reaches_dns(peer, ns, dns_ip))
                || (dns != gke::ClusterDns::KubeDns && peer_contains(peer, gke::CLOUD_DNS_IP))
                || (node_local && peer_contains(peer, gke::NODE_LOCAL_DNS_IP))
        };
        let reachable = egress.policies.iter().any(|p| {
            p.egress.iter().any(|r| {
                (r.allows_port(53, Proto::Udp) || r.allows_port(53, Proto::Tcp))
                    && (r.to.is_empty() || r.to.iter().any(|peer| reaches(peer, p.namespace)))
            })
        });
        if reachable {
            return;
        }
        let target = match dns {
            gke::ClusterDns::CloudDns => format!("Cloud DNS at {}", gke::CLOUD_DNS_IP),
            _ => format!(
                "kube-dns{}",
                dns_ip.map(|ip| format!(" at {ip}")).unwrap_or_default()
            ),
        };
        let mut f = Finding::at(&ctx.rule.id, o.name_loc(),
            format!(
                "{} uses Workload Identity ({}) but its NetworkPolicies block DNS (UDP/TCP 53 to {target}): client libraries cannot resolve metadata.google.internal",
                o.display(),
                super::wi_why(model, w),
            ),
        ).object(o.index);
        f = super::wi_related(f, model, w);
        f = related_policies(f, ctx, egress);
        if dns == gke::ClusterDns::CloudDns {
            out.push(f.help(
                "the cluster uses Cloud DNS: allow DNS to the metadata server address in the egress rules:\n- to:\n    - ipBlock:\n        cidr: 169.254.169.254/32\n  ports:\n    - protocol: UDP\n      port: 53\n    - protocol: TCP\n      port: 53\nor set the env var GCE_METADATA_HOST=169.254.169.254 in the pod",
            ));
            return;
        }
        out.push(f.help(
            "allow DNS in the egress rules:\n- to:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: kube-system\n      podSelector:\n        matchLabels:\n          k8s-app: kube-dns\n  ports:\n    - protocol: UDP\n      port: 53\n    - protocol: TCP\n      port: 53\nor set the env var GCE_METADATA_HOST=169.254.169.254 in the pod",
        ));
    });
    out
}
