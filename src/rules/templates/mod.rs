//! Named relational templates: checks that join objects across files. Each
//! is a small function; rule files pick one and set its parameters.

mod cluster;
mod iam;
mod inputs;
mod ksa;
mod mesh;
pub(crate) mod network;
mod pod;
mod rbac;
mod scale;
mod suppressions;
mod types;

use super::{Ctx, Params};
use crate::finding::Finding;
use crate::parse::Node;
use crate::source::{Location, Span};

pub struct Template {
    pub name: &'static str,
    /// Runs after suppressions are applied (it reads which were unused).
    pub post: bool,
    /// Loops only over `ctx.objects()` and `ctx.workloads()` (looking
    /// anything else up in the model's indexes): run on a few objects at a
    /// time, together with the other such rules, so that each object's
    /// nodes are read from memory once rather than once per rule.
    pub per_object: bool,
    pub params: &'static [&'static str],
    pub run: fn(&Ctx, &Params) -> Vec<Finding>,
}

const TEMPLATES: &[Template] = &[
    Template {
        name: "file-problems",
        post: false,
        per_object: false,
        params: &[],
        run: inputs::file_problems,
    },
    Template {
        name: "duplicate-keys",
        post: false,
        per_object: false,
        params: &[],
        run: inputs::duplicate_keys,
    },
    Template {
        name: "kustomize-notes",
        post: false,
        per_object: false,
        params: &[],
        run: inputs::kustomize_notes,
    },
    Template {
        name: "clusters-unmapped",
        post: false,
        per_object: false,
        params: &[],
        run: inputs::clusters_unmapped,
    },
    Template {
        name: "policy-resource",
        post: false,
        per_object: false,
        params: &[],
        run: inputs::policy_resource,
    },
    Template {
        name: "annotation-near-miss",
        post: false,
        per_object: true,
        params: &["key", "max_distance"],
        run: ksa::annotation_near_miss,
    },
    Template {
        name: "gsa-email",
        post: false,
        per_object: true,
        params: &[],
        run: ksa::gsa_email,
    },
    Template {
        name: "pod-ksa-defined",
        post: false,
        per_object: true,
        params: &[],
        run: ksa::pod_ksa_defined,
    },
    Template {
        name: "default-identity",
        post: false,
        per_object: true,
        params: &[],
        run: ksa::default_identity,
    },
    Template {
        name: "wi-binding-missing",
        post: false,
        per_object: true,
        params: &[],
        run: iam::binding_missing,
    },
    Template {
        name: "wi-member-syntax",
        post: false,
        per_object: false,
        params: &[],
        run: iam::member_syntax,
    },
    Template {
        name: "wi-member-pool",
        post: false,
        per_object: false,
        params: &[],
        run: iam::member_pool,
    },
    Template {
        name: "wi-member-unannotated",
        post: false,
        per_object: false,
        params: &[],
        run: iam::member_unannotated,
    },
    Template {
        name: "wi-member-unmatched",
        post: false,
        per_object: false,
        params: &[],
        run: iam::member_unmatched,
    },
    Template {
        name: "role-on-project",
        post: false,
        per_object: false,
        params: &["roles"],
        run: iam::role_on_project,
    },
    Template {
        name: "cluster-wi-disabled",
        post: false,
        per_object: false,
        params: &[],
        run: cluster::wi_disabled,
    },
    Template {
        name: "cluster-pool-project",
        post: false,
        per_object: false,
        params: &[],
        run: cluster::pool_project,
    },
    Template {
        name: "node-pool-metadata-server",
        post: false,
        per_object: false,
        params: &[],
        run: cluster::node_pool_metadata,
    },
    Template {
        name: "zonal-cluster",
        post: false,
        per_object: false,
        params: &[],
        run: cluster::zonal,
    },
    Template {
        name: "service-enabled",
        post: false,
        per_object: false,
        params: &["service"],
        run: cluster::service_enabled,
    },
    Template {
        name: "gke-service-agent",
        post: false,
        per_object: false,
        params: &[],
        run: cluster::service_agent,
    },
    Template {
        name: "metadata-egress",
        post: false,
        per_object: true,
        params: &[],
        run: network::metadata_egress,
    },
    Template {
        name: "dns-egress",
        post: false,
        per_object: true,
        params: &[],
        run: network::dns_egress,
    },
    Template {
        name: "metadata-host-env",
        post: false,
        per_object: true,
        params: &[],
        run: pod::metadata_host,
    },
    Template {
        name: "pod-dns",
        post: false,
        per_object: true,
        params: &[],
        run: pod::pod_dns,
    },
    Template {
        name: "key-file-env",
        post: false,
        per_object: true,
        params: &[],
        run: pod::key_file,
    },
    Template {
        name: "init-waits-for-metadata",
        post: false,
        per_object: true,
        params: &["kinds"],
        run: pod::init_waits,
    },
    Template {
        name: "istio-capture",
        post: false,
        per_object: true,
        params: &[],
        run: mesh::capture,
    },
    Template {
        name: "istio-hold",
        post: false,
        per_object: true,
        params: &[],
        run: mesh::hold,
    },
    Template {
        name: "istio-annotations",
        post: false,
        per_object: true,
        params: &[],
        run: mesh::malformed,
    },
    Template {
        name: "service-account-count",
        post: false,
        per_object: false,
        params: &[],
        run: scale::service_account_count,
    },
    Template {
        name: "metadata-server-pods",
        post: false,
        per_object: false,
        params: &[],
        run: scale::metadata_server_pods,
    },
    Template {
        name: "role-ref",
        post: false,
        per_object: false,
        params: &[],
        run: rbac::role_ref,
    },
    Template {
        name: "rbac-subjects",
        post: false,
        per_object: true,
        params: &[],
        run: rbac::subjects,
    },
    Template {
        name: "string-fields",
        post: false,
        per_object: true,
        params: &[],
        run: types::string_fields,
    },
    Template {
        name: "suppression-reason",
        post: false,
        per_object: false,
        params: &[],
        run: suppressions::missing_reason,
    },
    Template {
        name: "suppression-rules",
        post: false,
        per_object: false,
        params: &[],
        run: suppressions::unknown_rules,
    },
    Template {
        name: "unused-suppressions",
        post: true,
        per_object: false,
        params: &[],
        run: suppressions::unused,
    },
];

