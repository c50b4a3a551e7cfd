//! `.kwi-lint.yaml`: read with our own span tree so that every error points
//! at the line that causes it. Unknown keys are errors, not silently ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::finding::Severity;
use crate::parse::{self, Entries, Limits, Node};
use crate::source::SourceFile;

pub const FILE_NAME: &str = ".kwi-lint.yaml";

#[derive(Clone, Debug, Default)]
pub struct RuleSetting {
    pub enabled: Option<bool>,
    pub severity: Option<Severity>,
}

#[derive(Clone, Debug)]
pub struct ClusterScope {
    /// Cluster name as in the dump (`name`), optionally `LOCATION/NAME` or `PROJECT/LOCATION/NAME`.
    pub name: String,
    pub manifests: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct ScopeConfig {
    pub name: String,
    pub manifests: Vec<String>,
    /// Cluster name as in `clusters:` (`NAME`, `LOCATION/NAME`, `PROJECT/LOCATION/NAME`).
    pub cluster: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Assume {
    pub gke_version: Option<String>,
    pub dataplane_v2: Option<bool>,
    pub workload_pool: Option<String>,
    /// Every pod is a Workload Identity pod.
    pub workload_identity: bool,
    /// Where pods resolve DNS when no cluster dump says.
    pub dns: Option<AssumedDns>,
}

/// `assume: {dns: kube-dns|cloud-dns|nodelocal}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssumedDns {
    KubeDns,
    CloudDns,
    NodeLocal,
}

#[derive(Clone, Debug)]
pub struct PolicyMapping {
    pub path: String,
    /// `projects/ID`, `projects/ID/serviceAccounts/EMAIL`, `serviceAccounts/EMAIL`, `folders/N`, `organizations/N`.
    pub resource: String,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// Where the config came from (for messages), if any.
    pub path: Option<PathBuf>,
    pub rules: BTreeMap<String, RuleSetting>,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub exclude: Vec<String>,
    pub clusters: Vec<ClusterScope>,
    /// Files in no kustomization that are deployed together (a sample repo's
    /// folders are separate deployments), optionally to a named cluster.
    pub scopes: Vec<ScopeConfig>,
    pub assume: Assume,
    pub iam_policies: Vec<PolicyMapping>,
    pub max_service_accounts: usize,
    pub limits: Limits,
    pub rules_dirs: Vec<PathBuf>,
    pub fail_level: Option<Severity>,
    /// Path glob → rule ids, names or prefixes ignored there.
    pub per_path_ignores: Vec<(String, Vec<String>)>,
    /// Every rule id, name or selector the config names, with its position:
    /// checked against the loaded rules, so a typo is an error, not a no-op.
    pub rule_refs: Vec<RuleRef>,
}

/// A rule named in the config (a `rules:` key, or a selector in `select`,
/// `ignore`, `per_path_ignores`).
#[derive(Clone, Debug)]
pub struct RuleRef {
    pub text: String,
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// A `rules:` key must be a whole id or name; selectors may be prefixes.
    pub whole: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            path: None,
            rules: BTreeMap::new(),
            select: Vec::new(),
            ignore: Vec::new(),
            exclude: Vec::new(),
            clusters: Vec::new(),
            scopes: Vec::new(),
            assume: Assume::default(),
            iam_policies: Vec::new(),
            max_service_accounts: 3000,
            limits: Limits::default(),
            rules_dirs: Vec::new(),
            fail_level: None,
            per_path_ignores: Vec::new(),
            rule_refs: Vec::new(),
        }
    }
}

impl Config {
    /// Whether a glob set from this config matches a file: globs are relative
    /// to the config's folder (or to the working directory).
    pub fn glob_matches(&self, globs: &globset::GlobSet, display: &str) -> bool {
        if globs.is_match(display) {
            return true;
        }
        let Some(dir) = self.path.as_ref().and_then(|p| p.parent()) else {
            return false;
        };
        let (Ok(cwd), Ok(dir)) = (
            std::env::current_dir(),
            std::fs::canonicalize(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            }),
        ) else {
            return false;
        };
        let abs = cwd.join(display);
        let abs = std::fs::canonicalize(&abs).unwrap_or(abs);
        abs.strip_prefix(&dir).is_ok_and(|rel| globs.is_match(rel))
    }
}

