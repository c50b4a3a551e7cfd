//! NetworkPolicy semantics as Kubernetes and GKE apply them, end to end:
//! policyTypes defaulting, where a cluster's pods send DNS (kube-dns, Cloud
//! DNS, NodeLocal DNSCache), named DNS ports.

use crate::common;

use crate::common::{json, run, scratch};

const SA: &str = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n  namespace: prod\n  annotations:\n    iam.gke.io/gcp-service-account: api-gsa@acme-prod.iam.gserviceaccount.com\n";
const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: prod\nspec:\n  selector:\n    matchLabels: {app: api}\n  template:\n    metadata:\n      labels: {app: api}\n    spec:\n      serviceAccountName: api\n      containers:\n        - name: app\n          image: x\n";

/// Egress to the metadata server (both endpoints) plus `dns_rule`.
fn policy(dns_rule: &str) -> String {
    format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: egress\n  namespace: prod\nspec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n  egress:\n    - to: [{{ipBlock: {{cidr: 169.254.169.252/32}}}}]\n      ports: [{{port: 988}}]\n    - to: [{{ipBlock: {{cidr: 169.254.169.254/32}}}}]\n      ports: [{{port: 80}}]\n{dns_rule}")
}

const KUBE_DNS: &str = "    - to:\n        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}\n          podSelector: {matchLabels: {k8s-app: kube-dns}}\n      ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]\n";
const KUBE_DNS_NAMED: &str = "    - to:\n        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}\n          podSelector: {matchLabels: {k8s-app: kube-dns}}\n      ports: [{protocol: UDP, port: dns}, {protocol: TCP, port: dns-tcp}]\n";
const CLOUD_DNS: &str = "    - to: [{ipBlock: {cidr: 169.254.169.254/32}}]\n      ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]\n";
const IPV6_ANY: &str =
    "    - to: [{ipBlock: {cidr: '::/0'}}]\n      ports: [{protocol: UDP, port: 53}]\n";

fn cluster(dns: Option<&str>) -> String {
    let dns = dns
        .map(|d| format!(",\n  \"networkConfig\": {{\"datapathProvider\": \"ADVANCED_DATAPATH\", \"dnsConfig\": {{\"clusterDns\": \"{d}\"}}}}"))
        .unwrap_or_default();
    format!("{{\n  \"name\": \"prod\",\n  \"location\": \"us-central1\",\n  \"selfLink\": \"https://container.googleapis.com/v1/projects/acme-prod/locations/us-central1/clusters/prod\",\n  \"currentMasterVersion\": \"1.29.1-gke.1589018\",\n  \"servicesIpv4Cidr\": \"10.96.0.0/20\",\n  \"workloadIdentityConfig\": {{\"workloadPool\": \"acme-prod.svc.id.goog\"}},\n  \"nodePools\": [{{\"name\": \"pool\", \"version\": \"1.29.1-gke.1589018\", \"config\": {{\"workloadMetadataConfig\": {{\"mode\": \"GKE_METADATA\"}}}}}}]{dns}\n}}\n")
}

/// KWI402 findings (rule file:line:col) for the files given.
fn kwi402(name: &str, files: &[(&str, String)]) -> Vec<String> {
    let dir = scratch(name);
    for (path, text) in files {
        std::fs::write(dir.join(path), text).unwrap();
    }
    let out = run(&[
        "--format",
        "json",
        "--select",
        "KWI402",
        dir.to_str().unwrap(),
    ]);
    common::findings_as(&out, |f| {
        format!(
            "{} {}",
            f["rule"].as_str().unwrap(),
            f["message"].as_str().unwrap()
        )
    })
}

fn base(netpol: String) -> Vec<(&'static str, String)> {
    vec![
        ("sa.yaml", SA.to_string()),
        ("deploy.yaml", DEPLOY.to_string()),
        ("netpol.yaml", netpol),
    ]
}

#[test]
fn kube_dns_cluster_needs_kube_dns() {
    let mut files = base(policy(CLOUD_DNS));
    files.push(("cluster.json", cluster(None)));
    let got = kwi402("dns-kube-only-cloud-rule", &files);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("kube-dns at 10.96.0.10"), "{got:?}");

    let mut files = base(policy(KUBE_DNS));
    files.push(("cluster.json", cluster(Some("KUBE_DNS"))));
    assert_eq!(kwi402("dns-kube-ok", &files), Vec::<String>::new());
}

#[test]
fn named_dns_ports_match_kube_dns() {
    let mut files = base(policy(KUBE_DNS_NAMED));
    files.push(("cluster.json", cluster(None)));
    assert_eq!(kwi402("dns-named-ports", &files), Vec::<String>::new());
}

