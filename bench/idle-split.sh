#!/bin/bash
# Memory per idle connection with the connections split over several
# wsd-loadgen processes: when one process may not open them all (the hard
# open-file limit, `ulimit -Hn`, is below the count and cannot be raised).
#
# One command (starts wsd in BASE mode itself, echo plugin, on a free port):
#
#   bench/idle-split.sh --wsd build/daemon/wsd --loadgen build/bench/loadgen/wsd-loadgen \
#       --connections 100000 [--workers W] [--generators G] [--source-addrs S] [--hold SECONDS]
#
# Against a server already running (any server; only the count, RSS and
# generator results are reported):
#
#   bench/idle-split.sh --loadgen PATH --port P --server-pid PID --connections N \
#       [--generators G] [--source-addrs S] [--hold SECONDS]
#
# Each generator opens N/G connections from 127.0.0.1..127.0.0.S. They are
# held until every generator has opened its share and the measurements
# below are taken, and at least --hold seconds (default 5) after that; then
# each generator is sent SIGINT, which ends its hold: it closes with 1000.
# Defaults: G so that each generator holds at most 15,000 (below the hard
# open-file limit of 20,000 of the development machine); S so that each
# source address has at most 10,000 (connect() picks even ports first: once
# an address's ~14,000 even ports are taken, every connect() from it scans
# them all before it finds an odd one, and opening slows to a few hundred
# per second); W (BASE mode workers, each holding its own share, spread by
# SO_REUSEPORT) so that each worker holds about 12,500 on average.
#
# Steps: wsd started and checked (an echo), its RSS (master and workers)
# sampled; generators started; once every generator has reported its
# connect phase over (and a 2-second pause), the established count (`ss`),
# the RSS again, the clients per worker (`ss -p`) and a fresh echo check
# (64 new connections, a second of echoes) while everything is held; the
# generators then close with 1000; wsd is stopped and its log's warnings
# and errors are printed. Last line: RESULT mode=idle-split ...
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
loadgen=""; wsd=""; port=""; pid=""; total=""; gens=""; addrs=""; hold=5; workers=""
max_conn=""; keep_log=0
while [ $# -gt 0 ]; do
  case "$1" in
    --loadgen) loadgen=$2; shift 2 ;;
    --wsd) wsd=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --max-connection) max_conn=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --server-pid) pid=$2; shift 2 ;;
    --connections) total=$2; shift 2 ;;
    --generators) gens=$2; shift 2 ;;
    --source-addrs) addrs=$2; shift 2 ;;
    --hold) hold=$2; shift 2 ;;
    --keep-log) keep_log=1; shift ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done
usage() { sed -n 2,30p "$0" >&2; exit 2; }
[ -n "$loadgen" ] && [ -n "$total" ] || usage
if [ -n "$wsd" ]; then
  [ -z "$port" ] && [ -z "$pid" ] || { echo "--wsd starts its own server: no --port/--server-pid" >&2; exit 2; }
else
  [ -n "$port" ] && [ -n "$pid" ] || usage
fi
ceil() { echo $(( ($1 + $2 - 1) / $2 )); }
[ -n "$gens" ] || gens=$(ceil "$total" 15000); [ "$gens" -ge 1 ] || gens=1
[ -n "$addrs" ] || addrs=$(ceil "$total" 10000); [ "$addrs" -ge 1 ] || addrs=1
[ -n "$workers" ] || workers=$(ceil "$total" 12500); [ "$workers" -ge 1 ] || workers=1
[ -n "$max_conn" ] || max_conn=$(( total + total / 10 + 1000 ))
per=$(( (total + gens - 1) / gens ))   # the largest share; the first total % gens get one more
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$per" -gt $((hard - 64)) ]; then
  echo "each generator would hold $per connections but the hard open-file limit is $hard: raise --generators" >&2
  exit 2
fi

