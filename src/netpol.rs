//! Kubernetes NetworkPolicy semantics for egress, exactly: which policies
//! select a pod, whether it is isolated for egress, and whether a destination
//! (IP, port, protocol) is allowed by the union of the selecting policies.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::model::Object;
use crate::parse::Node;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExprOp {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

#[derive(Clone, Debug)]
pub struct Expr<'a> {
    pub key: &'a str,
    pub op: ExprOp,
    pub values: Box<[&'a str]>,
}

/// A label selector. `invalid` selectors select nothing, as the API server
/// would have rejected them. Boxed slices, not vectors: a scan holds tens
/// of thousands of selectors, most with one or two labels, and a vector
/// grown by pushing keeps room for four.
#[derive(Clone, Debug, Default)]
pub struct Selector<'a> {
    pub labels: Box<[(&'a str, &'a str)]>,
    pub exprs: Box<[Expr<'a>]>,
    pub invalid: bool,
}

pub type Labels<'a> = [(&'a str, &'a str)];

impl<'a> Selector<'a> {
    pub fn parse(node: Option<Node<'a>>) -> Selector<'a> {
        let Some(node) = node else {
            return Selector::default();
        };
        if node.is_null() {
            return Selector::default();
        }
        if node.as_map().is_none() {
            return Selector {
                invalid: true,
                ..Selector::default()
            };
        }
        let mut invalid = false;
        // At their final size: a boxed slice of a vector grown by pushing is
        // copied again.
        let match_labels = node.map_at("matchLabels");
        let match_exprs = node.seq_at("matchExpressions");
        let mut labels = Vec::with_capacity(match_labels.len());
        let mut exprs = Vec::with_capacity(match_exprs.len());
        for (k, v) in match_labels {
            match (k.as_str(), v.as_str()) {
                (Some(k), Some(v)) => labels.push((k, v)),
                _ => invalid = true,
            }
        }
        for e in match_exprs {
            let op = match e.get("operator").and_then(Node::as_str) {
                Some("In") => ExprOp::In,
                Some("NotIn") => ExprOp::NotIn,
                Some("Exists") => ExprOp::Exists,
                Some("DoesNotExist") => ExprOp::DoesNotExist,
                _ => {
                    invalid = true;
                    continue;
                }
            };
            let Some(key) = e.get("key").and_then(Node::as_str) else {
                invalid = true;
                continue;
            };
            let values = e.seq_at("values").iter().filter_map(Node::as_str).collect();
            exprs.push(Expr { key, op, values });
        }
        Selector {
            labels: labels.into_boxed_slice(),
            exprs: exprs.into_boxed_slice(),
            invalid,
        }
    }

    /// An empty selector selects everything.
    pub fn matches(&self, labels: &Labels) -> bool {
        if self.invalid {
            return false;
        }
        let get = |k: &str| labels.iter().find(|(lk, _)| *lk == k).map(|(_, v)| *v);
        self.labels.iter().all(|(k, v)| get(k) == Some(*v))
            && self.exprs.iter().all(|e| match e.op {
                ExprOp::In => get(e.key).is_some_and(|v| e.values.contains(&v)),
                ExprOp::NotIn => get(e.key).is_none_or(|v| !e.values.contains(&v)),
                ExprOp::Exists => get(e.key).is_some(),
                ExprOp::DoesNotExist => get(e.key).is_none(),
            })
    }
}

/// `a.b.c.d/n` or an IPv6 CIDR, validated as Kubernetes does (no leading
/// zeros, which ipnet accepts). Host bits are allowed and masked off.
pub fn parse_cidr(s: &str) -> Option<IpNet> {
    let (addr, len) = s.trim().split_once('/')?;
    if addr.contains('.')
        && !addr.contains(':')
        && addr.split('.').any(|o| o.len() > 1 && o.starts_with('0'))
    {
        return None;
    }
    if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // The trimmed text is `addr/len` itself: parsed in place, not copied.
    let net: IpNet = s.trim().parse().ok()?;
    Some(net.trunc())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
    Sctp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
            Proto::Sctp => "SCTP",
        }
    }
}

