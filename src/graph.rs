//! `graph`: the identity chain of every Workload Identity pod — workload →
//! KSA → GSA → the IAM roles that GSA holds on projects — with each broken
//! link marked by the findings (rule ids) that explain it. Findings are
//! attached by position: a finding (or one of its related locations) that
//! lies inside the workload, the KSA, or the GSA's IAM policy breaks that link
//! (the first in chain order; an IAM binding rule's finding that also lies in
//! the GSA's policy breaks the binding).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;
use std::sync::Arc;

use rayon::prelude::*;

use crate::finding::Severity;
use crate::model::{Model, PolicyResource};
use crate::parse::Node;
use crate::report::Resolved;
use crate::source::{FileId, SourceFile, Span};
use crate::wi;

/// Rules whose finding breaks every chain of the scan (cluster- or project-wide).
const SCAN_WIDE: &[&str] = &["KWI301", "KWI302", "KWI304", "KWI305"];
/// The rule group about IAM bindings: their findings break the GSA IAM binding link.
const BINDING_RULES: &str = "KWI2";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Link {
    /// The pod gets its KSA's identity (hostNetwork, node pool, egress, mesh).
    Workload,
    /// The KSA names its GSA (the annotation).
    Ksa,
    /// IAM lets the KSA act as the GSA (roles/iam.workloadIdentityUser).
    Gsa,
}

impl Link {
    pub fn label(self) -> &'static str {
        match self {
            Link::Workload => "workload → KSA",
            Link::Ksa => "KSA → GSA",
            Link::Gsa => "GSA IAM binding",
        }
    }

    /// `label` padded to 16 characters, the column the details align on.
    fn padded_label(self) -> &'static str {
        match self {
            Link::Workload => "workload → KSA  ",
            Link::Ksa => "KSA → GSA       ",
            Link::Gsa => "GSA IAM binding ",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Break {
    pub link: Link,
    pub rule: Arc<str>,
    pub name: Arc<str>,
    pub severity: Severity,
    pub message: String,
    pub at: String,
}

#[derive(Clone, Debug)]
pub struct Chain {
    pub workload: String,
    /// The kustomization root it is rendered in (none: files in no kustomization).
    pub scope: Option<String>,
    pub workload_at: String,
    pub ksa: String,
    pub ksa_at: Option<String>,
    /// The annotated GSA; None for direct principal grants to the KSA.
    pub gsa: Option<String>,
    /// The IAM binding that lets the KSA act as the GSA: Some(location), or
    /// None with the reason in `binding_note`.
    pub binding_at: Option<String>,
    pub binding_note: Option<String>,
    /// (role, resource, location)
    pub roles: Vec<(String, String, String)>,
    pub roles_note: Option<String>,
    pub breaks: Vec<Break>,
}

#[derive(Debug, Default)]
pub struct Graph {
    pub chains: Vec<Chain>,
    /// Findings that break every chain (cluster or project settings).
    pub scan_wide: Vec<Break>,
}

fn resolved_at(f: &Resolved) -> String {
    f.start.in_file(&f.file.name)
}

/// Findings by position: per file, every primary and related location,
/// sorted by start, so "which findings lie inside this node" is a binary
/// search rather than a scan of every finding for every workload. Files are
/// told apart by their shared source, not by name: no hashing of long paths
/// for every lookup, and two inputs that share a name stay apart.
struct Positions {
    by_file: crate::model::Map<usize, Vec<(usize, usize, usize)>>,
}

impl Positions {
    fn new<'f>(findings: impl Iterator<Item = (usize, &'f Resolved)>) -> Self {
        let mut by_file: crate::model::Map<usize, Vec<(usize, usize, usize)>> = Default::default();
        for (i, f) in findings {
            by_file
                .entry(Arc::as_ptr(&f.file) as usize)
                .or_default()
                .push((f.byte_start, f.byte_end, i));
            for r in &f.related {
                by_file
                    .entry(Arc::as_ptr(&r.file) as usize)
                    .or_default()
                    .push((r.byte_start, r.byte_end, i));
            }
        }
        for v in by_file.values_mut() {
            v.sort_unstable();
        }
        Positions { by_file }
    }

    /// Findings with a location that starts in `starts` and ends by `end`.
    fn starting_in<'s>(
        &'s self,
        file: &SourceFile,
        starts: std::ops::Range<usize>,
        end: usize,
    ) -> impl Iterator<Item = usize> + 's {
        let v: &[(usize, usize, usize)] = self
            .by_file
            .get(&(file as *const SourceFile as usize))
            .map_or(&[], Vec::as_slice);
        let first = v.partition_point(|(s, _, _)| *s < starts.start);
        v[first..]
            .iter()
            .take_while(move |(s, _, _)| *s < starts.end)
            .filter(move |(_, e, _)| *e <= end)
            .map(|(_, _, i)| *i)
    }

    /// Findings with a location inside `span` of `file`.
    fn inside<'s>(&'s self, file: &SourceFile, span: Span) -> impl Iterator<Item = usize> + 's {
        let (s, e) = (span.start as usize, span.end as usize);
        self.starting_in(file, s..e + 1, e)
    }
}

