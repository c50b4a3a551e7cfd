//! Workload Identity vocabulary: GSA emails, IAM member syntaxes, GKE names.

pub const ANNOTATION: &str = "iam.gke.io/gcp-service-account";
pub const WI_USER_ROLE: &str = "roles/iam.workloadIdentityUser";

/// A GKE cluster as a `kubernetes.cluster/URL` principal set names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterRef {
    /// Project ID (or number) in the URL.
    pub project: String,
    pub location: String,
    pub name: String,
}

impl ClusterRef {
    /// `https://container.googleapis.com/v1/projects/P/locations/L/clusters/C`
    /// (`zones/` for `locations/`; `//container.googleapis.com/…` as Cloud
    /// Asset Inventory writes it).
    pub fn parse(url: &str) -> Option<ClusterRef> {
        let rest = url
            .strip_prefix("https://container.googleapis.com/v1/")
            .or_else(|| url.strip_prefix("https://container.googleapis.com/v1beta1/"))
            .or_else(|| url.strip_prefix("//container.googleapis.com/"))?;
        let seg: Vec<&str> = rest.split('/').collect();
        match seg.as_slice() {
            ["projects", p, "locations" | "zones", l, "clusters", c]
                if !p.is_empty() && !l.is_empty() && is_dns_label(c) =>
            {
                Some(ClusterRef {
                    project: (*p).into(),
                    location: (*l).into(),
                    name: (*c).into(),
                })
            }
            _ => None,
        }
    }
}

/// What an IAM member string says about Kubernetes service accounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Member {
    /// `serviceAccount:POOL[NS/KSA]`
    Legacy {
        pool: String,
        ns: String,
        ksa: String,
    },
    /// `principal://…/workloadIdentityPools/POOL/subject/ns/NS/sa/KSA`
    Principal {
        number: String,
        pool: String,
        ns: String,
        ksa: String,
    },
    /// `principalSet://…/workloadIdentityPools/POOL/namespace/NS`
    Namespace {
        number: String,
        pool: String,
        ns: String,
    },
    /// `principalSet://…/POOL/kubernetes.cluster/URL`: every KSA of one cluster.
    Cluster {
        number: String,
        pool: String,
        cluster: ClusterRef,
    },
    /// `principal://…/POOL/kubernetes.serviceaccount.uid/UID`: one KSA object.
    Uid {
        number: String,
        pool: String,
        uid: String,
    },
    /// `principalSet://…/POOL/*`: every identity of the pool.
    Pool { number: String, pool: String },
    /// `principalSet://…/POOL/attribute.A/V` or `…/group/G`: decided by
    /// token attributes kwi-lint cannot see offline.
    Attribute {
        number: String,
        pool: String,
        selector: String,
    },
    /// A member that names a Google account or anything unrelated to WI.
    Other,
    /// Looks like a WI member but does not parse; the reason says why.
    Malformed(String),
}

/// Who a pod runs as, as far as the scan knows: the question every
/// coverage check asks ("does this member cover KSA K in namespace N of
/// cluster C?").
#[derive(Clone, Debug, Default)]
pub struct Subject<'s> {
    /// The cluster's workload pool; `None`: not known (any pool).
    pub pool: Option<&'s str>,
    /// The number of the pool's project, from a project dump.
    pub pool_number: Option<&'s str>,
    pub ns: &'s str,
    pub ksa: &'s str,
    /// `metadata.uid` of the ServiceAccount, when the scan has it (kubectl dumps).
    pub uid: Option<&'s str>,
    /// The one cluster the pod runs on, when known: (project ID, project
    /// number, location, name).
    pub cluster: Option<(&'s str, Option<&'s str>, &'s str, &'s str)>,
}

/// Whether a member lets a subject act.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Coverage {
    No,
    /// It depends on what the scan does not show (which cluster, the KSA's
    /// UID, token attributes).
    Maybe,
    Yes,
}

impl Member {
    pub fn pool(&self) -> Option<&str> {
        match self {
            Member::Legacy { pool, .. }
            | Member::Principal { pool, .. }
            | Member::Namespace { pool, .. }
            | Member::Cluster { pool, .. }
            | Member::Uid { pool, .. }
            | Member::Pool { pool, .. }
            | Member::Attribute { pool, .. } => Some(pool),
            _ => None,
        }
    }

