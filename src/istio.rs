//! Istio sidecar semantics that decide whether a pod's metadata-server
//! traffic goes through Envoy: injection, outbound capture and the
//! hold-until-proxy-starts setting, from pod annotations and mesh config.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::model::{Model, Workload};
use crate::netpol::parse_cidr;
use crate::parse::Node;
use crate::parse::Tree;
use crate::source::Location;

pub const EXCLUDE: &str = "traffic.sidecar.istio.io/excludeOutboundIPRanges";
pub const INCLUDE: &str = "traffic.sidecar.istio.io/includeOutboundIPRanges";
pub const PROXY_CONFIG: &str = "proxy.istio.io/config";
pub const INJECT: &str = "sidecar.istio.io/inject";
pub const INTERCEPTION: &str = "sidecar.istio.io/interceptionMode";
pub const NATIVE: &str = "sidecar.istio.io/nativeSidecar";

/// Where a setting came from: a file and the node (or the embedded string holding it).

#[derive(Clone, Debug)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Location,
}

/// Mesh-wide defaults from IstioOperator and the istio / istio-sidecar-injector ConfigMaps.
#[derive(Debug, Default)]
pub struct Mesh {
    pub exclude: Option<Setting<String>>,
    pub include: Option<Setting<String>>,
    pub hold: Option<Setting<bool>>,
    pub native: Option<Setting<bool>>,
    /// The Istio (major, minor) release, from IstioOperator `spec.tag`, the
    /// istiod image or a numbered revision label (`istio.io/rev: 1-27-1`).
    pub version: Option<Setting<(u32, u32)>>,
    /// What each distinct `proxy.istio.io/config` text says: parsed once (a
    /// platform's pod template repeats one config in every workload).
    proxy_holds: std::sync::Mutex<crate::model::Map<String, ProxyHold>>,
}

/// What a `proxy.istio.io/config` annotation says of holding the app until
/// the proxy starts: the setting (none when unset), or why it is malformed.
type ProxyHold = Result<Option<bool>, String>;

fn proxy_hold(config: &str) -> ProxyHold {
    match parse_embedded(config) {
        Ok(t) if t.roots().next().is_some_and(|c| c.is_map()) => Ok(t
            .roots()
            .next()
            .and_then(|c| c.get("holdApplicationUntilProxyStarts"))
            .and_then(text_bool)),
        Ok(_) => Err("the proxy config is not a YAML or JSON mapping".into()),
        Err(e) => Err(format!("the proxy config is not YAML or JSON: {e}")),
    }
}

/// Istio makes native sidecars the default from this release on.
pub const NATIVE_DEFAULT_SINCE: (u32, u32) = (1, 27);

/// `1.27.1`, `1.27.1-distroless`, `1-27-1` → (1, 27).
fn istio_version(s: &str) -> Option<(u32, u32)> {
    let mut it = s.split(['.', '-']);
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    (major == 1).then_some((major, minor))
}

impl Mesh {
    /// Whether sidecars are native mesh-wide: the explicit setting, else
    /// the release default.
    pub fn native_default(&self) -> bool {
        match &self.native {
            Some(s) => s.value,
            None => self
                .version
                .as_ref()
                .is_some_and(|v| v.value >= NATIVE_DEFAULT_SINCE),
        }
    }
}

/// A comma-separated CIDR list; `*` means everything.
#[derive(Clone, Debug, PartialEq)]
pub enum Ranges {
    All,
    List(Vec<IpNet>),
}

impl Ranges {
    pub fn parse(s: &str, allow_star: bool) -> Result<Ranges, String> {
        let mut nets = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "*" {
                if allow_star {
                    return Ok(Ranges::All);
                }
                return Err("`*` is not allowed in an exclusion list".into());
            }
            nets.push(
                parse_cidr(part).ok_or_else(|| {
                    format!("`{part}` is not a CIDR (such as 169.254.169.254/32)")
                })?,
            );
        }
        Ok(Ranges::List(nets))
    }
    pub fn contains(&self, ip: IpAddr) -> bool {
        match self {
            Ranges::All => true,
            Ranges::List(l) => l.iter().any(|n| n.contains(&ip)),
        }
    }
}

fn text_bool(n: Node<'_>) -> Option<bool> {
    n.as_bool().or_else(|| match n.as_str() {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    })
}