fn brk(link: Link, f: &Resolved) -> Break {
    Break {
        link,
        rule: f.rule.clone(),
        name: f.name.clone(),
        severity: f.severity,
        message: f.message.as_str().into_owned(),
        at: resolved_at(f),
    }
}

/// The findings about each object: those that name it, and those written
/// inside its text that name no object; and every finding by position.
struct Attached {
    by_object: crate::model::Map<usize, Vec<usize>>,
    positions: Positions,
}

impl Attached {
    fn is_empty(&self) -> bool {
        self.positions.by_file.is_empty()
    }

    fn new(findings: &[&Resolved], keep: impl Fn(&Resolved) -> bool) -> Self {
        let kept = || {
            findings
                .iter()
                .copied()
                .enumerate()
                .filter(|(_, f)| keep(f))
        };
        let mut by_object: crate::model::Map<usize, Vec<usize>> = Default::default();
        for (i, f) in kept() {
            if let Some(o) = f.object {
                by_object.entry(o).or_default().push(i);
            }
        }
        Attached {
            by_object,
            positions: Positions::new(kept()),
        }
    }

    fn of_object<'s>(
        &'s self,
        model: &Model,
        findings: &'s [&Resolved],
        o: &crate::model::Object,
    ) -> impl Iterator<Item = usize> + 's {
        let named = self.by_object.get(&o.index).map_or(&[][..], Vec::as_slice);
        let written = self
            .positions
            .inside(model.files[o.file as usize].source(), o.node.span())
            .filter(|i| findings[*i].object.is_none());
        named.iter().copied().chain(written)
    }
}