/// A configuration error with the position that caused it.
#[derive(Debug)]
pub struct ConfigError {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Finds `.kwi-lint.yaml` in the folder of `start` or any folder above it.
pub fn discover(start: &Path) -> Option<PathBuf> {
    let abs = if start.is_absolute() {
        start.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(start)
    };
    let dir = if abs.is_dir() {
        abs.as_path()
    } else {
        abs.parent()?
    };
    dir.ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file())
}

struct Reader<'a> {
    source: &'a SourceFile,
}

impl Reader<'_> {
    fn rule_ref(&self, node: Node<'_>, text: &str, whole: bool) -> RuleRef {
        let p = self.source.position(node.span().start as usize);
        RuleRef {
            text: text.to_string(),
            file: self.source.name.clone(),
            line: p.line,
            column: p.column,
            whole,
        }
    }
    /// The items of a selector list (or the one scalar) with their positions.
    fn selector_refs(&self, node: Node<'_>) -> Vec<RuleRef> {
        let nodes: Vec<Node<'_>> = match node.as_seq() {
            Some(items) => items.collect(),
            None => vec![node],
        };
        nodes
            .into_iter()
            .filter_map(|n| Some(self.rule_ref(n, n.as_str()?, false)))
            .collect()
    }
    fn err(&self, node: Node<'_>, message: impl Into<String>) -> ConfigError {
        let p = self.source.position(node.span().start as usize);
        ConfigError {
            file: self.source.name.clone(),
            line: p.line,
            column: p.column,
            message: message.into(),
        }
    }
    fn map<'n>(&self, node: Node<'n>, what: &str) -> Result<Entries<'n>, ConfigError> {
        if node.is_null() {
            return Ok(Entries::default());
        }
        node.as_map()
            .ok_or_else(|| self.err(node, format!("`{what}` must be a mapping")))
    }
    fn string(&self, node: Node<'_>, what: &str) -> Result<String, ConfigError> {
        node.as_str()
            .map(str::to_string)
            .ok_or_else(|| self.err(node, format!("`{what}` must be a string")))
    }
    fn strings(&self, node: Node<'_>, what: &str) -> Result<Vec<String>, ConfigError> {
        if let Some(s) = node.as_str() {
            return Ok(vec![s.to_string()]);
        }
        node.as_seq()
            .ok_or_else(|| self.err(node, format!("`{what}` must be a list of strings")))?
            .iter()
            .map(|n| self.string(n, what))
            .collect()
    }
    fn boolean(&self, node: Node<'_>, what: &str) -> Result<bool, ConfigError> {
        node.as_bool()
            .ok_or_else(|| self.err(node, format!("`{what}` must be true or false")))
    }
    fn number(&self, node: Node<'_>, what: &str) -> Result<usize, ConfigError> {
        node.as_str()
            .and_then(|s| s.replace('_', "").parse().ok())
            .ok_or_else(|| self.err(node, format!("`{what}` must be a whole number")))
    }
    fn severity(&self, node: Node<'_>, what: &str) -> Result<Severity, ConfigError> {
        node.as_str().and_then(Severity::parse).ok_or_else(|| {
            self.err(
                node,
                format!("`{what}` must be one of error, warning, info"),
            )
        })
    }
    fn unknown(&self, key: Node<'_>, allowed: &[&str]) -> ConfigError {
        let k = key.as_str().unwrap_or("?");
        let near = allowed
            .iter()
            .min_by_key(|a| crate::wi::edit_distance(k, a))
            .filter(|a| crate::wi::edit_distance(k, a) <= 3);
        let hint = near
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        self.err(
            key,
            format!(
                "unknown key `{k}`{hint}; known keys: {}",
                allowed.join(", ")
            ),
        )
    }
}

const TOP_KEYS: &[&str] = &[
    "rules",
    "select",
    "ignore",
    "exclude",
    "clusters",
    "scopes",
    "assume",
    "iam_policies",
    "thresholds",
    "limits",
    "rules_dir",
    "fail_level",
    "per_path_ignores",
];

pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let name = crate::walk::display_path(path);
    // A config comes from the scanned repo: a regular file of sane size only.
    let text = crate::walk::read_text_bounded(path, 1 << 20).map_err(|e| ConfigError {
        file: name.clone(),
        line: 1,
        column: 1,
        message: format!("cannot read config: {e}"),
    })?;
    let mut cfg = parse_text(&name, text)?;
    cfg.path = Some(path.to_path_buf());
    let base = path.parent().unwrap_or(Path::new("."));
    cfg.rules_dirs = cfg.rules_dirs.iter().map(|d| base.join(d)).collect();
    Ok(cfg)
}

pub fn parse_text(name: &str, text: String) -> Result<Config, ConfigError> {
    let (tree, error) = parse::parse_yaml_str(name, text);
    let source = tree.source().clone();
    let r = Reader { source: &source };
    if let Some(e) = error {
        let p = source.position(e.offset);
        return Err(ConfigError {
            file: name.into(),
            line: p.line,
            column: p.column,
            message: format!("YAML syntax error: {}", e.message),
        });
    }
    let mut cfg = Config::default();
    let Some(doc) = tree.docs.first() else {
        return Ok(cfg);
    };
    if let Some(d) = tree.document_duplicates(0).next() {
        let p = source.position(d.second.start as usize);
        return Err(ConfigError {
            file: name.into(),
            line: p.line,
            column: p.column,
            message: format!("duplicate key `{}`", d.key),
        });
    }
    for (k, v) in r.map(tree.node(doc.root), "the config")? {
        match k.as_str().unwrap_or("") {
            "rules" => read_rules(&r, v, &mut cfg)?,
            "select" => {
                cfg.select = r.strings(v, "select")?;
                cfg.rule_refs.extend(r.selector_refs(v));
            }
            "ignore" => {
                cfg.ignore = r.strings(v, "ignore")?;
                cfg.rule_refs.extend(r.selector_refs(v));
            }
            "exclude" => cfg.exclude = r.strings(v, "exclude")?,
            "rules_dir" => {
                cfg.rules_dirs = r
                    .strings(v, "rules_dir")?
                    .into_iter()
                    .map(PathBuf::from)
                    .collect()
            }
            "fail_level" => cfg.fail_level = Some(r.severity(v, "fail_level")?),
            "per_path_ignores" => read_per_path_ignores(&r, v, &mut cfg)?,
            "clusters" => read_clusters(&r, v, &mut cfg)?,
            "scopes" => read_scopes(&r, v, &mut cfg)?,
            "assume" => read_assume(&r, v, &mut cfg)?,
            "iam_policies" => read_iam_policies(&r, v, &mut cfg)?,
            "thresholds" => read_thresholds(&r, v, &mut cfg)?,
            "limits" => read_limits(&r, v, &mut cfg)?,
            _ => return Err(r.unknown(k, TOP_KEYS)),
        }
    }
    crate::walk::build_globset(&cfg.exclude).map_err(|e| ConfigError {
        file: name.into(),
        line: 1,
        column: 1,
        message: e,
    })?;
    Ok(cfg)
}

/// `rules: {ID or name: on/off, a severity, or {enabled, severity}}`.
fn read_rules(r: &Reader, v: Node<'_>, cfg: &mut Config) -> Result<(), ConfigError> {
    for (id, setting) in r.map(v, "rules")? {
        let id_s = r.string(id, "rule id")?;
        cfg.rule_refs.push(r.rule_ref(id, &id_s, true));
        let mut s = RuleSetting::default();
        if let Some(b) = setting.as_bool() {
            s.enabled = Some(b);
        } else if let Some(sev) = setting.as_str().and_then(Severity::parse) {
            s.severity = Some(sev);
        } else {
            for (rk, rv) in r.map(setting, "rules.ID")? {
                match rk.as_str().unwrap_or("") {
                    "enabled" => s.enabled = Some(r.boolean(rv, "enabled")?),
                    "severity" => s.severity = Some(r.severity(rv, "severity")?),
                    _ => return Err(r.unknown(rk, &["enabled", "severity"])),
                }
            }
        }
        cfg.rules.insert(id_s, s);
    }
    Ok(())
}

