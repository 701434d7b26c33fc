#!/bin/bash
# Memory per idle connection with the connections split over several
# wsd-loadgen processes: when one process may not open them all (the hard
# open-file limit, `ulimit -Hn`, is below the count and cannot be raised).
# The server's RSS (all its processes) is sampled before the generators
# start and once every connection is established, after a settling pause.
#
#   bench/idle-split.sh --loadgen PATH --port P --server-pid PID \
#       --connections N --generators G [--source-addrs S] [--hold SECONDS]
#
# Each generator opens N/G connections from 127.0.0.1..127.0.0.S (about
# 28,000 per source address towards one server port).
set -euo pipefail

loadgen=""; port=""; pid=""; total=""; gens=2; addrs=4; hold=10
while [ $# -gt 0 ]; do
  case "$1" in
    --loadgen) loadgen=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --server-pid) pid=$2; shift 2 ;;
    --connections) total=$2; shift 2 ;;
    --generators) gens=$2; shift 2 ;;
    --source-addrs) addrs=$2; shift 2 ;;
    --hold) hold=$2; shift 2 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done
[ -n "$loadgen" ] && [ -n "$port" ] && [ -n "$pid" ] && [ -n "$total" ] || { sed -n 2,12p "$0"; exit 2; }

# RSS in kB of a process and all its descendants.
tree_rss() {
  local sum=0 p
  for p in $(ps -e -o pid=,ppid= | awk -v root="$1" '
      { parent[$1] = $2 } END { for (p in parent) { q = p; while (q != "" && q != 0) { if (q == root) { print p; break } q = parent[q] } } }'); do
    sum=$((sum + $(awk '/^VmRSS:/ { print $2 }' /proc/$p/status 2>/dev/null || echo 0)))
  done
  echo $sum
}
established() { ss -Htn state established "( sport = :$port )" | wc -l; }

before=$(tree_rss "$pid")
per=$((total / gens))
pids=()
for ((g = 0; g < gens; g++)); do
  "$loadgen" --port "$port" --mode idle --connections "$per" --source-addrs "$addrs" \
      --warmup 1 --duration "$hold" --timeout 60 > "/tmp/idle-split.$$.$g" 2>&1 &
  pids+=($!)
done
start=$(date +%s)
while [ "$(established)" -lt $((per * gens)) ] && [ $(( $(date +%s) - start )) -lt $((hold - 3)) ]; do sleep 0.5; done
held=$(established)
sleep 2   # settling
after=$(tree_rss "$pid")
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
for ((g = 0; g < gens; g++)); do tail -1 "/tmp/idle-split.$$.$g"; rm -f "/tmp/idle-split.$$.$g"; done
echo "RESULT mode=idle-split connections=$((per * gens)) generators=$gens held=$held rss_before_kb=$before rss_after_kb=$after bytes_per_conn=$(( (after - before) * 1024 / (held > 0 ? held : 1) ))"
exit $status
