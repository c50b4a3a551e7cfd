//! The generic single-object check: a path into an object (or its pod
//! template), an operator and a value. A finding is reported where the
//! predicate holds, so a rule describes the bad state.
//!
//! Path syntax: `spec.template.metadata.annotations[iam.gke.io/gcp-service-account]`,
//! `spec.containers[*].env[*].name` (`[*]` = every item of a list).

use regex::Regex;

use super::Ctx;
use crate::finding::Finding;
use crate::model::Model;
use crate::parse::Node;

#[derive(Clone, Debug, PartialEq)]
enum Seg {
    Key(String),
    Each,
}

#[derive(Clone, Debug)]
enum Op {
    Exists,
    Absent,
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Matches(Regex),
    NotMatches(Regex),
    IsTrue,
    IsFalse,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Objects,
    PodTemplates,
}

#[derive(Clone, Debug)]
pub struct Predicate {
    target: Target,
    kinds: Vec<String>,
    kinds_not: Vec<String>,
    wi_only: bool,
    path: Vec<Seg>,
    op: Op,
}

#[derive(Clone, Debug)]
pub struct PredicateCheck {
    any: Vec<Predicate>,
    message: String,
    help: Option<String>,
}

type ParseErr<'n> = (Option<Node<'n>>, String);

fn parse_path(p: &str) -> Result<Vec<Seg>, String> {
    let mut segs = Vec::new();
    let mut rest = p;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let close = r
                .find(']')
                .ok_or_else(|| format!("unclosed `[` in path `{p}`"))?;
            let inner = &r[..close];
            segs.push(if inner == "*" {
                Seg::Each
            } else {
                Seg::Key(inner.to_string())
            });
            rest = r[close + 1..].trim_start_matches('.');
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            if end == 0 {
                return Err(format!("empty segment in path `{p}`"));
            }
            segs.push(Seg::Key(rest[..end].to_string()));
            rest = rest[end..].strip_prefix('.').unwrap_or(&rest[end..]);
        }
    }
    if segs.is_empty() {
        return Err("empty path".into());
    }
    Ok(segs)
}

fn strings(n: Option<Node<'_>>) -> Vec<String> {
    match n {
        Some(n) if n.as_seq().is_some() => n
            .as_seq()
            .unwrap_or_default()
            .iter()
            .filter_map(Node::as_str)
            .map(str::to_string)
            .collect(),
        Some(n) => n.as_str().map(|s| vec![s.to_string()]).unwrap_or_default(),
        None => Vec::new(),
    }
}

