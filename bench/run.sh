#!/usr/bin/env bash
# Benchmark kwi-lint against its parse-only floor and against checkov, on the
# same generated corpora, in one run. Prints a Markdown table (README's).
#
#   bench/run.sh                 # 2,000 and 20,000 files; checkov on 2,000
#   CHECKOV_20K=1 bench/run.sh   # also checkov on 20,000 (capped at 25 min)
#   SIZES="2000" bench/run.sh    # quicker
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_DIR:-target/bench}
SIZES=${SIZES:-"2000 20000"}
RUNS=${RUNS:-3}
mkdir -p "$OUT"
cargo build --release --quiet
BIN=$PWD/target/release/kwi-lint
"$BIN" rules > /dev/null || { echo "kwi-lint does not start" >&2; exit 2; }

for n in $SIZES; do
  [ -f "$OUT/c$n.done" ] || { python3 bench/gen_corpus.py --files "$n" --seed 2 --out "$OUT/c$n" --gcloud --force > /dev/null 2>&1 && touch "$OUT/c$n.done"; }
done
if [ ! -x "$OUT/venv/bin/checkov" ]; then
  python3 -m venv "$OUT/venv"
  "$OUT/venv/bin/pip" install --quiet checkov
fi

# best-of-RUNS wall time (s) and peak RSS (KB) of a command
measure() {
  local best="" rss=""
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" > /dev/null 2>&1 || true
    read -r t m < <(tail -n 1 "$OUT/time.txt")
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; rss=$m; fi
  done
  echo "$best $rss"
}

instr() { # instructions counted by callgrind (single thread: deterministic)
  { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null || true; } | awk '/Collected/ {print $4}'
}

row() { # name files bytes seconds rss_kb
  awk -v n="$1" -v f="$2" -v b="$3" -v s="$4" -v r="$5" 'BEGIN {
    printf "| %s | %d | %.1f | %.2f | %.0f | %.1f | %.0f (%.1f× input) |\n", n, f, b/1e6, s, f/s, b/1e6/s, r/1024, r*1024/b }'
}

echo "| run | files | MB | wall s | files/s | MB/s | peak RSS MB |"
echo "|---|---:|---:|---:|---:|---:|---:|"
declare -A KWI FLOOR CHECKOV
for n in $SIZES; do
  dir="$OUT/c$n"
  files=$(find "$dir" -type f | wc -l)
  bytes=$(find "$dir" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
  cat $(find "$dir" -type f) > /dev/null  # warm the page cache for everyone
  read -r s r < <(measure "$BIN" --parse-only "$dir"); FLOOR[$n]=$s
  row "parse-only floor ($n)" "$files" "$bytes" "$s" "$r"
  read -r s r < <(measure "$BIN" --format json "$dir"); KWI[$n]=$s
  row "kwi-lint, all rules ($n)" "$files" "$bytes" "$s" "$r"
  # The question commands scan the same way, then answer from the model.
  read -r s r < <(measure "$BIN" graph "$dir")
  row "kwi-lint graph ($n)" "$files" "$bytes" "$s" "$r"
  read -r s r < <(measure "$BIN" can-i --as system:serviceaccount:ci:deployer patch deployments -n shop "$dir")
  row "kwi-lint can-i ($n)" "$files" "$bytes" "$s" "$r"
  if [ "$n" -le 2000 ] || [ -n "${CHECKOV_20K:-}" ]; then
    read -r s r < <(RUNS=1 measure timeout 1500 "$OUT/venv/bin/checkov" -d "$dir" --framework kubernetes --quiet --compact --skip-download)
    CHECKOV[$n]=$s
    row "checkov --framework kubernetes ($n)" "$files" "$bytes" "$s" "$r"
  fi
done
echo
for n in $SIZES; do
  awk -v k="${KWI[$n]}" -v f="${FLOOR[$n]}" -v n="$n" 'BEGIN { printf "- %s files: kwi-lint / parse-only floor = %.2f\n", n, k/f }'
  if [ -n "${CHECKOV[$n]:-}" ]; then
    awk -v k="${KWI[$n]}" -v c="${CHECKOV[$n]}" -v n="$n" 'BEGIN { printf "- %s files: checkov / kwi-lint = %.0f×\n", n, c/k }'
  fi
done
first=$(echo "$SIZES" | awk '{print $1}')
dir="$OUT/c$first"
bytes=$(find "$dir" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
ik=$(instr "$BIN" --threads 1 --format json "$dir")
if=$(instr "$BIN" --threads 1 --parse-only "$dir")
awk -v k="$ik" -v f="$if" -v b="$bytes" -v n="$first" 'BEGIN {
  printf "- instructions per input byte (%s files, callgrind): kwi-lint %.0f, parse-only floor %.0f (ratio %.2f)\n", n, k/b, f/b, k/f }'
# A pre-commit-sized repository: 20 files.
[ -f "$OUT/c20.done" ] || { python3 bench/gen_corpus.py --files 20 --seed 2 --out "$OUT/c20" --force > /dev/null 2>&1 && touch "$OUT/c20.done"; }
read -r s r < <(RUNS=10 measure "$BIN" "$OUT/c20")
echo "- 20-file repository (pre-commit): ${s} s wall (best of 10)"