/// `per_path_ignores: {GLOB: [RULE…]}`.
fn read_per_path_ignores(r: &Reader, v: Node<'_>, cfg: &mut Config) -> Result<(), ConfigError> {
    for (pk, pv) in r.map(v, "per_path_ignores")? {
        let glob = r.string(pk, "per_path_ignores key (a path glob)")?;
        crate::walk::build_globset(std::slice::from_ref(&glob)).map_err(|e| r.err(pk, e))?;
        cfg.per_path_ignores
            .push((glob, r.strings(pv, "per_path_ignores value (rule ids)")?));
        cfg.rule_refs.extend(r.selector_refs(pv));
    }
    Ok(())
}

/// `clusters: [{name, manifests}]`.
fn read_clusters(r: &Reader, v: Node<'_>, cfg: &mut Config) -> Result<(), ConfigError> {
    let items = v
        .as_seq()
        .ok_or_else(|| r.err(v, "`clusters` must be a list of {name, manifests}"))?;
    for item in items {
        let mut name = None;
        let mut manifests = Vec::new();
        for (ck, cv) in r.map(item, "clusters[]")? {
            match ck.as_str().unwrap_or("") {
                "name" => name = Some(r.string(cv, "name")?),
                "manifests" => manifests = r.strings(cv, "manifests")?,
                _ => return Err(r.unknown(ck, &["name", "manifests"])),
            }
        }
        let name = name.ok_or_else(|| r.err(item, "a cluster scope needs `name`"))?;
        crate::walk::build_globset(&manifests).map_err(|e| r.err(item, e))?;
        cfg.clusters.push(ClusterScope { name, manifests });
    }
    Ok(())
}

/// `scopes: [{name, manifests, cluster}]`.
fn read_scopes(r: &Reader, v: Node<'_>, cfg: &mut Config) -> Result<(), ConfigError> {
    let items = v
        .as_seq()
        .ok_or_else(|| r.err(v, "`scopes` must be a list of {name, manifests, cluster}"))?;
    for item in items {
        let (mut name, mut manifests, mut cluster) = (None, Vec::new(), None);
        for (sk, sv) in r.map(item, "scopes[]")? {
            match sk.as_str().unwrap_or("") {
                "name" => name = Some(r.string(sv, "name")?),
                "manifests" => manifests = r.strings(sv, "manifests")?,
                "cluster" => cluster = Some(r.string(sv, "cluster")?),
                _ => return Err(r.unknown(sk, &["name", "manifests", "cluster"])),
            }
        }
        let name = name.ok_or_else(|| r.err(item, "a scope needs `name`"))?;
        crate::walk::build_globset(&manifests).map_err(|e| r.err(item, e))?;
        cfg.scopes.push(ScopeConfig {
            name,
            manifests,
            cluster,
        });
    }
    Ok(())
}

/// `assume:` what no dump says (GKE version, Dataplane V2, pool, DNS…).
fn read_assume(r: &Reader, v: Node<'_>, cfg: &mut Config) -> Result<(), ConfigError> {
    for (ak, av) in r.map(v, "assume")? {
        match ak.as_str().unwrap_or("") {
            "gke_version" => {
                let s = r.string(av, "gke_version")?;
                if crate::gcp::GkeVersion::parse(&s).is_none() {
                    return Err(r.err(
                        av,
                        format!("`{s}` is not a GKE version such as 1.29.1-gke.1589018"),
                    ));
                }
                cfg.assume.gke_version = Some(s)
            }
            "dataplane_v2" => cfg.assume.dataplane_v2 = Some(r.boolean(av, "dataplane_v2")?),
            "workload_pool" => {
                let s = r.string(av, "workload_pool")?;
                crate::wi::check_pool(&s).map_err(|e| r.err(av, e))?;
                cfg.assume.workload_pool = Some(s)
            }
            "workload_identity" => {
                cfg.assume.workload_identity = r.boolean(av, "workload_identity")?
            }
            "dns" => {
                let s = r.string(av, "dns")?;
                cfg.assume.dns = Some(match s.as_str() {
                    "kube-dns" => AssumedDns::KubeDns,
                    "cloud-dns" => AssumedDns::CloudDns,
                    "nodelocal" => AssumedDns::NodeLocal,
                    _ => {
                        return Err(r.err(
                            av,
                            format!("`{s}` is not one of kube-dns, cloud-dns, nodelocal"),
                        ))
                    }
                })
            }
            _ => {
                return Err(r.unknown(
                    ak,
                    &[
                        "gke_version",
                        "dataplane_v2",
                        "workload_pool",
                        "workload_identity",
                        "dns",
                    ],
                ))
            }
        }
    }
    Ok(())
}

