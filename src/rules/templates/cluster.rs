//! KWI3xx: the cluster, its node pools and the project.

use super::{head, key_loc, Ctx, Params};
use crate::finding::{Finding, Severity};
use crate::model::{Cluster, Model, PolicyResource, Workload};
use crate::parse::Node;
use crate::wi;

fn location_flag(c: &Cluster) -> String {
    c.location
        .map(|l| format!(" --location={l}"))
        .unwrap_or_default()
}

/// ServiceAccounts that use Workload Identity: a cluster without it is a
/// choice unless its workloads need it (those known to run on it, SPEC §2.3:
/// mapped in the config or by a deployer, or all when the scan holds one).
fn wi_service_accounts<'m, 'a>(ctx: &'m Ctx<'m, 'a>) -> Vec<&'m crate::model::Object<'a>> {
    let m = ctx.model;
    // Annotated, or named by a WI member (direct resource access needs no annotation).
    let named = |o: &crate::model::Object| {
        !m.members_naming(o.namespace, o.name.unwrap_or(""))
            .is_empty()
            || !m.members_naming(o.namespace, "").is_empty()
    };
    m.objects
        .iter()
        .filter(|o| o.kind == "ServiceAccount" && (Model::wi_annotation(o).is_some() || named(o)))
        .collect()
}

pub fn wi_disabled(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let mut out = Vec::new();
    // Found once, not once per cluster (each is a pass over every object).
    let wi = std::cell::OnceCell::new();
    for (i, c) in ctx.model.clusters.iter().enumerate() {
        if c.pool().is_some() || c.autopilot {
            continue;
        }
        let users: Vec<_> = wi
            .get_or_init(|| wi_service_accounts(ctx))
            .iter()
            .filter(|o| ctx.model.known_clusters_for(o).contains(&i))
            .collect();
        let Some(first) = users.first() else { continue };
        let span = c
            .node
            .get("workloadIdentityConfig")
            .map(|n| n.loc())
            .unwrap_or_else(|| c.name_loc());
        let project = c.project.clone().unwrap_or_else(|| "PROJECT_ID".into());
        let mut f = Finding::at(&ctx.rule.id, span,
            format!("cluster `{}` has Workload Identity disabled (no workloadIdentityConfig.workloadPool), but {} ServiceAccount(s) use it", c.name, users.len()),
        );
        match Model::wi_annotation(first) {
            Some((key, _)) => {
                f = f.related_at(
                    key.loc(),
                    format!("{} expects Workload Identity", first.display()),
                )
            }
            None => {
                f = f.related_at(
                    first.name_loc(),
                    format!(
                        "{} is granted roles directly through Workload Identity",
                        first.display()
                    ),
                )
            }
        }
        out.push(f.help(format!(
            "gcloud container clusters update {}{} --workload-pool={project}.svc.id.goog",
            c.name,
            location_flag(c)
        )));
    }
    out
}

pub fn pool_project(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in &ctx.model.clusters {
        let (Some(pool), Some(project), Some(node)) =
            (c.pool(), c.project.as_deref(), c.workload_pool)
        else {
            continue;
        };
        let own = format!("{project}.svc.id.goog");
        // A fleet member cluster uses its fleet host project's pool: correct,
        // and the fix must keep it.
        let (fleet, fleet_unknown) = ctx.model.fleet_pools(c);
        if pool == own
            || fleet.iter().any(|f| f == pool)
            || fleet_unknown && wi::check_pool(pool).is_ok()
        {
            continue;
        }
        let want = fleet.first().cloned().unwrap_or_else(|| own.clone());
        let why = match wi::check_pool(pool) {
            Err(e) => e,
            Ok(()) if fleet.is_empty() => {
                format!("it should be `{want}`, unless the cluster belongs to a fleet hosted in project `{}`: nothing in the scan says so (no `fleet.project` in the dump, no `gcloud container fleet memberships describe` output for it)", pool.trim_end_matches(".svc.id.goog"))
            }
            Ok(()) => format!(
                "the cluster is registered to fleet host project `{}`, so it should be the fleet pool `{want}`",
                c.fleet_project().unwrap_or(want.trim_end_matches(".svc.id.goog"))
            ),
        };
        out.push(
            Finding::at(
                &ctx.rule.id,
                node.loc(),
                format!(
                    "workload pool `{pool}` of cluster `{}` is not its project's pool: {why}",
                    c.name
                ),
            )
            .help(format!(
                "gcloud container clusters update {}{} --workload-pool={want}",
                c.name,
                location_flag(c)
            )),
        );
    }
    out
}

