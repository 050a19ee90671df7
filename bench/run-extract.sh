#!/usr/bin/env bash
# Extraction: speed of `bantin extract` on one core over ARTICLES generated articles (default 5,000), resident
# memory with all data loaded, start-up time, and the quality figures of `bantin eval` on Tests/gold.
# Appends a dated section to bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ARTICLES="${ARTICLES:-5000}"
RUNS="${RUNS:-3}"
swift build -c release --product bantin >/dev/null
BIN=.build/release
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
$BIN/bantin corpus --articles "$ARTICLES" --seed 7 --out "$WORK/corpus" >/dev/null
BYTES=$(cat "$WORK"/corpus/*.txt | wc -c)
: >"$WORK/empty.txt"
rates=()
for run in $(seq "$RUNS"); do
  # One core, output to /dev/null: reading, extracting and writing the JSON lines. The directory, not 5,000
  # paths: the argument parser takes time quadratic in the number of arguments.
  /usr/bin/time -f "%e %M" -o "$WORK/time" taskset -c 0 $BIN/bantin extract "$WORK/corpus" >/dev/null
  read -r seconds rss_kb <"$WORK/time"
  rate=$(python3 -c "print('%.2f' % ($BYTES / 1e6 / $seconds))")
  echo "run=$run seconds=$seconds MB/s=$rate max_rss_kb=$rss_kb"
  rates+=("$rate $rss_kb")
done
/usr/bin/time -f "%e %M" -o "$WORK/start" $BIN/bantin extract "$WORK/empty.txt" >/dev/null
read -r start_seconds start_rss_kb <"$WORK/start"
# Peer: underthesea's ner from PyPI, in a virtual environment of its own, on the first PEER_ARTICLES articles
# (it is slow), timing only the ner calls.
PEER=bench/out/underthesea-venv
PEER_ARTICLES="${PEER_ARTICLES:-100}"
peer="not measured: underthesea could not be installed from PyPI"
if [ ! -x "$PEER/bin/python" ]; then
  mkdir -p bench/out && python3 -m venv "$PEER" && "$PEER/bin/pip" install -q underthesea || rm -rf "$PEER"
fi
if [ -x "$PEER/bin/python" ]; then
  all_files=("$WORK"/corpus/*.txt)
  peer_files="${all_files[*]:0:$PEER_ARTICLES}"
  peer=$(taskset -c 0 "$PEER/bin/python" - $peer_files <<'PY'
import sys, time
from underthesea import ner
texts = [open(f, encoding="utf-8").read() for f in sys.argv[1:]]
ner("Khởi động.")  # load the model before timing
start = time.perf_counter()
for text in texts:
    for line in text.splitlines():
        if line.strip():
            ner(line)
seconds = time.perf_counter() - start
size = sum(len(t.encode("utf-8")) for t in texts)
import importlib.metadata as m
print("underthesea %s ner: %.3f MB/s (%d articles, %d bytes, %.1f s, one core)" % (m.version("underthesea"), size / 1e6 / seconds, len(texts), size, seconds))
PY
)
fi
echo "$peer"
median=$(printf '%s\n' "${rates[@]}" | sort -n | awk -v n="$RUNS" 'NR == int((n + 1) / 2)')
eval_seeds=$($BIN/bantin eval Tests/gold/seeds)
eval_dev=$($BIN/bantin eval Tests/gold/news/dev)
eval_heldout=$($BIN/bantin eval Tests/gold/news/heldout)
{
  echo
  echo "## Extraction ($(date -u +%Y-%m-%d), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'))"
  echo
  echo "\`bench/run-extract.sh\` (ARTICLES=$ARTICLES, RUNS=$RUNS): \`bantin extract\` pinned to one core over $ARTICLES generated"
  echo "articles ($BYTES bytes), JSON lines to /dev/null."
  echo
  echo "| median rate | max resident memory | start-up (empty file) | memory at start-up |"
  echo "| --- | --- | --- | --- |"
  set -- $median
  echo "| $1 MB/s | $(( $2 / 1024 )) MB | ${start_seconds} s | $(( start_rss_kb / 1024 )) MB |"
  echo
  echo "Peer: $peer."
  echo
  for set in seeds dev heldout; do
    case $set in seeds) out=$eval_seeds; dir=seeds;; dev) out=$eval_dev; dir=news/dev;; heldout) out=$eval_heldout; dir=news/heldout;; esac
    echo "\`bantin eval Tests/gold/$dir\`:"
    echo
    echo '```'
    echo "$out"
    echo '```'
    echo
  done
} | tee -a bench/RESULTS.md