tmp=$(mktemp -d /tmp/idle-split.XXXXXX)
gen_pids=()
cleanup() {
  local p
  for p in "${gen_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${gen_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$wsd" ] && [ -n "$pid" ]; then
    stop_wsd
  fi
  if [ "$keep_log" = 1 ]; then echo "kept: $tmp" >&2; else rm -rf "$tmp"; fi
}
# SIGTERM (wsd closes its workers), then SIGKILL for whatever is left of its
# process group (it was started in a session of its own).
stop_wsd() {
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# RSS in kB of a process and all its descendants.
descendants() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
      { parent[$1] = $2 } END { for (p in parent) { q = p; while (q != "" && q != 0) { if (q == root) { print p; break } q = parent[q] } } }'
}
tree_rss() {
  local sum=0 p
  for p in $(descendants "$1"); do
    sum=$((sum + $(awk '/^VmRSS:/ { print $2 }' /proc/$p/status 2>/dev/null || echo 0)))
  done
  echo $sum
}
# Host-wide TCP counters (other programs count too): SYNs retransmitted and
# connections the listeners' queues dropped, sampled around the connect phase.
kernel_counters() {
  nstat -az TcpExtTCPSynRetrans TcpExtListenOverflows TcpExtListenDrops TcpExtTCPReqQFullDrop 2>/dev/null |
    awk '/^TcpExt/ { printf "%s ", $2 }'
}
established() { ss -Htn state established "( sport = :$port )" | wc -l; }
# A fresh echo check: 64 new connections (so that, in BASE mode, every
# worker very likely gets one), a second of echoes. Prints its RESULT line.
echo_check() {
  "$loadgen" --port "$port" --mode echo --connections 64 --warmup 0.2 --duration 1 --timeout 5 2>&1 |
    grep '^RESULT' || echo "RESULT mode=echo errors=no-result"
}

if [ -n "$wsd" ]; then
  port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  setsid "$wsd" --config "$here/../config/server.yaml" --set host=127.0.0.1 --set port="$port" \
      --set mode=base --set worker_num="$workers" --set max_connection="$max_conn" \
      --set log_level=warning --set shutdown_timeout=2s > "$tmp/wsd.log" 2>&1 < /dev/null &
  pid=$!
  ok=0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    if "$loadgen" --port "$port" --mode echo --connections 1 --warmup 0 --duration 0.1 --timeout 1 \
         > /dev/null 2>&1; then ok=1; break; fi
    sleep 0.2
  done
  if [ "$ok" != 1 ]; then echo "wsd did not answer:" >&2; tail -20 "$tmp/wsd.log" >&2; exit 1; fi
  echo "wsd BASE mode, $workers workers, max_connection $max_conn, port $port, pid $pid"
fi
echo "$total connections: $gens generators of up to $per, source addresses 127.0.0.1..127.0.0.$addrs"

before=$(tree_rss "$pid")
k0=($(kernel_counters))
t0=$(date +%s%N)
for ((g = 0; g < gens; g++)); do
  share=$(( total / gens + (g < total % gens ? 1 : 0) ))
  "$loadgen" --port "$port" --mode idle --connections "$share" --source-addrs "$addrs" \
      --warmup 1 --duration $((150 + hold + 120)) --timeout 60 > "$tmp/gen.$g" 2>&1 &
  gen_pids+=($!)
done
# Every generator prints "connected ..." when its connect phase is over.
while :; do
  done_n=0
  for ((g = 0; g < gens; g++)); do
    if grep -q '^  connected ' "$tmp/gen.$g" || ! kill -0 "${gen_pids[$g]}" 2>/dev/null; then
      done_n=$((done_n + 1))
    fi
  done
  [ "$done_n" -lt "$gens" ] || break
  if [ $(( $(date +%s%N) - t0 )) -gt 150000000000 ]; then echo "connect phase over 150 s" >&2; break; fi
  sleep 0.2
