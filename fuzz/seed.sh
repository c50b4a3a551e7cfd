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
# The question target reads logs, Forbidden messages and can-i arguments.
mkdir -p corpus/question
j=0
for f in ../testdata/logs/* $(find ../testdata/authz -name "*.yaml" | sort); do
  j=$((j + 1))
  cp "$f" "corpus/question/seed$j"
done
printf 'alice@example.com\nlist\npods\nprod\n' > corpus/question/args1
printf 'system:serviceaccount:prod:api\nget\ndeployments.apps/web\nprod\n' > corpus/question/args2
