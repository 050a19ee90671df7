#!/usr/bin/env bash
# The query service under `bantin load`: ARTICLES generated articles (default 100,000) indexed by
# `bantin build-index`, served by one bantin-query pinned to core 0; the load client on core 1.
# 1. the build: MB/s, snapshot size; 2. the replica: snapshot load time, resident memory;
# 3. `bantin load --find-max`: the highest open-loop rate of the standard search mix (1,000 searches:
#    single words, two-word phrases, two-word AND, phrases without diacritics) with p99 under 10 ms;
# 4. the latency at 25, 50, 75 and 100 % of that rate (STEP seconds each).
# Appends a dated section to bench/RESULTS.md; the HTML report of the 100 % run goes to WORK/.
set -euo pipefail
cd "$(dirname "$0")/.."
ARTICLES="${ARTICLES:-100000}"
STEP="${STEP:-10}"
PORT="${PORT:-7493}"
MAX_P99="${MAX_P99:-10}"
swift build -c release --product bantin >/dev/null
swift build -c release --product bantin-query >/dev/null
BIN=.build/release
WORK="${WORK:-$(mktemp -d)}"
$BIN/bantin certs init "$WORK/pki" >/dev/null

# WORK=DIR REUSE=1 keeps the index and FTS5 figures a previous run left in DIR (to try another SLO).
if [ "${REUSE:-0}" = 1 ] && [ -f "$WORK/build.json" ] && [ -f "$WORK/query/index.snapshot" ]; then
  build=$(cat "$WORK/build.json")
else
  echo "building the index of $ARTICLES articles..." >&2
  # Indexing is timed three times on the same prepared articles (median reported): this VM's speed drifts by a fifth.
  build=$($BIN/bantin build-index --articles "$ARTICLES" --data "$WORK/query" --index-runs 3 --json)
  echo "$build" >"$WORK/build.json"
  rm -f "$WORK/fts5.json"
fi
echo "$build" >&2
$BIN/bantin corpus --articles "$ARTICLES" --queries 1000 --query-mix "$WORK/queries.jsonl" 2>/dev/null

# Ingest is not running: the replica serves its snapshot and keeps retrying the feed quietly.
started=$(date +%s.%N)
BANTIN_LOG_LEVEL=error taskset -c 0 $BIN/bantin-query --pki "$WORK/pki" --port "$PORT" --data "$WORK/query" \
  --ingest 127.0.0.1:1 >"$WORK/query.log" 2>&1 &
QUERY=$!
trap 'kill $QUERY 2>/dev/null || true; wait $QUERY 2>/dev/null || true' EXIT
until $BIN/bantin call "127.0.0.1:$PORT" /bantin.query.v1.Query/Stats '{}' --pki "$WORK/pki" 2>/dev/null | grep -q "\"articles\": \"\?$ARTICLES"; do
  kill -0 $QUERY || { cat "$WORK/query.log"; exit 1; }
  sleep 0.2
done
ready=$(python3 -c "print(round($(date +%s.%N) - $started, 1))")
echo "replica ready after ${ready} s" >&2

load() { taskset -c 1 $BIN/bantin load "127.0.0.1:$PORT" --pki "$WORK/pki" --method /bantin.query.v1.Query/Search \
  --requests "$WORK/queries.jsonl" --connections 4 "$@"; }

# One search at a time, each of the 1,000 once: latency on the replica's one core (over mTLS, RPC included).
single=$(taskset -c 1 $BIN/bantin load "127.0.0.1:$PORT" --pki "$WORK/pki" --method /bantin.query.v1.Query/Search \
  --requests "$WORK/queries.jsonl" --connections 1 --concurrency 1 --calls 1000 --warmup 2s --json - 2>/dev/null)
echo "one at a time: $single" | cut -c1-300 >&2
# Resident memory once the mix has run: the heap (anonymous) and the pages of the mapped snapshot that searches
# touched (file-backed: clean, the kernel can drop them and read them again).
anon=$(awk '/RssAnon/ {print int($2/1024)}' "/proc/$QUERY/status")
file=$(awk '/RssFile/ {print int($2/1024)}' "/proc/$QUERY/status")
snap=$(awk '/^[0-9a-f]+-[0-9a-f]+ / {on = /index\.snapshot/} on && /^Rss:/ {kb += $2} END {print int(kb / 1024)}' "/proc/$QUERY/smaps")
rss=$((anon + file))
echo "resident after the mix: $rss MB ($anon MB heap, $snap MB of the mapped snapshot, $((file - snap)) MB program and libraries)" >&2

# Exit 2 (no rate met the SLO) is a result to report, not a failure of the script.
load --find-max --max-p99 "$MAX_P99" --start-rate 250 --step-duration "${STEP}s" --json "$WORK/max.json" >"$WORK/find-max.txt" || true
cat "$WORK/find-max.txt" >&2
max=$(grep -o 'highest rate meeting the SLO: [0-9]*' "$WORK/find-max.txt" | grep -o '[0-9]*$' || echo 0)

