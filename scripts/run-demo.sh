#!/usr/bin/env bash
# `make run`: the three services on 127.0.0.1:7401-7403 with var/pki and var/data, seeds/ ingested.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release
export BANTIN_PKI=var/pki
[ -f var/pki/ca.pem ] || $BIN/bantin certs init var/pki >/dev/null
$BIN/bantin up --pki var/pki --data var/data &
UP=$!
trap 'kill -TERM $UP 2>/dev/null; wait $UP' INT TERM
for i in $(seq 50); do
  $BIN/bantin call 127.0.0.1:7403 /bantin.health.v1.Health/Check '{}' >/dev/null 2>&1 && break
  sleep 0.2
done
echo "== ingesting seeds/"
$BIN/bantin ingest seeds --verbose
echo "== extracted (bantin extract, per article)"
for f in seeds/*; do
  $BIN/bantin extract "$f" | python3 -c '
import json,sys
for line in sys.stdin:
    j=json.loads(line); by={}
    for e in j["entities"]: by.setdefault(e["type"],[]).append(e["text"])
    print(j["file"])
    for t,v in sorted(by.items()): print("  %-13s %s" % (t, "; ".join(dict.fromkeys(v))))
    # The organization only when the title does not name it already ("Bí thư Thành ủy", not "... Thành ủy Thành ủy").
    for r in j["roles"]: print("  ROLE          %s — %s%s" % (r["person"], r["title"], "" if r["organization"] in r["title"] else " (%s)" % r["organization"]))
'
done
sleep 1
echo "== bantin search tap chi cong san"
$BIN/bantin search tap chi cong san
echo "== bantin entity nong thanh tung"
$BIN/bantin entity nong thanh tung
echo "serving: ingest 127.0.0.1:7401, extract :7402, query :7403 (Ctrl-C stops)"
wait $UP