fn metadata_mode(pool: Node<'_>) -> (Option<Node<'_>>, bool) {
    let wmc = pool.path(&["config", "workloadMetadataConfig"]);
    let ok = wmc.is_some_and(|w| {
        w.get("mode").and_then(Node::as_str) == Some("GKE_METADATA")
            || w.get("nodeMetadata").and_then(Node::as_str) == Some("GKE_METADATA_SERVER")
    });
    (wmc, ok)
}

pub fn node_pool_metadata(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let m = ctx.model;
    let mut out = Vec::new();
    // Pods that may land on a pool without the metadata server, with the
    // pool their nodeSelector pins (if any): read once, not once per pool,
    // and only as far as the pools need (each names three). GKE labels only
    // metadata-server pools with `iam.gke.io/gke-metadata-server-enabled`:
    // a pod that selects it cannot be scheduled on such a pool.
    fn candidate<'m, 'a>(w: &'m Workload<'a>) -> Option<(&'m Workload<'a>, Option<&'a str>)> {
        let selects = |label| w.spec.path(&["nodeSelector", label]).and_then(Node::as_str);
        (selects("iam.gke.io/gke-metadata-server-enabled") != Some("true"))
            .then(|| (w, selects("cloud.google.com/gke-nodepool")))
    }
    let mut read: Vec<(&Workload, Option<&str>)> = Vec::new();
    let mut unread = m.workloads.iter();
    for np in &m.node_pools {
        let Some(ci) = np.cluster else { continue };
        let c = &m.clusters[ci];
        if c.pool().is_none() || c.autopilot {
            continue;
        }
        let (wmc, ok) = metadata_mode(np.node);
        if ok {
            continue;
        }
        // The first three are named; whether a pod is a WI pod is the
        // dearer test, asked last.
        let mut landing = Vec::new();
        let mut next = 0;
        while landing.len() < 3 {
            let Some(&(w, pinned)) = read.get(next) else {
                match unread.next() {
                    Some(w) => read.extend(candidate(w)),
                    None => break,
                }
                continue;
            };
            next += 1;
            if pinned.is_none_or(|p| p == np.name)
                && m.runs_on(&m.objects[w.object], ci)
                && m.is_wi_workload(w)
            {
                landing.push(w);
            }
        }
        if landing.is_empty() && !m.objects.is_empty() {
            continue;
        }
        let mode = wmc
            .and_then(|w| w.get("mode").or_else(|| w.get("nodeMetadata")))
            .and_then(Node::as_str)
            .unwrap_or("unset");
        let span = wmc
            .and_then(|w| w.get("mode").or_else(|| w.get("nodeMetadata")))
            .or(wmc)
            .filter(|w| !w.span().is_empty())
            .map(|w| w.loc())
            .unwrap_or_else(|| {
                np.node
                    .get("name")
                    .map(|n| n.loc())
                    .unwrap_or_else(|| head(np.node))
            });
        let mut f = Finding::at(&ctx.rule.id, span,
            format!("node pool `{}` of cluster `{}` does not run the GKE metadata server (mode {mode}): WI pods there get the node's identity", np.name, c.name),
        );
        for w in &landing {
            let o = &m.objects[w.object];
            f = f.related_at(
                o.name_loc(),
                format!(
                    "{} (Workload Identity) can be scheduled on this pool",
                    o.display()
                ),
            );
        }
        out.push(f.help(format!(
            "gcloud container node-pools update {} --cluster={}{} --workload-metadata=GKE_METADATA",
            np.name,
            c.name,
            location_flag(c)
        )));
    }
    out
}

pub fn zonal(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in &ctx.model.clusters {
        if c.pool().is_none() {
            continue;
        }
        let link = c.node.get("selfLink").and_then(Node::as_str).unwrap_or("");
        let loc_node = c.node.get("location").or_else(|| c.node.get("zone"));
        let zonal = match c.location {
            Some(l) => wi::is_zone(l),
            None => link.contains("/zones/"),
        };
        if !zonal {
            continue;
        }
        let span = loc_node
            .map(|n| n.loc())
            .unwrap_or_else(|| key_loc(c.node, "selfLink"));
        let region = c
            .location
            .and_then(|l| l.rsplit_once('-'))
            .map(|(r, _)| r)
            .unwrap_or("REGION");
        out.push(
            Finding::at(&ctx.rule.id, span,
                format!("cluster `{}` is zonal: during control-plane maintenance the GKE metadata server cannot issue tokens and answers 500", c.name),
            )
            .help(format!("use a regional cluster for workloads that need Workload Identity (e.g. `gcloud container clusters create {} --region={region} --workload-pool=…`)", c.name)),
        );
    }
    out
}