pub fn build(model: &Model, findings: &[Resolved]) -> Graph {
    let findings: Vec<&Resolved> = findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .collect();
    let mut g = Graph::default();
    for f in &findings {
        if SCAN_WIDE.contains(&&*f.rule) {
            g.scan_wide.push(brk(Link::Workload, f));
        }
    }
    // Once each, as the lint reports them (the findings are not deduplicated).
    g.scan_wide
        .dedup_by(|a, b| a.rule == b.rule && a.at == b.at && a.message == b.message);
    let source = |id: FileId| -> &SourceFile { model.files[id as usize].source() };
    let all = Attached::new(&findings, |_| true);
    let positions = &all.positions;
    let project_policies: Vec<_> = model
        .policies
        .iter()
        .filter(|p| matches!(p.resource, Some(PolicyResource::Project { .. })))
        .collect();
    let gsa_roles = gsa_project_roles(model, &project_policies);
    // WI workloads, and those that meant to be: the annotation misspelled
    // (KWI101) or on the workload instead of its KSA (KWI103). Only those
    // findings are looked up for the many workloads that are not WI pods.
    let misplaced = Attached::new(&findings, |f| &*f.rule == "KWI101" || &*f.rule == "KWI103");
    let any_misplaced = !misplaced.is_empty();
    let meant = |w: &crate::model::Workload| {
        if !any_misplaced {
            return false;
        }
        let o = &model.objects[w.object];
        let ksa = model.service_account_of(o, w.ksa);
        misplaced.of_object(model, &findings, o).next().is_some()
            || ksa.is_some_and(|k| misplaced.of_object(model, &findings, k).next().is_some())
    };
    // A chain per pod, in parallel (each reads its KSA, GSA, IAM members and
    // findings), in the workloads' order.
    let chain = |w: &crate::model::Workload| {
        let o = &model.objects[w.object];
        let ns = o.namespace;
        let ksa_obj = model.service_account_of(o, w.ksa);
        let gsa = ksa_obj
            .and_then(Model::wi_annotation)
            .and_then(|(_, v)| v.as_str())
            .map(str::to_string);
        let subject = model.subject_for(o, w.ksa);
        let covering: Vec<_> = model
            .wi_members_covering(&subject)
            .into_iter()
            .filter(|c| c.4 == wi::Coverage::Yes)
            .map(|(p, b, n, m, _)| (p, b, n, m))
            .collect();
        // Each finding breaks the first link (in chain order) it lies inside:
        // (finding, order found, link), the first kept per finding.
        let mut hits: Vec<(usize, usize, Link)> = Vec::new();
        let mut hit = |found: &mut dyn Iterator<Item = usize>, link: Link| {
            for i in found {
                hits.push((i, hits.len(), link));
            }
        };
        hit(&mut all.of_object(model, &findings, o), Link::Workload);
        if let Some(k) = ksa_obj {
            hit(&mut all.of_object(model, &findings, k), Link::Ksa);
        }
        if let Some(email) = gsa.as_deref() {
            // Findings inside the GSA's own IAM policy.
            hit(
                &mut model
                    .gsa_policies(email)
                    .flat_map(|p| positions.inside(source(p.file), p.node.span())),
                Link::Gsa,
            );
        }
        // A binding with a member for this KSA: that member, and the binding
        // outside its member list (role, condition), not other KSAs' members.
        for (p, b, member, _) in &covering {
            let file = source(p.file);
            hit(&mut positions.inside(file, member.span()), Link::Gsa);
            let (bs, be) = (b.node.span().start as usize, b.node.span().end as usize);
            match b.node.get("members") {
                Some(list) => {
                    let (ls, le) = (list.span().start as usize, list.span().end as usize);
                    hit(&mut positions.starting_in(file, bs..ls, be), Link::Gsa);
                    hit(&mut positions.starting_in(file, le..be + 1, be), Link::Gsa);
                }
                None => hit(&mut positions.inside(file, b.node.span()), Link::Gsa),
            }
        }
        // …except an IAM binding finding (KWI2xx, SPEC §3.2) that lies in
        // the GSA's policy too: it breaks the binding, wherever its primary
        // location is (KWI201 points at the KSA's annotation).
        let binding_rule =
            |i: usize, link: Link| link == Link::Gsa && findings[i].rule.starts_with(BINDING_RULES);
        hits.sort_unstable_by_key(|(i, order, link)| (*i, !binding_rule(*i, *link), *order));
        hits.dedup_by_key(|(i, _, _)| *i);
        let mut breaks: Vec<Break> = hits
            .into_iter()
            .filter(|(i, _, _)| !SCAN_WIDE.contains(&&*findings[*i].rule))
            .map(|(i, _, link)| brk(link, findings[i]))
            .collect();
        breaks.sort_by(|a, b| (a.link, &a.rule, &a.at).cmp(&(b.link, &b.rule, &b.at)));
        breaks.dedup_by(|a, b| a.link == b.link && a.rule == b.rule && a.at == b.at);
        let (binding_at, binding_note) = binding_status(model, gsa.as_deref(), &covering);
        // Roles on projects held by the GSA, then the roles granted to the
        // KSA's own principal directly (direct resource access: a project, a
        // bucket, any resource), beside the GSA chain.
        let mut roles: Vec<(String, String, String)> = match &gsa {
            Some(email) => gsa_roles
                .get(&email.to_ascii_lowercase())
                .cloned()
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let direct = direct_roles(model, &covering, gsa.is_some());
        let any_direct = !direct.is_empty();
        roles.extend(direct);
        let roles_note = if project_policies.is_empty() && !any_direct {
            Some("unknown: no project IAM policy in the scan".to_string())
        } else if roles.is_empty() {
            Some("none on the scanned projects".to_string())
        } else {
            None
        };
        // Names from scanned files, escaped once for every graph format.
        let roles = roles
            .into_iter()
            .map(|(r, on, at)| (escaped(r), escaped(on), at))
            .collect();
        let name = o.name.unwrap_or("?");
        Chain {
            workload: escaped([o.kind, " ", ns, "/", name].concat()),
            scope: (o.scope != crate::model::DEFAULT_SCOPE)
                .then(|| model.scopes[o.scope].name.clone()),
            workload_at: model.location_at(o.name_loc()),
            ksa: escaped([ns, "/", w.ksa].concat()),
            ksa_at: ksa_obj.map(|k| model.location_at(k.name_loc())),
            gsa: gsa.map(escaped),
            binding_at,
            binding_note,
            roles,
            roles_note,
            breaks,
        }
    };
    g.chains = model
        .workloads
        .par_iter()
        .filter(|w| model.is_wi_workload(w) || meant(w))
        .map(chain)
        .collect();
    g
}

/// A member that covers a chain's KSA: its policy, binding, node and parse.
type Covering<'m, 'a> = (
    &'m crate::model::Policy<'a>,
    &'m crate::model::Binding<'a>,
    Node<'a>,
    &'m wi::Member,
);

/// A name from a scanned file, escaped for every graph format; not copied
/// when it needs no escaping.
fn escaped(s: String) -> String {
    match crate::escape::text(&s) {
        std::borrow::Cow::Owned(e) => Some(e),
        std::borrow::Cow::Borrowed(_) => None,
    }
    .unwrap_or(s)
}

/// Roles each GSA (lowercased email) holds on the scanned projects, in policy order.
fn gsa_project_roles(
    model: &Model,
    project_policies: &[&crate::model::Policy],
) -> HashMap<String, Vec<(String, String, String)>> {
    let mut gsa_roles: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
    for p in project_policies {
        for b in p
            .bindings
            .iter()
            .filter(|b| b.role_str() != wi::WI_USER_ROLE)
        {
            for m in &b.members {
                let Some(email) = m.as_str().and_then(|r| r.strip_prefix("serviceAccount:")) else {
                    continue;
                };
                gsa_roles
                    .entry(email.to_ascii_lowercase())
                    .or_default()
                    .push(role_entry(model, p, b, *m));
            }
        }
    }
    gsa_roles
}

/// The IAM member that lets the KSA act as its GSA (on the GSA, or
/// project-wide), or why there is none.
fn binding_status(
    model: &Model,
    gsa: Option<&str>,
    covering: &[Covering],
) -> (Option<String>, Option<String>) {
    let wi_binding = |email: &str| {
        covering
            .iter()
            .filter(|(p, b, _, _)| {
                b.role_str() == wi::WI_USER_ROLE
                    && match &p.resource {
                        Some(PolicyResource::ServiceAccount(e)) => e == email,
                        Some(PolicyResource::Project { .. }) => true,
                        _ => false,
                    }
            })
            .map(|(p, _, m, _)| model.location(p.file, m.span()))
            .next()
    };
    match gsa {
        Some(email) => match wi_binding(email) {
            Some(a) => (Some(a), None),
            None if model.gsa_policies(email).next().is_none() => (
                None,
                Some(format!("unknown: no IAM policy dump of {email} (`gcloud iam service-accounts get-iam-policy {email} --format=json`)")),
            ),
            None => (None, Some("missing".to_string())),
        },
        None if !covering.is_empty() => (
            None,
            Some("none: no GSA annotation, IAM grants roles to the KSA directly".into()),
        ),
        None => (None, Some("none: the KSA has no GSA annotation".into())),
    }
}

/// Roles granted to the KSA's own principal (direct resource access: a
/// project, a bucket, any resource), beside the GSA chain.
fn direct_roles(
    model: &Model,
    covering: &[Covering],
    annotated: bool,
) -> Vec<(String, String, String)> {
    covering
        .iter()
        .filter(|(p, b, _, _)| {
            b.role_str() != wi::WI_USER_ROLE
                && !matches!(p.resource, Some(PolicyResource::ServiceAccount(_)))
        })
        .map(|(p, b, m, _)| {
            let (role, resource, at) = role_entry(model, p, b, *m);
            let resource = if resource.is_empty() {
                model.file_name(p.file).to_string()
            } else {
                resource
            };
            // An annotated KSA's pods get the GSA's tokens: grants to
            // the KSA's own principal are then not what they use.
            let resource = if annotated {
                format!("{resource} (direct, unused: the annotated KSA acts as its GSA)")
            } else {
                format!("{resource} (direct)")
            };
            (role, resource, at)
        })
        .collect()
}

/// (role, resource, location of the member) for a role row of a chain.
fn role_entry(
    model: &Model,
    p: &crate::model::Policy,
    b: &crate::model::Binding,
    m: Node<'_>,
) -> (String, String, String) {
    let resource = p
        .resource
        .as_ref()
        .map(PolicyResource::describe)
        .unwrap_or_default();
    (
        b.role_str().to_string(),
        resource,
        model.location(p.file, m.span()),
    )
}

fn mark(breaks: &[&Break]) -> &'static str {
    if breaks.iter().any(|b| b.severity == Severity::Error) {
        "✗"
    } else if breaks.is_empty() {
        "✓"
    } else {
        "!"
    }
}

