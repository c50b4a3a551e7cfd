//! Rules are data: one YAML file per rule (embedded from `rules/`, more with
//! `--rules-dir`). A rule's check is a generic predicate over one object or a
//! named template implemented in Rust with parameters.

pub mod predicate;
pub mod templates;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use rayon::prelude::*;

use crate::config::Config;
use crate::finding::{Finding, Severity};
use crate::model::Model;
use crate::parse::{self, Node};
use crate::source::SourceFile;

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// Template parameters, typed when the rule is loaded.
#[derive(Clone, Debug, Default)]
pub struct Params(pub BTreeMap<String, ParamValue>);

#[derive(Clone, Debug)]
pub enum ParamValue {
    Str(String),
    List(Vec<String>),
}

impl Params {
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.0.get(key) {
            Some(ParamValue::Str(s)) => Some(s),
            _ => None,
        }
    }
    pub fn list(&self, key: &str) -> Vec<String> {
        match self.0.get(key) {
            Some(ParamValue::List(l)) => l.clone(),
            Some(ParamValue::Str(s)) => vec![s.clone()],
            None => Vec::new(),
        }
    }
    pub fn number(&self, key: &str) -> Option<usize> {
        self.str(key).and_then(|s| s.parse().ok())
    }
}

#[derive(Clone, Debug)]
pub enum Check {
    Template { name: String, params: Params },
    Predicate(predicate::PredicateCheck),
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub id: std::sync::Arc<str>,
    pub name: std::sync::Arc<str>,
    pub severity: Severity,
    pub enabled: bool,
    pub category: String,
    pub summary: String,
    pub why: String,
    pub fix: String,
    pub bad_example: String,
    pub good_example: String,
    pub check: Check,
    /// Where the rule was defined (`rules/KWI201.yaml` or a user's path).
    pub origin: String,
    /// `override: true`: it replaces the rule of the same id on purpose.
    pub overrides: bool,
}

#[derive(Debug)]
pub struct RuleError {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// A rule file is a page of YAML; a larger one is not a rule.
const MAX_RULE_FILE: u64 = 1 << 20;

const RULE_KEYS: &[&str] = &[
    "id", "name", "severity", "enabled", "category", "summary", "why", "fix", "examples", "check",
    "override",
];

/// Parses one rule file.
pub fn parse_rule(origin: &str, text: &str) -> Result<Rule, RuleError> {
    let source = SourceFile::new(origin, text.to_string());
    let err = |node: Option<Node<'_>>, message: String| {
        let p = source.position(node.map(|n| n.span().start as usize).unwrap_or(0));
        RuleError {
            file: origin.to_string(),
            line: p.line,
            column: p.column,
            message,
        }
    };
    let (tree, e) = parse::parse_yaml_str(origin, text.to_string());
    if let Some(e) = e {
        let p = source.position(e.offset);
        return Err(RuleError {
            file: origin.into(),
            line: p.line,
            column: p.column,
            message: format!("YAML syntax error: {}", e.message),
        });
    }
    let root = tree
        .roots()
        .next()
        .filter(|r| r.is_map())
        .ok_or_else(|| err(None, "a rule file must be a mapping".into()))?;
    for (k, _) in root.entries() {
        let key = k.as_str().unwrap_or("");
        if !RULE_KEYS.contains(&key) {
            return Err(err(
                Some(k),
                format!("unknown key `{key}`; known keys: {}", RULE_KEYS.join(", ")),
            ));
        }
    }
    let text_of = |key: &str, required: bool| -> Result<String, RuleError> {
        match root.get(key) {
            Some(n) => n
                .as_str()
                .map(|s| s.trim_end().to_string())
                .ok_or_else(|| err(Some(n), format!("`{key}` must be a string"))),
            None if required => Err(err(Some(root), format!("missing `{key}`"))),
            None => Ok(String::new()),
        }
    };
    let id = text_of("id", true)?;
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        || id.is_empty()
    {
        return Err(err(
            root.get("id"),
            format!("`{id}` is not a valid rule id (letters, digits, - and _)"),
        ));
    }
    let name = text_of("name", true)?;
    let sev_node = root.get("severity");
    let severity = match sev_node {
        Some(n) => n
            .as_str()
            .and_then(Severity::parse)
            .ok_or_else(|| err(Some(n), "`severity` must be error, warning or info".into()))?,
        None => Severity::Warning,
    };
    let enabled = match root.get("enabled") {
        Some(n) => n
            .as_bool()
            .ok_or_else(|| err(Some(n), "`enabled` must be true or false".into()))?,
        None => true,
    };
    let examples = root.get("examples");
    let example = |k: &str| {
        examples
            .and_then(|e| e.get(k))
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_string()
    };
    let check_node = root.get("check").ok_or_else(|| {
        err(
            Some(root),
            "missing `check` (a `template` or a `predicate`)".into(),
        )
    })?;
    let check = if let Some(t) = check_node.get("template") {
        let name = t
            .as_str()
            .ok_or_else(|| err(Some(t), "`template` must be a name".into()))?
            .to_string();
        let Some(template) = templates::lookup(&name) else {
            return Err(err(
                Some(t),
                format!(
                    "unknown template `{name}`; known templates: {}",
                    templates::names().join(", ")
                ),
            ));
        };
        let mut params = Params::default();
        for (k, v) in check_node.map_at("params") {
            let key = k.as_str().unwrap_or("").to_string();
            if !template.params.contains(&key.as_str()) {
                return Err(err(
                    Some(k),
                    format!(
                        "template `{name}` has no parameter `{key}`; it takes: {}",
                        if template.params.is_empty() {
                            "none".to_string()
                        } else {
                            template.params.join(", ")
                        }
                    ),
                ));
            }
            let value = if let Some(s) = v.as_str() {
                ParamValue::Str(s.to_string())
            } else if let Some(items) = v.as_seq() {
                ParamValue::List(
                    items
                        .iter()
                        .filter_map(Node::as_str)
                        .map(str::to_string)
                        .collect(),
                )
            } else {
                return Err(err(
                    Some(v),
                    format!("parameter `{key}` must be a string or a list"),
                ));
            };
            params.0.insert(key, value);
        }
        Check::Template { name, params }
    } else {
        Check::Predicate(predicate::PredicateCheck::parse(check_node).map_err(|(n, m)| err(n, m))?)
    };
    Ok(Rule {
        id: id.into(),
        name: name.into(),
        severity,
        enabled,
        category: text_of("category", false)?,
        summary: text_of("summary", true)?,
        why: text_of("why", false)?,
        fix: text_of("fix", false)?,
        bad_example: example("bad"),
        good_example: example("good"),
        check,
        origin: origin.to_string(),
        overrides: match root.get("override") {
            Some(n) => n
                .as_bool()
                .ok_or_else(|| err(Some(n), "`override` must be true or false".into()))?,
            None => false,
        },
    })
}