curve=()
if [ "$max" -gt 0 ]; then
  for pct in 25 50 75 100; do
    rate=$(( max * pct / 100 ))
    html=""; [ "$pct" = 100 ] && html="--html $WORK/query-load.html"
    line=$(load --rate "$rate" --duration "${STEP}s" --warmup 2s --json - $html 2>/dev/null || true)
    echo "$pct % ($rate/s): $line" | cut -c1-300 >&2
    curve+=("$pct $rate $line")
  done
fi

# The peer: SQLite FTS5 on the same articles and searches, in-process, on core 0 (the replica idles).
if [ ! -f "$WORK/fts5.json" ]; then
  echo "SQLite FTS5 on the same articles..." >&2
  $BIN/bantin corpus --articles "$ARTICLES" 2>/dev/null | taskset -c 0 python3 bench/fts5-peer.py "$WORK/queries.jsonl" "$WORK/fts5.db" >"$WORK/fts5.json"
fi
fts5=$(cat "$WORK/fts5.json")
echo "$fts5" >&2

{
  echo
  echo "## Query service under load $(date -u +%Y-%m-%d) — $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo
  echo "Command: \`make bench\` (bench/run-query-load.sh; ARTICLES=$ARTICLES, STEP=$STEP s, SLO p99 < $MAX_P99 ms). bantin-query on"
  echo "core 0 serving a \`bantin build-index\` snapshot; \`bantin load\` on core 1, 4 connections, open loop, 1,000-search mix."
  echo
  echo "$build" | python3 -c '
import json,sys
j=json.load(sys.stdin)
runs=j.get("index_runs_mb_per_s", [j["index_mb_per_s"]])
print("Build: {:,} articles, {} MB of text in {} s = {} MB/s end to end on {} threads (indexing alone {} MB/s on {} threads, median of {} runs: {}); snapshot {} MB written in {} s.".format(
  j["articles"], j["text_mb"], j["build_s"], j["build_mb_per_s"], j["threads"], j["index_mb_per_s"], j.get("index_threads", 1), len(runs), ", ".join(map(str, runs)), j["snapshot_mb"], j["snapshot_write_s"]))'
  echo "Replica: answering with every article $ready s after start (snapshot load); after the mix below, $rss MB resident:"
  echo "$anon MB heap, $snap MB of the mapped snapshot's pages and $((file - snap)) MB of the program and its libraries (file-backed, clean)."
  echo
  echo "Searches one at a time, the 1,000-search mix once each (Bantin over mTLS with the RPC included; FTS5 in-process,"
  echo "unicode61 remove_diacritics 2, bm25, LIMIT 10), one core each:"
  echo
  echo "| engine | p50 ms | p90 ms | p99 ms | max ms | searches/s | index build |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  python3 - "$single" "$fts5" "$build" <<'PY'
import json,sys
b,f,build=json.loads(sys.argv[1]),json.loads(sys.argv[2]),json.loads(sys.argv[3])
L=b["latency_ms"]
print("| Bantin | %s | %s | %s | %s | %.0f | %s MB/s indexing, median of %d runs (%s MB/s with cleaning and extraction) |" % (L["p50"],L["p90"],L["p99"],L["max"],b["calls_per_s"],build["index_mb_per_s"],len(build.get("index_runs_mb_per_s",[0])),build["build_mb_per_s"]))
print("| SQLite FTS5 | %s | %s | %s | %s | %.0f | %s MB/s |" % (f["p50_ms"],f["p90_ms"],f["p99_ms"],f["max_ms"],f["queries_per_s"],f["build_mb_per_s"]))
PY
  echo
  echo "Highest rate with p99 < $MAX_P99 ms (\`--find-max\`, $STEP s steps): **$max searches/s**."
  echo
  echo "| load | intended/s | achieved/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | client CPU |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  for row in "${curve[@]}"; do echo "$row"; done | python3 -c '
import json,sys
for l in sys.stdin:
    pct,rate,rest=l.split(" ",2)
    try: j=json.loads(rest)
    except Exception: print("| %s %% | %s | run failed | | | | | | | |" % (pct,rate)); continue
    L=j["latency_ms"]
    print("| %s %% | %s | %.0f | %s | %s | %s | %s | %s | %d | %d %%%s |" % (pct, rate, j["calls_per_s"], L["p50"], L["p90"], L["p99"], L["p999"], L["max"],
          j["calls"]-j["ok"], round(j["client_cpu"]["share"]*100), " (saturated)" if j["client_cpu"]["saturated"] else ""))'
} | tee -a bench/RESULTS.md