fn rule_ids(breaks: &[&Break]) -> String {
    let mut ids: Vec<&str> = breaks.iter().map(|b| &*b.rule).collect();
    ids.sort();
    ids.dedup();
    ids.join(" ")
}

impl Chain {
    /// The workload with the kustomization that renders it, if any: an
    /// object in several overlays has a chain for each, all at the base's
    /// location, told apart by this name in the row and the details alike.
    fn scoped_name(&self) -> Option<String> {
        let scope = self.scope.as_ref()?;
        Some([self.workload.as_str(), " [", scope, "]"].concat())
    }
    fn on(&self, link: Link) -> Vec<&Break> {
        self.breaks.iter().filter(|b| b.link == link).collect()
    }
    fn roles_cell(&self) -> String {
        match &self.roles_note {
            Some(n) => n.split(':').next().unwrap_or(n).to_string(),
            None => {
                let mut r: Vec<&str> = self.roles.iter().map(|(r, _, _)| r.as_str()).collect();
                r.dedup();
                r.join(", ")
            }
        }
    }
    fn gsa_cell(&self) -> String {
        match (&self.gsa, &self.binding_note) {
            (Some(g), _) => g.clone(),
            (None, Some(n)) if n.contains("directly") => "(direct grants)".into(),
            (None, _) => "(no annotation)".into(),
        }
    }
    fn binding_cell(&self) -> String {
        match (&self.binding_at, &self.binding_note) {
            (Some(_), _) => "yes".into(),
            (None, Some(n)) => n.split(':').next().unwrap_or(n).to_string(),
            (None, None) => "?".into(),
        }
    }
}

/// A table: one row per WI workload, then the broken links with their findings.
/// Length of the longest folder prefix (ending in `/`) shared by all paths.
fn common_dir(paths: &[&str]) -> usize {
    let Some(first) = paths.first() else {
        return 0;
    };
    let mut len = first.len();
    for p in &paths[1..] {
        len = first
            .bytes()
            .zip(p.bytes())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count();
    }
    // Bytes, not str: the paths may diverge inside a multi-byte character.
    first.as_bytes()[..len]
        .iter()
        .rposition(|b| *b == b'/')
        .map_or(0, |i| i + 1)
}

