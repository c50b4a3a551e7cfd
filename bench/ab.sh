#!/usr/bin/env bash
# Two kwi-lint binaries on the same folder, interleaved: each round runs the
# first, then the second, each after the folder is read into the page cache,
# so a slow spell of the machine slows both. Prints the median and the
# fastest wall time of each.
#
#   bench/ab.sh OLD_BIN NEW_BIN DIR ROUNDS [kwi-lint arguments...]
#   bench/ab.sh /tmp/kwi-old target/release/kwi-lint target/bench/c20000 9 --threads 1 --parse-only
#
# The arguments come before DIR on each command line (`graph` works too).
set -euo pipefail
export LC_ALL=C
[ $# -ge 4 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
old=$1 new=$2 dir=$3 rounds=$4
shift 4
times=$(mktemp)
trap 'rm -f "$times"' EXIT
for _ in $(seq "$rounds"); do
  for bin in "$old" "$new"; do
    find "$dir" -type f -exec cat {} + > /dev/null
    start=$EPOCHREALTIME
    "$bin" "$@" "$dir" > /dev/null 2>&1 || true
    end=$EPOCHREALTIME
    echo "$bin $start $end" >> "$times"
  done
done
for bin in "$old" "$new"; do
  awk -v b="$bin" '$1 == b { print $3 - $2 }' "$times" | sort -g |
    awk -v b="$bin" '{ v[NR] = $1 } END {
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%s: median %.3f s, fastest %.3f s (%d rounds)\n", b, m, v[1], NR }'
done
