//! `kwi-lint why-forbidden`: parse a Forbidden error, then answer as `can-i` does.

use super::args::{AuthzArgs, ScanArgs};
use super::can_i::{answer, groups};
use super::{fail, with_scan};
use crate::authz;

pub fn run(message: String, who: &AuthzArgs, scan: &ScanArgs) -> i32 {
    let text = if message == "-" {
        match crate::walk::read_stream(std::io::stdin(), 16 << 20) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => return fail(format!("cannot read stdin: {e}")),
        }
    } else {
        message
    };
    let Some(f) = authz::message::parse(&text) else {
        return fail("no Forbidden message found: expected text like `User \"NAME\" cannot VERB resource \"RESOURCE\" in API group \"GROUP\" in the namespace \"NS\"`");
    };
    if f.subject().problem().is_some() {
        return fail(format!(
            "the message names no valid user (`{}`): expected `User \"EMAIL\"` or `User \"system:serviceaccount:NAMESPACE:NAME\"`",
            f.subject().username()
        ));
    }
    with_scan(scan, |model, _| {
        let subject = f.subject();
        let mut notes = Vec::new();
        let derived = authz::request::iam_permission(&f.verb, &f.target);
        let iam_permissions = if f.permissions.is_empty() {
            derived.into_iter().collect()
        } else {
            if let Some(d) = derived.filter(|d| !f.permissions.contains(d)) {
                notes.push(format!(
                    "the message names {}, kwi-lint would have derived {d}",
                    f.permissions.join(", ")
                ));
            }
            f.permissions.clone()
        };
        let req = authz::Request {
            groups: groups(&subject, who),
            subject,
            verb: f.verb.clone(),
            target: f.target.clone(),
            namespace: f.namespace.clone(),
            iam_permissions,
            notes,
        };
        answer(model, &req, who, Some("the scan allows this request, yet the cluster refused it: the scanned files are not what the cluster runs (not applied yet, another cluster or project, or a Google group the requester is not in)"))
    })
}
