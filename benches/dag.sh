#!/usr/bin/env bash
# benches/dag.sh - what needs cost the scheduler: each DAG against the same jobs with no
# needs, run back to back (alternating, ROUNDS pairs, medians), `true` jobs at -j 2.
#
#   bash benches/dag.sh [PRUN]        # PRUN defaults to the release build
#
# Shapes (N jobs each): fan-out (every job needs the first: 20 000 and 100 000), chain
# (each needs the one before: 10 000), diamond (a root, 20 000 in the middle that need
# it, a sink that needs them all). The ratio is the DAG's wall time / the same jobs
# without needs, at -j 2 (a chain, which runs one job at a time, against -j 1); the goal
# (issue: architecture round 4) is within 1.10.
set -euo pipefail
cd "$(dirname "$0")/.."
PRUN=${1:-target/x86_64-unknown-linux-musl/release/prun}
ROUNDS=${ROUNDS:-3}
SHAPES=${SHAPES:-"fanout:20000 fanout:100000 chain:10000 diamond:20000"}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

gen() { # shape n needs(0|1) > file
  python3 - "$@" <<'PY'
import sys
shape, n, needs = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
out = ["mode: async", "jobs:"]
def job(i, need=None):
    out.append(f"  - name: j{i}\n    run: 'true'")
    if needs and need is not None:
        out.append(f"    needs: [{need}]" if isinstance(need, str) else "    needs: [" + ", ".join(need) + "]")
if shape == "fanout":
    job(0)
    for i in range(1, n): job(i, "j0")
elif shape == "chain":
    job(0)
    for i in range(1, n): job(i, f"j{i-1}")
elif shape == "diamond":
    job(0)
    for i in range(1, n + 1): job(i, "j0")
    job(n + 1, [f"j{i}" for i in range(1, n + 1)])
print("\n".join(out))
PY
}

now() { echo "${EPOCHREALTIME/./}"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "| shape | jobs | with needs (s) | without (s) | ratio |"
echo "| --- | ---: | ---: | ---: | ---: |"
for s in $SHAPES; do
  shape=${s%%:*} n=${s##*:}
  # A chain runs one job at a time whatever -j says: it is held against -j 1.
  j=2; [[ $shape == chain ]] && j=1
  gen "$shape" "$n" 1 > "$dir/with.yaml"
  gen "$shape" "$n" 0 > "$dir/without.yaml"
  : > "$dir/w"; : > "$dir/wo"; : > "$dir/r"
  for ((r = 0; r < ROUNDS; r++)); do
    t0=$(now); "$PRUN" "$dir/with.yaml" -j "$j" --output none >/dev/null 2>&1; t1=$(now)
    "$PRUN" "$dir/without.yaml" -j "$j" --output none >/dev/null 2>&1; t2=$(now)
    echo $((t1 - t0)) >> "$dir/w"; echo $((t2 - t1)) >> "$dir/wo"
    awk -v a=$((t1 - t0)) -v b=$((t2 - t1)) 'BEGIN {printf "%.4f\n", a / b}' >> "$dir/r"
  done
  w=$(median < "$dir/w"); wo=$(median < "$dir/wo"); ratio=$(median < "$dir/r")
  awk -v s="$shape" -v n="$n" -v w="$w" -v wo="$wo" -v r="$ratio" \
    'BEGIN {printf "| %s | %d | %.2f | %.2f | %.3f |\n", s, n, w / 1e6, wo / 1e6, r}'
done