pub fn lookup(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}

pub fn names() -> Vec<&'static str> {
    TEMPLATES.iter().map(|t| t.name).collect()
}

/// The first character of a node: for findings about a whole document, so
/// that the snippet does not reprint a 10,000-line dump.
pub fn head(node: Node<'_>) -> Location {
    let span = node.span();
    Location {
        file: node.file(),
        span: Span::new(
            span.start as usize,
            (span.start + 1).min(span.end.max(span.start + 1)) as usize,
        ),
    }
}

/// The key node of `key` in `node`, or the head of `node`.
pub fn key_loc(node: Node<'_>, key: &str) -> Location {
    node.entry(key)
        .map(|(k, _)| k.loc())
        .unwrap_or_else(|| head(node))
}

/// Why a workload counts as a Workload Identity pod, for messages
/// ("uses Workload Identity ({why})").
pub fn wi_why(model: &crate::model::Model, w: &crate::model::Workload) -> String {
    model
        .wi_reason(w)
        .map(|r| r.describe())
        .unwrap_or_else(|| "not a Workload Identity pod".into())
}

/// Adds, as a related span, what made the workload a Workload Identity pod
/// (the annotation, the IAM member, the env variable).
pub fn wi_related(f: Finding, model: &crate::model::Model, w: &crate::model::Workload) -> Finding {
    match model
        .wi_reason(w)
        .and_then(|r| r.location().map(|at| (at, r)))
    {
        // The annotation's words are the same for every pod it concerns: shared.
        Some((at, crate::model::WiReason::Annotated(_))) => {
            static ANNOTATED: std::sync::LazyLock<std::sync::Arc<str>> =
                std::sync::LazyLock::new(|| {
                    format!(
                        "this makes it a Workload Identity pod: {}",
                        crate::model::WiReason::Annotated(Location {
                            file: 0,
                            span: Default::default(),
                        })
                        .describe()
                    )
                    .into()
                });
            f.related_at(at, ANNOTATED.clone())
        }
        Some((at, r)) => f.related_at(
            at,
            format!("this makes it a Workload Identity pod: {}", r.describe()),
        ),
        None => f,
    }
}
