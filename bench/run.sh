#!/usr/bin/env bash
# Benchmark kwi-lint against its parse-only floor and against checkov, on the
# same generated corpora, in one run. Prints a Markdown table (README's).
#
#   bench/run.sh                 # 2,000 and 20,000 files, 5 interleaved rounds
#   CHECKOV=1 bench/run.sh       # also checkov on 2,000 (installed from PyPI)
#   CHECKOV=1 CHECKOV_20K=1 bench/run.sh   # and on 20,000 (capped at 25 min)
#   SIZES="2000" RUNS=3 bench/run.sh       # quicker
# Medians with min–max (at least 11 rounds up to 2,000 files), peak RSS from
# /usr/bin/time, load before and after.
set -euo pipefail
export LC_ALL=C  # a decimal point in $EPOCHREALTIME and in awk
cd "$(dirname "$0")/.."
OUT=${BENCH_DIR:-target/bench}
SIZES=${SIZES:-"2000 20000"}
RUNS=${RUNS:-5}
mkdir -p "$OUT"
cargo build --release --quiet
BIN=$PWD/target/release/kwi-lint
"$BIN" rules > /dev/null || { echo "kwi-lint does not start" >&2; exit 2; }

for n in $SIZES; do
  [ -f "$OUT/c$n.done" ] || { python3 bench/gen_corpus.py --files "$n" --seed 2 --out "$OUT/c$n" --gcloud --force > /dev/null 2>&1 && touch "$OUT/c$n.done"; }
done
# checkov is installed and run only when asked (it takes minutes).
if [ -n "${CHECKOV:-}" ] && [ ! -x "$OUT/venv/bin/checkov" ]; then
  python3 -m venv "$OUT/venv"
  "$OUT/venv/bin/pip" install --quiet checkov
fi