    /// The project number in a `principal://` path.
    pub fn number(&self) -> Option<&str> {
        match self {
            Member::Principal { number, .. }
            | Member::Namespace { number, .. }
            | Member::Cluster { number, .. }
            | Member::Uid { number, .. }
            | Member::Pool { number, .. }
            | Member::Attribute { number, .. } => Some(number),
            _ => None,
        }
    }

    /// The (namespace, KSA) it names; KSA `None` for a namespace-wide set.
    pub fn names(&self) -> Option<(&str, Option<&str>)> {
        match self {
            Member::Legacy { ns, ksa, .. } | Member::Principal { ns, ksa, .. } => {
                Some((ns, Some(ksa)))
            }
            Member::Namespace { ns, .. } => Some((ns, None)),
            _ => None,
        }
    }

    /// What it selects, in words.
    pub fn describe(&self) -> String {
        match self {
            Member::Legacy { ns, ksa, .. } | Member::Principal { ns, ksa, .. } => {
                format!("KSA {ns}/{ksa}")
            }
            Member::Namespace { ns, .. } => format!("every KSA in namespace {ns}"),
            Member::Cluster { cluster, .. } => format!(
                "every KSA of cluster {}/{}/{}",
                cluster.project, cluster.location, cluster.name
            ),
            Member::Uid { uid, .. } => format!("the KSA with UID {uid}"),
            Member::Pool { pool, .. } => format!("every KSA of the pool {pool}"),
            Member::Attribute { selector, .. } => {
                format!("the identities whose token attributes match `{selector}`")
            }
            Member::Other | Member::Malformed(_) => "no Kubernetes service account".into(),
        }
    }