/// Built-in rules plus the `*.yaml` files of each extra folder, sorted by id.
/// A user's rule whose id or name is taken (by a built-in or another user
/// rule) is an error unless it says `override: true`: a repo's rule folder
/// must not silently turn a built-in check off.
pub fn load(extra_dirs: &[impl AsRef<Path>]) -> Result<Vec<Rule>, RuleError> {
    let mut rules: BTreeMap<String, Rule> = BTreeMap::new();
    for (origin, text) in BUILTIN_RULES {
        let r = parse_rule(origin, text)?;
        rules.insert(r.id.to_string(), r);
    }
    for dir in extra_dirs {
        let dir = dir.as_ref();
        let entries = std::fs::read_dir(dir).map_err(|e| RuleError {
            file: dir.display().to_string(),
            line: 1,
            column: 1,
            message: format!("cannot read rules folder: {e}"),
        })?;
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        paths.sort();
        for p in paths {
            let origin = crate::walk::display_path(&p);
            // A rule folder may come from an untrusted repo's config: only
            // regular files, and not more than a rule file needs.
            let text =
                crate::walk::read_text_bounded(&p, MAX_RULE_FILE).map_err(|e| RuleError {
                    file: origin.clone(),
                    line: 1,
                    column: 1,
                    message: format!("cannot read rule file: {e}"),
                })?;
            let r = parse_rule(&origin, &text)?;
            let clash = rules
                .values()
                .find(|o| o.id == r.id || o.name == r.name)
                .map(|o| (o.id.clone(), o.origin.clone()));
            if let Some((id, other)) = clash.as_ref().filter(|_| !r.overrides) {
                return Err(RuleError {
                    file: origin.clone(),
                    line: 1,
                    column: 1,
                    message: format!(
                        "rule {} clashes with {id} defined in {other}: give it another id and name, or add `override: true` to replace {id} on purpose",
                        r.id
                    ),
                });
            }
            if let Some((id, _)) = clash {
                rules.remove(&*id);
            }
            rules.insert(r.id.to_string(), r);
        }
    }
    Ok(rules.into_values().collect())
}

