//! KWI8xx: the number of ServiceAccounts and the health of gke-metadata-server.

use super::{Ctx, Params};
use crate::finding::Finding;
use crate::parse::Node;

pub fn service_account_count(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let limit = ctx.config.max_service_accounts;
    // Cluster (None: no cluster dump) → ServiceAccounts that could run there, in file order.
    let mut scopes: Vec<(Option<usize>, Vec<usize>)> = Vec::new();
    for (i, o) in model
        .objects
        .iter()
        .enumerate()
        .filter(|(_, o)| o.kind == "ServiceAccount")
    {
        let clusters: Vec<Option<usize>> = match model.clusters_for(o) {
            [] => vec![None],
            cs => cs.iter().copied().map(Some).collect(),
        };
        for s in clusters {
            match scopes.iter_mut().find(|(k, _)| *k == s) {
                Some((_, v)) => v.push(i),
                None => scopes.push((s, vec![i])),
            }
        }
    }
    let mut out = Vec::new();
    for (scope, sas) in scopes {
        if sas.len() <= limit {
            continue;
        }
        let first_over = &model.objects[sas[limit]];
        let scope_name = scope
            .map(|c| format!("cluster `{}`", model.clusters[c].name))
            .unwrap_or_else(|| "the scanned manifests".into());
        let mut f = Finding::at(&ctx.rule.id, first_over.name_loc(),
            format!(
                "{} ServiceAccounts in {scope_name} (limit {limit}): the gke-metadata-server DaemonSet's memory grows with them and it gets OOM-killed",
                sas.len()
            ),
        ).object(first_over.index);
        if let Some(c) = scope {
            let c = &model.clusters[c];
            f = f.related_at(c.name_loc(), "the cluster");
        }
        out.push(f.help("delete unused ServiceAccounts, or split workloads across clusters; raise `thresholds.service_accounts_per_cluster` if you have measured the headroom"));
    }
    out
}

pub fn metadata_server_pods(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let model = ctx.model;
    let ksas = model
        .objects
        .iter()
        .filter(|o| o.kind == "ServiceAccount")
        .count();
    let mut out = Vec::new();
    for o in model
        .objects
        .iter()
        .filter(|o| o.kind == "Pod" && o.namespace == "kube-system")
    {
        if !o.name.is_some_and(|n| n.starts_with("gke-metadata-server")) {
            continue;
        }
        let statuses = o
            .node
            .path(&["status"])
            .map(|s| s.seq_at("containerStatuses"))
            .unwrap_or_default();
        let oom = statuses
            .iter()
            .filter_map(|c| {
                c.path(&["lastState", "terminated", "reason"])
                    .or_else(|| c.path(&["state", "terminated", "reason"]))
            })
            .find(|r| r.as_str() == Some("OOMKilled"));
        let crash = statuses
            .iter()
            .filter_map(|c| c.path(&["state", "waiting", "reason"]))
            .find(|r| r.as_str() == Some("CrashLoopBackOff"));
        let (node, what): (Node, &str) = match (oom, crash) {
            (Some(n), _) => (n, "was OOM-killed"),
            (None, Some(n)) => (n, "is in CrashLoopBackOff"),
            _ => continue,
        };
        out.push(
            Finding::at(&ctx.rule.id, node.loc(),
                format!(
                    "{} {what}: while it restarts, Workload Identity pods on that node get no tokens (the scan has {ksas} ServiceAccounts; memory grows with them)",
                    o.name.unwrap_or("gke-metadata-server")
                ),
            ).object(o.index)
            .help("check `kubectl -n kube-system logs POD --previous`; reduce the number of ServiceAccounts (KWI801) or contact support if the count is low"),
        );
    }
    out
}