#[derive(Clone, Debug)]
pub enum PortSpec {
    Any,
    Number(u16, Option<u16>),
    /// Named ports never match an IP destination outside the cluster.
    Named(String),
}

#[derive(Clone, Debug)]
pub struct PortRule<'a> {
    pub node: Node<'a>,
    pub protocol: Proto,
    pub port: PortSpec,
}

#[derive(Clone, Debug)]
pub enum Peer<'a> {
    IpBlock {
        node: Node<'a>,
        cidr: Option<IpNet>,
        except: Box<[IpNet]>,
    },
    Pods {
        node: Node<'a>,
        namespaces: Option<Selector<'a>>,
        pods: Option<Selector<'a>>,
    },
}

/// Lists are boxed slices: collected from a tree's items, a vector keeps
/// room for four (a run holds thousands of rules, most with one peer).
#[derive(Clone, Debug)]
pub struct EgressRule<'a> {
    pub node: Node<'a>,
    /// Empty: every destination.
    pub to: Box<[Peer<'a>]>,
    /// Empty: every port.
    pub ports: Box<[PortRule<'a>]>,
}

#[derive(Clone, Debug)]
pub struct NetworkPolicy<'a> {
    pub object: usize,
    pub file: u32,
    pub node: Node<'a>,
    pub namespace: &'a str,
    pub pod_selector: Selector<'a>,
    pub egress_type: bool,
    pub egress: Box<[EgressRule<'a>]>,
}

fn parse_port(p: Node<'_>) -> PortRule<'_> {
    let protocol = match p.get("protocol").and_then(Node::as_str) {
        None | Some("TCP") => Proto::Tcp,
        Some("UDP") => Proto::Udp,
        Some("SCTP") => Proto::Sctp,
        Some(_) => Proto::Tcp,
    };
    let port = match p.get("port") {
        None => PortSpec::Any,
        Some(n) if n.is_null() => PortSpec::Any,
        Some(n) => match n.as_str() {
            Some(s) => match s.parse::<u16>() {
                Ok(num) => PortSpec::Number(
                    num,
                    p.get("endPort")
                        .and_then(Node::as_str)
                        .and_then(|e| e.parse().ok()),
                ),
                Err(_) => PortSpec::Named(s.to_string()),
            },
            None => PortSpec::Named(String::new()),
        },
    };
    PortRule {
        node: p,
        protocol,
        port,
    }
}

impl<'a> NetworkPolicy<'a> {
    pub fn from_object(index: usize, o: &Object<'a>) -> NetworkPolicy<'a> {
        let spec = o.node.get("spec");
        let types: Option<Vec<&str>> = spec.and_then(|s| s.get("policyTypes")).map(|t| {
            t.as_seq()
                .unwrap_or_default()
                .iter()
                .filter_map(Node::as_str)
                .collect()
        });
        // Kubernetes' defaulting (pkg/apis/networking/v1/defaults.go): an
        // absent or empty policyTypes means Ingress, plus Egress only when the
        // egress list is non-empty: `egress: []` or `null` does not isolate.
        let has_egress_rules = spec
            .and_then(|s| s.get("egress"))
            .and_then(Node::as_seq)
            .is_some_and(|e| !e.is_empty());
        let egress_type = match &types {
            Some(t) if !t.is_empty() => t.contains(&"Egress"),
            _ => has_egress_rules,
        };
        let egress = spec
            .map(|s| s.seq_at("egress"))
            .unwrap_or_default()
            .iter()
            .map(|r| EgressRule {
                node: r,
                to: r
                    .seq_at("to")
                    .iter()
                    .map(|peer| match peer.get("ipBlock") {
                        Some(b) => Peer::IpBlock {
                            node: b,
                            cidr: b.get("cidr").and_then(Node::as_str).and_then(parse_cidr),
                            except: b
                                .seq_at("except")
                                .iter()
                                .filter_map(Node::as_str)
                                .filter_map(parse_cidr)
                                .collect(),
                        },
                        None => Peer::Pods {
                            node: peer,
                            namespaces: peer
                                .get("namespaceSelector")
                                .map(|n| Selector::parse(Some(n))),
                            pods: peer.get("podSelector").map(|n| Selector::parse(Some(n))),
                        },
                    })
                    .collect(),
                ports: r.seq_at("ports").iter().map(parse_port).collect(),
            })
            .collect();
        NetworkPolicy {
            object: index,
            file: o.file,
            node: o.node,
            namespace: o.namespace,
            pod_selector: Selector::parse(spec.and_then(|s| s.get("podSelector"))),
            egress_type,
            egress,
        }
    }

    /// Does this policy select a pod in `namespace` with `labels` for egress?
    pub fn selects_for_egress(&self, namespace: &str, labels: &Labels) -> bool {
        self.egress_type && self.namespace == namespace && self.pod_selector.matches(labels)
    }
}

/// Why a rule does not allow a destination, for the nearest-miss span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Miss {
    Allowed,
    /// The IP is allowed but not this port.
    WrongPort,
    /// The IP and port are allowed but not this protocol.
    WrongProtocol,
    /// An `except` carves the IP out of the block.
    Excepted,
    /// Nothing about the destination matches.
    Unrelated,
}

impl PortRule<'_> {
    fn port_ok(&self, port: u16) -> bool {
        match &self.port {
            PortSpec::Any => true,
            PortSpec::Number(p, end) => match end {
                Some(e) => (*p..=*e).contains(&port),
                None => *p == port,
            },
            PortSpec::Named(_) => false,
        }
    }
}

impl EgressRule<'_> {
    /// Whether this rule allows TCP/UDP to `ip:port`, and if not, how close it came.
    pub fn check_ip(&self, ip: IpAddr, port: u16, proto: Proto) -> Miss {
        let mut excepted = false;
        let ip_ok = self.to.is_empty()
            || self.to.iter().any(|p| match p {
                Peer::IpBlock {
                    cidr: Some(c),
                    except,
                    ..
                } if c.contains(&ip) => {
                    if except.iter().any(|e| e.contains(&ip)) {
                        excepted = true;
                        false
                    } else {
                        true
                    }
                }
                _ => false,
            });
        if !ip_ok {
            return if excepted {
                Miss::Excepted
            } else {
                Miss::Unrelated
            };
        }
        if self.ports.is_empty()
            || self
                .ports
                .iter()
                .any(|p| p.protocol == proto && p.port_ok(port))
        {
            return Miss::Allowed;
        }
        if self.ports.iter().any(|p| p.port_ok(port)) {
            Miss::WrongProtocol
        } else {
            Miss::WrongPort
        }
    }

    /// Whether the rule's ports allow `port`/`proto` on the kube-dns pods,
    /// whose container ports are named `dns` (UDP 53) and `dns-tcp` (TCP 53).
    pub fn allows_port(&self, port: u16, proto: Proto) -> bool {
        self.ports.is_empty()
            || self.ports.iter().any(|p| {
                p.protocol == proto
                    && (p.port_ok(port)
                        || matches!((&p.port, proto, port),
                            (PortSpec::Named(n), Proto::Udp, 53) if n == "dns")
                        || matches!((&p.port, proto, port),
                            (PortSpec::Named(n), Proto::Tcp, 53) if n == "dns-tcp"))
            })
    }
}

