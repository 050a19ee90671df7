#!/usr/bin/env bash
# End to end: ARTICLES generated articles (default 20,000) submitted on one SubmitStream to bantin-ingest, extracted
# by bantin-extract, followed by one bantin-query replica; throughput from the first submit to the last article
# visible in query, and freshness from each accept reply to visible. Fresh PKI and data directory per run.
# All three services and the client share this machine's cores (no pinning): it is the whole system's rate.
# Appends a dated section to bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ARTICLES="${ARTICLES:-20000}"
RUNS="${RUNS:-3}"
swift build -c release >/dev/null
BIN=.build/release
WORK="$(mktemp -d)"
$BIN/bantin certs init "$WORK/pki" >/dev/null
export BANTIN_PKI="$WORK/pki" BANTIN_LOG_LEVEL=warning
results=()
for run in $(seq "$RUNS"); do
  rm -rf "$WORK/data"
  $BIN/bantin up --pki "$WORK/pki" --data "$WORK/data" --ports 7481,7482,7483 >"$WORK/up.log" 2>&1 &
  UP=$!
  trap 'kill -TERM $UP 2>/dev/null || true; wait $UP 2>/dev/null || true; rm -rf "$WORK"' EXIT
  for i in $(seq 100); do
    $BIN/bantin call 127.0.0.1:7483 /bantin.health.v1.Health/Check '{}' >/dev/null 2>&1 && break
    sleep 0.1
  done
  line=$($BIN/bantin pipeline-bench --articles "$ARTICLES" --seed "$run" --ingest 127.0.0.1:7481 --query 127.0.0.1:7483 --json)
  echo "run=$run $line"
  results+=("$line")
  kill -TERM $UP; wait $UP 2>/dev/null || true
done
{
  echo
  echo "## Pipeline $(date -u +%Y-%m-%d) — $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo
  echo "Command: \`make bench\` (bench/run-pipeline.sh; ARTICLES=$ARTICLES RUNS=$RUNS, seeds 1..$RUNS). Median run by articles/s."
  echo
  echo "| articles | MB | seconds | articles/s | freshness p50 ms | p99 ms | max ms |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  printf '%s\n' "${results[@]}" | python3 -c '
import json,sys
runs=[json.loads(l) for l in sys.stdin]; rs=sorted(runs, key=lambda j:j["articles_per_s"]); j=rs[len(rs)//2]
print("| {:,} | {} | {} | {:,} | {} | {} | {} |".format(j["articles"], j["megabytes"], j["seconds"], j["articles_per_s"], j["freshness_p50_ms"], j["freshness_p99_ms"], j["freshness_max_ms"]))
print()
print("Every run, in order: " + ", ".join("{:,} articles/s (p99 {} ms)".format(r["articles_per_s"], r["freshness_p99_ms"]) for r in runs) + ".")
'
} | tee -a bench/RESULTS.md