    /// Whether this member lets pods of `s` act.
    pub fn coverage(&self, s: &Subject) -> Coverage {
        let Some(pool) = self.pool() else {
            return Coverage::No;
        };
        if s.pool.is_some_and(|want| want != pool) {
            return Coverage::No;
        }
        // The path's project number must be the pool project's.
        if let (Some(n), Some(want)) = (self.number(), s.pool_number) {
            if n != want {
                return Coverage::No;
            }
        }
        let yes = |b: bool| if b { Coverage::Yes } else { Coverage::No };
        match self {
            Member::Legacy { ns, ksa, .. } | Member::Principal { ns, ksa, .. } => {
                yes(ns == s.ns && ksa == s.ksa)
            }
            Member::Namespace { ns, .. } => yes(ns == s.ns),
            Member::Cluster { cluster, .. } => match s.cluster {
                Some((id, number, location, name)) => yes(cluster.name == name
                    && cluster.location == location
                    && (cluster.project == id || Some(cluster.project.as_str()) == number)),
                None => Coverage::Maybe,
            },
            Member::Uid { uid, .. } => match s.uid {
                Some(u) => yes(u == uid),
                None => Coverage::Maybe,
            },
            Member::Pool { .. } if s.pool.is_some() => Coverage::Yes,
            Member::Pool { .. } | Member::Attribute { .. } => Coverage::Maybe,
            Member::Other | Member::Malformed(_) => Coverage::No,
        }
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !s.starts_with(['-', '.'])
        && !s.ends_with(['-', '.'])
}

/// `PROJECT_ID.svc.id.goog`, with a reason when it is not.
pub fn check_pool(pool: &str) -> Result<(), String> {
    match pool.strip_suffix(".svc.id.goog") {
        Some(project) if is_project_id(project) || project.contains(':') => Ok(()),
        Some(project) => Err(format!("`{project}` is not a valid project ID")),
        None => Err(format!(
            "the pool `{pool}` does not end in `.svc.id.goog` (a Workload Identity pool is PROJECT_ID.svc.id.goog)"
        )),
    }
}

/// Parses an IAM member, recognising every syntax that can grant a KSA.
pub fn parse_member(m: &str) -> Member {
    if m.trim() != m || m.contains(char::is_whitespace) {
        if looks_wi(m) {
            return Member::Malformed("the member contains whitespace".into());
        }
        return Member::Other;
    }
    if let Some(rest) = m.strip_prefix("serviceAccount:") {
        if !rest.contains('[') && !rest.contains(']') {
            return if rest.contains(".svc.id.goog") || rest.contains("svc.id") {
                Member::Malformed(
                    "a Workload Identity member needs `[NAMESPACE/KSA]` after the pool".into(),
                )
            } else {
                Member::Other
            };
        }
        return parse_legacy(rest);
    }
    if let Some(rest) = m
        .strip_prefix("principal://")
        .or_else(|| m.strip_prefix("principalSet://"))
    {
        let set = m.starts_with("principalSet://");
        return parse_principal(rest, set);
    }
    if looks_wi(m) && !m.contains(':') {
        return Member::Malformed("the member has no `serviceAccount:` prefix".into());
    }
    Member::Other
}

fn looks_wi(m: &str) -> bool {
    m.contains("svc.id.goog")
        || (m.contains('[') && m.contains('/'))
        || m.contains("workloadIdentityPools")
}

fn parse_legacy(rest: &str) -> Member {
    let Some(open) = rest.find('[') else {
        return Member::Malformed("`]` without `[`".into());
    };
    if !rest.ends_with(']') || rest.matches('[').count() != 1 || rest.matches(']').count() != 1 {
        return Member::Malformed("brackets do not match: expected `POOL[NAMESPACE/KSA]`".into());
    }
    let pool = &rest[..open];
    let inner = &rest[open + 1..rest.len() - 1];
    if let Err(e) = check_pool(pool) {
        return Member::Malformed(e);
    }
    let Some((ns, ksa)) = inner.split_once('/') else {
        return Member::Malformed(format!("`[{inner}]` must be `[NAMESPACE/KSA]`"));
    };
    if !is_dns_label(ns) || ns.contains('.') || ns.len() > 63 {
        return Member::Malformed(format!("`{ns}` is not a valid namespace name"));
    }
    if !is_dns_label(ksa) {
        return Member::Malformed(format!("`{ksa}` is not a valid service account name"));
    }
    Member::Legacy {
        pool: pool.into(),
        ns: ns.into(),
        ksa: ksa.into(),
    }
}

fn parse_principal(rest: &str, set: bool) -> Member {
    const HEAD: &str = "iam.googleapis.com/projects/";
    let Some(after) = rest.strip_prefix(HEAD) else {
        // Other trust domains (fleet pools, workforce pools) are not for us to judge.
        return Member::Other;
    };
    let mut parts = after.splitn(6, '/');
    let number = parts.next().unwrap_or("");
    let (loc, global, wip, pool, selector) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    if loc != "locations" || global != "global" || wip != "workloadIdentityPools" {
        return Member::Malformed(
            "expected `…/projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL/…`"
                .into(),
        );
    }
    if !pool.contains("svc.id") && !pool.ends_with(".goog") {
        // A workload identity federation pool (not GKE's): not ours.
        return Member::Other;
    }
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Member::Malformed(format!("`{number}` must be the project NUMBER, not its ID"));
    }
    if let Err(e) = check_pool(pool) {
        return Member::Malformed(e);
    }
    let number = number.to_string();
    let pool = pool.to_string();
    let seg: Vec<&str> = selector.split('/').collect();
    match (set, seg.as_slice()) {
        (false, ["subject", "ns", ns, "sa", ksa]) if is_dns_label(ns) && is_dns_label(ksa) => {
            Member::Principal {
                number,
                pool,
                ns: (*ns).into(),
                ksa: (*ksa).into(),
            }
        }
        (false, ["kubernetes.serviceaccount.uid", uid]) if !uid.is_empty() => Member::Uid {
            number,
            pool,
            uid: (*uid).into(),
        },
        (true, ["namespace", ns]) if is_dns_label(ns) => Member::Namespace {
            number,
            pool,
            ns: (*ns).into(),
        },
        (true, ["kubernetes.cluster", ..]) => {
            let url = &selector["kubernetes.cluster/".len().min(selector.len())..];
            match ClusterRef::parse(url) {
                Some(cluster) => Member::Cluster {
                    number,
                    pool,
                    cluster,
                },
                None => Member::Malformed(format!(
                    "`{url}` is not a cluster URL `https://container.googleapis.com/v1/projects/PROJECT_ID/locations/LOCATION/clusters/CLUSTER`"
                )),
            }
        }
        (true, ["*"]) => Member::Pool { number, pool },
        (true, [first, _, ..]) if *first == "group" || first.starts_with("attribute.") => {
            Member::Attribute {
                number,
                pool,
                selector: selector.into(),
            }
        }
        _ if set => Member::Malformed(format!(
            "`{selector}` is not `namespace/NAMESPACE`, `kubernetes.cluster/URL` or `*`"
        )),
        _ => Member::Malformed(format!(
            "`{selector}` is not `subject/ns/NAMESPACE/sa/KSA` or `kubernetes.serviceaccount.uid/UID`"
        )),
    }
}

