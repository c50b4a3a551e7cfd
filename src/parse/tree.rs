//! The span-carrying node tree shared by YAML and JSON input.
//!
//! Scalars keep their raw text and quoting style: typing is done here, the way
//! Kubernetes' YAML 1.1 decoder types them, not the way a YAML 1.2 crate would.

use crate::source::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

#[derive(Clone, Debug)]
pub enum Value {
    Scalar { text: String, style: Style },
    Map(Vec<(Node, Node)>),
    Seq(Vec<Node>),
}

#[derive(Clone, Debug)]
pub struct Node {
    pub span: Span,
    pub value: Value,
}

/// A key that appeared twice in one mapping (KWI002).
#[derive(Clone, Debug)]
pub struct DuplicateKey {
    pub key: String,
    pub first: Span,
    pub second: Span,
}

/// One YAML document (or one JSON value / NDJSON line).
#[derive(Debug)]
pub struct Document {
    pub root: Node,
    pub duplicates: Vec<DuplicateKey>,
}

impl Node {
    pub fn scalar(span: Span, text: String, style: Style) -> Node {
        Node {
            span,
            value: Value::Scalar { text, style },
        }
    }

    /// The scalar's text, whatever its type (numbers and booleans included).
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, style } => {
                if *style == Style::Plain && is_null_text(text) {
                    None
                } else {
                    Some(text)
                }
            }
            _ => None,
        }
    }

    /// A string as Kubernetes reads it: quoted, or plain and not a YAML 1.1 bool/number/null.
    pub fn as_string(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, style } => {
                if *style != Style::Plain {
                    return Some(text);
                }
                if is_null_text(text) || parse_bool_11(text).is_some() || looks_numeric(text) {
                    None
                } else {
                    Some(text)
                }
            }
            _ => None,
        }
    }

    /// A boolean as Kubernetes' YAML 1.1 decoder reads it (`yes`, `on`, `True`, …).
    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Scalar {
                text,
                style: Style::Plain,
            } => parse_bool_11(text),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, style: Style::Plain } if is_null_text(text))
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// Value of `key` in a mapping (the last one wins, as in Kubernetes).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// Key node and value node of `key` in a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.as_map()?
            .iter()
            .rev()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, v)| (k, v))
    }

    /// Follow a dotted path of mapping keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        let mut n = self;
        for k in keys {
            n = n.get(k)?;
        }
        Some(n)
    }

    /// String at a dotted path.
    pub fn str_at(&self, keys: &[&str]) -> Option<&str> {
        self.path(keys)?.as_str()
    }

    /// Items of a sequence at `key`, empty when absent or not a sequence.
    pub fn seq_at(&self, key: &str) -> &[Node] {
        self.get(key).and_then(Node::as_seq).unwrap_or(&[])
    }

    /// Entries of a mapping at `key`, empty when absent or not a mapping.
    pub fn map_at(&self, key: &str) -> &[(Node, Node)] {
        self.get(key).and_then(Node::as_map).unwrap_or(&[])
    }

    /// Number of nodes in this subtree (used for the alias budget).
    pub fn size(&self) -> usize {
        match &self.value {
            Value::Scalar { .. } => 1,
            Value::Map(m) => 1 + m.iter().map(|(k, v)| k.size() + v.size()).sum::<usize>(),
            Value::Seq(s) => 1 + s.iter().map(Node::size).sum::<usize>(),
        }
    }
}

pub fn is_null_text(t: &str) -> bool {
    matches!(t, "" | "~" | "null" | "Null" | "NULL")
}

/// YAML 1.1 booleans, as go-yaml v2 (used by Kubernetes) resolves them.
pub fn parse_bool_11(t: &str) -> Option<bool> {
    match t {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Some(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Some(false)
        }
        _ => None,
    }
}

fn looks_numeric(t: &str) -> bool {
    let t = t.strip_prefix(['-', '+']).unwrap_or(t);
    !t.is_empty()
        && (t
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'_' || b == b'.')
            && t.bytes().any(|b| b.is_ascii_digit())
            || t.starts_with("0x") && t.len() > 2 && t[2..].bytes().all(|b| b.is_ascii_hexdigit())
            || matches!(t, ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN"))
}

/// Records duplicate keys of a finished mapping and keeps the last value of
/// each, as Kubernetes' lenient decoder does.
pub fn dedupe_keys(entries: &mut Vec<(Node, Node)>, duplicates: &mut Vec<DuplicateKey>) {
    if entries.len() < 2 {
        return;
    }
    let mut dup_at: Vec<usize> = Vec::new();
    if entries.len() <= 16 {
        for j in 1..entries.len() {
            let Some(kj) = entries[j].0.as_str() else {
                continue;
            };
            if let Some(i) = (0..j).rev().find(|&i| entries[i].0.as_str() == Some(kj)) {
                duplicates.push(DuplicateKey {
                    key: kj.to_string(),
                    first: entries[i].0.span,
                    second: entries[j].0.span,
                });
                dup_at.push(i);
            }
        }
    } else {
        let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (j, (k, _)) in entries.iter().enumerate() {
            let Some(kj) = k.as_str() else { continue };
            if let Some(i) = seen.insert(kj, j) {
                duplicates.push(DuplicateKey {
                    key: kj.to_string(),
                    first: entries[i].0.span,
                    second: k.span,
                });
                dup_at.push(i);
            }
        }
    }
    if !dup_at.is_empty() {
        dup_at.sort_unstable();
        dup_at.dedup();
        for i in dup_at.into_iter().rev() {
            entries.remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(t: &str) -> Node {
        Node::scalar(Span::default(), t.to_string(), Style::Plain)
    }

    #[test]
    fn yaml_11_typing() {
        assert_eq!(plain("yes").as_bool(), Some(true));
        assert_eq!(plain("Off").as_bool(), Some(false));
        assert_eq!(plain("yes").as_string(), None);
        assert_eq!(plain("0777").as_string(), None);
        assert_eq!(plain("web").as_string(), Some("web"));
        let quoted = Node::scalar(Span::default(), "yes".into(), Style::DoubleQuoted);
        assert_eq!(quoted.as_bool(), None);
        assert_eq!(quoted.as_string(), Some("yes"));
        assert!(plain("~").is_null());
        assert_eq!(plain("123").as_str(), Some("123"));
    }
}
