//! Names Google Cloud gives things, parsed from text: the resource an IAM
//! policy belongs to and GKE versions. Pure functions of a string, shared by
//! the config (which validates them) and the model (which reads dumps).

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PolicyResource {
    Project {
        id: Option<String>,
        number: Option<String>,
    },
    ServiceAccount(String),
    Folder(String),
    Organization(String),
    Other(String),
}

impl PolicyResource {
    pub fn from_config(s: &str) -> Option<PolicyResource> {
        let parts: Vec<&str> = s.trim_start_matches("//").split('/').collect();
        match parts.as_slice() {
            ["projects", p] => Some(project_ref(p)),
            ["projects", _, "serviceAccounts", e] | ["serviceAccounts", e] if e.contains('@') => {
                Some(PolicyResource::ServiceAccount(e.to_string()))
            }
            ["folders", f] => Some(PolicyResource::Folder(f.to_string())),
            ["organizations", o] => Some(PolicyResource::Organization(o.to_string())),
            _ => None,
        }
    }
    pub fn describe(&self) -> String {
        match self {
            PolicyResource::Project { id: Some(id), .. } => format!("project {id}"),
            PolicyResource::Project {
                number: Some(n), ..
            } => format!("project number {n}"),
            PolicyResource::Project { .. } => "a project".into(),
            PolicyResource::ServiceAccount(e) => format!("service account {e}"),
            PolicyResource::Folder(f) => format!("folder {f}"),
            PolicyResource::Organization(o) => format!("organization {o}"),
            PolicyResource::Other(o) => o.clone(),
        }
    }
}

/// A project by ID, or by number when it is all digits.
pub fn project_ref(p: &str) -> PolicyResource {
    if p.bytes().all(|b| b.is_ascii_digit()) {
        PolicyResource::Project {
            id: None,
            number: Some(p.to_string()),
        }
    } else {
        PolicyResource::Project {
            id: Some(p.to_string()),
            number: None,
        }
    }
}

/// GKE versions order as (major, minor, patch, gke-build).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GkeVersion(pub u32, pub u32, pub u32, pub u64);

impl GkeVersion {
    pub fn parse(s: &str) -> Option<GkeVersion> {
        let s = s.trim().trim_start_matches('v');
        let (base, build) = match s.split_once("-gke.") {
            Some((b, g)) => (b, g.parse().ok()?),
            None => (s, 0),
        };
        let mut it = base.split('.').map(|p| p.parse::<u32>());
        let major = it.next()?.ok()?;
        let minor = it.next()?.ok()?;
        let patch = it.next().unwrap_or(Ok(0)).ok()?;
        Some(GkeVersion(major, minor, patch, build))
    }
}