/// Project IDs: 6–30 characters, `[a-z][a-z0-9-]*[a-z0-9]`.
pub fn is_project_id(s: &str) -> bool {
    let b = s.as_bytes();
    (6..=30).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[b.len() - 1] != b'-'
}

fn is_account_id(s: &str) -> bool {
    is_project_id(s)
}

/// Why a GSA email is not valid, or `None` when it is.
#[derive(Debug, PartialEq, Eq)]
pub enum EmailProblem {
    Placeholder,
    Prefix,
    Whitespace,
    UpperCase,
    Invalid(String),
}

pub fn check_gsa_email(v: &str) -> Option<EmailProblem> {
    if is_placeholder(v) || has_placeholder_word(v) {
        return Some(EmailProblem::Placeholder);
    }
    if v.starts_with("serviceAccount:") {
        return Some(EmailProblem::Prefix);
    }
    if v.contains(char::is_whitespace) {
        return Some(EmailProblem::Whitespace);
    }
    if v.chars().any(|c| c.is_ascii_uppercase()) {
        return Some(EmailProblem::UpperCase);
    }
    let Some((account, domain)) = v.split_once('@') else {
        return Some(EmailProblem::Invalid("it has no `@`".into()));
    };
    // Google-managed accounts are valid emails (KWI106 judges the compute default).
    if domain == "developer.gserviceaccount.com" || domain == "appspot.gserviceaccount.com" {
        return None;
    }
    let Some(project) = domain.strip_suffix(".iam.gserviceaccount.com") else {
        return Some(EmailProblem::Invalid(format!(
            "the domain `{domain}` is not PROJECT_ID.iam.gserviceaccount.com"
        )));
    };
    // Domain-scoped projects: example.com:my-project → my-project.example.com
    let project_ok = is_project_id(project)
        || project
            .split_once('.')
            .is_some_and(|(p, d)| is_project_id(p) && d.contains('.'));
    if !project_ok {
        return Some(EmailProblem::Invalid(format!(
            "`{project}` is not a valid project ID (6–30 characters, lower-case letters, digits and hyphens, starting with a letter)"
        )));
    }
    if !is_account_id(account) && !account.starts_with("service-") {
        return Some(EmailProblem::Invalid(format!(
            "`{account}` is not a valid account ID (6–30 characters, lower-case letters, digits and hyphens, starting with a letter)"
        )));
    }
    None
}

/// `ALLOYDB_USER_GSA_ID`, `$KSA_NAME`: a whole value that is a variable name.
pub fn is_placeholder_word(v: &str) -> bool {
    let v = v.trim_start_matches('$');
    v.len() > 1
        && v.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && v.bytes().any(|b| b.is_ascii_uppercase())
}

/// A value with an upper-case word in it (`KUBEFLOW-NAME-user@PROJECT…`,
/// `app@PROJECT_ID.iam…`): a placeholder, not a typo to lower-case. A mixed
/// case word (`MyApp`) is a real upper-case mistake.
pub fn has_placeholder_word(v: &str) -> bool {
    v.split(['-', '.', '@', ':', '/'])
        .any(|w| is_placeholder_word(w) && w.bytes().filter(u8::is_ascii_uppercase).count() >= 2)
}

/// A value left for a templating step to fill in.
pub fn is_placeholder(v: &str) -> bool {
    v.contains('$')
        || (v.contains('<') && v.contains('>'))
        || v.contains("{{")
        || is_placeholder_word(v)
}

