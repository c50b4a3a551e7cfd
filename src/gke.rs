//! GKE facts a pod depends on: which node pools it can land on, which
//! metadata endpoint those pools need, and the cluster DNS address.

use std::net::{IpAddr, Ipv4Addr};

use crate::config::Config;
use crate::model::{Cluster, GkeVersion, Model, Workload};
use crate::netpol::parse_cidr;
use crate::parse::Node;

/// The first GKE version whose metadata server listens on 169.254.169.252.
pub const LINK_LOCAL_SINCE: GkeVersion = GkeVersion(1, 21, 0, 1000);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub ip: Ipv4Addr,
    pub port: u16,
}

impl Endpoint {
    pub const LEGACY: Endpoint = Endpoint {
        ip: Ipv4Addr::new(127, 0, 0, 1),
        port: 988,
    };
    pub const LINK_LOCAL: Endpoint = Endpoint {
        ip: Ipv4Addr::new(169, 254, 169, 252),
        port: 988,
    };
    pub const DATAPLANE_V2: Endpoint = Endpoint {
        ip: Ipv4Addr::new(169, 254, 169, 254),
        port: 80,
    };

    pub fn ip(&self) -> IpAddr {
        IpAddr::V4(self.ip)
    }

    pub fn for_cluster(version: Option<GkeVersion>, dataplane_v2: bool) -> Endpoint {
        if dataplane_v2 {
            Endpoint::DATAPLANE_V2
        } else if version.is_some_and(|v| v < LINK_LOCAL_SINCE) {
            Endpoint::LEGACY
        } else {
            Endpoint::LINK_LOCAL
        }
    }

    /// The egress rule that allows this endpoint, as YAML to paste.
    pub fn egress_yaml(&self) -> String {
        format!(
            "- to:\n    - ipBlock:\n        cidr: {}/32\n  ports:\n    - protocol: TCP\n      port: {}",
            self.ip, self.port
        )
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TCP {}:{}", self.ip, self.port)
    }
}

/// What a pod needs on some of its node pools: one of `any_of` must be allowed.
#[derive(Clone, Debug)]
pub struct Requirement {
    pub any_of: Vec<Endpoint>,
    pub pools: Vec<String>,
    /// Said in messages when no dump decided it.
    pub assumption: Option<String>,
}

pub fn is_dataplane_v2(c: &Cluster) -> bool {
    c.node
        .path(&["networkConfig", "datapathProvider"])
        .and_then(Node::as_str)
        == Some("ADVANCED_DATAPATH")
        || c.autopilot
}

fn node_version(c: &Cluster) -> Option<GkeVersion> {
    c.node
        .get("currentNodeVersion")
        .or_else(|| c.node.get("currentMasterVersion"))
        .and_then(Node::as_str)
        .and_then(GkeVersion::parse)
}

/// Where `w` can run: the clusters it could land on and its node pool
/// selector (`cloud.google.com/gke-nodepool`). Pods placed alike have the
/// same requirements (`requirements_on`).
pub fn placement<'m, 'a>(model: &'m Model<'a>, w: &Workload<'a>) -> (&'m [usize], Option<&'a str>) {
    let selector = w
        .spec
        .path(&["nodeSelector", "cloud.google.com/gke-nodepool"])
        .and_then(Node::as_str);
    (model.clusters_for(&model.objects[w.object]), selector)
}