/// The table, escaped for a terminal (see `write_table`).
pub fn table(g: &Graph) -> String {
    let mut all = String::new();
    let _ = write_table(g, |part| {
        all.push_str(part);
        Ok(())
    });
    all
}

/// Chains formatted at a time, in parallel, in parts of `PART_CHAINS`: the
/// table of 20,000 files is 7 MB, and the command prints it as it goes.
const WAVE_CHAINS: usize = 1024;
const PART_CHAINS: usize = 64;

/// The table, escaped as `escape::report` escapes (each part ends at a line
/// break, so escaping parts is escaping the whole), handed to `emit` a part
/// at a time in order; parts are formatted and escaped in parallel.
pub fn write_table(
    g: &Graph,
    mut emit: impl FnMut(&str) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if g.chains.is_empty() {
        return emit("no Workload Identity workloads in the scan\n");
    }
    let head = [
        "WORKLOAD",
        "KSA",
        "GSA",
        "WI BINDING",
        "PROJECT ROLES",
        "LINKS",
    ];
    // The same workload defined in several files (overlays, copies) gets its
    // location, so the rows can be told apart.
    let mut seen: crate::model::Map<&str, usize> = Default::default();
    for c in &g.chains {
        *seen.entry(c.workload.as_str()).or_default() += 1;
    }
    let repeated = |c: &Chain| seen.get(c.workload.as_str()).copied().unwrap_or(0) > 1;
    // …shown below the folder all those locations share.
    let locations: Vec<&str> = g
        .chains
        .iter()
        .filter(|c| repeated(c))
        .map(|c| c.workload_at.as_str())
        .collect();
    let shared = common_dir(&locations);
    let rows: Vec<[String; 6]> = g
        .chains
        .par_iter()
        .map(|c| {
            let workload = match (c.scoped_name(), repeated(c)) {
                (Some(name), _) => name,
                (None, true) => format!("{} ({})", c.workload, &c.workload_at[shared..]),
                (None, false) => c.workload.clone(),
            };
            let links = [Link::Workload, Link::Ksa, Link::Gsa]
                .iter()
                .map(|l| {
                    let b = c.on(*l);
                    let ids = rule_ids(&b);
                    if ids.is_empty() && *l != Link::Workload && c.gsa.is_none() {
                        "–".to_string()
                    } else if ids.is_empty() {
                        mark(&b).to_string()
                    } else {
                        format!("{} {ids}", mark(&b))
                    }
                })
                .collect::<Vec<_>>()
                .join(" | ");
            [
                workload,
                c.ksa.clone(),
                c.gsa_cell(),
                c.binding_cell(),
                c.roles_cell(),
                links,
            ]
        })
        .collect();
    // Column widths in characters, counted in parallel too.
    let widths: [usize; 6] = rows
        .par_iter()
        .map(|r| r.each_ref().map(|c| c.chars().count()))
        .reduce(
            || head.map(str::len),
            |a, b| std::array::from_fn(|i| a[i].max(b[i])),
        );
    let line = |s: &mut String, cells: &[String]| {
        let start = s.len();
        for (i, c) in cells.iter().enumerate() {
            if i == cells.len() - 1 {
                s.push_str(c);
            } else {
                let pad = widths[i] - c.chars().count();
                s.push_str(c);
                s.extend(std::iter::repeat_n(' ', pad + 2));
            }
        }
        let end = start + s[start..].trim_end().len();
        s.truncate(end);
        s.push('\n');
    };
    let mut first = String::new();
    line(&mut first, &head.map(str::to_string));
    emit(&crate::escape::report(&first))?;
    write_parts(&rows, |s, r| line(s, r), &mut emit)?;
    drop(rows);
    emit(
        "\nLINKS: workload → KSA | KSA → GSA | GSA IAM binding (✓ intact, ! at risk, ✗ broken, – none)\n",
    )?;
    write_parts(&g.chains, details, &mut emit)?;
    if !g.scan_wide.is_empty() {
        let mut s = String::from("\nBreaks every chain:\n");
        for b in &g.scan_wide {
            let _ = writeln!(
                s,
                "  {} {} {}  {}\n      {}",
                mark(&[b]),
                b.rule,
                b.name,
                b.at,
                b.message
            );
        }
        emit(&crate::escape::report(&s))?;
    }
    Ok(())
}

/// `one` line or lines per item, `PART_CHAINS` items to a part, formatted
/// and escaped in parallel `WAVE_CHAINS` items at a time, handed to `emit`
/// in order.
fn write_parts<T: Sync>(
    items: &[T],
    one: impl Fn(&mut String, &T) + Sync,
    emit: &mut impl FnMut(&str) -> std::io::Result<()>,
) -> std::io::Result<()> {
    for wave in items.chunks(WAVE_CHAINS) {
        let parts: Vec<String> = wave
            .par_chunks(PART_CHAINS)
            .map(|part| {
                let mut s = String::new();
                for item in part {
                    one(&mut s, item);
                }
                crate::escape::report_owned(s)
            })
            .collect();
        for p in &parts {
            emit(p)?;
        }
    }
    Ok(())
}