/// Does a selector (`KWI201`, `wi-binding-missing`, `KWI2`, `ALL`) pick this rule?
pub fn selector_matches(rule: &Rule, sel: &str) -> bool {
    sel.eq_ignore_ascii_case("ALL") || &*rule.name == sel || rule.id.starts_with(sel)
}

/// The rule id or name closest to a misspelt `text` (at most 3 edits).
pub fn nearest<'r>(rules: &'r [Rule], text: &str) -> Option<&'r str> {
    let text = text.to_ascii_lowercase();
    rules
        .iter()
        .flat_map(|x| [&*x.id, &*x.name])
        .map(|c| (crate::wi::edit_distance(&text, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, c)| c)
}

/// Which rules run, with which severity, after config and command line.
pub fn effective(
    rules: &[Rule],
    config: &Config,
    select: &[String],
    ignore: &[String],
) -> Vec<Rule> {
    rules
        .iter()
        .filter_map(|r| {
            let setting = config
                .rules
                .get(&*r.id)
                .or_else(|| config.rules.get(&*r.name));
            let mut enabled = setting.and_then(|s| s.enabled).unwrap_or(r.enabled);
            let selects: Vec<&String> = config.select.iter().chain(select).collect();
            if !selects.is_empty() {
                // An explicit selection enables opt-in rules it names.
                enabled = selects.iter().any(|s| selector_matches(r, s))
                    && (enabled || selects.iter().any(|s| **s == *r.id || **s == *r.name));
            }
            if config
                .ignore
                .iter()
                .chain(ignore)
                .any(|s| selector_matches(r, s))
            {
                enabled = false;
            }
            if !enabled {
                return None;
            }
            let mut r = r.clone();
            if let Some(sev) = setting.and_then(|s| s.severity) {
                r.severity = sev;
            }
            Some(r)
        })
        .collect()
}

pub struct Ctx<'m, 'a> {
    pub model: &'m Model<'a>,
    pub rule: &'m Rule,
    /// Every rule loaded, enabled or not.
    pub catalogue: &'m [Rule],
    pub config: &'m Config,
    /// Every suppression in the scan (collected once per run).
    pub suppressions: &'m [crate::suppress::Suppression],
    /// Suppressions that matched no finding (filled for post-phase templates).
    pub unused_suppressions: &'m [crate::suppress::Suppression],
    /// What several rules derive from the model, built once per run.
    pub shared: &'m Shared<'a>,
    /// The objects (indexes into `model.objects`) and pod templates (into
    /// `model.workloads`) a per-object rule looks at: a chunk, or all.
    objects: Range<usize>,
    workloads: Range<usize>,
    /// What several rules derive from this run's pod templates.
    chunk: &'m Chunk<'a>,
}

/// Derived per pod template, built by the first rule of a chunk that asks.
#[derive(Default)]
pub struct Chunk<'a> {
    sidecars: std::sync::OnceLock<Vec<crate::istio::Sidecar<'a>>>,
}

impl<'m, 'a> Ctx<'m, 'a> {
    /// What the Istio injector does to each of `workloads()`, in their order
    /// (three rules ask, per pod).
    pub fn sidecars(&self) -> &'m [crate::istio::Sidecar<'a>] {
        self.chunk.sidecars.get_or_init(|| {
            let mesh = self.shared.mesh(self.model);
            self.workloads()
                .iter()
                .map(|w| crate::istio::sidecar(self.model, w, mesh))
                .collect()
        })
    }

    /// The objects this run of the rule checks.
    pub fn objects(&self) -> &'m [crate::model::Object<'a>] {
        &self.model.objects[self.objects.clone()]
    }

    /// The pod templates (and Pods) of `objects()`.
    pub fn workloads(&self) -> &'m [crate::model::Workload<'a>] {
        &self.model.workloads[self.workloads.clone()]
    }
}

/// Derived data more than one rule needs, built by the first that asks.
#[derive(Default)]
pub struct Shared<'a> {
    mesh: std::sync::OnceLock<crate::istio::Mesh>,
    /// Texts that findings of any chunk share (see `shared_text`).
    texts: std::sync::Mutex<crate::model::Set<std::sync::Arc<str>>>,
    /// What KWI401 and KWI402 work out once per run, not once per chunk.
    pub egress: templates::network::EgressMemo<'a>,
}

