//! `explain-error`: recognises known Workload Identity, RBAC and IAM error
//! messages in a log, and says for each the likely causes, the rules that
//! check them and the dumps to collect. The catalogue is data:
//! data/error-messages.yaml.

use std::fmt::Write;
use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};

use crate::parse::Node;
use crate::rules::Rule;

const CATALOGUE: &str = include_str!("../data/error-messages.yaml");

/// One kind of error message.
#[derive(Debug)]
pub struct Known {
    pub id: String,
    pub title: String,
    pub patterns: Vec<Regex>,
    /// Must also appear somewhere in the log (e.g. `OOMKilled` only with gke-metadata-server).
    pub context: Option<Regex>,
    pub causes: Vec<String>,
    pub rules: Vec<String>,
    pub collect: Vec<String>,
    pub next: Option<String>,
}

fn regex(p: &str) -> Option<Regex> {
    RegexBuilder::new(p).case_insensitive(true).build().ok()
}

fn strings(n: Node<'_>, key: &str) -> Vec<String> {
    n.seq_at(key)
        .iter()
        .filter_map(Node::as_str)
        .map(str::to_string)
        .collect()
}

/// The catalogue, parsed once.
pub fn catalogue() -> &'static [Known] {
    static KNOWN: OnceLock<Vec<Known>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let (tree, _) = crate::parse::parse_yaml_str("<error catalogue>", CATALOGUE.to_string());
        tree.roots()
            .flat_map(|r| r.items())
            .filter_map(|e| {
                Some(Known {
                    id: e.get("id")?.as_str()?.to_string(),
                    title: e.get("title")?.as_str()?.to_string(),
                    patterns: strings(e, "match")
                        .iter()
                        .filter_map(|p| regex(p))
                        .collect(),
                    context: e.get("context").and_then(Node::as_str).and_then(regex),
                    causes: strings(e, "causes"),
                    rules: strings(e, "rules"),
                    collect: strings(e, "collect"),
                    next: e.get("next").and_then(Node::as_str).map(str::to_string),
                })
            })
            .collect()
    })
}

/// A log line made safe for a terminal: control characters escaped, long lines cut.
fn echo(line: &str) -> String {
    let line = line.trim();
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", crate::escape::text(&line[..cut])),
        None => crate::escape::text(line).into_owned(),
    }
}

/// Bytes of one log line that are matched; the rest of a longer line is skipped.
const MAX_LINE: usize = 64 * 1024;
/// Lines read after a `forbidden` message, which kubectl may wrap.
const FORBIDDEN_WINDOW: usize = 6;

/// Reads the next line of at most `MAX_LINE` bytes into `buf` (the rest of
/// a longer line is read and dropped): memory stays bounded on a 1 GB log
/// with no line break. Returns false at the end of the input.
fn next_line(r: &mut impl std::io::BufRead, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    buf.clear();
    let mut any = false;
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            return Ok(any);
        }
        any = true;
        let (take, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = MAX_LINE.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..take.min(room)]);
        r.consume(take);
        if done {
            return Ok(true);
        }
    }
}

/// One recognised kind of message: where it first appeared and how often.
struct Hit<'k> {
    known: &'k Known,
    first: usize,
    first_line: String,
    count: usize,
    /// The first line and the ones after it (a wrapped `forbidden` message).
    window: String,
}

/// Explains every known message in `log`. Returns the text and whether
/// anything was recognised.
pub fn explain(log: &str, rules: &[Rule]) -> (String, bool) {
    match explain_reader(log.as_bytes(), rules) {
        Ok(r) => r,
        Err(e) => (format!("cannot read the log: {e}\n"), false),
    }
}

/// `explain` over a stream, line by line with bounded memory; invalid
/// UTF-8 is read lossily.
pub fn explain_reader(
    log: impl std::io::BufRead,
    rules: &[Rule],
) -> std::io::Result<(String, bool)> {
    let hits = scan(log)?;
    Ok((text(&hits, rules), !hits.is_empty()))
}

/// `explain-error --format json` over a stream (version 1, schema in
/// docs/kwi-lint-explain-error.schema.json).
pub fn explain_json(log: impl std::io::BufRead, rules: &[Rule]) -> std::io::Result<(String, bool)> {
    let hits = scan(log)?;
    Ok((json(&hits, rules), !hits.is_empty()))
}

