#!/usr/bin/env bash
# Unary Echo over mutual TLS: server pinned to core 0 (one event loop), client to core 1,
# 4 connections × 16 calls in flight (`bantin load`, closed loop), 64 B and 4 KiB, 3 runs of 10 s each
# (median reported).
# Server CPU per call = (utime + stime of the server process during the run) / calls.
# Appends a dated section to bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10}"
RUNS="${RUNS:-3}"
PORT="${PORT:-7490}"
PKI="$(mktemp -d)"
swift build -c release --product bantin >/dev/null
BIN=.build/release/bantin
$BIN certs init "$PKI" >/dev/null
taskset -c 0 $BIN echo-server --pki "$PKI" --port "$PORT" --threads 1 2>/dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$PKI"' EXIT
sleep 1
TICKS=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }

results=()
for size in 64 4096; do
  for run in $(seq "$RUNS"); do
    before=$(cpu)
    payload=$(python3 -c "import base64; print(base64.b64encode(b'a' * $size).decode())")
    line=$(taskset -c 1 $BIN load "127.0.0.1:$PORT" --pki "$PKI" --method /bantin.bench.v1.Echo/Echo --data "{\"payload\":\"$payload\"}" \
           --connections 4 --concurrency 16 --duration "${DURATION}s" --warmup 2s --json - 2>/dev/null)
    after=$(cpu)
    calls=$(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["calls"])')
    # CPU ticks include the 2 s warm-up; scale calls by (warmup+duration)/duration to match.
    cpu_us=$(python3 -c "print(round(($after-$before)/$TICKS*1e6/($calls*($DURATION+2)/$DURATION),1))")
    echo "size=$size run=$run $line server_cpu_us_per_call=$cpu_us"
    results+=("$size $line $cpu_us")
  done
done

{
  echo
  echo "## $(date -u +%Y-%m-%d) — $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo
  echo "Command: \`make bench\` (bench/run-echo.sh; DURATION=$DURATION RUNS=$RUNS). Median of runs by calls/s."
  echo
  echo "| payload | calls/s | p50 ms | p90 ms | p99 ms | p99.9 ms | server CPU µs/call | client CPU |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  printf '%s\n' "${results[@]}" | python3 -c '
import json,sys
rows={}
for l in sys.stdin:
    size,rest=l.split(" ",1); j,cpu=rest.rsplit(" ",1)
    rows.setdefault(size,[]).append((json.loads(j),cpu.strip()))
for size,rs in rows.items():
    rs.sort(key=lambda r:r[0]["calls_per_s"]); j,cpu=rs[len(rs)//2]
    cols=[str(j["latency_ms"][k]) for k in ("p50","p90","p99","p999")]
    client=str(round(j["client_cpu"]["share"]*100)) + " %" + (" (saturated)" if j["client_cpu"]["saturated"] else "")
    print("| %s B | {:,} | %s | %s | %s |".format(int(j["calls_per_s"])) % (size, " | ".join(cols), cpu, client))
'
} | tee -a bench/RESULTS.md