/// A chain's lines below the table: its links, roles and breaks. Pieces
/// are pushed, not formatted: the table of a big scan is megabytes of them.
fn details(s: &mut String, c: &Chain) {
    let mut line = |pieces: &[&str]| {
        for p in pieces {
            s.push_str(p);
        }
        s.push('\n');
    };
    let name = c.scoped_name();
    let name = name.as_deref().unwrap_or(&c.workload);
    line(&["\n", name, "  (", &c.workload_at, ")"]);
    let ksa_at = c.ksa_at.as_deref().unwrap_or("not in the scan");
    line(&["  KSA  ", &c.ksa, "  (", ksa_at, ")"]);
    line(&["  GSA  ", &c.gsa_cell()]);
    if let Some(a) = c.binding_at.as_ref().or(c.binding_note.as_ref()) {
        line(&["  WI binding  ", a]);
    }
    for (role, resource, a) in &c.roles {
        line(&["  role  ", role, " on ", resource, "  (", a, ")"]);
    }
    if let Some(n) = &c.roles_note {
        line(&["  roles  ", n]);
    }
    for b in &c.breaks {
        line(&[
            "  ",
            mark(&[b]),
            " ",
            b.link.padded_label(),
            " ",
            &b.rule,
            " ",
            &b.name,
            "  ",
            &b.at,
            "\n      ",
            &b.message,
        ]);
    }
}

