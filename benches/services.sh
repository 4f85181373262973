#!/usr/bin/env bash
# benches/services.sh PRUN ROUNDS - what services cost (called by benches/bench.sh, which
# puts its rows in BENCHMARKS.md; runs alone too). Prints two markdown rows on stdout:
#
# 1. Log-probe latency: a service prints a line its `log` probe waits for, right after
#    taking the time (t0, `date +%s%N`); the job that needs it takes the time as its first
#    act (t1). t1 - t0 is how long prun took to see the line, decide the service is
#    ready, and start the dependent (a shell and `date`): an upper bound on the probe's
#    latency. Median and worst of ROUNDS * 4 runs.
# 2. Idle services: 100 services (`exec sleep`, ready once started) and one job that
#    needs them all, which reads prun's CPU time (utime + stime in /proc/<prun>/stat,
#    its $PPID) over 10 s while they are up: prun's CPU share while its services idle.
#    And the same 100 services still probing (a `tcp` probe to a closed port every 200
#    ms, the default), read from outside over 5 s.
set -euo pipefail
PRUN=$(realpath "$1")
ROUNDS=${2:-3}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
cd "$D"
say() { printf '%s\n' "$*" >&2; }
hz=$(getconf CLK_TCK)

cat >latency.yaml <<'EOF'
jobs:
  - name: svc
    service: true
    run: |
      sleep 0.2
      t=$(date +%s%N)
      echo "$t" > t0
      echo "ready now"
      exec sleep 60
    ready: { log: "^ready now$", interval: 1s }
  - name: dependent
    needs: [svc]
    run: date +%s%N > t1
EOF
lat=()
for ((r = 0; r < ROUNDS * 4; r++)); do
  rm -f t0 t1
  "$PRUN" latency.yaml --output none >/dev/null 2>&1
  lat+=("$(( ($(cat t1) - $(cat t0)) / 1000 ))")
done
read -r med worst <<<"$(printf '%s\n' "${lat[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f %.1f", a[int((NR + 1) / 2)] / 1000, a[NR] / 1000 }')"
say "   log probe: line printed -> dependent started: median ${med} ms, worst ${worst} ms (${#lat[@]} runs)"

# A closed port: bound, then released, so nothing listens on it.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
{
  echo "jobs:"
  for i in $(seq 100); do
    printf '  - name: s%d\n    service: true\n    run: exec sleep 60\n' "$i"
  done
  printf '  - name: idle\n    needs: [%s]\n' "$(seq -s, -f 's%g' 100)"
  cat <<'EOF'
    run: |
      cpu() { awk '{ print $14 + $15 }' /proc/$PPID/stat; }
      sleep 1
      a=$(cpu); t0=$(date +%s%N)
      sleep 10
      b=$(cpu); t1=$(date +%s%N)
      echo "$((b - a)) $(( (t1 - t0) / 1000000 )) $(cat /proc/$PPID/comm)" > idle.txt
EOF
} >idle.yaml
"$PRUN" idle.yaml --output none >/dev/null 2>&1
read -r ticks ms comm <idle.txt
[[ $comm == prun ]] || { say "the job's parent is $comm, not prun"; exit 1; }
idle=$(awk -v t="$ticks" -v hz="$hz" -v ms="$ms" 'BEGIN { printf "%.2f", 100 * t / hz / (ms / 1000) }')
say "   100 idle services: prun used $ticks ticks of CPU in $ms ms: $idle %"

{
  echo "jobs:"
  for i in $(seq 100); do
    printf '  - name: s%d\n    service: true\n    run: exec sleep 60\n    ready: { tcp: "127.0.0.1:%d", timeout: 8s }\n' "$i" "$port"
  done
  printf '  - name: never\n    needs: [%s]\n    run: "true"\n' "$(seq -s, -f 's%g' 100)"
} >probing.yaml
"$PRUN" probing.yaml --output none >/dev/null 2>&1 &
pid=$!
sleep 1
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
a=$(cpu); t0=$(date +%s%N)
sleep 5
b=$(cpu); t1=$(date +%s%N)
wait "$pid" || true
probing=$(awk -v t="$((b - a))" -v hz="$hz" -v ms="$(( (t1 - t0) / 1000000 ))" 'BEGIN { printf "%.2f", 100 * t / hz / (ms / 1000) }')
say "   100 services probing (tcp, refused, every 200 ms): prun used $((b - a)) ticks in 5 s: $probing %"

echo "| a \`log\` probe: the line printed → the dependent started | median $med ms, worst $worst ms (${#lat[@]} runs) |"
echo "| prun's CPU while 100 services are up and idle (10 s) | $idle % |"
echo "| prun's CPU while 100 services are probed (\`tcp\`, refused, every 200 ms; 5 s) | $probing % |"
