//! The editable tree kustomize transformations work on. Every node keeps the
//! location it came from (the base's node, or the patch's value when a patch
//! set it), so a finding on a rendered object points at the line to edit.

use std::rc::Rc;

use crate::parse::{Kind, Node, Style, Tag, Tree};
use crate::source::{FileId, Location, SourceFile};

#[derive(Clone, Debug)]
pub struct RNode {
    pub loc: Location,
    pub style: Style,
    pub tag: Tag,
    pub v: RVal,
}

#[derive(Clone, Debug)]
pub enum RVal {
    Scalar(Rc<str>),
    Map(Vec<(RNode, RNode)>),
    Seq(Vec<RNode>),
}

/// Deeper than this, a node is imported as an empty mapping (the parser's
/// own depth limit is lower; this only guards against alias cycles of size).
const MAX_IMPORT_NODES: usize = 1_000_000;

impl RNode {
    pub fn scalar(text: &str, loc: Location) -> RNode {
        RNode {
            loc,
            style: Style::DoubleQuoted,
            tag: Tag::None,
            v: RVal::Scalar(text.into()),
        }
    }

    pub fn map(loc: Location) -> RNode {
        RNode {
            loc,
            style: Style::Plain,
            tag: Tag::None,
            v: RVal::Map(Vec::new()),
        }
    }

    /// A copy of a parsed node (aliases expanded), within a node budget.
    pub fn import(n: Node<'_>) -> RNode {
        let mut budget = MAX_IMPORT_NODES;
        Self::import_within(n, &mut budget)
    }

    fn import_within(n: Node<'_>, budget: &mut usize) -> RNode {
        *budget = budget.saturating_sub(1);
        let v = match n.kind() {
            _ if *budget == 0 => RVal::Map(Vec::new()),
            Kind::Scalar => RVal::Scalar(n.text().unwrap_or("").into()),
            Kind::Map => RVal::Map(
                n.entries()
                    .map(|(k, v)| {
                        (
                            Self::import_within(k, budget),
                            Self::import_within(v, budget),
                        )
                    })
                    .collect(),
            ),
            Kind::Seq => RVal::Seq(n.items().map(|i| Self::import_within(i, budget)).collect()),
        };
        RNode {
            loc: n.loc(),
            style: n.style(),
            tag: n.tag(),
            v,
        }
    }

