//! KWI1xx: the Kubernetes service account side of Workload Identity.

use super::{Ctx, Params};
use crate::finding::{Finding, Severity};
use crate::model::Model;
use crate::parse::Node;
use crate::wi::{self, EmailProblem};

/// Letters and digits, lowercased: `iam.gke.io/gcp-service-account` and
/// `IAM_GKE_IO_GCP_SERVICE_ACCOUNT` read the same.
fn normalised(k: &str) -> impl Iterator<Item = u8> + Clone + '_ {
    k.bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|b| b.to_ascii_lowercase())
}

/// Whether a key looks like a misspelling of `key`. Asked of every
/// annotation and label key of a run: nothing is allocated unless the edit
/// distance is needed, and the key's own length is counted once.
struct NearMiss<'k> {
    key: &'k str,
    /// `normalised(key).count()`.
    normalised_len: usize,
    max: usize,
}

impl<'k> NearMiss<'k> {
    fn new(key: &'k str, max: usize) -> Self {
        NearMiss {
            key,
            normalised_len: normalised(key).count(),
            max,
        }
    }

    fn matches(&self, k: &str) -> bool {
        let (key, max) = (self.key, self.max);
        if k == key {
            return false;
        }
        // Most keys are nowhere near: compare letters and digits counts first.
        if normalised(k).count().abs_diff(self.normalised_len) > max + 1 {
            return false;
        }
        let lower_is_key =
            k.len() == key.len() && k.bytes().map(|b| b.to_ascii_lowercase()).eq(key.bytes());
        lower_is_key
            || normalised(k).eq(normalised(key))
            || normalised(k).eq(normalised(key).chain(Some(b's')))
            || k.chars().count().abs_diff(key.chars().count()) <= max
                && wi::edit_distance_at_most(&k.to_ascii_lowercase(), key, max).is_some()
    }
}