/// Parses a YAML/JSON string embedded in a manifest (its documents may be none).
pub fn parse_embedded(s: &str) -> Result<Tree, String> {
    match crate::parse::parse_yaml_str("<annotation>", s.to_string()) {
        (_, Some(e)) => Err(e.message),
        (t, None) => Ok(t),
    }
}

impl Mesh {
    /// `proxy_hold` of a config text, remembered.
    fn proxy_hold(&self, config: &str) -> ProxyHold {
        let mut holds = self.proxy_holds.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hold) = holds.get(config) {
            return hold.clone();
        }
        // Parsed under the lock: a config is short, and a second thread
        // would only parse the same text again.
        let hold = proxy_hold(config);
        holds.insert(config.to_string(), hold.clone());
        hold
    }

    pub fn from_model(model: &Model) -> Mesh {
        let mut mesh = Mesh::default();
        for o in &model.objects {
            let at = |n: Node<'_>| n.loc();
            let mut version = |n: Node<'_>, v: Option<(u32, u32)>| {
                if let (Some(v), None) = (v, &mesh.version) {
                    mesh.version = Some(Setting {
                        value: v,
                        origin: n.loc(),
                    });
                }
            };
            // The kind first: a path lookup reads the object's nodes.
            if let Some(n) = (o.kind == "IstioOperator")
                .then(|| o.node.path(&["spec", "tag"]))
                .flatten()
            {
                version(n, n.as_string().and_then(istio_version));
            }
            if o.kind == "Namespace" {
                if let Some(n) = o.node.path(&["metadata", "labels", "istio.io/rev"]) {
                    version(n, n.as_str().and_then(istio_version));
                }
            }
            if o.kind == "Deployment"
                && o.name
                    .is_some_and(|n| n == "istiod" || n.starts_with("istiod-"))
            {
                for c in o
                    .node
                    .path(&["spec", "template", "spec"])
                    .map(|s| s.seq_at("containers"))
                    .unwrap_or_default()
                {
                    if let Some(img) = c.get("image") {
                        let tag = img
                            .as_str()
                            .and_then(|i| i.rsplit_once(':'))
                            .map(|(_, t)| t);
                        version(img, tag.and_then(istio_version));
                    }
                }
            }
            match (o.kind, o.name) {
                ("IstioOperator", _) => {
                    let proxy = o.node.path(&["spec", "values", "global", "proxy"]);
                    if let Some(n) = proxy.and_then(|p| p.get("excludeIPRanges")) {
                        mesh.exclude = Some(Setting {
                            value: n.as_str().unwrap_or("").to_string(),
                            origin: at(n),
                        });
                    }
                    if let Some(n) = proxy.and_then(|p| p.get("includeIPRanges")) {
                        mesh.include = Some(Setting {
                            value: n.as_str().unwrap_or("").to_string(),
                            origin: at(n),
                        });
                    }
                    let hold = o
                        .node
                        .path(&[
                            "spec",
                            "meshConfig",
                            "defaultConfig",
                            "holdApplicationUntilProxyStarts",
                        ])
                        .or_else(|| proxy.and_then(|p| p.get("holdApplicationUntilProxyStarts")));
                    if let Some(n) = hold {
                        mesh.hold = text_bool(n).map(|v| Setting {
                            value: v,
                            origin: at(n),
                        });
                    }
                    let env_native = o
                        .node
                        .path(&["spec", "values", "pilot", "env", "ENABLE_NATIVE_SIDECARS"])
                        .or_else(|| {
                            o.node
                                .path(&["spec", "components", "pilot", "k8s"])
                                .map(|k| k.seq_at("env"))
                                .unwrap_or_default()
                                .iter()
                                .find(|e| {
                                    e.get("name").and_then(Node::as_str)
                                        == Some("ENABLE_NATIVE_SIDECARS")
                                })
                                .and_then(|e| e.get("value"))
                        });
                    if let Some(n) = env_native {
                        mesh.native = text_bool(n).map(|v| Setting {
                            value: v,
                            origin: at(n),
                        });
                    }
                }
                ("ConfigMap", Some(name))
                    if name == "istio"
                        || name.starts_with("istio-")
                            && !name.starts_with("istio-sidecar-injector") =>
                {
                    let Some(n) = o.node.path(&["data", "mesh"]) else {
                        continue;
                    };
                    let parsed = parse_embedded(n.as_str().unwrap_or(""));
                    if let Some(m) = parsed.as_ref().ok().and_then(|t| t.roots().next()) {
                        if let Some(h) = m
                            .path(&["defaultConfig", "holdApplicationUntilProxyStarts"])
                            .and_then(text_bool)
                        {
                            mesh.hold.get_or_insert(Setting {
                                value: h,
                                origin: at(n),
                            });
                        }
                    }
                }
                ("ConfigMap", Some(name)) if name.starts_with("istio-sidecar-injector") => {
                    let Some(n) = o.node.path(&["data", "values"]) else {
                        continue;
                    };
                    let parsed = parse_embedded(n.as_str().unwrap_or(""));
                    let Some(v) = parsed.as_ref().ok().and_then(|t| t.roots().next()) else {
                        continue;
                    };
                    let proxy = v.path(&["global", "proxy"]);
                    if let Some(s) = proxy
                        .and_then(|p| p.get("excludeIPRanges"))
                        .and_then(Node::as_str)
                    {
                        mesh.exclude.get_or_insert(Setting {
                            value: s.to_string(),
                            origin: at(n),
                        });
                    }
                    if let Some(s) = proxy
                        .and_then(|p| p.get("includeIPRanges"))
                        .and_then(Node::as_str)
                    {
                        mesh.include.get_or_insert(Setting {
                            value: s.to_string(),
                            origin: at(n),
                        });
                    }
                    if let Some(h) = proxy
                        .and_then(|p| p.get("holdApplicationUntilProxyStarts"))
                        .and_then(text_bool)
                    {
                        mesh.hold.get_or_insert(Setting {
                            value: h,
                            origin: at(n),
                        });
                    }
                    if let Some(b) = v
                        .path(&["pilot", "env", "ENABLE_NATIVE_SIDECARS"])
                        .and_then(text_bool)
                    {
                        mesh.native.get_or_insert(Setting {
                            value: b,
                            origin: at(n),
                        });
                    }
                }
                _ => {}
            }
        }
        mesh
    }
}

