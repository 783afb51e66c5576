#!/bin/bash
# Settle time of dlt-load networks by size and link kind, as a Markdown table.
#
#   bench/settle_table.sh                      # 10 30 50 100 200 nodes, native and HTTP
#   NODES="100 200" LINKS=native bench/settle_table.sh
#   DURATION=20 CLIENTS=100 MIX=tx=80,mine=15,consensus=5 bench/settle_table.sh
#
# Every row runs `dlt-load --spawn N [--native] --duration D --clients C
# --mix M` with the same load; "settle s" is from dlt-load's "settling" line
# to its verdict (settling, then verifying every node's full chain), as
# dlt-load reports it ("settle and verify took"). How busy the machine was
# just before each run (CPU busy over 3 s, all cores; the load average
# still counts the previous run's nodes) is shown with it: figures from a
# busy machine are not those of a quiet one. Each run's output is kept in $OUT (default a temporary
# directory, printed at the end). Runs take minutes; run on a quiet machine.

set -u
here=$(cd "$(dirname "$0")" && pwd)
DLT_LOAD=${DLT_LOAD:-$here/../build/bench/dlt-load}
NODES=${NODES:-"10 30 50 100 200"}
LINKS=${LINKS:-"native http"}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-60}
MIX=${MIX:-tx=90,mine=8,consensus=2}
TIMEOUT=${TIMEOUT:-300}
EXTRA=${EXTRA:-}
OUT=${OUT:-$(mktemp -d /tmp/settle-table-XXXXXX)}
mkdir -p "$OUT"

if [ ! -x "$DLT_LOAD" ]; then
  echo "settle_table.sh: no dlt-load at $DLT_LOAD (build it, or set DLT_LOAD)" >&2
  exit 2
fi

echo "dlt-load --duration $DURATION --clients $CLIENTS --mix $MIX --settle-timeout $TIMEOUT $EXTRA"
echo "on $(nproc) cores; $(uname -n), $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "uptime before: $(uptime)"
echo
echo "| nodes | link | load tx/s | failed | settle s | verdict | CPU busy before |"
echo "|---:|---|---:|---:|---:|---|---:|"

# Percent of all cores busy over the next 3 seconds.
busy() {
  local a b
  read -r -a a < <(head -1 /proc/stat)
  sleep 3
  read -r -a b < <(head -1 /proc/stat)
  local total=0 idle i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  idle=$((b[4] - a[4] + b[5] - a[5]))
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
status=0
for n in $NODES; do
  for link in $LINKS; do
    flag=""
    [ "$link" = native ] && flag="--native"
    log="$OUT/settle-$n-$link.txt"
    load="$(busy) %"
    # shellcheck disable=SC2086
    "$DLT_LOAD" --spawn "$n" $flag --duration "$DURATION" --clients "$CLIENTS" \
      --mix "$MIX" --settle-timeout "$TIMEOUT" $EXTRA >"$log" 2>&1
    rc=$?
    [ $rc -ne 0 ] && status=1
    # operation table rows: name ok failed per-s p50 p90 p99 max
    txs=$(awk '$1 == "tx" && NF == 8 { printf "%.0f", $4 }' "$log")
    failed=$(awk '($1 == "tx" || $1 == "mine" || $1 == "consensus") && NF == 8 { f += $3 } END { print f + 0 }' "$log")
    settle=$(sed -n 's/^settle and verify took \([0-9.]*\) s.*/\1/p' "$log")
    if [ -z "$settle" ]; then
      # No verification: how long settling ran before it gave up.
      settle=$(sed -n 's/.*settled in \([0-9.]*\) s.*/\1/p' "$log")
    fi
    if [ $rc -eq 0 ] && grep -q '^OK$' "$log"; then
      verdict="OK: $(sed -n 's/.*acknowledged transactions: \(.*\)$/\1/p' "$log")"
    else
      verdict=$(grep -m1 '^FAILED\|^dlt-load:.*[^)]$' "$log" | grep -v ' node(s)' | cut -c1-120)
      verdict=${verdict:-"exit $rc"}
    fi
    echo "| $n | $link | ${txs:-?} | ${failed:-?} | ${settle:-?} | $verdict | $load |"
  done
done
echo
echo "uptime after: $(uptime)"
echo "outputs: $OUT"
exit $status