/// Quotes and backslashes for DOT, after line breaks and controls are
/// escaped (a raw newline in a label is one the file chose).
fn dot_escape(s: &str) -> String {
    crate::escape::text(s)
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

/// Node ids shared by chains that share a KSA, GSA or role.
fn node_ids(g: &Graph) -> Vec<(String, String, &'static str)> {
    let mut nodes: Vec<(String, String, &'static str)> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut add = |key: String, label: String, class: &'static str| {
        if seen.insert(key.clone()) {
            nodes.push((key, label, class));
        }
    };
    for c in &g.chains {
        add(format!("w:{}", c.workload), c.workload.clone(), "workload");
        add(format!("k:{}", c.ksa), format!("KSA {}", c.ksa), "ksa");
        if let Some(e) = &c.gsa {
            add(format!("g:{e}"), format!("GSA {e}"), "gsa");
        }
        for (r, res, _) in &c.roles {
            add(format!("r:{r}@{res}"), format!("{r} on {res}"), "role");
        }
    }
    nodes
}

/// Edges: (from key, to key, broken rule ids, worst mark).
fn edges(g: &Graph) -> Vec<(String, String, String, &'static str)> {
    let mut out: Vec<(String, String, String, &'static str)> = Vec::new();
    let mut at: HashMap<(String, String), usize> = HashMap::new();
    let mut add = |from: String, to: String, b: Vec<&Break>| {
        if let Some(e) = at.get(&(from.clone(), to.clone())).map(|i| &mut out[*i]) {
            let mut ids: Vec<&str> = e.2.split(' ').filter(|x| !x.is_empty()).collect();
            ids.extend(b.iter().map(|x| &*x.rule));
            ids.sort();
            ids.dedup();
            e.2 = ids.join(" ");
            if mark(&b) == "✗" || (e.3 == "✓" && mark(&b) == "!") {
                e.3 = mark(&b);
            }
        } else {
            at.insert((from.clone(), to.clone()), out.len());
            out.push((from, to, rule_ids(&b), mark(&b)));
        }
    };
    for c in &g.chains {
        let w = format!("w:{}", c.workload);
        let k = format!("k:{}", c.ksa);
        add(w, k.clone(), c.on(Link::Workload));
        let target = match &c.gsa {
            Some(e) => format!("g:{e}"),
            None => k.clone(),
        };
        if c.gsa.is_some() {
            let mut b = c.on(Link::Ksa);
            b.extend(c.on(Link::Gsa));
            add(k, target.clone(), b);
        }
        for (r, res, _) in &c.roles {
            add(target.clone(), format!("r:{r}@{res}"), Vec::new());
        }
    }
    out
}

/// Nodes (label, class) and edges between node indexes (from, to, broken
/// rule ids, worst mark): what the DOT and Mermaid renderers draw.
type Drawing = (
    Vec<(String, &'static str)>,
    Vec<(usize, usize, String, &'static str)>,
);

fn drawing(g: &Graph) -> Drawing {
    let nodes = node_ids(g);
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, (k, _, _))| (k.as_str(), i))
        .collect();
    let id = |key: &str| index.get(key).copied().unwrap_or(0);
    let edges = edges(g)
        .into_iter()
        .map(|(from, to, ids, m)| (id(&from), id(&to), ids, m))
        .collect();
    let nodes = nodes
        .into_iter()
        .map(|(_, label, class)| (label, class))
        .collect();
    (nodes, edges)
}

pub fn dot(g: &Graph) -> String {
    let (nodes, edges) = drawing(g);
    let mut s = String::from(
        "digraph kwi_identity {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n",
    );
    for (i, (label, class)) in nodes.iter().enumerate() {
        let shape = match *class {
            "ksa" => "ellipse",
            "role" => "note",
            _ => "box",
        };
        let _ = writeln!(
            s,
            "  n{i} [label=\"{}\", shape={shape}];",
            dot_escape(label)
        );
    }
    for (from, to, ids, m) in edges {
        let style = match m {
            "✗" => format!(", color=red, style=dashed, label=\"✗ {ids}\""),
            "!" => format!(", color=orange, label=\"! {ids}\""),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "  n{from} -> n{to} [{}];",
            style.trim_start_matches(", ")
        );
    }
    if !g.scan_wide.is_empty() {
        let ids: Vec<&str> = g.scan_wide.iter().map(|b| &*b.rule).collect();
        let _ = writeln!(s, "  label=\"breaks every chain: {}\";", ids.join(" "));
    }
    s.push_str("}\n");
    s
}

fn mermaid_escape(s: &str) -> String {
    crate::escape::text(s).replace('"', "#quot;")
}

pub fn mermaid(g: &Graph) -> String {
    let (nodes, edges) = drawing(g);
    let mut s = String::from("flowchart LR\n");
    for (i, (label, class)) in nodes.iter().enumerate() {
        let shape = match *class {
            "ksa" => ("([", "])"),
            "role" => ("[/", "/]"),
            _ => ("[", "]"),
        };
        let _ = writeln!(
            s,
            "  n{i}{}\"{}\"{}",
            shape.0,
            mermaid_escape(label),
            shape.1
        );
    }
    let mut broken = Vec::new();
    for (i, (from, to, ids, m)) in edges.into_iter().enumerate() {
        if ids.is_empty() {
            let _ = writeln!(s, "  n{from} --> n{to}");
        } else {
            let _ = writeln!(s, "  n{from} -. \"{m} {ids}\" .-> n{to}");
            if m == "✗" {
                broken.push(i.to_string());
            }
        }
    }
    if !broken.is_empty() {
        let _ = writeln!(
            s,
            "  linkStyle {} stroke:#d00,stroke-width:2px",
            broken.join(",")
        );
    }
    if !g.scan_wide.is_empty() {
        let ids: Vec<&str> = g.scan_wide.iter().map(|b| &*b.rule).collect();
        let _ = writeln!(s, "  note[\"breaks every chain: {}\"]", ids.join(" "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_big_table_is_handed_on_in_parts_cut_at_line_breaks() {
        let chain = |i: usize| Chain {
            workload: format!("Deployment shop/web{i}"),
            scope: None,
            workload_at: format!("k8s/web{i}.yaml:4:9"),
            ksa: "shop/web".into(),
            ksa_at: Some("k8s/sa.yaml:4:9".into()),
            gsa: Some("web@p.iam.gserviceaccount.com".into()),
            binding_at: None,
            binding_note: Some("::not in the scan".into()),
            roles: vec![(
                "roles/storage.objectViewer".into(),
                "project p".into(),
                "iam.json:9:7".into(),
            )],
            roles_note: None,
            breaks: vec![Break {
                link: Link::Gsa,
                rule: "KWI201".into(),
                name: "gsa-binding-missing".into(),
                severity: Severity::Error,
                message: "::warning::x".into(),
                at: "iam.json:1:1".into(),
            }],
        };
        let g = Graph {
            chains: (0..2000).map(chain).collect(),
            scan_wide: Vec::new(),
        };
        let mut parts = Vec::new();
        write_table(&g, |p| {
            parts.push(p.to_string());
            Ok(())
        })
        .unwrap();
        assert!(parts.len() > 2, "{} parts", parts.len());
        assert!(parts.iter().all(|p| p.ends_with('\n')));
        let whole = parts.concat();
        assert_eq!(whole, table(&g));
        // In order, each chain once, escaped: a line may not start a GitHub
        // workflow command (each chain's break message would start one).
        let order: Vec<usize> = whole
            .split("\nDeployment shop/web")
            .skip(1)
            .filter_map(|rest| rest.split_once("  (")?.0.parse().ok())
            .collect();
        assert_eq!(order, (0..2000).collect::<Vec<_>>());
        assert_eq!(whole.matches("\n\\      ::warning::x\n").count(), 2000);
        assert!(!whole.contains("\n      ::warning::x"));
    }

    #[test]
    fn padded_labels_are_the_labels_in_sixteen_characters() {
        for l in [Link::Workload, Link::Ksa, Link::Gsa] {
            assert_eq!(l.padded_label(), format!("{:<16}", l.label()));
        }
    }

    #[test]
    fn common_dir_is_the_shared_folder() {
        assert_eq!(common_dir(&[]), 0);
        assert_eq!(common_dir(&["a/b/c.yaml:1:1"]), 4);
        assert_eq!(common_dir(&["x/a/one.yaml:1:1", "x/b/one.yaml:1:1"]), 2);
        assert_eq!(common_dir(&["x/ab.yaml:1:1", "x/ac.yaml:1:1"]), 2);
        assert_eq!(common_dir(&["a.yaml:1:1", "b.yaml:1:1"]), 0);
        // Diverging inside a multi-byte character must not split it.
        let (p, q) = ("d/é/a.yaml:1:1", "d/è/a.yaml:1:1");
        let n = common_dir(&[p, q]);
        assert_eq!((&p[n..], &q[n..]), ("é/a.yaml:1:1", "è/a.yaml:1:1"));
    }
}

/// A `file:line:column` location as the JSON output gives it.
#[derive(serde::Serialize)]
struct JsonAt<'a> {
    file: &'a str,
    line: u32,
    column: u32,
}

/// Splits `file:line:column` from the right (a file name may hold colons).
fn json_at(at: &str) -> JsonAt<'_> {
    let mut parts = at.rsplitn(3, ':');
    let column = parts.next().and_then(|c| c.parse().ok());
    let line = parts.next().and_then(|l| l.parse().ok());
    match (parts.next(), line, column) {
        (Some(file), Some(line), Some(column)) => JsonAt { file, line, column },
        _ => JsonAt {
            file: at,
            line: 0,
            column: 0,
        },
    }
}

#[derive(serde::Serialize)]
struct JsonBreak<'a> {
    link: &'static str,
    rule: &'a str,
    name: &'a str,
    severity: &'static str,
    message: &'a str,
    at: JsonAt<'a>,
}

#[derive(serde::Serialize)]
struct JsonRole<'a> {
    role: &'a str,
    resource: &'a str,
    at: JsonAt<'a>,
}

#[derive(serde::Serialize)]
struct JsonChain<'a> {
    workload: &'a str,
    scope: Option<&'a str>,
    workload_at: JsonAt<'a>,
    ksa: &'a str,
    ksa_at: Option<JsonAt<'a>>,
    gsa: Option<&'a str>,
    binding_at: Option<JsonAt<'a>>,
    binding_note: Option<&'a str>,
    roles: Vec<JsonRole<'a>>,
    roles_note: Option<&'a str>,
    /// Each link as the table marks it: "ok", "broken" (an error breaks
    /// it), "warning" (only warnings or infos) or "none" (no GSA to reach).
    links: BTreeMap<&'static str, &'static str>,
    breaks: Vec<JsonBreak<'a>>,
}

#[derive(serde::Serialize)]
struct JsonGraph<'a> {
    version: u32,
    chains: Vec<JsonChain<'a>>,
    scan_wide: Vec<JsonBreak<'a>>,
}