/// One pod template's sidecar, as the injector would render it.
#[derive(Debug)]
pub struct Sidecar<'a> {
    pub injected: bool,
    /// What turned injection on: the pod's label or annotation, or its
    /// namespace's label.
    pub injected_by: Option<Location>,
    /// Envoy captures traffic to 169.254.169.254.
    pub captures_metadata: bool,
    pub hold: bool,
    pub native: bool,
    /// The annotation (or mesh setting) that decided the exclusion list.
    pub exclude_at: Option<Location>,
    pub exclude_node: Option<Node<'a>>,
    pub proxy_config_node: Option<Node<'a>>,
    /// Malformed annotations: (value node, why).
    pub malformed: Vec<(Node<'a>, String)>,
}

/// The Istio annotations of a pod template, read in one pass over its
/// annotations (a lookup each read them six times over, for every pod).
#[derive(Default)]
struct PodAnnotations<'a> {
    inject: Option<Node<'a>>,
    exclude: Option<Node<'a>>,
    include: Option<Node<'a>>,
    interception: Option<Node<'a>>,
    proxy_config: Option<Node<'a>>,
    native: Option<Node<'a>>,
}

impl<'a> PodAnnotations<'a> {
    fn of(w: &Workload<'a>) -> Self {
        let mut found = PodAnnotations::default();
        let metadata = w.template.get("metadata");
        for (k, v) in metadata
            .map(|m| m.map_at("annotations"))
            .unwrap_or_default()
        {
            let slot = match k.text() {
                Some(INJECT) => &mut found.inject,
                Some(EXCLUDE) => &mut found.exclude,
                Some(INCLUDE) => &mut found.include,
                Some(INTERCEPTION) => &mut found.interception,
                Some(PROXY_CONFIG) => &mut found.proxy_config,
                Some(NATIVE) => &mut found.native,
                _ => continue,
            };
            // As `get`: the last of repeated keys.
            *slot = Some(v);
        }
        found
    }
}

fn label<'a>(w: &Workload<'a>, key: &str) -> Option<Node<'a>> {
    w.template
        .path(&["metadata", "labels"])
        .and_then(|a| a.get(key))
}