/// The known messages in a log, in the order they first appear.
fn scan(mut log: impl std::io::BufRead) -> std::io::Result<Vec<Hit<'static>>> {
    let cat = catalogue();
    let mut hits: Vec<Option<Hit>> = cat.iter().map(|_| None).collect();
    let mut context_seen = vec![false; cat.len()];
    let mut buf = Vec::new();
    let mut n = 0;
    while next_line(&mut log, &mut buf)? {
        let text = String::from_utf8_lossy(&buf);
        let line = text.trim_end_matches(['\n', '\r']);
        for (k, known) in cat.iter().enumerate() {
            if known.context.as_ref().is_some_and(|c| c.is_match(line)) {
                context_seen[k] = true;
            }
            if let Some(h) = hits[k].as_mut() {
                if n - h.first < FORBIDDEN_WINDOW && known.id == "forbidden" {
                    h.window.push('\n');
                    h.window.push_str(line);
                }
            }
            if known.patterns.iter().any(|p| p.is_match(line)) {
                match hits[k].as_mut() {
                    Some(h) => h.count += 1,
                    None => {
                        hits[k] = Some(Hit {
                            known,
                            first: n,
                            first_line: line.to_string(),
                            count: 1,
                            window: line.to_string(),
                        })
                    }
                }
            }
        }
        n += 1;
    }
    let mut hits: Vec<Hit> = hits
        .into_iter()
        .zip(&context_seen)
        .filter_map(|(h, seen)| h.filter(|h| h.known.context.is_none() || *seen))
        .collect();
    hits.sort_by_key(|h| h.first);
    Ok(hits)
}

/// What a `forbidden` message asked for: (user, request in words).
fn forbidden_request(hit: &Hit) -> Option<(String, String)> {
    if hit.known.id != "forbidden" {
        return None;
    }
    // The message may be wrapped: read it from the first line on.
    let f = crate::authz::message::parse(&hit.window)?;
    let req = crate::authz::request::describe(&f.verb, &f.target, &f.namespace);
    Some((f.user, req))
}

fn advice(hit: &Hit) -> Vec<String> {
    if hit.known.id == "direct-access-denied" {
        direct_access_advice(&hit.first_line)
    } else {
        Vec::new()
    }
}

fn text(hits: &[Hit], rules: &[Rule]) -> String {
    let mut out = String::new();
    if hits.is_empty() {
        out.push_str("kwi-lint recognises none of these messages. It knows:\n");
        for k in catalogue() {
            let _ = writeln!(out, "  {:<26} {}", k.id, k.title);
        }
        return out;
    }
    for (i, hit) in hits.iter().enumerate() {
        let known = hit.known;
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "[{}] {}", known.id, known.title);
        let _ = writeln!(out, "  line {}: {}", hit.first + 1, echo(&hit.first_line));
        if hit.count > 1 {
            let _ = writeln!(out, "  (and {} more lines)", hit.count - 1);
        }
        if let Some((user, req)) = forbidden_request(hit) {
            let _ = writeln!(out, "  request: `{}` may not {req}", echo(&user));
        }
        for l in advice(hit) {
            let _ = writeln!(out, "  {l}");
        }
        out.push_str("  likely causes:\n");
        for c in &known.causes {
            let _ = writeln!(out, "    - {c}");
        }
        if known.rules.is_empty() {
            out.push_str("  rules: none checks this offline\n");
        } else {
            out.push_str("  rules that check it:\n");
            for id in &known.rules {
                match rules.iter().find(|r| *r.id == **id) {
                    Some(r) => {
                        let _ = writeln!(out, "    {} {:<30} {}", r.id, r.name, r.summary);
                    }
                    None => {
                        let _ = writeln!(out, "    {id}");
                    }
                }
            }
        }
        if !known.collect.is_empty() {
            out.push_str("  collect these into one folder, then run `kwi-lint FOLDER`:\n");
            for c in &known.collect {
                let _ = writeln!(out, "    {c}");
            }
        }
        if let Some(n) = &known.next {
            let _ = writeln!(out, "  then: {n}");
        }
    }
    out
}

