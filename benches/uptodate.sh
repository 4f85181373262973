#!/usr/bin/env bash
# benches/uptodate.sh PRUN ROUNDS - what up-to-date checks cost (called by
# benches/bench.sh, which puts its rows in BENCHMARKS.md; runs alone too). Each figure
# is the median of ROUNDS + 2 runs of prun on a jobfile whose jobs are all up to date
# (the fingerprints saved by a first run), warm cache, beside the same bytes read by
# `cat` and hashed by `sha256sum` (and `b3sum` where installed) in the same session:
#
# 1. one job with 10,000 source files of 10 KB (a directory walked);
# 2. one job with 1 GB of sources (100 files of 10 MB);
# 3. 1,000 jobs, each with 2 source files of its own.
set -euo pipefail
PRUN=$(realpath "$1")
ROUNDS=${2:-3}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
cd "$D"
say() { printf '%s\n' "$*" >&2; }
now() { date +%s.%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { printf "%.3f", a[int((NR + 1) / 2)] }'; }
# Median wall seconds of ROUNDS + 2 runs of "$@".
timed() {
  for ((r = 0; r < ROUNDS + 2; r++)); do
    local t0 t1
    t0=$(now)
    "$@" >/dev/null 2>&1
    t1=$(now)
    echo "$t1 - $t0" | bc -l
  done | median
}

mkdir -p small big
head -c 10240 /dev/urandom >seed
for i in $(seq 10000); do cp seed "small/f$i"; echo "$i" >>"small/f$i"; done
for i in $(seq 100); do head -c 10000000 /dev/urandom >"big/f$i"; done
printf 'jobs:\n  - name: small\n    sources: [small]\n    run: "true"\n' >small.yaml
printf 'jobs:\n  - name: big\n    sources: [big]\n    run: "true"\n' >big.yaml
mkdir -p many
{
  echo "jobs:"
  for i in $(seq 1000); do
    echo "a$i" >"many/a$i"; echo "b$i" >"many/b$i"
    printf '  - name: j%d\n    sources: [many/a%d, many/b%d]\n    run: "true"\n' "$i" "$i" "$i"
  done
} >many.yaml
for f in small big many; do "$PRUN" $f.yaml -j 2 --output none >/dev/null 2>&1; done
"$PRUN" many.yaml -j 2 2>&1 | grep -q "1000 up to date" || { say "many.yaml is not up to date"; exit 1; }

s_prun=$(timed "$PRUN" small.yaml --output none)
s_cat=$(timed sh -c 'find small -type f -exec cat {} + >/dev/null')
s_sha=$(timed sh -c 'find small -type f -exec sha256sum {} + >/dev/null')
say "   10,000 x 10 KB: prun ${s_prun}s, cat ${s_cat}s, sha256sum ${s_sha}s"
b_prun=$(timed "$PRUN" big.yaml --output none)
b_cat=$(timed sh -c 'cat big/* >/dev/null')
b_sha=$(timed sh -c 'sha256sum big/* >/dev/null')
b_b3="not installed"
if command -v b3sum >/dev/null; then b_b3="$(timed sh -c 'b3sum big/* >/dev/null') s"; fi
say "   1 GB: prun ${b_prun}s, cat ${b_cat}s, sha256sum ${b_sha}s, b3sum ${b_b3}"
m_prun=$(timed "$PRUN" many.yaml -j 2 --output none)
say "   1,000 jobs up to date: prun ${m_prun}s"

echo "| 1 job, 10,000 source files of 10 KB (100 MB), up to date | $s_prun s | cat: $s_cat s, sha256sum: $s_sha s |"
echo "| 1 job, 1 GB of sources (100 x 10 MB), up to date | $b_prun s | cat: $b_cat s, sha256sum: $b_sha s, b3sum: $b_b3 |"
echo "| 1,000 jobs of 2 sources each, all up to date, -j 2 | $m_prun s | |"
