//! The fuzz target's body (`kwi_lint::fuzz_one`) on every testdata file and
//! on inputs that once crashed or would be easy to get wrong. Crashing inputs
//! found by `cargo fuzz run lint` go to tests/fuzz-regressions/.

use std::path::Path;

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn fuzz_body_survives_testdata_and_regressions() {
    let mut all = Vec::new();
    files(Path::new("testdata"), &mut all);
    files(Path::new("tests/fuzz-regressions"), &mut all);
    all.sort();
    assert!(all.len() > 50);
    for p in all {
        let Ok(bytes) = std::fs::read(&p) else {
            continue;
        };
        for pick in 0u8..5 {
            let mut input = vec![pick];
            input.extend_from_slice(&bytes);
            kwi_lint::fuzz_one(&input);
        }
    }
}

#[test]
fn fuzz_body_survives_odd_inputs() {
    let cases: &[&[u8]] = &[
        b"",
        b"\x00",
        b"\x00---\n- - - - [",
        b"\x01{\"bindings\": [{\"role\": \"roles/iam.workloadIdentityUser\", \"members\": [\"serviceAccount:a.svc.id.goog[\"]}]}",
        b"\x00kind: List\napiVersion: v1\nitems: [{kind: Pod, apiVersion: v1, spec: {hostNetwork: yes, containers: [{env: [{name: GCE_METADATA_HOST}]}]}}]",
        b"\x00<<: *x",
        b"\x00a: &a [*a]",
        b"\x03{\"bindings\": {\"members\": \"serviceAccount:p.svc.id.goog[n/k]\", \"role\": \"roles/iam.workloadIdentityUser\"}}",
        b"\x00apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, annotations: {iam.gke.io/gcp-service-account: \"\\u00e9@\\u0000\"}}",
    ];
    for c in cases {
        kwi_lint::fuzz_one(c);
    }
    // A kustomization whose inline patch (a literal block, its nodes mapped
    // back to their lines) patches objects of its resource `second.yaml`.
    let kustomization = "resources: [second.yaml]\nnamespace: ns\npatches:\n- target: {kind: ServiceAccount}\n  patch: |\n    - op: replace\n      path: /metadata/annotations\n      value: {iam.gke.io/gcp-service-account: é}\n- patch: |+\n\n    apiVersion: v1\n    kind: ServiceAccount\n    metadata: {name: app}\n    $patch: replace\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app}\n";
    for cut in 0..=kustomization.len() {
        if kustomization.is_char_boundary(cut) {
            let mut input = vec![4u8];
            input.extend_from_slice(&kustomization.as_bytes()[..cut]);
            kwi_lint::fuzz_one(&input);
        }
    }
}