#[derive(serde::Serialize)]
struct JsonRule<'a> {
    id: &'a str,
    name: Option<&'a str>,
    summary: Option<&'a str>,
}

#[derive(serde::Serialize)]
struct JsonRequest {
    user: String,
    request: String,
}

#[derive(serde::Serialize)]
struct JsonMessage<'a> {
    id: &'a str,
    title: &'a str,
    /// 1-based line of the first occurrence, and that line (escaped, cut at 200 characters).
    line: usize,
    text: String,
    /// Lines with this message, the first included.
    count: usize,
    request: Option<JsonRequest>,
    advice: Vec<String>,
    causes: &'a [String],
    rules: Vec<JsonRule<'a>>,
    collect: &'a [String],
    next: Option<&'a str>,
}

#[derive(serde::Serialize)]
struct JsonKnown<'a> {
    id: &'a str,
    title: &'a str,
}

#[derive(serde::Serialize)]
struct JsonExplained<'a> {
    version: u32,
    messages: Vec<JsonMessage<'a>>,
    /// Every kind of message kwi-lint recognises.
    known: Vec<JsonKnown<'a>>,
}

fn json(hits: &[Hit], rules: &[Rule]) -> String {
    let messages = hits
        .iter()
        .map(|hit| {
            let known = hit.known;
            JsonMessage {
                id: &known.id,
                title: &known.title,
                line: hit.first + 1,
                text: echo(&hit.first_line),
                count: hit.count,
                request: forbidden_request(hit).map(|(user, request)| JsonRequest {
                    user: echo(&user),
                    request,
                }),
                advice: advice(hit),
                causes: &known.causes,
                rules: known
                    .rules
                    .iter()
                    .map(|id| {
                        let r = rules.iter().find(|r| *r.id == **id);
                        JsonRule {
                            id,
                            name: r.map(|r| &*r.name),
                            summary: r.map(|r| r.summary.as_str()),
                        }
                    })
                    .collect(),
                collect: &known.collect,
                next: known.next.as_deref(),
            }
        })
        .collect();
    let out = JsonExplained {
        version: 1,
        messages,
        known: catalogue()
            .iter()
            .map(|k| JsonKnown {
                id: &k.id,
                title: &k.title,
            })
            .collect(),
    };
    let mut s = serde_json::to_string_pretty(&out).unwrap_or_default();
    s.push('\n');
    s
}

/// Roles that grant common data permissions, for the binding to suggest.
const ROLE_FOR_PERMISSION: &[(&str, &str)] = &[
    ("storage.objects.get", "roles/storage.objectViewer"),
    ("storage.objects.list", "roles/storage.objectViewer"),
    ("storage.objects.create", "roles/storage.objectCreator"),
    ("storage.objects.delete", "roles/storage.objectUser"),
    ("storage.buckets.get", "roles/storage.legacyBucketReader"),
    (
        "secretmanager.versions.access",
        "roles/secretmanager.secretAccessor",
    ),
    ("pubsub.topics.publish", "roles/pubsub.publisher"),
    ("pubsub.subscriptions.consume", "roles/pubsub.subscriber"),
    ("bigquery.jobs.create", "roles/bigquery.jobUser"),
    ("bigquery.tables.getData", "roles/bigquery.dataViewer"),
    ("bigquery.tables.get", "roles/bigquery.dataViewer"),
    ("cloudsql.instances.connect", "roles/cloudsql.client"),
    ("spanner.databases.read", "roles/spanner.databaseReader"),
    ("datastore.entities.get", "roles/datastore.viewer"),
    ("logging.logEntries.create", "roles/logging.logWriter"),
    (
        "monitoring.timeSeries.create",
        "roles/monitoring.metricWriter",
    ),
    (
        "artifactregistry.repositories.downloadArtifacts",
        "roles/artifactregistry.reader",
    ),
];