pub fn sidecar<'a>(model: &Model<'a>, w: &Workload<'a>, mesh: &Mesh) -> Sidecar<'a> {
    let o = &model.objects[w.object];
    let metadata_ip: IpAddr = IpAddr::from([169, 254, 169, 254]);
    let ns = model
        .namespace_of(o)
        .and_then(|n| n.node.path(&["metadata", "labels"]));
    let ns_label = |k: &str| ns.and_then(|l| l.get(k)).and_then(Node::as_str);
    let annotations = PodAnnotations::of(w);
    let pod_inject_node = label(w, INJECT).or(annotations.inject);
    let pod_inject = pod_inject_node.and_then(|n| n.as_str());
    let injected_by = if pod_inject == Some("true") {
        pod_inject_node.map(|n| n.loc())
    } else {
        ns.and_then(|l| {
            l.entry("istio-injection")
                .or_else(|| l.entry("istio.io/rev"))
        })
        .map(|(k, _)| k.loc())
    };
    let ns_on =
        ns_label("istio-injection") == Some("enabled") || ns_label("istio.io/rev").is_some();
    // A rendered pod (a kubectl dump) shows what the injector did.
    let proxy_in = |key: &str| {
        w.spec
            .seq_at(key)
            .iter()
            .find(|c| c.get("name").and_then(Node::as_str) == Some("istio-proxy"))
    };
    let rendered_native = proxy_in("initContainers")
        .is_some_and(|c| c.get("restartPolicy").and_then(Node::as_str) == Some("Always"));
    let rendered = rendered_native || proxy_in("containers").is_some();
    // The injector skips host-network pods.
    let host_network = w.spec.get("hostNetwork").and_then(Node::as_bool) == Some(true);
    let injected = rendered
        || !host_network
            && pod_inject != Some("false")
            && ns_label("istio-injection") != Some("disabled")
            && (pod_inject == Some("true") || ns_on);
    let mut malformed = Vec::new();
    let exclude_node = annotations.exclude;
    let (exclude, exclude_at) = match exclude_node {
        Some(n) => {
            let r = Ranges::parse(n.as_str().unwrap_or(""), false);
            if let Err(e) = &r {
                malformed.push((n, e.clone()));
            }
            (r.ok(), Some(n.loc()))
        }
        None => match &mesh.exclude {
            Some(s) => (Ranges::parse(&s.value, false).ok(), Some(s.origin)),
            None => (None, None),
        },
    };
    let include = match annotations.include {
        Some(n) => {
            let r = Ranges::parse(n.as_str().unwrap_or(""), true);
            if let Err(e) = &r {
                malformed.push((n, e.clone()));
            }
            r.unwrap_or(Ranges::All)
        }
        None => mesh
            .include
            .as_ref()
            .and_then(|s| Ranges::parse(&s.value, true).ok())
            .unwrap_or(Ranges::All),
    };
    let no_capture = annotations.interception.and_then(Node::as_str) == Some("NONE");
    let captures_metadata = !no_capture
        && include.contains(metadata_ip)
        && !exclude.as_ref().is_some_and(|e| e.contains(metadata_ip));
    let proxy_config_node = annotations.proxy_config;
    let pod_hold = match proxy_config_node {
        Some(n) => match mesh.proxy_hold(n.as_str().unwrap_or("")) {
            Ok(hold) => hold,
            Err(e) => {
                malformed.push((n, e));
                Some(false)
            }
        },
        None => None,
    };
    let hold = pod_hold
        .or(mesh.hold.as_ref().map(|s| s.value))
        .unwrap_or(false);
    // The pod annotation wins over the mesh-wide setting and the release default.
    let native = rendered_native
        || match annotations.native.and_then(Node::as_str) {
            Some("true") => true,
            Some("false") => false,
            _ if rendered => false,
            _ => mesh.native_default(),
        };
    Sidecar {
        injected_by,
        injected,
        captures_metadata,
        hold,
        native,
        exclude_at,
        exclude_node,
        proxy_config_node,
        malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let ip: IpAddr = "169.254.169.254".parse().unwrap();
        assert!(Ranges::parse("169.254.0.0/16", false).unwrap().contains(ip));
        assert!(!Ranges::parse("10.0.0.0/8, 172.16.0.0/12", false)
            .unwrap()
            .contains(ip));
        assert_eq!(Ranges::parse("*", true).unwrap(), Ranges::All);
        assert!(Ranges::parse("*", false).is_err());
        assert!(Ranges::parse("169.254.169.254", false).is_err());
        assert_eq!(Ranges::parse("", false).unwrap(), Ranges::List(vec![]));
    }
}