/// The metadata node of each of the rule's objects and of each pod template
/// inside them, with the index of its object.
fn metadata_nodes<'a>(ctx: &Ctx<'_, 'a>) -> Vec<(usize, Node<'a>)> {
    let model = ctx.model;
    let mut out: Vec<(usize, Node<'a>)> = ctx
        .objects()
        .iter()
        .filter_map(|o| Some((o.index, o.metadata()?)))
        .collect();
    for w in ctx.workloads() {
        if model.objects[w.object].kind != "Pod" {
            if let Some(m) = w.template.get("metadata") {
                out.push((w.object, m));
            }
        }
    }
    out
}

/// The annotated ServiceAccounts of the rule's objects: (object, key, value).
fn wi_service_accounts<'m, 'a>(
    ctx: &Ctx<'m, 'a>,
) -> impl Iterator<Item = (&'m crate::model::Object<'a>, Node<'a>, Node<'a>)> {
    ctx.objects()
        .iter()
        .filter(|o| o.kind == "ServiceAccount")
        .filter_map(|o| Model::wi_annotation(o).map(|(k, v)| (o, k, v)))
}

pub fn annotation_near_miss(ctx: &Ctx, params: &Params) -> Vec<Finding> {
    let key = params.str("key").unwrap_or(wi::ANNOTATION);
    let max = params.number("max_distance").unwrap_or(2);
    let near = NearMiss::new(key, max);
    let mut out = Vec::new();
    for (object, meta) in metadata_nodes(ctx) {
        for (k, _) in meta.map_at("annotations") {
            let Some(ks) = k.as_str() else { continue };
            if near.matches(ks) {
                out.push(
                    Finding::at(
                        &ctx.rule.id,
                        k.loc(),
                        format!(
                            "annotation `{ks}` looks like a misspelling of `{key}`: GKE ignores it"
                        ),
                    )
                    .object(object)
                    .help(format!("rename the key to `{key}`")),
                );
            }
        }
        for (k, _) in meta.map_at("labels") {
            let Some(ks) = k.as_str() else { continue };
            if ks == key || near.matches(ks) {
                out.push(
                    Finding::at(
                        &ctx.rule.id,
                        k.loc(),
                        format!(
                            "`{ks}` is a label; GKE reads `{key}` only from metadata.annotations"
                        ),
                    )
                    .object(object)
                    .help(format!("move it under metadata.annotations as `{key}`")),
                );
            }
        }
    }
    out
}

pub fn gsa_email(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let mut out = Vec::new();
    for (o, key, value) in wi_service_accounts(ctx) {
        let Some(v) = value.as_str() else {
            out.push(
                Finding::at(&ctx.rule.id, key.loc(), "the annotation has no value").object(o.index)
                    .help("set it to the Google service account's email: NAME@PROJECT_ID.iam.gserviceaccount.com"),
            );
            continue;
        };
        if ctx.model.set_by_tool(value).is_some() {
            // kpt sets this value when the package is configured.
            continue;
        }
        let problem = if v.is_empty() {
            Some(EmailProblem::Invalid("it is empty".into()))
        } else {
            wi::check_gsa_email(v)
        };
        let Some(problem) = problem else { continue };
        let (msg, help, sev) = match problem {
            EmailProblem::Placeholder => (
                format!("`{v}` still contains a placeholder"),
                format!(
                    "replace the placeholder with {}, or let your overlay or templating step fill it in",
                    placeholder_part(v)
                ),
                Some(Severity::Warning),
            ),
            EmailProblem::Prefix => (
                format!("`{v}` has the IAM member prefix `serviceAccount:`; the annotation takes the bare email"),
                format!("use `{}`", v.trim_start_matches("serviceAccount:")),
                None,
            ),
            EmailProblem::Whitespace => (
                format!("`{v}` contains whitespace"),
                format!("use `{}`", v.split_whitespace().collect::<String>()),
                None,
            ),
            EmailProblem::UpperCase => (
                format!("`{v}` contains upper-case letters; GSA emails are lower case"),
                format!("use `{}`", v.to_ascii_lowercase()),
                None,
            ),
            EmailProblem::Invalid(why) => (
                format!("`{v}` is not a valid Google service account email: {why}"),
                "use NAME@PROJECT_ID.iam.gserviceaccount.com (`gcloud iam service-accounts list` shows the emails)".to_string(),
                None,
            ),
        };
        let mut f = Finding::at(&ctx.rule.id, value.loc(), msg)
            .object(o.index)
            .help(help);
        if let Some(s) = sev {
            f = f.severity(s);
        }
        out.push(f);
    }
    out
}

/// What a placeholder in a GSA email stands for: the project ID, the
/// account's name, or the whole email (`${gsa_email}`).
fn placeholder_part(v: &str) -> &'static str {
    let holds = |part: &str| wi::is_placeholder(part) || wi::has_placeholder_word(part);
    match v.split_once('@') {
        Some((name, domain)) if !holds(name) && holds(domain) => "the real project ID",
        Some((name, domain)) if holds(name) && !holds(domain) => "the GSA's real name",
        _ => "the GSA's real email (NAME@PROJECT_ID.iam.gserviceaccount.com)",
    }
}