/// For a 403 naming a `principal://` member: who was refused, the
/// permission, and the binding that grants it.
fn direct_access_advice(line: &str) -> Vec<String> {
    let Some(start) = line
        .find("principal://")
        .or_else(|| line.find("principalSet://"))
    else {
        return Vec::new();
    };
    let member: String = line[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | ',' | ')' | ']'))
        .collect();
    let member = member.trim_end_matches(['.', ':']).to_string();
    let mut out = vec![format!(
        "refused: `{}` ({})",
        echo(&member),
        crate::wi::parse_member(&member).describe()
    )];
    // `Permission 'storage.objects.get' denied`, `does not have storage.objects.get access`.
    static PERMISSION: OnceLock<Regex> = OnceLock::new();
    let re = PERMISSION.get_or_init(|| {
        regex(r"(?:permission '|does not have |permission\(s\)?:? ?\[?\x22?)([a-z][a-zA-Z0-9]*\.[a-zA-Z0-9]+\.[a-zA-Z0-9]+)")
            .expect("permission pattern")
    });
    let perm = re.captures(line).and_then(|c| c.get(1)).map(|m| m.as_str());
    if let Some(p) = perm {
        out.push(format!("missing permission: {p}"));
        let role = ROLE_FOR_PERMISSION
            .iter()
            .find(|(perm, _)| *perm == p)
            .map(|(_, r)| r.to_string());
        let role_arg = role.unwrap_or_else(|| "ROLE".into());
        out.push(
            "grant it on the resource (here on its project; a bucket, dataset or secret has its own add-iam-policy-binding):".into(),
        );
        out.push(format!(
            "  gcloud projects add-iam-policy-binding PROJECT_ID --role={role_arg} --member={member}"
        ));
        if role_arg == "ROLE" {
            out.push(format!(
                "  (ROLE: a predefined or custom role that includes {p})"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_complete_and_names_real_rules() {
        let rules = crate::rules::load(&[] as &[std::path::PathBuf]).unwrap();
        let cat = catalogue();
        assert_eq!(
            cat.len(),
            12,
            "every entry of data/error-messages.yaml parses"
        );
        for k in cat {
            assert!(!k.patterns.is_empty(), "{}: patterns compile", k.id);
            assert!(!k.causes.is_empty(), "{}", k.id);
            for r in &k.rules {
                assert!(
                    rules.iter().any(|x| *x.id == **r),
                    "{}: unknown rule {r}",
                    k.id
                );
            }
        }
    }

    #[test]
    fn oomkilled_needs_the_metadata_server_in_the_log() {
        let (out, found) = explain("Last State: Terminated\n  Reason: OOMKilled\n", &[]);
        assert!(!found, "{out}");
        let (out, found) = explain(
            "kubectl describe pod gke-metadata-server-8sm2l\n  Reason: OOMKilled\n",
            &[],
        );
        assert!(found);
        assert!(out.starts_with("[metadata-server-crash]"), "{out}");
    }

    #[test]
    fn control_characters_are_escaped() {
        let (out, _) = explain("\u{1b}]0;x\u{7}DeployPatch failed\n", &[]);
        assert!(!out.contains('\u{1b}'));
        assert!(out.contains("\\u{1b}"));
    }

    #[test]
    fn direct_access_403_names_the_member_and_the_binding() {
        let log = "google.api_core.exceptions.Forbidden: 403 GET https://storage.googleapis.com/storage/v1/b/reports/o: principal://iam.googleapis.com/projects/402915551236/locations/global/workloadIdentityPools/northwind-data.svc.id.goog/subject/ns/reports/sa/exporter does not have storage.objects.list access to the Google Cloud Storage bucket. Permission 'storage.objects.list' denied on resource (or it may not exist).\n";
        let (out, found) = explain(log, &[]);
        assert!(found);
        assert!(out.starts_with("[direct-access-denied]"), "{out}");
        assert!(out.contains("(KSA reports/exporter)"), "{out}");
        assert!(
            out.contains("missing permission: storage.objects.list"),
            "{out}"
        );
        assert!(
            out.contains("gcloud projects add-iam-policy-binding PROJECT_ID --role=roles/storage.objectViewer --member=principal://iam.googleapis.com/projects/402915551236/locations/global/workloadIdentityPools/northwind-data.svc.id.goog/subject/ns/reports/sa/exporter\n"),
            "{out}"
        );
    }
}