impl<'a> Shared<'a> {
    /// One copy of `text` for the whole run: a chunk of objects makes the
    /// texts its findings share, and other chunks often make the same ones.
    pub fn shared_text(&self, text: String) -> std::sync::Arc<str> {
        let mut texts = self.texts.lock().unwrap_or_else(|e| e.into_inner());
        match texts.get(text.as_str()) {
            Some(t) => t.clone(),
            None => {
                let t: std::sync::Arc<str> = text.into();
                texts.insert(t.clone());
                t
            }
        }
    }

    /// The mesh-wide Istio settings of the scan.
    pub fn mesh(&self, model: &Model<'a>) -> &crate::istio::Mesh {
        self.mesh
            .get_or_init(|| crate::istio::Mesh::from_model(model))
    }
}

/// Whether a rule runs after suppressions are applied.
pub fn is_post(rule: &Rule) -> bool {
    matches!(&rule.check, Check::Template { name, .. } if templates::lookup(name).is_some_and(|t| t.post))
}

/// Whether a rule only reads the objects of its chunk (see `Template::per_object`).
fn is_per_object(rule: &Rule) -> bool {
    match &rule.check {
        Check::Predicate(_) => true,
        Check::Template { name, .. } => templates::lookup(name).is_some_and(|t| t.per_object),
    }
}

/// Objects per chunk of the per-object rules: a few hundred kilobytes of
/// nodes, which stay in the core's cache while every such rule reads them.
const CHUNK: usize = 64;

/// Brings the trees of a chunk's objects into the core's cache before its
/// rules walk them (see `Tree::warm`); objects of one file are neighbours.
fn warm(objects: &[crate::model::Object]) {
    let mut last: Option<&crate::parse::Tree> = None;
    for o in objects {
        let tree = o.node.tree();
        if !last.is_some_and(|t| std::ptr::eq(t, tree)) {
            tree.warm();
            last = Some(tree);
        }
    }
}

/// Runs every rule (in parallel) and returns findings with severities
/// resolved, in rule order and, within a rule, in the order it found them.
pub fn run(
    rules: &[Rule],
    catalogue: &[Rule],
    model: &Model,
    config: &Config,
    suppressions: &[crate::suppress::Suppression],
    unused_suppressions: &[crate::suppress::Suppression],
) -> Vec<(Finding, Severity)> {
    run_in_chunks(
        rules,
        catalogue,
        model,
        config,
        (suppressions, unused_suppressions),
        CHUNK,
    )
}