pub fn service_enabled(ctx: &Ctx, params: &Params) -> Vec<Finding> {
    let service = params
        .str("service")
        .unwrap_or("iamcredentials.googleapis.com");
    let mut out = Vec::new();
    for s in &ctx.model.services {
        if s.enabled.contains(&service) {
            continue;
        }
        let project = s
            .project_number
            .as_deref()
            .and_then(|n| {
                ctx.model
                    .projects
                    .iter()
                    .find(|p| p.number.as_deref() == Some(n))
            })
            .and_then(|p| p.id)
            .map(str::to_string)
            .or_else(|| s.project_number.clone())
            .unwrap_or_else(|| "PROJECT_ID".into());
        let f = Finding::at(
            &ctx.rule.id,
            head(s.node),
            format!("`{service}` is not among the enabled services of project {project}"),
        )
        .help(format!(
            "gcloud services enable {service} --project={project}"
        ));
        out.push(if s.partial {
            let span = key_loc(s.node, "nextPageToken");
            Finding::at(&ctx.rule.id, span, format!("`{service}` is not on this page of enabled services, but the list is partial (nextPageToken): cannot tell whether it is enabled"))
                .help(format!("dump the whole list: gcloud services list --enabled --project={project} --format=json"))
                .severity(Severity::Info)
        } else {
            f
        });
    }
    out
}

const AGENT_ROLE: &str = "roles/container.serviceAgent";

pub fn service_agent(ctx: &Ctx, _: &Params) -> Vec<Finding> {
    let m = ctx.model;
    let mut out = Vec::new();
    for p in &m.policies {
        let Some(PolicyResource::Project { id, number }) = &p.resource else {
            continue;
        };
        let project = id
            .as_deref()
            .and_then(|id| m.projects.iter().find(|pr| pr.id == Some(id)))
            .or_else(|| {
                number
                    .as_deref()
                    .and_then(|n| m.projects.iter().find(|pr| pr.number.as_deref() == Some(n)))
            });
        let number = number
            .clone()
            .or_else(|| project.and_then(|pr| pr.number.clone()));
        let id = id
            .clone()
            .or_else(|| project.and_then(|pr| pr.id.map(str::to_string)));
        let Some(number) = number else { continue };
        let uses_gke = m
            .clusters
            .iter()
            .any(|c| c.project.is_some() && c.project == id)
            || m.services.iter().any(|s| {
                s.project_number.as_deref() == Some(number.as_str())
                    && s.enabled.contains(&"container.googleapis.com")
            })
            || m.objects.iter().any(|o| {
                Model::wi_annotation(o)
                    .and_then(|(_, v)| v.as_str())
                    .and_then(wi::email_project)
                    .is_some_and(|gp| Some(gp) == id.as_deref())
            });
        if !uses_gke {
            continue;
        }
        let want = format!(
            "serviceAccount:service-{number}@container-engine-robot.iam.gserviceaccount.com"
        );
        let shown = id.clone().unwrap_or_else(|| number.clone());
        let help = format!(
            "gcloud projects add-iam-policy-binding {shown} --member={want} --role={AGENT_ROLE}"
        );
        let agent_bindings: Vec<_> = p
            .bindings
            .iter()
            .filter(|b| b.role_str() == AGENT_ROLE)
            .collect();
        if agent_bindings.iter().any(|b| {
            b.members
                .iter()
                .any(|mm| mm.as_str() == Some(want.as_str()))
        }) {
            continue;
        }
        let wrong = agent_bindings
            .iter()
            .flat_map(|b| b.members.iter())
            .find(|mm| {
                mm.as_str()
                    .is_some_and(|s| s.ends_with("@container-engine-robot.iam.gserviceaccount.com"))
            });
        let f = match wrong {
            Some(node) => Finding::at(&ctx.rule.id, node.loc(),
                format!("the GKE service agent here does not match project number {number}"),
            ),
            None => Finding::at(
                &ctx.rule.id,
                key_loc(p.node, "bindings"),
                format!("project {shown} does not grant {AGENT_ROLE} to its GKE service agent: enabling Workload Identity fails with `DeployPatch failed`"),
            ),
        };
        let f = match project {
            Some(pr) => f.related_at(
                pr.node
                    .get("projectNumber")
                    .or_else(|| pr.node.get("name"))
                    .map(|n| n.loc())
                    .unwrap_or_else(|| head(pr.node)),
                format!("project number {number}"),
            ),
            None => f,
        };
        out.push(f.help(help));
    }
    out
}