impl Predicate {
    fn parse(n: Node<'_>) -> Result<Predicate, ParseErr<'_>> {
        const KEYS: &[&str] = &[
            "target",
            "kinds",
            "kinds_not",
            "wi_only",
            "path",
            "op",
            "value",
        ];
        for (k, _) in n
            .as_map()
            .ok_or((Some(n), "a predicate must be a mapping".to_string()))?
        {
            let key = k.as_str().unwrap_or("");
            if !KEYS.contains(&key) {
                return Err((
                    Some(k),
                    format!("unknown predicate key `{key}`; known: {}", KEYS.join(", ")),
                ));
            }
        }
        let target = match n.get("target").and_then(Node::as_str) {
            None | Some("objects") => Target::Objects,
            Some("pod-templates") => Target::PodTemplates,
            Some(t) => {
                return Err((
                    n.get("target"),
                    format!("unknown target `{t}`: objects or pod-templates"),
                ))
            }
        };
        let path_node = n
            .get("path")
            .ok_or((Some(n), "a predicate needs `path`".to_string()))?;
        let path =
            parse_path(path_node.as_str().unwrap_or("")).map_err(|e| (Some(path_node), e))?;
        let op_node = n
            .get("op")
            .ok_or((Some(n), "a predicate needs `op`".to_string()))?;
        let value = n.get("value");
        let need_value = |v: Option<Node<'_>>| -> Result<String, ParseErr<'_>> {
            v.and_then(Node::as_str).map(str::to_string).ok_or((
                Some(op_node),
                "this operator needs a string `value`".to_string(),
            ))
        };
        let regex = |v: Option<Node<'_>>| -> Result<Regex, ParseErr<'_>> {
            let s = need_value(v)?;
            Regex::new(&s).map_err(|e| (Some(op_node), format!("bad regular expression: {e}")))
        };
        let op = match op_node.as_str().unwrap_or("") {
            "exists" => Op::Exists,
            "absent" => Op::Absent,
            "equals" => Op::Equals(need_value(value)?),
            "not_equals" => Op::NotEquals(need_value(value)?),
            "in" => Op::In(strings(value)),
            "not_in" => Op::NotIn(strings(value)),
            "matches" => Op::Matches(regex(value)?),
            "not_matches" => Op::NotMatches(regex(value)?),
            "is_true" => Op::IsTrue,
            "is_false" => Op::IsFalse,
            o => {
                return Err((
                    Some(op_node),
                    format!("unknown operator `{o}`; known: exists, absent, equals, not_equals, in, not_in, matches, not_matches, is_true, is_false"),
                ))
            }
        };
        Ok(Predicate {
            target,
            kinds: strings(n.get("kinds")),
            kinds_not: strings(n.get("kinds_not")),
            wi_only: n.get("wi_only").and_then(Node::as_bool).unwrap_or(false),
            path,
            op,
        })
    }

    /// Nodes reached by the path: (key node, value node).
    fn reach<'n>(&self, root: Node<'n>) -> (Vec<(Option<Node<'n>>, Node<'n>)>, Node<'n>) {
        let mut deepest = root;
        // A path of keys reaches one node at most: walked without a vector
        // per step (asked of every object, most of which it does not reach).
        if self.path.iter().all(|s| matches!(s, Seg::Key(_))) {
            let mut at = (None, root);
            for seg in &self.path {
                let Seg::Key(k) = seg else { continue };
                let Some((kn, vn)) = at.1.entry(k) else {
                    return (Vec::new(), deepest);
                };
                at = (Some(kn), vn);
                deepest = vn;
            }
            return (vec![at], deepest);
        }
        let mut current: Vec<(Option<Node<'n>>, Node<'n>)> = vec![(None, root)];
        for seg in &self.path {
            let mut next = Vec::new();
            for (_, n) in &current {
                match seg {
                    Seg::Key(k) => {
                        if let Some((kn, vn)) = n.entry(k) {
                            next.push((Some(kn), vn));
                        }
                    }
                    Seg::Each => {
                        for item in n.items() {
                            next.push((None, item));
                        }
                    }
                }
            }
            if next.is_empty() {
                return (next, deepest);
            }
            deepest = next[0].1;
            current = next;
        }
        (current, deepest)
    }

    fn holds_on(&self, v: Node<'_>) -> bool {
        let s = v.as_str();
        match &self.op {
            Op::Exists | Op::Absent => true,
            Op::Equals(x) => s == Some(x.as_str()),
            Op::NotEquals(x) => s != Some(x.as_str()),
            Op::In(xs) => s.is_some_and(|s| xs.iter().any(|x| x == s)),
            Op::NotIn(xs) => !s.is_some_and(|s| xs.iter().any(|x| x == s)),
            Op::Matches(r) => s.is_some_and(|s| r.is_match(s)),
            Op::NotMatches(r) => !s.is_some_and(|s| r.is_match(s)),
            Op::IsTrue => v.as_bool() == Some(true),
            Op::IsFalse => v.as_bool() == Some(false),
        }
    }
}