/// `run`, with per-object rules on `chunk` objects at a time.
fn run_in_chunks(
    rules: &[Rule],
    catalogue: &[Rule],
    model: &Model,
    config: &Config,
    (suppressions, unused_suppressions): (
        &[crate::suppress::Suppression],
        &[crate::suppress::Suppression],
    ),
    chunk: usize,
) -> Vec<(Finding, Severity)> {
    let shared = Shared::default();
    // Whole-scan rules share one (none of them asks today).
    let whole_chunk = Chunk::default();
    let ctx = |rule, objects, workloads| Ctx {
        model,
        rule,
        catalogue,
        config,
        suppressions,
        unused_suppressions,
        shared: &shared,
        objects,
        workloads,
        chunk: &whole_chunk,
    };
    let (chunked, whole): (Vec<usize>, Vec<usize>) =
        (0..rules.len()).partition(|i| is_per_object(&rules[*i]));
    // No per-object rule (the run after suppressions): no chunk to warm.
    let objects = if chunked.is_empty() {
        0
    } else {
        model.objects.len()
    };
    let chunks: Vec<(Range<usize>, Range<usize>)> = (0..objects)
        .step_by(chunk)
        .map(|start| {
            let end = start.saturating_add(chunk).min(model.objects.len());
            // Workloads are in object order: those of this chunk's objects.
            let first = model.workloads.partition_point(|w| w.object < start);
            let last = model.workloads.partition_point(|w| w.object < end);
            (start..end, first..last)
        })
        .collect();
    let (by_chunk, by_rule) = rayon::join(
        || {
            chunks
                .par_iter()
                .map(|(objects, workloads)| {
                    warm(&model.objects[objects.clone()]);
                    let chunk = Chunk::default();
                    chunked
                        .iter()
                        .map(|i| {
                            let mut found = check(&Ctx {
                                chunk: &chunk,
                                ..ctx(&rules[*i], objects.clone(), workloads.clone())
                            });
                            // Kept until every chunk is done: without the room it grew.
                            found.shrink_to_fit();
                            found
                        })
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        },
        || {
            whole
                .par_iter()
                .map(|i| {
                    check(&ctx(
                        &rules[*i],
                        0..model.objects.len(),
                        0..model.workloads.len(),
                    ))
                })
                .collect::<Vec<_>>()
        },
    );
    // Freed before the findings are assembled, whose vector reuses its memory.
    drop(shared);
    assemble(rules, config, &chunked, &whole, by_chunk, by_rule)
}

/// The findings of every rule, in rule order, then chunk order, with
/// severities resolved.
fn assemble(
    rules: &[Rule],
    config: &Config,
    chunked: &[usize],
    whole: &[usize],
    mut by_chunk: Vec<Vec<Vec<Finding>>>,
    mut by_rule: Vec<Vec<Finding>>,
) -> Vec<(Finding, Severity)> {
    // Put back in rule order, then chunk order, straight into one vector of
    // the exact size: each chunk's findings are moved once and freed as they
    // are taken (per-rule vectors grown by doubling held them all twice).
    let total = by_chunk
        .iter()
        .flatten()
        .chain(&by_rule)
        .map(Vec::len)
        .sum();
    let mut out = Vec::with_capacity(total);
    for (i, rule) in rules.iter().enumerate() {
        let overridden = config
            .rules
            .get(&*rule.id)
            .or_else(|| config.rules.get(&*rule.name))
            .and_then(|s| s.severity)
            .is_some();
        let mut add = |found: Vec<Finding>| {
            out.extend(found.into_iter().map(|mut f| {
                f.rule = rule.id.clone();
                let sev = if overridden {
                    rule.severity
                } else {
                    f.severity.unwrap_or(rule.severity)
                };
                (f, sev)
            }))
        };
        match chunked.binary_search(&i) {
            Ok(at) => by_chunk
                .iter_mut()
                .filter_map(|c| c.get_mut(at))
                .for_each(|found| add(std::mem::take(found))),
            // Every rule is in one list or the other (a partition of them).
            Err(_) => {
                if let Some(found) = whole
                    .binary_search(&i)
                    .ok()
                    .and_then(|at| by_rule.get_mut(at))
                {
                    add(std::mem::take(found));
                }
            }
        }
    }
    out
}

/// One rule's findings on the objects of its context.
fn check(ctx: &Ctx) -> Vec<Finding> {
    match &ctx.rule.check {
        Check::Template { name, params } => match templates::lookup(name) {
            Some(t) => (t.run)(ctx, params),
            None => Vec::new(),
        },
        Check::Predicate(p) => p.run(ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_are_one_shared_copy() {
        let shared = Shared::default();
        let a = shared.shared_text("NetworkPolicy a/b selects this pod".to_string());
        let b = shared.shared_text("NetworkPolicy a/b selects this pod".to_string());
        let c = shared.shared_text("NetworkPolicy a/c selects this pod".to_string());
        assert!(std::sync::Arc::ptr_eq(&a, &b));
        assert!(!std::sync::Arc::ptr_eq(&a, &c));
        assert_eq!(&*c, "NetworkPolicy a/c selects this pod");
    }

    /// A per-object rule must find the same on a chunk at a time as on all
    /// objects at once: one that kept state across objects (a "seen" set, a
    /// count) would differ here, on every rule's test data.
    #[test]
    fn per_object_rules_find_the_same_in_chunks() {
        let config = Config::default();
        let opts = crate::LintOptions {
            paths: vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")],
            stdin_filename: None,
            exclude: Vec::new(),
            no_ignore: true,
        };
        let scan = crate::load(&opts, &config);
        let model = scan.model(&config);
        assert!(model.objects.len() > 100, "too few objects to chunk");
        let mut rules = load(&[] as &[&Path]).expect("built-in rules load");
        rules.retain(is_per_object);
        assert!(rules.len() > 10, "too few per-object rules");
        let show = |chunk| {
            run_in_chunks(&rules, &rules, &model, &config, (&[], &[]), chunk)
                .iter()
                .map(|(f, s)| {
                    format!(
                        "{} {s:?} {:?} {} {:?}",
                        f.rule,
                        f.at,
                        f.message,
                        f.related.len()
                    )
                })
                .collect::<Vec<_>>()
        };
        let whole = show(usize::MAX);
        assert!(whole.len() > 50, "too few findings: {}", whole.len());
        let mut by_one = show(1);
        let mut whole_sorted = whole.clone();
        // Within a rule the order may differ (objects, then pod templates).
        by_one.sort();
        whole_sorted.sort();
        assert_eq!(by_one, whole_sorted);
        assert_eq!(show(7).len(), whole.len());
    }
}