/// The project ID of a user-managed GSA email.
pub fn email_project(email: &str) -> Option<&str> {
    let domain = email.split_once('@')?.1;
    let p = domain.strip_suffix(".iam.gserviceaccount.com")?;
    Some(p)
}

/// Is this a zone (`us-central1-a`) rather than a region (`us-central1`)?
pub fn is_zone(location: &str) -> bool {
    let parts: Vec<&str> = location.split('-').collect();
    parts.len() == 3
        && parts[2].len() == 1
        && parts[2].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1].bytes().any(|b| b.is_ascii_digit())
}

/// Distances above this are all "far": near-miss suggestions never need more.
const FAR: usize = 64;

/// Levenshtein distance, for near-miss names; every distance above 64 is
/// reported as 65, so that a 500 KB name from an untrusted file costs
/// O(len × 129), not O(len²).
pub fn edit_distance(a: &str, b: &str) -> usize {
    edit_distance_at_most(a, b, FAR).unwrap_or(FAR + 1)
}

/// The candidate nearest to `to` and its distance (as `edit_distance` gives
/// it), the smallest `(distance, key)` winning. Each candidate is measured
/// only up to the best distance so far: a namespace's far names cost a few
/// rows of the table, not all of it.
pub fn nearest<'s, T: Ord>(
    to: &str,
    candidates: impl IntoIterator<Item = (&'s str, T)>,
) -> Option<(usize, T)> {
    let mut best: Option<(usize, T)> = None;
    for (s, key) in candidates {
        let bound = best.as_ref().map_or(FAR, |b| b.0.min(FAR));
        let d = edit_distance_at_most(s, to, bound).unwrap_or(FAR + 1);
        if best.as_ref().is_none_or(|b| (d, &key) < (b.0, &b.1)) {
            best = Some((d, key));
        }
    }
    best
}