/// `iam_policies: {GLOB: RESOURCE}`: whose policy a dump is.
fn read_iam_policies(r: &Reader, v: Node<'_>, cfg: &mut Config) -> Result<(), ConfigError> {
    for (pk, pv) in r.map(v, "iam_policies")? {
        let path = r.string(pk, "iam_policies key (a path glob)")?;
        let resource = r.string(pv, "iam_policies value (a resource)")?;
        if crate::gcp::PolicyResource::from_config(&resource).is_none() {
            return Err(r.err(pv, format!("`{resource}` is not projects/ID, projects/ID/serviceAccounts/EMAIL, serviceAccounts/EMAIL, folders/N or organizations/N")));
        }
        crate::walk::build_globset(std::slice::from_ref(&path)).map_err(|e| r.err(pk, e))?;
        cfg.iam_policies.push(PolicyMapping { path, resource });
    }
    Ok(())
}

/// `thresholds:`.
fn read_thresholds(r: &Reader, v: Node<'_>, cfg: &mut Config) -> Result<(), ConfigError> {
    for (tk, tv) in r.map(v, "thresholds")? {
        match tk.as_str().unwrap_or("") {
            "service_accounts_per_cluster" => {
                cfg.max_service_accounts = r.number(tv, "service_accounts_per_cluster")?
            }
            _ => return Err(r.unknown(tk, &["service_accounts_per_cluster"])),
        }
    }
    Ok(())
}

/// `limits:` on file size, depth and documents.
fn read_limits(r: &Reader, v: Node<'_>, cfg: &mut Config) -> Result<(), ConfigError> {
    for (lk, lv) in r.map(v, "limits")? {
        match lk.as_str().unwrap_or("") {
            "max_file_size" => {
                let n = r.number(lv, "max_file_size")?;
                // Positions in a file are 32-bit (as in every span of the tree).
                if n > u32::MAX as usize {
                    return Err(r.err(
                        lv,
                        format!("`max_file_size` can be at most {} bytes (4 GiB)", u32::MAX),
                    ));
                }
                cfg.limits.max_file_size = n as u64;
            }
            "max_depth" => cfg.limits.max_depth = r.number(lv, "max_depth")?.clamp(8, 4096),
            "max_documents" => cfg.limits.max_documents = r.number(lv, "max_documents")?,
            _ => return Err(r.unknown(lk, &["max_file_size", "max_depth", "max_documents"])),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_points_at_line() {
        let e = parse_text("c.yaml", "rules:\n  KWI201: off\nexclud: [x]\n".into()).unwrap_err();
        assert_eq!((e.line, e.column), (3, 1));
        assert!(
            e.message.contains("did you mean `exclude`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn settings_are_read() {
        let c = parse_text(
            "c.yaml",
            "rules:\n  KWI201: off\n  KWI104: {severity: info}\nassume: {dataplane_v2: yes}\nthresholds: {service_accounts_per_cluster: 10}\n".into(),
        )
        .unwrap();
        assert_eq!(c.rules["KWI201"].enabled, Some(false));
        assert_eq!(c.rules["KWI104"].severity, Some(Severity::Info));
        assert_eq!(c.assume.dataplane_v2, Some(true));
        assert_eq!(c.max_service_accounts, 10);
    }

    #[test]
    fn a_file_size_limit_past_32_bit_positions_is_an_error() {
        let e =
            parse_text("c.yaml", "limits:\n  max_file_size: 5_000_000_000\n".into()).unwrap_err();
        assert_eq!((e.line, e.column), (2, 18));
        assert!(
            e.message.contains("at most 4294967295 bytes"),
            "{}",
            e.message
        );
        let c = parse_text("c.yaml", "limits: {max_file_size: 4294967295}\n".into()).unwrap();
        assert_eq!(c.limits.max_file_size, u32::MAX as u64);
    }

    #[test]
    fn bad_value_is_an_error() {
        let e = parse_text("c.yaml", "rules:\n  KWI201: {severity: loud}\n".into()).unwrap_err();
        assert_eq!(e.line, 2);
    }
}