/// The node pools a pod placed on `clusters` (selecting node pool
/// `selector`) can land on, grouped by the metadata endpoint they need.
pub fn requirements_on(
    model: &Model,
    clusters: &[usize],
    selector: Option<&str>,
    config: &Config,
) -> Vec<Requirement> {
    if clusters.is_empty() {
        let version = config
            .assume
            .gke_version
            .as_deref()
            .and_then(GkeVersion::parse);
        return vec![match (config.assume.dataplane_v2, version) {
            (Some(dp), _) => Requirement {
                any_of: vec![Endpoint::for_cluster(version, dp)],
                pools: Vec::new(),
                assumption: Some(format!(
                    "no cluster dump: assumed {}{}",
                    if dp { "Dataplane V2" } else { "no Dataplane V2" },
                    version.map(|_| format!(", GKE {}", config.assume.gke_version.as_deref().unwrap_or(""))).unwrap_or_default()
                )),
            },
            (None, Some(v)) => Requirement {
                any_of: vec![Endpoint::for_cluster(Some(v), false), Endpoint::DATAPLANE_V2],
                pools: Vec::new(),
                assumption: Some(format!(
                    "no cluster dump: assumed GKE {} with or without Dataplane V2",
                    config.assume.gke_version.as_deref().unwrap_or("")
                )),
            },
            (None, None) => Requirement {
                any_of: vec![Endpoint::LINK_LOCAL, Endpoint::DATAPLANE_V2],
                pools: Vec::new(),
                assumption: Some(
                    "no cluster dump: assumed GKE 1.21.0-gke.1000 or later, with or without Dataplane V2 (set `assume:` in .kwi-lint.yaml)".into(),
                ),
            },
        }];
    }
    let mut reqs: Vec<Requirement> = Vec::new();
    let mut add =
        |ep: Endpoint, pool: Option<String>| match reqs.iter_mut().find(|r| r.any_of == [ep]) {
            Some(r) => r.pools.extend(pool),
            None => reqs.push(Requirement {
                any_of: vec![ep],
                pools: pool.into_iter().collect(),
                assumption: None,
            }),
        };
    // With several clusters the pod could run on, pools are named with theirs.
    let several = clusters.len() > 1;
    for &ci in clusters {
        let c = &model.clusters[ci];
        let dp = is_dataplane_v2(c);
        let pools: Vec<_> = model
            .node_pools
            .iter()
            .filter(|p| p.cluster == Some(ci))
            .filter(|p| selector.is_none_or(|s| s == p.name))
            .collect();
        if pools.is_empty() {
            let name = several.then(|| format!("cluster {}", c.name));
            add(Endpoint::for_cluster(node_version(c), dp), name);
        }
        for p in pools {
            let v = p
                .node
                .get("version")
                .and_then(Node::as_str)
                .and_then(GkeVersion::parse)
                .or_else(|| node_version(c));
            let name = if several {
                format!("{} (cluster {})", p.name, c.name)
            } else {
                p.name.to_string()
            };
            add(Endpoint::for_cluster(v, dp), Some(name));
        }
    }
    reqs
}

/// The kube-dns Service address: the 10th address of the services range.
pub fn kube_dns_ip(c: &Cluster) -> Option<IpAddr> {
    let cidr = c
        .node
        .get("servicesIpv4Cidr")
        .or_else(|| {
            c.node
                .path(&["ipAllocationPolicy", "servicesIpv4CidrBlock"])
        })
        .or_else(|| c.node.path(&["ipAllocationPolicy", "servicesIpv4Cidr"]))
        .and_then(Node::as_str)
        .and_then(parse_cidr)?;
    match cidr.network() {
        IpAddr::V4(n) => Some(IpAddr::V4(Ipv4Addr::from(u32::from(n).checked_add(10)?))),
        IpAddr::V6(_) => None,
    }
}

/// Where a cluster's pods send DNS queries, as far as the dump says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterDns {
    /// kube-dns (the Standard default, `clusterDns: KUBE_DNS`/`PLATFORM_DEFAULT`).
    KubeDns,
    /// Cloud DNS (`clusterDns: CLOUD_DNS`): pods resolve through the
    /// metadata server's address, 169.254.169.254:53, not kube-dns.
    CloudDns,
    /// Autopilot without an explicit setting: Cloud DNS from 1.25.9 on,
    /// kube-dns before; either is accepted.
    Either,
}

pub const CLOUD_DNS_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254));
/// NodeLocal DNSCache's link-local listener.
pub const NODE_LOCAL_DNS_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(169, 254, 20, 10));

pub fn cluster_dns(c: &Cluster) -> ClusterDns {
    match c
        .node
        .path(&["networkConfig", "dnsConfig", "clusterDns"])
        .and_then(Node::as_str)
    {
        Some("CLOUD_DNS") => ClusterDns::CloudDns,
        Some(_) => ClusterDns::KubeDns,
        None if c.autopilot => ClusterDns::Either,
        None => ClusterDns::KubeDns,
    }
}

/// NodeLocal DNSCache (`addonsConfig.dnsCacheConfig.enabled`).
pub fn node_local_dns(c: &Cluster) -> bool {
    c.node
        .path(&["addonsConfig", "dnsCacheConfig", "enabled"])
        .and_then(Node::as_bool)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_by_version_and_dataplane() {
        let v = |s| GkeVersion::parse(s);
        assert_eq!(
            Endpoint::for_cluster(v("1.20.15-gke.2500"), false),
            Endpoint::LEGACY
        );
        assert_eq!(
            Endpoint::for_cluster(v("1.21.0-gke.999"), false),
            Endpoint::LEGACY
        );
        assert_eq!(
            Endpoint::for_cluster(v("1.21.0-gke.1000"), false),
            Endpoint::LINK_LOCAL
        );
        assert_eq!(
            Endpoint::for_cluster(v("1.29.1-gke.1589018"), false),
            Endpoint::LINK_LOCAL
        );
        assert_eq!(
            Endpoint::for_cluster(v("1.20.15-gke.2500"), true),
            Endpoint::DATAPLANE_V2
        );
    }
}