/// The egress view of one pod: the policies that select it.
pub struct PodEgress<'p, 'a> {
    pub policies: Vec<&'p NetworkPolicy<'a>>,
}

impl<'p, 'a> PodEgress<'p, 'a> {
    pub fn of(all: &'p [NetworkPolicy<'a>], namespace: &str, labels: &Labels) -> Self {
        PodEgress {
            policies: all
                .iter()
                .filter(|p| p.selects_for_egress(namespace, labels))
                .collect(),
        }
    }

    pub fn isolated(&self) -> bool {
        !self.policies.is_empty()
    }

    /// Allowed when not isolated, or when any rule of any selecting policy allows it.
    pub fn allows_ip(&self, ip: IpAddr, port: u16, proto: Proto) -> bool {
        !self.isolated()
            || self.policies.iter().any(|p| {
                p.egress
                    .iter()
                    .any(|r| r.check_ip(ip, port, proto) == Miss::Allowed)
            })
    }

    /// The rule that came closest to allowing `ip:port`, with the reason.
    pub fn nearest_miss(
        &self,
        ip: IpAddr,
        port: u16,
        proto: Proto,
    ) -> Option<(&'p NetworkPolicy<'a>, &'p EgressRule<'a>, Miss)> {
        let rank = |m: &Miss| match m {
            Miss::WrongProtocol => 0,
            Miss::WrongPort => 1,
            Miss::Excepted => 2,
            _ => 9,
        };
        self.policies
            .iter()
            .flat_map(|p| {
                p.egress
                    .iter()
                    .map(move |r| (*p, r, r.check_ip(ip, port, proto)))
            })
            .filter(|(_, _, m)| rank(m) < 9)
            .min_by_key(|(_, _, m)| rank(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Tree;

    fn policy(text: &str) -> (Tree, String) {
        let (tree, e) = crate::parse::parse_yaml_str("p.yaml", text.to_string());
        assert!(e.is_none(), "{e:?}");
        (tree, text.to_string())
    }

    fn build(tree: &Tree) -> Vec<NetworkPolicy<'_>> {
        tree.roots()
            .enumerate()
            .map(|(i, root)| {
                let o = Object {
                    index: i,
                    scope: 0,
                    file: 0,
                    node: root,
                    kind: "NetworkPolicy",
                    api_version: "networking.k8s.io/v1",
                    name: root.path(&["metadata", "name"]).and_then(Node::as_str),
                    namespace: root
                        .path(&["metadata", "namespace"])
                        .and_then(Node::as_str)
                        .unwrap_or("default"),
                };
                NetworkPolicy::from_object(i, &o)
            })
            .collect()
    }

    const MD: &str = "169.254.169.254";
    const GKE: &str = "169.254.169.252";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// (description, policies YAML, pod namespace, pod labels, destination, port, proto, isolated, allowed)
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
        &'static str,
        u16,
        Proto,
        bool,
        bool,
    );

    const CASES: &[Case] = &[
        ("no policy: not isolated", "kind: NetworkPolicy\nmetadata: {name: other, namespace: x}\nspec: {podSelector: {}, policyTypes: [Egress]}\n", "app", &[("app", "a")], MD, 80, Proto::Tcp, false, true),
        ("policy in another namespace never selects", "metadata: {namespace: other}\nspec: {podSelector: {}, policyTypes: [Egress]}\n", "app", &[], MD, 80, Proto::Tcp, false, true),
        ("ingress-only by default: not egress-isolated", "metadata: {namespace: app}\nspec: {podSelector: {}}\n", "app", &[], MD, 80, Proto::Tcp, false, true),
        ("egress: [] without policyTypes does not isolate", "metadata: {namespace: app}\nspec:\n  podSelector: {}\n  egress: []\n", "app", &[], MD, 80, Proto::Tcp, false, true),
        ("egress: null without policyTypes does not isolate", "metadata: {namespace: app}\nspec:\n  podSelector: {}\n  egress:\n", "app", &[], MD, 80, Proto::Tcp, false, true),
        ("policyTypes: [] is defaulted like an absent one", "metadata: {namespace: app}\nspec:\n  podSelector: {}\n  policyTypes: []\n  egress: []\n", "app", &[], MD, 80, Proto::Tcp, false, true),
        ("non-empty egress without policyTypes isolates", "metadata: {namespace: app}\nspec:\n  podSelector: {}\n  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}]}]\n", "app", &[], MD, 80, Proto::Tcp, true, false),
        ("policyTypes Ingress only ignores egress rules", "metadata: {namespace: app}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n  egress: []\n", "app", &[], MD, 80, Proto::Tcp, false, true),
        ("default deny egress", "metadata: {namespace: app}\nspec: {podSelector: {}, policyTypes: [Egress]}\n", "app", &[], MD, 80, Proto::Tcp, true, false),
        ("empty selector selects all pods in the namespace", "metadata: {namespace: app}\nspec: {podSelector: {}, policyTypes: [Egress]}\n", "app", &[("x", "y")], MD, 80, Proto::Tcp, true, false),
        ("matchLabels mismatch: not selected", "metadata: {namespace: app}\nspec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Egress]}\n", "app", &[("app", "api")], MD, 80, Proto::Tcp, false, true),
        ("matchExpressions In", "metadata: {namespace: app}\nspec:\n  podSelector: {matchExpressions: [{key: app, operator: In, values: [api, web]}]}\n  policyTypes: [Egress]\n", "app", &[("app", "api")], MD, 80, Proto::Tcp, true, false),
        ("matchExpressions NotIn excludes", "metadata: {namespace: app}\nspec:\n  podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [api]}]}\n  policyTypes: [Egress]\n", "app", &[("app", "api")], MD, 80, Proto::Tcp, false, true),
        ("matchExpressions NotIn matches a pod without the label", "metadata: {namespace: app}\nspec:\n  podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [api]}]}\n  policyTypes: [Egress]\n", "app", &[], MD, 80, Proto::Tcp, true, false),
        ("matchExpressions Exists", "metadata: {namespace: app}\nspec:\n  podSelector: {matchExpressions: [{key: tier, operator: Exists}]}\n  policyTypes: [Egress]\n", "app", &[("tier", "be")], MD, 80, Proto::Tcp, true, false),
        ("matchExpressions DoesNotExist", "metadata: {namespace: app}\nspec:\n  podSelector: {matchExpressions: [{key: tier, operator: DoesNotExist}]}\n  policyTypes: [Egress]\n", "app", &[("tier", "be")], MD, 80, Proto::Tcp, false, true),
        ("empty to and ports: everything", "metadata: {namespace: app}\nspec:\n  podSelector: {}\n  egress: [{}]\n", "app", &[], MD, 80, Proto::Tcp, true, true),
        ("empty to, port 80 only", "metadata: {namespace: app}\nspec:\n  podSelector: {}\n  egress: [{ports: [{port: 80}]}]\n", "app", &[], MD, 80, Proto::Tcp, true, true),
        ("protocol defaults to TCP: UDP not allowed", "metadata: {namespace: app}\nspec:\n  podSelector: {}\n  egress: [{ports: [{port: 53}]}]\n", "app", &[], "10.0.0.10", 53, Proto::Udp, true, false),
        ("ipBlock /32 and port", "metadata: {namespace: app}\nspec:\n  podSelector: {}\n  egress:\n  - to: [{ipBlock: {cidr: 169.254.169.252/32}}]\n    ports: [{protocol: TCP, port: 988}]\n", "app", &[], GKE, 988, Proto::Tcp, true, true),
        ("right IP wrong port", "metadata: {namespace: app}\nspec:\n  podSelector: {}\n  egress:\n  - to: [{ipBlock: {cidr: 169.254.169.252/32}}]\n    ports: [{protocol: TCP, port: 80}]\n", "app", &[], GKE, 988, Proto::Tcp, true, false),
        ("endPort range", "metadata: {namespace: app}\nspec:\n  podSelector: {}\n  egress:\n  - to: [{ipBlock: {cidr: 169.254.0.0/16}}]\n    ports: [{port: 900, endPort: 1000}]\n", "app", &[], GKE, 988, Proto::Tcp, true, true),
        ("named port never matches an IP", "metadata: {namespace: app}\nspec:\n  podSelector: {}\n  egress:\n  - ports: [{port: http}]\n", "app", &[], MD, 80, Proto::Tcp, true, false),
        ("except carves the IP out", "metadata: {namespace: app}\nspec:\n  podSelector: {}\n  egress:\n  - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}}]\n", "app", &[], MD, 80, Proto::Tcp, true, false),
        ("except elsewhere keeps the IP", "metadata: {namespace: app}\nspec:\n  podSelector: {}\n  egress:\n  - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]\n", "app", &[], MD, 80, Proto::Tcp, true, true),
        ("IPv6 block does not contain an IPv4 address", "metadata: {namespace: app}\nspec:\n  podSelector: {}\n  egress:\n  - to: [{ipBlock: {cidr: '::/0'}}]\n", "app", &[], MD, 80, Proto::Tcp, true, false),
        ("IPv6 block contains an IPv6 address", "metadata: {namespace: app}\nspec:\n  podSelector: {}\n  egress:\n  - to: [{ipBlock: {cidr: 'fd00::/8'}}]\n", "app", &[], "fd00::1", 80, Proto::Tcp, true, true),
        ("podSelector peer never matches the metadata IP", "metadata: {namespace: app}\nspec:\n  podSelector: {}\n  egress:\n  - to: [{podSelector: {}}]\n", "app", &[], MD, 80, Proto::Tcp, true, false),
        ("union of two policies", "metadata: {namespace: app}\nspec: {podSelector: {}, policyTypes: [Egress]}\n---\nmetadata: {namespace: app}\nspec:\n  podSelector: {matchLabels: {app: api}}\n  egress: [{to: [{ipBlock: {cidr: 169.254.169.254/32}}], ports: [{port: 80}]}]\n", "app", &[("app", "api")], MD, 80, Proto::Tcp, true, true),
        ("leading zeros make the CIDR invalid", "metadata: {namespace: app}\nspec:\n  podSelector: {}\n  egress:\n  - to: [{ipBlock: {cidr: 169.254.169.0254/32}}]\n", "app", &[], MD, 80, Proto::Tcp, true, false),
    ];

    #[test]
    fn egress_semantics_table() {
        for (what, yaml_text, ns, labels, dest, port, proto, isolated, allowed) in CASES {
            let (docs, _) = policy(yaml_text);
            let pols = build(&docs);
            let e = PodEgress::of(&pols, ns, labels);
            assert_eq!(e.isolated(), *isolated, "isolated: {what}");
            assert_eq!(
                e.allows_ip(ip(dest), *port, *proto),
                *allowed,
                "allowed: {what}"
            );
        }
    }

    #[test]
    fn nearest_miss_reasons() {
        let (docs, _) = policy("metadata: {namespace: app}\nspec:\n  podSelector: {}\n  egress:\n  - to: [{ipBlock: {cidr: 169.254.169.252/32}}]\n    ports: [{protocol: UDP, port: 988}]\n  - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.252/32]}}]\n");
        let pols = build(&docs);
        let e = PodEgress::of(&pols, "app", &[]);
        let (_, _, m) = e.nearest_miss(ip(GKE), 988, Proto::Tcp).unwrap();
        assert_eq!(m, Miss::WrongProtocol);
    }

    #[test]
    fn cidrs() {
        assert!(parse_cidr("010.0.0.1/8").is_none());
        assert_eq!(parse_cidr("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert!(parse_cidr("10.0.0.0").is_none());
        assert!(parse_cidr("fd00::/8").is_some());
    }
}