pub fn pod_ksa_defined(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let mut out = Vec::new();
    for w in ctx.workloads() {
        let o = &model.objects[w.object];
        if w.ksa == "default"
            || !model.sa_namespaces.contains(o.namespace)
            || model.service_account(o.namespace, w.ksa).is_some()
        {
            continue;
        }
        let Some(node) = w.ksa_node else { continue };
        if wi::is_placeholder(w.ksa) {
            continue;
        }
        // The nearest defined name in that namespace, as a related span.
        let defined = model
            .by_kind_ns
            .get(&("ServiceAccount", o.namespace))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let nearest = wi::nearest(
            w.ksa,
            defined
                .iter()
                .filter_map(|i| Some((model.objects[*i].name?, (model.objects[*i].name?, *i)))),
        )
        .map(|(d, (name, i))| (d, name, i));
        let mut f = Finding::at(
            &ctx.rule.id,
            node.loc(),
            format!(
                "{} runs as service account `{}`, which no manifest defines in namespace `{}`",
                o.display(),
                w.ksa,
                o.namespace
            ),
        )
        .object(o.index);
        if let Some((d, name, i)) = nearest {
            let sa = &model.objects[i];
            f = f.related_at(
                sa.name_loc(),
                format!("namespace `{}` defines `{name}`", o.namespace),
            );
            if d <= 3 {
                f = f.help(format!(
                    "did you mean `{name}`? Otherwise add a ServiceAccount `{}` to namespace `{}`",
                    w.ksa, o.namespace
                ));
            }
        }
        if f.help.is_none() {
            f = f.help(format!(
                "add `apiVersion: v1, kind: ServiceAccount, metadata: {{name: {}, namespace: {}}}`",
                w.ksa, o.namespace
            ));
        }
        out.push(f);
    }
    out
}

pub fn default_identity(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let mut out = Vec::new();
    for (o, key, value) in wi_service_accounts(ctx) {
        let v = value.as_str().unwrap_or("");
        let (local, domain) = v.split_once('@').unwrap_or(("", ""));
        if domain == "developer.gserviceaccount.com" && local.ends_with("-compute") {
            out.push(
                Finding::at(&ctx.rule.id, value.loc(), format!("`{v}` is the Compute Engine default service account: it usually holds roles/editor on the whole project")).object(o.index)
                    .help("create a dedicated GSA with only the roles this workload needs: `gcloud iam service-accounts create NAME`"),
            );
        }
        if o.name == Some("default") {
            out.push(
                Finding::at(&ctx.rule.id, key.loc(), format!("the `default` service account of namespace `{}` is bound to a GSA: every pod in the namespace inherits `{v}`", o.namespace)).object(o.index)
                    .help("annotate a dedicated ServiceAccount instead and set `serviceAccountName` in the pods that need it"),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{placeholder_part, NearMiss};

    const KEY: &str = "iam.gke.io/gcp-service-account";

    #[test]
    fn near_misses_of_the_annotation() {
        for k in [
            "IAM.GKE.IO/GCP-SERVICE-ACCOUNT",
            "iam_gke_io/gcp_service_account",
            "iam.gke.io/gcp-service-accounts",
            "iam.gke.io/gcp-serviceaccount",
            "iam.gke.io/gcp-service-acount",
            "iam.gke.io/gpc-service-account",
        ] {
            assert!(NearMiss::new(KEY, 2).matches(k), "{k}");
        }
        for k in [
            KEY,
            "app.kubernetes.io/managed-by",
            "iam.gke.io/gcp-service",
            "iam.gke.io/gcp-sérvice-accoünt-x",
            "",
        ] {
            assert!(!NearMiss::new(KEY, 2).matches(k), "{k}");
        }
    }

    /// The help names what the placeholder stands for, not always the project.
    #[test]
    fn a_placeholder_is_named_by_the_part_it_holds() {
        for (v, part) in [
            (
                "app@PROJECT_ID.iam.gserviceaccount.com",
                "the real project ID",
            ),
            (
                "app@${project}.iam.gserviceaccount.com",
                "the real project ID",
            ),
            (
                "${name}@my-project.iam.gserviceaccount.com",
                "the GSA's real name",
            ),
            (
                "KUBEFLOW-NAME-user@my-project.iam.gserviceaccount.com",
                "the GSA's real name",
            ),
            ("${gsa_email}", "the GSA's real email"),
            ("<gsa>", "the GSA's real email"),
            (
                "${name}@${project}.iam.gserviceaccount.com",
                "the GSA's real email",
            ),
        ] {
            assert!(
                placeholder_part(v).starts_with(part),
                "{v}: {}",
                placeholder_part(v)
            );
        }
    }
}