    pub fn text(&self) -> Option<&str> {
        match &self.v {
            RVal::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// A string value as Kubernetes reads it (not null, a number or a boolean).
    pub fn as_str(&self) -> Option<&str> {
        let t = self.text()?;
        match crate::parse::resolve::resolve(t, self.style, self.tag) {
            crate::parse::Scalar::Null => None,
            _ => Some(t),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.v, RVal::Scalar(t) if matches!(crate::parse::resolve::resolve(t, self.style, self.tag), crate::parse::Scalar::Null))
    }

    pub fn is_map(&self) -> bool {
        matches!(self.v, RVal::Map(_))
    }

    pub fn entries(&self) -> &[(RNode, RNode)] {
        match &self.v {
            RVal::Map(m) => m,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[RNode] {
        match &self.v {
            RVal::Seq(s) => s,
            _ => &[],
        }
    }

    pub fn items_mut(&mut self) -> &mut [RNode] {
        match &mut self.v {
            RVal::Seq(s) => s,
            _ => &mut [],
        }
    }

    pub fn get(&self, key: &str) -> Option<&RNode> {
        self.entries()
            .iter()
            .rev()
            .find(|(k, _)| k.text() == Some(key))
            .map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut RNode> {
        match &mut self.v {
            RVal::Map(m) => m
                .iter_mut()
                .rev()
                .find(|(k, _)| k.text() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn path(&self, keys: &[&str]) -> Option<&RNode> {
        let mut n = self;
        for k in keys {
            n = n.get(k)?;
        }
        Some(n)
    }

    pub fn str_at(&self, keys: &[&str]) -> Option<&str> {
        self.path(keys)?.as_str()
    }

    /// Sets `key` (the key node takes `loc`); a non-map becomes a map.
    pub fn set(&mut self, key: &str, value: RNode) {
        if !self.is_map() {
            self.v = RVal::Map(Vec::new());
        }
        if let Some(v) = self.get_mut(key) {
            *v = value;
            return;
        }
        if let RVal::Map(m) = &mut self.v {
            m.push((RNode::scalar(key, value.loc), value));
        }
    }

    pub fn remove(&mut self, key: &str) {
        if let RVal::Map(m) = &mut self.v {
            m.retain(|(k, _)| k.text() != Some(key));
        }
    }

    /// The mapping at `keys`, created (at `loc`) where missing.
    pub fn ensure_map(&mut self, keys: &[&str], loc: Location) -> &mut RNode {
        let mut n = self;
        for k in keys {
            if !n.get(k).is_some_and(RNode::is_map) {
                n.set(k, RNode::map(loc));
            }
            n = n.get_mut(k).expect("just set");
        }
        n
    }

    /// Writes this object into `tree` as a new document root.
    pub fn add_to(&self, tree: &mut Tree) {
        let root = self.write(tree);
        tree.push_document(root, Vec::new());
    }

    fn write(&self, tree: &mut Tree) -> crate::parse::NodeId {
        let id = match &self.v {
            RVal::Scalar(s) => tree.add_scalar(self.loc.span, self.style, self.tag, Some(s)),
            RVal::Map(m) => {
                let kids: Vec<_> = m
                    .iter()
                    .flat_map(|(k, v)| [k.write(tree), v.write(tree)])
                    .collect();
                tree.add_collection(Kind::Map, self.loc.span, self.tag, &kids)
            }
            RVal::Seq(s) => {
                let kids: Vec<_> = s.iter().map(|i| i.write(tree)).collect();
                tree.add_collection(Kind::Seq, self.loc.span, self.tag, &kids)
            }
        };
        tree.set_origin(id, self.loc.file);
        id
    }
}

/// A tree for rendered objects: no text of its own, every node an owned
/// string with the location of its origin.
pub fn rendered_tree(file: FileId) -> Tree {
    Tree::new(file, SourceFile::new("", String::new()))
}

/// The merge key of a list in a built-in Kubernetes type, by field name (and
/// the parent's field for `ports`), as the OpenAPI `x-kubernetes-patch-merge-key`
/// says; `None`: the list is replaced.
fn merge_key(field: &str, parent: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "imagePullSecrets"
        | "env" => "name",
        "volumeMounts" => "mountPath",
        "hostAliases" => "ip",
        "ports" if parent == "spec" => "port",
        "ports" => "containerPort",
        _ => return None,
    })
}

fn directive(n: &RNode) -> Option<&str> {
    n.get("$patch").and_then(RNode::text)
}

/// Strategic merge of `patch` into `target` (kyaml's merge2 for the fields
/// rules read): mappings merge, `null` deletes, `$patch: replace|delete`,
/// lists with a merge key merge by it (patch elements first), other lists
/// are replaced. `builtin` is false for custom resources, whose lists are
/// always replaced.
pub fn strategic_merge(target: &mut RNode, patch: &RNode, builtin: bool) {
    merge_at(target, patch, builtin, "", "")
}

fn merge_at(target: &mut RNode, patch: &RNode, builtin: bool, field: &str, parent: &str) {
    match (&mut target.v, &patch.v) {
        (RVal::Map(_), RVal::Map(_)) => {
            if directive(patch) == Some("replace") {
                let mut p = patch.clone();
                p.remove("$patch");
                *target = p;
                return;
            }
            for (k, v) in patch.entries() {
                let Some(key) = k.text() else { continue };
                if key.starts_with('$') {
                    continue;
                }
                if v.is_null() {
                    target.remove(key);
                    continue;
                }
                match target.get_mut(key) {
                    Some(t) => merge_at(t, v, builtin, key, field),
                    None => {
                        let mut v = v.clone();
                        strip_directives(&mut v);
                        target.set(key, v);
                        // The key written by the patch is the patch's key.
                        if let RVal::Map(m) = &mut target.v {
                            if let Some(last) = m.last_mut() {
                                last.0.loc = k.loc;
                            }
                        }
                    }
                }
            }
        }
        (RVal::Seq(items), RVal::Seq(pitems)) => {
            let key = if builtin {
                merge_key(field, parent)
            } else {
                None
            };
            if pitems
                .first()
                .is_some_and(|p| directive(p) == Some("replace"))
            {
                *items = pitems[1..].to_vec();
                return;
            }
            let Some(key) = key else {
                *target = patch.clone();
                return;
            };
            let mut originals = std::mem::take(items);
            let mut merged = Vec::new();
            for p in pitems {
                let id = p.get(key).and_then(RNode::text);
                let found = id.and_then(|id| {
                    originals
                        .iter()
                        .position(|o| o.get(key).and_then(RNode::text) == Some(id))
                });
                if directive(p) == Some("delete") {
                    if let Some(i) = found {
                        originals.remove(i);
                    }
                    continue;
                }
                match found {
                    Some(i) => {
                        let mut o = originals.remove(i);
                        merge_at(&mut o, p, builtin, "", field);
                        merged.push(o);
                    }
                    None => merged.push(p.clone()),
                }
            }
            merged.extend(originals);
            *items = merged;
        }
        _ => {
            let mut p = patch.clone();
            strip_directives(&mut p);
            *target = p;
        }
    }
}

fn strip_directives(n: &mut RNode) {
    match &mut n.v {
        RVal::Map(m) => {
            m.retain(|(k, _)| !k.text().is_some_and(|t| t.starts_with('$')));
            for (_, v) in m {
                strip_directives(v);
            }
        }
        RVal::Seq(s) => {
            s.retain(|i| directive(i) != Some("delete"));
            for i in s {
                strip_directives(i);
            }
        }
        RVal::Scalar(_) => {}
    }
}

/// One JSON 6902 operation on `doc`. Returns why it could not be applied.
pub fn json_patch_op(doc: &mut RNode, op: &RNode) -> Result<(), String> {
    let kind = op.str_at(&["op"]).unwrap_or("");
    let path = pointer(op.str_at(&["path"]).ok_or("no `path`")?)?;
    match kind {
        "add" | "replace" => {
            let value = op.get("value").ok_or("no `value`")?.clone();
            put(doc, &path, value, kind == "add")
        }
        "remove" => take(doc, &path).map(|_| ()),
        "move" | "copy" => {
            let from = pointer(op.str_at(&["from"]).ok_or("no `from`")?)?;
            let value = if kind == "move" {
                take(doc, &from)?
            } else {
                at(doc, &from).ok_or("`from` not found")?.clone()
            };
            put(doc, &path, value, true)
        }
        "test" => Ok(()),
        other => Err(format!("unknown op `{other}`")),
    }
}

/// A JSON pointer (`/spec/template/0`, `~1` is `/`, `~0` is `~`).
fn pointer(p: &str) -> Result<Vec<String>, String> {
    if p.is_empty() {
        return Ok(Vec::new());
    }
    let rest = p
        .strip_prefix('/')
        .ok_or_else(|| format!("`{p}` is not a JSON pointer"))?;
    Ok(rest
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn at<'n>(mut n: &'n RNode, path: &[String]) -> Option<&'n RNode> {
    for seg in path {
        n = match &n.v {
            RVal::Map(_) => n.get(seg)?,
            RVal::Seq(s) => s.get(seg.parse::<usize>().ok()?)?,
            RVal::Scalar(_) => return None,
        };
    }
    Some(n)
}

fn at_mut<'n>(n: &'n mut RNode, path: &[String]) -> Option<&'n mut RNode> {
    let Some((seg, rest)) = path.split_first() else {
        return Some(n);
    };
    let next = match &mut n.v {
        RVal::Map(m) => m
            .iter_mut()
            .rev()
            .find(|(k, _)| k.text() == Some(seg.as_str()))
            .map(|(_, v)| v)?,
        RVal::Seq(s) => s.get_mut(seg.parse::<usize>().ok()?)?,
        RVal::Scalar(_) => return None,
    };
    at_mut(next, rest)
}

fn put(doc: &mut RNode, path: &[String], value: RNode, add: bool) -> Result<(), String> {
    let Some((last, parent)) = path.split_last() else {
        *doc = value;
        return Ok(());
    };
    if add {
        // kustomize applies JSON patches with EnsurePathExistsOnAdd: missing
        // parent mappings are created.
        let keys: Vec<&str> = parent.iter().map(String::as_str).collect();
        if at(doc, parent).is_none() && keys.iter().all(|k| k.parse::<usize>().is_err()) {
            doc.ensure_map(&keys, value.loc);
        }
    }
    let target = at_mut(doc, parent).ok_or("path not found")?;
    match &mut target.v {
        // kustomize's `replace` of a key its mapping lacks adds the key
        // (kubectl kustomize v5.5); only a missing parent or index fails.
        RVal::Map(_) => target.set(last, value),
        RVal::Seq(s) => {
            let i = if last == "-" {
                s.len()
            } else {
                last.parse::<usize>()
                    .map_err(|_| format!("`{last}` is not an index"))?
            };
            if add && i <= s.len() {
                s.insert(i, value);
            } else if !add && i < s.len() {
                s[i] = value;
            } else {
                return Err(format!("index {i} out of range"));
            }
        }
        RVal::Scalar(_) => return Err("path goes through a scalar".into()),
    }
    Ok(())
}

fn take(doc: &mut RNode, path: &[String]) -> Result<RNode, String> {
    let (last, parent) = path.split_last().ok_or("cannot remove the whole object")?;
    let target = at_mut(doc, parent).ok_or("path not found")?;
    match &mut target.v {
        RVal::Map(m) => {
            let i = m
                .iter()
                .position(|(k, _)| k.text() == Some(last.as_str()))
                .ok_or_else(|| format!("`{last}` not found"))?;
            Ok(m.remove(i).1)
        }
        RVal::Seq(s) => {
            let i = last
                .parse::<usize>()
                .map_err(|_| format!("`{last}` is not an index"))?;
            if i < s.len() {
                Ok(s.remove(i))
            } else {
                Err(format!("index {i} out of range"))
            }
        }
        RVal::Scalar(_) => Err("path goes through a scalar".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> RNode {
        let (t, e) = crate::parse::parse_yaml_str("t.yaml", text.to_string());
        assert!(e.is_none(), "{e:?}");
        let root = t.roots().next().unwrap();
        RNode::import(root)
    }

    fn containers(n: &RNode) -> Vec<String> {
        n.path(&["spec", "containers"])
            .unwrap()
            .items()
            .iter()
            .map(|c| c.str_at(&["name"]).unwrap().to_string())
            .collect()
    }

    #[test]
    fn strategic_merge_by_name_and_null_deletes() {
        let mut base = r("spec:\n  containers:\n  - {name: app, image: a, env: [{name: X, value: '1'}]}\n  - {name: side, image: s}\n  nodeSelector: {a: b}\nmetadata: {labels: {x: y, z: w}}\n");
        let patch = r("spec:\n  containers:\n  - {name: app, env: [{name: Y, value: '2'}]}\n  - {name: new, image: n}\n  nodeSelector:\n    $patch: replace\n    c: d\nmetadata: {labels: {z: null}}\n");
        strategic_merge(&mut base, &patch, true);
        assert_eq!(containers(&base), ["app", "new", "side"]);
        let app = &base.path(&["spec", "containers"]).unwrap().items()[0];
        assert_eq!(app.str_at(&["image"]), Some("a"));
        assert_eq!(app.get("env").unwrap().items().len(), 2);
        assert_eq!(
            base.path(&["spec", "nodeSelector"])
                .unwrap()
                .entries()
                .len(),
            1
        );
        assert!(base.path(&["metadata", "labels", "z"]).is_none());
    }

    #[test]
    fn custom_resource_lists_are_replaced() {
        let mut base = r("spec:\n  containers: [{name: a}, {name: b}]\n");
        strategic_merge(&mut base, &r("spec:\n  containers: [{name: c}]\n"), false);
        assert_eq!(containers(&base), ["c"]);
    }

    #[test]
    fn json_6902_ops() {
        let mut base = r("spec:\n  template:\n    spec:\n      serviceAccountName: a\n      containers: [{name: x}]\n");
        for op in [
            "{op: replace, path: /spec/template/spec/serviceAccountName, value: b}",
            "{op: add, path: /spec/template/spec/containers/-, value: {name: y}}",
            "{op: add, path: /metadata, value: {annotations: {'a/b': c}}}",
            "{op: remove, path: /spec/template/spec/containers/0}",
        ] {
            json_patch_op(&mut base, &r(op)).unwrap();
        }
        assert_eq!(
            base.str_at(&["spec", "template", "spec", "serviceAccountName"]),
            Some("b")
        );
        assert_eq!(base.str_at(&["metadata", "annotations", "a/b"]), Some("c"));
        let cs = base
            .path(&["spec", "template", "spec", "containers"])
            .unwrap();
        assert_eq!(cs.items().len(), 1);
        assert!(json_patch_op(&mut base, &r("{op: replace, path: /nope/x, value: 1}")).is_err());
        // kustomize's `replace` adds a key its mapping lacks; a missing
        // parent or index still fails (kubectl kustomize v5.5).
        json_patch_op(
            &mut base,
            &r("{op: replace, path: /spec/replicas, value: 2}"),
        )
        .unwrap();
        assert_eq!(base.str_at(&["spec", "replicas"]), Some("2"));
        let past_end = "{op: replace, path: /spec/template/spec/containers/1, value: {name: z}}";
        assert!(json_patch_op(&mut base, &r(past_end)).is_err());
    }
}