fn link_key(l: Link) -> &'static str {
    match l {
        Link::Workload => "workload",
        Link::Ksa => "ksa",
        Link::Gsa => "gsa",
    }
}

fn json_break(b: &Break) -> JsonBreak<'_> {
    JsonBreak {
        link: link_key(b.link),
        rule: &b.rule,
        name: &b.name,
        severity: b.severity.as_str(),
        message: &b.message,
        at: json_at(&b.at),
    }
}

/// `graph --format json` (version 1, schema in docs/kwi-lint-graph.schema.json).
pub fn json(g: &Graph) -> String {
    let chains = g
        .chains
        .iter()
        .map(|c| JsonChain {
            workload: &c.workload,
            scope: c.scope.as_deref(),
            workload_at: json_at(&c.workload_at),
            ksa: &c.ksa,
            ksa_at: c.ksa_at.as_deref().map(json_at),
            gsa: c.gsa.as_deref(),
            binding_at: c.binding_at.as_deref().map(json_at),
            binding_note: c.binding_note.as_deref(),
            roles: c
                .roles
                .iter()
                .map(|(role, resource, at)| JsonRole {
                    role,
                    resource,
                    at: json_at(at),
                })
                .collect(),
            roles_note: c.roles_note.as_deref(),
            links: [Link::Workload, Link::Ksa, Link::Gsa]
                .into_iter()
                .map(|l| {
                    let b = c.on(l);
                    let status = match mark(&b) {
                        _ if b.is_empty() && l != Link::Workload && c.gsa.is_none() => "none",
                        "✗" => "broken",
                        "!" => "warning",
                        _ => "ok",
                    };
                    (link_key(l), status)
                })
                .collect(),
            breaks: c.breaks.iter().map(json_break).collect(),
        })
        .collect();
    let out = JsonGraph {
        version: 1,
        chains,
        scan_wide: g.scan_wide.iter().map(json_break).collect(),
    };
    let mut s = serde_json::to_string_pretty(&out).unwrap_or_default();
    s.push('\n');
    s
}
