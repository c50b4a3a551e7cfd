//! `kwi-lint can-i`: would GKE allow SUBJECT to do VERB on RESOURCE?

use super::args::{AnswerFormat, AuthzArgs, ScanArgs};
use super::{fail, with_scan};
use crate::authz;

/// The request as given on the command line.
#[derive(clap::Args, Debug)]
pub struct Question {
    /// The requester: an email (Google account or service account) or `system:serviceaccount:NS:NAME`.
    #[arg(long = "as", value_name = "SUBJECT")]
    pub subject: String,
    /// get, list, watch, create, update, patch, delete, deletecollection, bind, escalate, impersonate…
    pub verb: String,
    /// `pods`, `deployments.apps`, `pods/exec` (subresource), `pods/NAME` (one object), or `/healthz` (a URL path).
    pub resource: String,
    /// Namespace of the request (default `default` for namespaced resources).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Ask about every namespace at once (the cluster scope).
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// A subresource such as `log` or `scale`.
    #[arg(long)]
    pub subresource: Option<String>,
}

pub fn run(q: Question, who: &AuthzArgs, scan: &ScanArgs) -> i32 {
    let Question {
        subject,
        verb,
        resource,
        namespace,
        all_namespaces,
        subresource,
    } = q;
    if let Some(p) = authz::Subject::parse(&subject).problem() {
        return fail(p);
    }
    if verb.trim().is_empty() || resource.trim().is_empty() {
        return fail("VERB and RESOURCE must not be empty (e.g. `kwi-lint can-i --as alice@example.com get pods -n shop`)");
    }
    with_scan(scan, |model, _| {
        let mut notes = Vec::new();
        let (target, namespaced) = authz::request::parse_resource(
            model,
            &resource,
            subresource.as_deref(),
            None,
            &mut notes,
        );
        let namespace = match (&target, namespaced, all_namespaces, namespace) {
            (authz::Target::Path(_), ..) | (_, false, ..) | (_, _, true, _) => String::new(),
            (_, true, false, Some(ns)) => ns,
            (_, true, false, None) => {
                notes.push(
                    "no --namespace given: asked about namespace `default`, as kubectl does".into(),
                );
                "default".into()
            }
        };
        let subject = authz::Subject::parse(&subject);
        let iam_permissions = authz::request::iam_permission(&verb, &target)
            .into_iter()
            .collect();
        let req = authz::Request {
            groups: groups(&subject, who),
            subject,
            verb,
            target,
            namespace,
            iam_permissions,
            notes,
        };
        answer(model, &req, who, None)
    })
}

pub(crate) fn groups(subject: &authz::Subject, who: &AuthzArgs) -> Vec<String> {
    let mut g = subject.implicit_groups();
    for x in &who.as_group {
        if !g.contains(x) {
            g.push(x.clone());
        }
    }
    g
}

/// Prints the answer; exit code 0 allowed, 1 denied (as `kubectl auth can-i`).
/// Prints the answer; `if_allowed` is a last note for an allowed answer.
pub(crate) fn answer(
    model: &crate::model::Model,
    req: &authz::Request,
    who: &AuthzArgs,
    if_allowed: Option<&str>,
) -> i32 {
    let mut a = authz::evaluate(model, req, who.project.as_deref());
    if let Some(note) = if_allowed.filter(|_| a.allowed) {
        a.notes.push(note.to_string());
    }
    let project = who.project.as_deref();
    let answer = match who.format {
        AnswerFormat::Text => crate::escape::report(&authz::render(model, req, &a, project)),
        AnswerFormat::Json => authz::json::render(model, req, &a, project),
    };
    if !super::print_out(&answer) {
        return 2;
    }
    if a.allowed {
        0
    } else {
        1
    }
}