#[test]
fn cloud_dns_cluster_needs_the_metadata_address() {
    let mut files = base(policy(KUBE_DNS));
    files.push(("cluster.json", cluster(Some("CLOUD_DNS"))));
    let got = kwi402("dns-cloud-kube-rule", &files);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("Cloud DNS at 169.254.169.254"), "{got:?}");

    let mut files = base(policy(CLOUD_DNS));
    files.push(("cluster.json", cluster(Some("CLOUD_DNS"))));
    assert_eq!(kwi402("dns-cloud-ok", &files), Vec::<String>::new());
}

#[test]
fn without_a_cluster_either_resolver_is_accepted_but_not_ipv6() {
    assert_eq!(
        kwi402("dns-unknown-cloud", &base(policy(CLOUD_DNS))),
        Vec::<String>::new()
    );
    assert_eq!(
        kwi402("dns-unknown-kube", &base(policy(KUBE_DNS))),
        Vec::<String>::new()
    );
    assert_eq!(kwi402("dns-unknown-ipv6", &base(policy(IPV6_ANY))).len(), 1);
}

#[test]
fn empty_egress_without_policy_types_does_not_isolate() {
    let netpol = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ingress-only\n  namespace: prod\nspec:\n  podSelector: {}\n  ingress: []\n  egress: []\n".to_string();
    let dir = scratch("netpol-empty-egress");
    for (p, t) in base(netpol) {
        std::fs::write(dir.join(p), t).unwrap();
    }
    let out = run(&["--format", "json", dir.to_str().unwrap()]);
    let rules: Vec<String> = json(&out)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .filter(|r| r.starts_with("KWI40"))
        .map(String::from)
        .collect();
    assert_eq!(rules, Vec::<String>::new());
}

/// KWI303 names a GCE_METADATA pool only when a WI pod can land there: a
/// `iam.gke.io/gke-metadata-server-enabled: "true"` nodeSelector (a label GKE
/// sets only on metadata-server pools) keeps it off.
#[test]
fn metadata_server_node_selector_keeps_pods_off_gce_metadata_pools() {
    let pools = cluster(None).replace(
        "\"nodePools\": [",
        "\"nodePools\": [{\"name\": \"legacy\", \"version\": \"1.29.1-gke.1589018\", \"config\": {\"workloadMetadataConfig\": {\"mode\": \"GCE_METADATA\"}}}, ",
    );
    let lint = |name: &str, deploy: String| {
        let dir = scratch(name);
        std::fs::write(dir.join("sa.yaml"), SA).unwrap();
        std::fs::write(dir.join("deploy.yaml"), deploy).unwrap();
        std::fs::write(dir.join("cluster.json"), &pools).unwrap();
        let out = run(&[
            "--format",
            "json",
            "--select",
            "KWI303",
            dir.to_str().unwrap(),
        ]);
        json(&out)["findings"].as_array().unwrap().len()
    };
    assert_eq!(lint("kwi303-anywhere", DEPLOY.to_string()), 1);
    let pinned = DEPLOY.replace(
        "      serviceAccountName: api\n",
        "      serviceAccountName: api\n      nodeSelector:\n        iam.gke.io/gke-metadata-server-enabled: \"true\"\n",
    );
    assert_eq!(lint("kwi303-pinned", pinned), 0);
}

#[test]
fn assumed_dns_provider_decides_without_a_cluster_dump() {
    let assume = |dns: &str| (".kwi-lint.yaml", format!("assume: {{dns: {dns}}}\n"));
    let mut files = base(policy(KUBE_DNS));
    files.push(assume("cloud-dns"));
    let got = kwi402("dns-assume-cloud-kube-rule", &files);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("Cloud DNS at 169.254.169.254"), "{got:?}");

    let mut files = base(policy(CLOUD_DNS));
    files.push(assume("kube-dns"));
    assert_eq!(kwi402("dns-assume-kube-cloud-rule", &files).len(), 1);

    const NODE_LOCAL: &str = "    - to: [{ipBlock: {cidr: 169.254.20.10/32}}]\n      ports: [{protocol: UDP, port: 53}]\n";
    let mut files = base(policy(NODE_LOCAL));
    files.push(assume("nodelocal"));
    assert_eq!(kwi402("dns-assume-nodelocal", &files), Vec::<String>::new());
    let mut files = base(policy(NODE_LOCAL));
    files.push(assume("kube-dns"));
    assert_eq!(kwi402("dns-assume-kube-nodelocal-rule", &files).len(), 1);
}