# One timed run: "seconds peak_rss_kb". The wall time is bash's microsecond
# clock around the run (time's own %e has 10 ms steps: a fifth of a 2,000-file
# run); it includes /usr/bin/time's own start, under a millisecond.
once() {
  local start=$EPOCHREALTIME
  /usr/bin/time -f "%M" -o "$OUT/time.txt" "$@" > /dev/null 2>&1 || true
  local end=$EPOCHREALTIME
  awk -v s="$start" -v e="$end" -v m="$(tail -n 1 "$OUT/time.txt")" 'BEGIN { printf "%.4f %s\n", e - s, m }'
}
instr() { # instructions counted by callgrind (single thread: deterministic)
  { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null || true; } | awk '/Collected/ {print $4}'
}
# The corpus read into the page cache before every timed run: these VMs run
# a DAMON pageout scheme (/sys/kernel/mm/damon: memory idle for 60 s is paged
# out), which evicted parts of the 200,000-file corpus between rounds (a
# parse-only run read 14–62 MB from disk right after a full run of its own).
warm() { find "$1" -type f -exec cat {} + > /dev/null; }
# median, min and max of the numbers on stdin
stats() { sort -g | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%s %s %s\n", m, v[1], v[NR]}'; }

row() { # name files bytes median min max rss_kb
  awk -v n="$1" -v f="$2" -v b="$3" -v s="$4" -v lo="$5" -v hi="$6" -v r="$7" 'BEGIN {
    printf "| %s | %d | %.1f | %.3f (%.3f–%.3f) | %.0f | %.1f | %.0f (%.1f× input) |\n", n, f, b/1e6, s, lo, hi, f/s, b/1e6/s, r/1024, r*1024/b }'
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $(date -u +%F)"
echo
echo "| run | files | MB | wall s, median (min–max) | files/s | MB/s | peak RSS MB |"
echo "|---|---:|---:|---:|---:|---:|---:|"
declare -A KWI GRAPH CANI FLOOR FLOOR1 BYTES CHECKOV PAIRED FASTEST
for n in $SIZES; do
  dir="$OUT/c$n"
  files=$(find "$dir" -type f | wc -l)
  bytes=$(find "$dir" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
  BYTES[$n]=$bytes
  warm "$dir"
  names=("parse-only floor" "kwi-lint, all rules" "kwi-lint graph" "kwi-lint can-i" "parse-only floor, 1 thread")
  cmds=("$BIN --parse-only $dir" "$BIN --format json $dir" "$BIN graph $dir" "$BIN can-i --as system:serviceaccount:ci:deployer patch deployments -n shop $dir" "$BIN --threads 1 --parse-only $dir")
  rm -f "$OUT"/t.* "$OUT"/m.*
  # Interleaved: each round runs every command once, so load changes hit all alike.
  # Runs of 2,000 files last a tenth of a second: at least 11 rounds.
  rounds=$RUNS
  if [ "$n" -le 2000 ] && [ "$rounds" -lt 11 ]; then rounds=11; fi
  for _ in $(seq "$rounds"); do
    for i in "${!cmds[@]}"; do
      warm "$dir"
      read -r t m < <(once ${cmds[$i]})
      echo "$t" >> "$OUT/t.$i"; echo "$m" >> "$OUT/m.$i"
    done
  done
  for i in "${!cmds[@]}"; do
    read -r med lo hi < <(stats < "$OUT/t.$i")
    rss=$(sort -g "$OUT/m.$i" | tail -n 1)
    row "${names[$i]} ($n)" "$files" "$bytes" "$med" "$lo" "$hi" "$rss"
    [ "$i" = 0 ] && FLOOR[$n]=$med
    [ "$i" = 1 ] && KWI[$n]=$med
    [ "$i" = 2 ] && GRAPH[$n]=$med
    [ "$i" = 3 ] && CANI[$n]=$med
    [ "$i" = 4 ] && FLOOR1[$n]=$med
  done
  # Each round's own ratios, then their medians: a slow spell of this shared
  # machine lasts seconds, so it slows a whole round more than it slows one
  # command against the others of its round.
  PAIRED[$n]=$(paste "$OUT/t.0" "$OUT/t.1" "$OUT/t.2" "$OUT/t.3" "$OUT/t.4" | awk '
    { for (c = 2; c <= 4; c++) r[c, NR] = $c / $1; s[NR] = $5 / $1 }
    function med(a, k,   i, j, t, v, m) {
      for (i = 1; i <= NR; i++) v[i] = (k ? a[k, i] : a[i])
      for (i = 1; i <= NR; i++) for (j = i + 1; j <= NR; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
      return (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    }
    END { printf "%.2f, graph %.2f, can-i %.2f; speed-up on all cores %.2f", med(r, 2), med(r, 3), med(r, 4), med(s, 0) }')
  # The fastest run of each command: the work is the same every run, so its
  # fastest is the one a neighbour disturbed least.
  FASTEST[$n]=$(for i in 0 1 2 3 4; do sort -g "$OUT/t.$i" | head -n 1; done | paste -s -d' ' | awk '
    { printf "%.2f, graph %.2f, can-i %.2f; speed-up on all cores %.2f", $2 / $1, $3 / $1, $4 / $1, $5 / $1 }')
  if [ -x "$OUT/venv/bin/checkov" ] && { [ "$n" -le 2000 ] || [ -n "${CHECKOV_20K:-}" ]; }; then
    read -r s r < <(once timeout 1500 "$OUT/venv/bin/checkov" -d "$dir" --framework kubernetes --quiet --compact --skip-download)
    CHECKOV[$n]=$s
    row "checkov --framework kubernetes ($n, once)" "$files" "$bytes" "$s" "$s" "$s" "$r"
  fi
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
for n in $SIZES; do
  awk -v k="${KWI[$n]}" -v g="${GRAPH[$n]}" -v c="${CANI[$n]}" -v f="${FLOOR[$n]}" -v n="$n" 'BEGIN {
    printf "- %s files: kwi-lint / parse-only floor = %.2f (graph %.2f, can-i %.2f)\n", n, k/f, g/f, c/f }'
  awk -v one="${FLOOR1[$n]}" -v f="${FLOOR[$n]}" -v b="${BYTES[$n]}" -v n="$n" -v c="$(nproc)" 'BEGIN {
    printf "- %s files: parse-only floor on 1 thread %.1f MB/s; on %d threads %.2f× faster\n", n, b/1e6/one, c, one/f }'
  echo "- $n files, medians of each round's ratios: kwi-lint / floor ${PAIRED[$n]}"
  echo "- $n files, fastest runs: kwi-lint / floor ${FASTEST[$n]}"
  if [ -n "${CHECKOV[$n]:-}" ]; then
    awk -v k="${KWI[$n]}" -v c="${CHECKOV[$n]}" -v n="$n" 'BEGIN { printf "- %s files: checkov / kwi-lint = %.0f×\n", n, c/k }'
  fi
done
first=$(echo "$SIZES" | awk '{print $1}')
dir="$OUT/c$first"
bytes=$(find "$dir" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
ik=$(instr "$BIN" --threads 1 --format json "$dir")
if=$(instr "$BIN" --threads 1 --parse-only "$dir")
# graph has no --threads: rayon's variable gives it one thread.
ig=$(RAYON_NUM_THREADS=1 instr "$BIN" graph "$dir")
awk -v k="$ik" -v f="$if" -v g="$ig" -v b="$bytes" -v n="$first" 'BEGIN {
  printf "- instructions per input byte (%s files, callgrind, one thread: the same count however loaded the machine): kwi-lint %.0f, graph %.0f, parse-only floor %.0f (ratio %.2f, graph %.2f)\n", n, k/b, g/b, f/b, k/f, g/f }'
# A pre-commit-sized repository: 20 files.
[ -f "$OUT/c20.done" ] || { python3 bench/gen_corpus.py --files 20 --seed 2 --out "$OUT/c20" --force > /dev/null 2>&1 && touch "$OUT/c20.done"; }
for _ in $(seq 10); do once "$BIN" "$OUT/c20" | cut -d' ' -f1; done > "$OUT/t.c20"
read -r med lo hi < <(stats < "$OUT/t.c20")
echo "- 20-file repository (pre-commit): ${med} s wall (median of 10, ${lo}–${hi})"
# What the process costs with no input (binary, libraries, thread stacks): at
# 2,000 files it is most of the peak RSS.
mkdir -p "$OUT/empty"
read -r _ base < <(once "$BIN" --parse-only "$OUT/empty")
awk -v r="$base" 'BEGIN { printf "- peak RSS with no input: %.1f MB (subtract it to get what the input costs)\n", r/1024 }' 
