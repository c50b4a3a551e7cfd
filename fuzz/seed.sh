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
