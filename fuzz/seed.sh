#!/usr/bin/env bash
# Builds the fuzz seed corpus from testdata: one file per input, the first
# byte picking the file type as kwi_lint::fuzz_one reads it.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/lint
i=0
find ../testdata -type f \( -name '*.yaml' -o -name '*.json' \) | sort | while read -r f; do
  i=$((i + 1))
  case $f in *.json) printf '\001' ;; *) printf '\000' ;; esac > "corpus/lint/seed$i"
  cat "$f" >> "corpus/lint/seed$i"
done
# A kustomization (first byte 4) rendered with its own bytes as `second.yaml`.
printf '\004resources: [second.yaml]\nnamespace: ns\npatches:\n- target: {kind: ServiceAccount}\n  patch: |\n    - op: add\n      path: /metadata/annotations\n      value: {iam.gke.io/gcp-service-account: a@p.iam.gserviceaccount.com}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {serviceAccountName: app, containers: [{name: c}]}\n' > corpus/lint/kustomization1
# The question target reads logs, Forbidden messages and can-i arguments.
mkdir -p corpus/question
j=0
for f in ../testdata/logs/* $(find ../testdata/authz -name "*.yaml" | sort); do
  j=$((j + 1))
  cp "$f" "corpus/question/seed$j"
done
printf 'alice@example.com\nlist\npods\nprod\n' > corpus/question/args1
printf 'system:serviceaccount:prod:api\nget\ndeployments.apps/web\nprod\n' > corpus/question/args2