impl PredicateCheck {
    pub fn parse(check: Node<'_>) -> Result<PredicateCheck, ParseErr<'_>> {
        for (k, _) in check.entries() {
            let key = k.as_str().unwrap_or("");
            if !["predicate", "any", "message", "help"].contains(&key) {
                return Err((Some(k), format!("unknown check key `{key}`; known: template, params, predicate, any, message, help")));
            }
        }
        let mut any = Vec::new();
        if let Some(p) = check.get("predicate") {
            any.push(Predicate::parse(p)?);
        }
        for p in check.seq_at("any") {
            any.push(Predicate::parse(p)?);
        }
        if any.is_empty() {
            return Err((
                Some(check),
                "a check needs `template`, `predicate` or `any`".into(),
            ));
        }
        let message = check
            .get("message")
            .and_then(Node::as_str)
            .ok_or((Some(check), "a predicate check needs `message`".to_string()))?
            .to_string();
        Ok(PredicateCheck {
            any,
            message,
            help: check.get("help").and_then(Node::as_str).map(str::to_string),
        })
    }

    pub fn run(&self, ctx: &Ctx) -> Vec<Finding> {
        let model = ctx.model;
        let mut out = Vec::new();
        for p in &self.any {
            let kind_ok = |k: &str| {
                (p.kinds.is_empty() || p.kinds.iter().any(|x| x == k))
                    && !p.kinds_not.iter().any(|x| x == k)
            };
            match p.target {
                Target::Objects => {
                    for o in ctx.objects().iter().filter(|o| kind_ok(o.kind)) {
                        self.apply(p, ctx, o.node, o, None, &mut out);
                    }
                }
                Target::PodTemplates => {
                    for w in ctx.workloads() {
                        let o = &model.objects[w.object];
                        if !kind_ok(o.kind) {
                            continue;
                        }
                        self.apply(p, ctx, w.template, o, Some(w), &mut out);
                    }
                }
            }
        }
        out
    }

    fn apply(
        &self,
        p: &Predicate,
        ctx: &Ctx,
        root: Node<'_>,
        o: &crate::model::Object,
        w: Option<&crate::model::Workload>,
        out: &mut Vec<Finding>,
    ) {
        let ksa = w.map(|w| w.ksa);
        let (reached, deepest) = p.reach(root);
        let hits: Vec<(Option<Node<'_>>, Node<'_>)> = match p.op {
            Op::Absent => {
                if reached.is_empty() {
                    vec![(None, deepest)]
                } else {
                    Vec::new()
                }
            }
            _ => reached
                .into_iter()
                .filter(|(_, v)| p.holds_on(*v))
                .collect(),
        };
        // The path is cheap to test, a pod's Workload Identity reason is not:
        // it is worked out only for the pods the path picks.
        if hits.is_empty() || p.wi_only && w.is_some_and(|w| !ctx.model.is_wi_workload(w)) {
            return;
        }
        let why = w
            .filter(|_| p.wi_only)
            .map(|w| crate::rules::templates::wi_why(ctx.model, w))
            .unwrap_or_default();
        for (key, value) in hits {
            let at = match p.op {
                Op::Exists => key.unwrap_or(value).loc(),
                Op::Absent if value == o.node => o.name_loc(),
                Op::Absent => key.unwrap_or(value).loc(),
                _ => value.loc(),
            };
            let at = if at.span.is_empty() { o.name_loc() } else { at };
            let gsa = ksa
                .and_then(|k| ctx.model.service_account_of(o, k))
                .and_then(Model::wi_annotation)
                .and_then(|(_, v)| v.as_str())
                .unwrap_or("");
            let fill = |t: &str| {
                t.replace("{object}", &o.display())
                    .replace("{kind}", o.kind)
                    .replace("{name}", o.name.unwrap_or("?"))
                    .replace("{namespace}", o.namespace)
                    .replace("{value}", value.as_str().unwrap_or(""))
                    .replace("{ksa}", ksa.unwrap_or(""))
                    .replace("{gsa}", gsa)
                    .replace("{why}", &why)
            };
            let mut f = Finding::at(&ctx.rule.id, at, fill(&self.message)).object(o.index);
            if let Some(h) = &self.help {
                f = f.help(fill(h));
            }
            if let Some(w) = w.filter(|_| p.wi_only) {
                f = crate::rules::templates::wi_related(f, ctx.model, w);
            }
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            parse_path("metadata.annotations[iam.gke.io/gcp-service-account]").unwrap(),
            vec![
                Seg::Key("metadata".into()),
                Seg::Key("annotations".into()),
                Seg::Key("iam.gke.io/gcp-service-account".into())
            ]
        );
        assert_eq!(
            parse_path("spec.containers[*].name").unwrap(),
            vec![
                Seg::Key("spec".into()),
                Seg::Key("containers".into()),
                Seg::Each,
                Seg::Key("name".into())
            ]
        );
        assert!(parse_path("a[b").is_err());
    }
}