/// The Levenshtein distance when it is at most `max` (banded: only cells
/// within `max` of the diagonal can hold such a distance).
pub fn edit_distance_at_most(a: &str, b: &str, max: usize) -> Option<usize> {
    // Compare lengths before collecting: a huge name against a short one
    // costs the short one's length.
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let n = short.chars().count();
    if long.chars().take(n + max + 1).count() > n + max {
        return None;
    }
    // Far pairs are ruled out before the tables are built: `nearest` asks
    // with the best distance so far, which most names exceed by their
    // letters alone (64M of 6.5G instructions on the 20k bench corpus).
    if letters_apart(a, b) > max {
        return None;
    }
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let big = max + 1;
    let mut prev: Vec<usize> = (0..=b.len()).map(|j| j.min(big)).collect();
    let mut cur = vec![big; b.len() + 1];
    for i in 1..=a.len() {
        let lo = i.saturating_sub(max).max(1);
        let hi = (i + max).min(b.len());
        // Cells left of the band keep `big` from the start; the one right of
        // it is reset below, so each row costs O(band), not O(len).
        cur[0] = i.min(big);
        if lo > 1 {
            cur[lo - 1] = big;
        }
        let mut row_min = cur[0];
        for j in lo..=hi {
            let v = (prev[j - 1] + usize::from(a[i - 1] != b[j - 1]))
                .min(prev[j] + 1)
                .min(cur[j - 1] + 1)
                .min(big);
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if hi < b.len() {
            cur[hi + 1] = big;
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    Some(prev[b.len()]).filter(|d| *d <= max)
}

/// A lower bound of the edit distance from the letters alone: an edit adds
/// at most one letter `b` has more of and removes at most one `a` has more
/// of. For ASCII only (0 otherwise: no bound).
fn letters_apart(a: &str, b: &str) -> usize {
    if !a.is_ascii() || !b.is_ascii() {
        return 0;
    }
    let mut count = [0i32; 128];
    for x in a.bytes() {
        count[usize::from(x)] += 1;
    }
    for x in b.bytes() {
        count[usize::from(x)] -= 1;
    }
    let (more_in_a, more_in_b) = count.iter().fold((0u32, 0u32), |(m, n), c| {
        (m + c.max(&0).unsigned_abs(), n + c.min(&0).unsigned_abs())
    });
    more_in_a.max(more_in_b) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members() {
        assert_eq!(
            parse_member("serviceAccount:my-proj.svc.id.goog[app/api]"),
            Member::Legacy {
                pool: "my-proj.svc.id.goog".into(),
                ns: "app".into(),
                ksa: "api".into()
            }
        );
        assert!(matches!(
            parse_member("serviceAccount:my-proj.svc.id.goog[app/api"),
            Member::Malformed(_)
        ));
        assert!(matches!(
            parse_member("serviceAccount:my-proj.svc.goog.id[app/api]"),
            Member::Malformed(_)
        ));
        assert!(matches!(
            parse_member("my-proj.svc.id.goog[app/api]"),
            Member::Malformed(_)
        ));
        assert!(matches!(
            parse_member("serviceAccount:my-proj.svc.id.goog[app api]"),
            Member::Malformed(_)
        ));
        assert_eq!(parse_member("user:a@b.com"), Member::Other);
        assert_eq!(
            parse_member("serviceAccount:x@p.iam.gserviceaccount.com"),
            Member::Other
        );
        let p = parse_member("principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/my-proj.svc.id.goog/subject/ns/app/sa/api");
        let api = |pool| Subject {
            pool,
            ns: "app",
            ksa: "api",
            ..Subject::default()
        };
        assert_eq!(p.coverage(&api(Some("my-proj.svc.id.goog"))), Coverage::Yes);
        let s = parse_member("principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/my-proj.svc.id.goog/namespace/app");
        assert_eq!(
            s.coverage(&Subject {
                ksa: "other",
                ..api(None)
            }),
            Coverage::Yes
        );
        assert!(matches!(
            parse_member("principal://iam.googleapis.com/projects/my-proj/locations/global/workloadIdentityPools/my-proj.svc.id.goog/subject/ns/app/sa/api"),
            Member::Malformed(_)
        ));
    }

    #[test]
    fn principal_sets() {
        const HEAD: &str =
            "principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/my-proj.svc.id.goog";
        let s = Subject {
            pool: Some("my-proj.svc.id.goog"),
            pool_number: Some("123"),
            ns: "app",
            ksa: "api",
            uid: Some("u-1"),
            cluster: Some(("my-proj", Some("123"), "europe-west1", "prod")),
        };
        let cov = |m: &str| parse_member(m).coverage(&s);
        let url =
            "https://container.googleapis.com/v1/projects/my-proj/locations/europe-west1/clusters";
        assert_eq!(
            cov(&format!("{HEAD}/kubernetes.cluster/{url}/prod")),
            Coverage::Yes
        );
        assert_eq!(
            cov(&format!("{HEAD}/kubernetes.cluster/{url}/staging")),
            Coverage::No
        );
        // The cluster URL may name the project by number.
        assert_eq!(
            cov(&format!("{HEAD}/kubernetes.cluster/https://container.googleapis.com/v1/projects/123/locations/europe-west1/clusters/prod")),
            Coverage::Yes
        );
        assert_eq!(cov(&format!("{HEAD}/*")), Coverage::Yes);
        assert_eq!(cov(&format!("{HEAD}/namespace/app")), Coverage::Yes);
        assert_eq!(cov(&format!("{HEAD}/namespace/other")), Coverage::No);
        assert_eq!(cov(&format!("{HEAD}/attribute.team/a")), Coverage::Maybe);
        let uid = "principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/my-proj.svc.id.goog/kubernetes.serviceaccount.uid";
        assert_eq!(cov(&format!("{uid}/u-1")), Coverage::Yes);
        assert_eq!(cov(&format!("{uid}/u-2")), Coverage::No);
        // A project number that is not the pool project's names another pool.
        assert_eq!(
            cov("principal://iam.googleapis.com/projects/999/locations/global/workloadIdentityPools/my-proj.svc.id.goog/subject/ns/app/sa/api"),
            Coverage::No
        );
        // Unknown cluster: a cluster set may or may not cover.
        let unknown = Subject {
            cluster: None,
            ..s.clone()
        };
        assert_eq!(
            parse_member(&format!("{HEAD}/kubernetes.cluster/{url}/prod")).coverage(&unknown),
            Coverage::Maybe
        );
        assert!(matches!(
            parse_member(&format!("{HEAD}/kubernetes.cluster/prod")),
            Member::Malformed(_)
        ));
    }

    #[test]
    fn emails() {
        assert_eq!(
            check_gsa_email("app-gsa@my-project.iam.gserviceaccount.com"),
            None
        );
        assert_eq!(
            check_gsa_email("app-gsa@PROJECT_ID.iam.gserviceaccount.com"),
            Some(EmailProblem::Placeholder)
        );
        assert_eq!(
            check_gsa_email("KUBEFLOW-NAME-user@PROJECT.iam.gserviceaccount.com"),
            Some(EmailProblem::Placeholder)
        );
        assert_eq!(
            check_gsa_email("MyApp@my-project.iam.gserviceaccount.com"),
            Some(EmailProblem::UpperCase)
        );
        assert_eq!(
            check_gsa_email("serviceAccount:app-gsa@my-project.iam.gserviceaccount.com"),
            Some(EmailProblem::Prefix)
        );
        assert_eq!(
            check_gsa_email("123-compute@developer.gserviceaccount.com"),
            None
        );
        assert!(matches!(
            check_gsa_email("app@my-project.iam.gserviceaccounts.com"),
            Some(EmailProblem::Invalid(_))
        ));
        assert_eq!(
            check_gsa_email("app-gsa@my-proj.example.com.iam.gserviceaccount.com"),
            None
        );
    }

    #[test]
    fn bounded_edit_distance() {
        assert_eq!(edit_distance("analytics", "analytcs"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance_at_most("kitten", "sitting", 2), None);
        assert_eq!(edit_distance_at_most("kitten", "sitting", 3), Some(3));
        let long = "a".repeat(500_000);
        assert_eq!(edit_distance(&long, "alice@example.com"), 65);
        assert_eq!(edit_distance(&long, &long), 0);
        assert_eq!(edit_distance(&format!("{long}x"), &format!("y{long}")), 2);
        // The band gives the textbook distance whenever it is within `max`.
        fn naive(a: &str, b: &str) -> usize {
            let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
            let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
            for (i, row) in d.iter_mut().enumerate() {
                row[0] = i;
            }
            for (j, cell) in d[0].iter_mut().enumerate() {
                *cell = j;
            }
            for i in 1..=a.len() {
                for j in 1..=b.len() {
                    d[i][j] = (d[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]))
                        .min(d[i - 1][j] + 1)
                        .min(d[i][j - 1] + 1);
                }
            }
            d[a.len()][b.len()]
        }
        let words = [
            "",
            "a",
            "ab",
            "ba",
            "abc",
            "acb",
            "kube-dns",
            "kube-dsn",
            "kubedns",
            "analytics",
            "analytcs",
            "anlytics-x",
            "xyz",
            "payments-api",
            "payment-api",
            "paymnets-api",
            "api-payments",
            "pay-é",
        ];
        for a in words {
            for b in words {
                for max in 0..5 {
                    let n = naive(a, b);
                    assert_eq!(
                        edit_distance_at_most(a, b, max),
                        (n <= max).then_some(n),
                        "{a} {b} {max}"
                    );
                }
            }
        }
    }

    /// `nearest` picks what the smallest (full distance, key) picks.
    #[test]
    fn nearest_is_the_minimum_of_full_distances() {
        let long = "x".repeat(200);
        let names = [
            "payments-api",
            "payment-api",
            "api",
            "orders",
            "paymnets-api",
            "",
            long.as_str(),
            "a",
        ];
        for to in names.iter().copied().chain(["payments", "zzz", "ordres"]) {
            for n in 0..=names.len() {
                let some = &names[..n];
                let want = some.iter().map(|s| (edit_distance(s, to), *s)).min();
                assert_eq!(nearest(to, some.iter().map(|s| (*s, *s))), want, "{to}");
            }
        }
    }

    #[test]
    fn zones() {
        assert!(is_zone("us-central1-a"));
        assert!(!is_zone("us-central1"));
        assert!(!is_zone("europe-west4"));
    }
}