done
open_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
open_sec=$((open_ms / 1000)).$(( open_ms % 1000 / 100 ))
k1=($(kernel_counters))
kernel=""
if [ ${#k0[@]} = 4 ] && [ ${#k1[@]} = 4 ]; then
  kernel="syn_retrans=$((k1[0] - k0[0])) listen_overflows=$((k1[1] - k0[1])) listen_drops=$((k1[2] - k0[2])) req_q_full_drops=$((k1[3] - k0[3]))"
fi
sleep 2   # settling
held=$(established)
after=$(tree_rss "$pid")
per_worker=""
if [ -n "$wsd" ]; then
  # Clients per process (the first pid= on each line), and the sockets ss
  # could not attribute to a process.
  per_worker=$(ss -Htnp state established "( sport = :$port )" |
               awk '{ if (match($0, /pid=[0-9]+/)) n[substr($0, RSTART + 4, RLENGTH - 4)]++; else none++ }
                    END { for (p in n) print n[p]; if (none) print "unattributed:" none }' | sort -n | tr '\n' ' ')
  # Cross-check: socket descriptors per wsd process (clients, plus the
  # listener and the channels to the master).
  per_process_fds=$(for w in $(descendants "$pid"); do find /proc/$w/fd -lname 'socket:*' 2>/dev/null | wc -l; done |
                    sort -n | tr '\n' ' ')
  check=$(echo_check)
fi
sleep "$hold"
# The hold ends: each generator closes its connections with 1000 and reports.
for p in "${gen_pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
status=0
for p in "${gen_pids[@]}"; do wait "$p" || status=1; done
gen_pids=()
opened=0; failed=0; closed=0; errors=0
for ((g = 0; g < gens; g++)); do
  line=$(grep '^RESULT' "$tmp/gen.$g" || echo "RESULT mode=idle errors=no-result")
  echo "$line"
  val() { echo "$line" | awk -v key="$1" -v dflt="$2" '
      { for (i = 1; i <= NF; i++) if (index($i, key "=") == 1) { v = substr($i, length(key) + 2); if (v ~ /^[0-9]+$/) { print v; exit } } print dflt }'; }
  opened=$((opened + $(val opened 0))); failed=$((failed + $(val failed 0)))
  closed=$((closed + $(val closed_clean 0))); errors=$((errors + $(val errors 1)))
  if [ "$(val errors 1)" != 0 ]; then grep -v '^RESULT' "$tmp/gen.$g" | sed "s/^/  gen $g: /"; fi
done

summary="RESULT mode=idle-split connections=$total generators=$gens source_addrs=$addrs"
summary+=" opened=$opened failed=$failed open_sec=$open_sec held=$held"
summary+=" rss_before_kb=$before rss_after_kb=$after bytes_per_conn=$(( (after - before) * 1024 / (held > 0 ? held : 1) ))"
summary+=" closed_clean=$closed errors=$errors"
echo "kernel, connect phase (host-wide): ${kernel:-nstat not available}"
if [ -n "$wsd" ]; then
  sleep 1
  left=$(established)
  rss_closed=$(tree_rss "$pid")
  echo "echo check while held: $check"
  echo "clients per worker at the peak (ss -p, ascending): $per_worker"
  echo "socket descriptors per wsd process (ascending): $per_process_fds"
  stop_wsd
  echo "wsd log (warnings and errors, counted):"
  # "date time level [role] text": counted by level, role and text.
  grep -E '^[0-9-]+ [0-9:.]+ (warning|error|critical) ' "$tmp/wsd.log" | sed -E 's/^[0-9-]+ [0-9:.]+ //' |
    sort | uniq -c | sed 's/^/  /' || true
  check_errors=$(echo "$check" | grep -o ' errors=[^ ]*' | cut -d= -f2)
  [ "$check_errors" = 0 ] || status=1
  counts=$(echo "$per_worker" | tr ' ' '\n' | grep -E '^[0-9]+$' | sort -n | tr '\n' ' ')
  summary+=" workers=$workers per_worker_max=$(echo $counts | awk '{ print $NF }')"
  summary+=" per_worker_min=$(echo $counts | awk '{ print $1 }') check_errors=$check_errors"
  summary+=" rss_closed_kb=$rss_closed left_after_close=$left"
fi
[ "$errors" = 0 ] && [ "$held" -ge "$total" ] || status=1
echo "$summary"
exit $status
