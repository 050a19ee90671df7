#!/usr/bin/env bash
# Multi-host test: each service on its own host (a network namespace with its own address), reached by name with
# certificates for those names. Traffic stays inside the namespaces: the hosts share a bridge that lives in a
# namespace of its own, and nothing is routed to or from the machine's network.
#
#   host            address        names
#   bantin-mh-ext   10.231.0.2     extract.bantin.test
#   bantin-mh-ing   10.231.0.3     ingest.bantin.test
#   bantin-mh-q1    10.231.0.4     query-1.bantin.test, query.bantin.test
#   bantin-mh-q2    10.231.0.5     query-2.bantin.test, query.bantin.test
#   bantin-mh-cli   10.231.0.10    (the client)
#
# Checks: the seeds ingested through one host are found from another; a query replica stopped with SIGTERM and
# started again while load runs costs no failed search; one killed with SIGKILL costs at most the calls it had in
# flight; ingest stopped with SIGTERM under a stream of submissions loses no accepted article.
#
# Needs root and `ip netns`; skipped with a message otherwise. Usage: Tests/multihost/run.sh [BIN_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${1:-.build/debug}")
PREFIX=bantin-mh
SUBNET=10.231.0
HOSTS=(ext ing q1 q2 cli)
declare -A ADDRESS=([ext]=$SUBNET.2 [ing]=$SUBNET.3 [q1]=$SUBNET.4 [q2]=$SUBNET.5 [cli]=$SUBNET.10)
passed=0
failed=0

skip() { echo "multihost: skipped: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root to create network namespaces (run: sudo make test-multihost)"
command -v ip >/dev/null || skip "ip (iproute2) is not installed"
ip netns add $PREFIX-probe 2>/dev/null || skip "this machine does not allow 'ip netns add' (a container without CAP_SYS_ADMIN?)"
ip netns del $PREFIX-probe

WORK=$(mktemp -d /tmp/bantin-multihost.XXXXXX)
declare -A PIDS=()

cleanup() {
  for name in "${!PIDS[@]}"; do kill -KILL "${PIDS[$name]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for host in "${HOSTS[@]}" sw; do ip netns del "$PREFIX-$host" 2>/dev/null || true; rm -rf "/etc/netns/$PREFIX-$host"; done
  if [ "$failed" -ne 0 ] || [ "${KEEP:-0}" = 1 ]; then echo "multihost: logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

check() {  # check NAME COMMAND...: runs the command, counts it
  local name=$1; shift
  if "$@"; then echo "ok   $name"; passed=$((passed + 1)); else echo "FAIL $name"; failed=$((failed + 1)); fi
}

on() { local host=$1; shift; ip netns exec "$PREFIX-$host" "$@"; }

# --- the network: a bridge in its own namespace, one veth per host ---
ip netns add $PREFIX-sw
on sw ip link add br0 type bridge
on sw ip link set br0 up
on sw ip link set lo up
for host in "${HOSTS[@]}"; do
  ns=$PREFIX-$host
  ip netns add "$ns"
  ip link add "mh-$host" type veth peer name eth0 netns "$ns"
  ip link set "mh-$host" netns $PREFIX-sw
  on sw ip link set "mh-$host" master br0 up
  on "$host" ip addr add "${ADDRESS[$host]}/24" dev eth0
  on "$host" ip link set eth0 up
  on "$host" ip link set lo up
  # `ip netns exec` puts these over /etc/hosts and /etc/host.conf for that host only.
  mkdir -p "/etc/netns/$ns"
  {
    echo "127.0.0.1 localhost"
    echo "${ADDRESS[ext]} extract.bantin.test"
    echo "${ADDRESS[ing]} ingest.bantin.test"
    echo "${ADDRESS[q1]} query-1.bantin.test query.bantin.test"
    echo "${ADDRESS[q2]} query-2.bantin.test query.bantin.test"
  } >"/etc/netns/$ns/hosts"
  echo "multi on" >"/etc/netns/$ns/host.conf"
done

"$BIN/bantin" certs init "$WORK/pki" --name extract.bantin.test --name ingest.bantin.test --name query.bantin.test \
  --name query-1.bantin.test --name query-2.bantin.test >/dev/null

# --- the services ---
start() {  # start NAME HOST EXECUTABLE [ENV=VALUE...]
  local name=$1 host=$2 executable=$3; shift 3
  # exec all the way down (ip netns exec and env exec too), so that $! is the service's own pid and signals reach it.
  (exec ip netns exec "$PREFIX-$host" env BANTIN_PKI="$WORK/pki" BANTIN_HOST="${ADDRESS[$host]}" BANTIN_LOG_LEVEL=notice \
    BANTIN_DRAIN_TIMEOUT=10 "$@" "$BIN/$executable" >>"$WORK/$name.log" 2>&1) &
  PIDS[$name]=$!
}
start_query() { start "$1" "$2" bantin-query BANTIN_INGEST=ingest.bantin.test:7401 BANTIN_DATA="$WORK/$1" BANTIN_SNAPSHOT_INTERVAL=2; }
stop() {  # stop NAME SIGNAL
  kill "-$2" "${PIDS[$1]}" 2>/dev/null || true
  local status=0
  wait "${PIDS[$1]}" || status=$?
  unset "PIDS[$1]"
  return $status
}

http() {  # http HOST ADDRESS PORT PATH: prints the response (status line first), from inside HOST
  on "$1" bash -c "exec 3<>/dev/tcp/$2/$3 && printf 'GET $4 HTTP/1.0\r\n\r\n' >&3 && cat <&3" 2>/dev/null || true
}
ready() { http cli "$1" "$2" /readyz | head -n 1 | grep -q " 200 "; }
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2; shift 2
  for _ in $(seq $((limit * 5))); do "$@" && return 0; sleep 0.2; done
  echo "timed out after ${limit}s waiting for $what"; return 1
}
client() { on cli "$BIN/bantin" "$@" --pki "$WORK/pki"; }
articles_on() {  # articles_on NAME: article count of a query replica, asked by its own name
  client call "$1.bantin.test:7403" /bantin.query.v1.Query/Stats '{}' 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("articles", 0))'
}

start extract ext bantin-extract
start ingest ing bantin-ingest BANTIN_EXTRACT=extract.bantin.test:7402 BANTIN_DATA="$WORK/ingest"
start_query query-1 q1
start_query query-2 q2
all_ready() {
  ready "${ADDRESS[ext]}" 9402 && ready "${ADDRESS[ing]}" 9401 && ready "${ADDRESS[q1]}" 9403 && ready "${ADDRESS[q2]}" 9403
}
check "every host's service becomes ready, probed from the client host" wait_for 60 "readiness" all_ready

# --- seeds in through ingest, out through either replica ---
seeds_accepted() { client ingest seeds --ingest ingest.bantin.test:7401 | tee "$WORK/ingest-seeds.txt" | grep -q '^accepted 5,'; }
check "the five seeds are accepted through ingest.bantin.test" seeds_accepted
both_hold() { [ "$(articles_on query-1)" = "$1" ] && [ "$(articles_on query-2)" = "$1" ]; }
check "both replicas hold them" wait_for 30 "both replicas at 5 articles" both_hold 5
search_finds() { client search 'tap chi cong san' --query query.bantin.test:7403 | tee "$WORK/search.txt" | grep -qE '^([2-9]|[1-9][0-9]+) article'; }
check "a search by name (both replicas behind it) finds them from the client host" search_finds

# --- a replica restarted under load ---
load() {  # load SECONDS OUTPUT: open-loop searches over both replicas (query.bantin.test has both addresses)
  client load query.bantin.test:7403 --method /bantin.query.v1.Query/Search \
    --template '{"query":"{{q}}","limit":5}' --var 'q=tap chi cong san|Bắc Kạn|hội nghị|thông tin đối ngoại|Ban Tuyên giáo' \
    --rate 100 --warmup 1s --duration "${1}s" --timeout 5s --json "$2" >"$2.txt" 2>&1 || true
}
calls() {  # calls FILE: "ok failed" of a load result
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); c=r["statuses"]; ok=c.get("OK", 0); print(ok, sum(c.values()) - ok)' "$1" 2>/dev/null || echo "0 0"
}

load 16 "$WORK/load-sigterm.json" &
loader=$!
sleep 5
stop query-2 TERM && term_status=0 || term_status=$?
sleep 2
start_query query-2 q2
wait $loader
read -r ok bad < <(calls "$WORK/load-sigterm.json")
echo "     SIGTERM + restart of query-2 under 100 searches/s: $ok OK, $bad failed"
check "query-2 exits 0 on SIGTERM" [ "$term_status" = 0 ]
check "no search fails while a replica drains and restarts" [ "$bad" = 0 -a "$ok" -gt 1000 ]
check "the restarted replica is ready again" wait_for 30 "query-2 ready" ready "${ADDRESS[q2]}" 9403

load 16 "$WORK/load-sigkill.json" &
loader=$!
sleep 5
in_flight=$(http cli "${ADDRESS[q1]}" 9403 /metrics | awk '/^bantin_rpc_server_calls_in_flight /{print int($2)}')
pid_before=${PIDS[query-1]}
stop query-1 KILL || true
check "query-1 was killed" bash -c "! kill -0 $pid_before 2>/dev/null"
sleep 2
start_query query-1 q1
wait $loader
read -r ok bad < <(calls "$WORK/load-sigkill.json")
echo "     SIGKILL + restart of query-1 under 100 searches/s: $ok OK, $bad failed ($in_flight in flight just before)"
# What was in flight on the killed replica fails; nothing else may. The in-flight gauge is read a moment before the
# kill, so allow the calls of one more such moment (at 100/s and ~2 ms a call, in flight is 0 or 1).
check "a killed replica costs only its in-flight searches" [ "$bad" -le $((in_flight + 2)) -a "$ok" -gt 1000 ]
caught_up() { [ "$(articles_on "$1")" = "$2" ]; }
check "the killed replica catches up again" wait_for 30 "query-1 at 5 articles" caught_up query-1 5

# --- ingest stopped under a stream of submissions ---
# 100 distinct articles a second to ingest; SIGTERM after 4 s; ingest restarted. Every submission answered OK must
# reach the replicas (ingest acknowledges only what it has committed). Submissions refused while it is down fail
# visibly, and one whose reply was lost may be stored too, so the replicas may hold more than OK, never fewer.
client load ingest.bantin.test:7401 --method /bantin.ingest.v1.Ingest/Submit \
  --template '{"text":"Bắc Kạn làm việc với đoàn công tác số {{i}}\nSáng ngày {{day}}/11, đồng chí Nguyễn Văn {{name}}, Bí thư Tỉnh ủy Bắc Kạn, đã làm việc với đoàn công tác số {{i}} của Ban Tuyên giáo Trung ương về công tác thông tin đối ngoại năm 2023. Hai bên đã trao đổi về kết quả thực hiện Chỉ thị số 07-CT/TW của Ban Bí thư và thống nhất kế hoạch số {{i}}/KH-UBND cho giai đoạn tiếp theo."}' \
  --var 'day=1..28' --var 'name=An|Bình|Cường|Dũng|Hải' --template-requests 3000 \
  --rate 100 --warmup 0s --duration 10s --timeout 5s --json "$WORK/submit.json" >"$WORK/submit.txt" 2>&1 &
submitter=$!
sleep 4
stop ingest TERM && ingest_status=0 || ingest_status=$?
sleep 1
start ingest ing bantin-ingest BANTIN_EXTRACT=extract.bantin.test:7402 BANTIN_DATA="$WORK/ingest"
wait $submitter || true
read -r ok bad < <(calls "$WORK/submit.json")
echo "     SIGTERM + restart of ingest under 100 submissions/s: $ok answered OK, $bad failed"
check "ingest exits 0 on SIGTERM" [ "$ingest_status" = 0 ]
check "submissions were accepted before and after the restart" [ "$ok" -gt 400 ]
holds_all() { local n; n=$(articles_on "$1"); [ -n "$n" ] && [ "$n" -ge $((5 + ok)) ]; }
check "every article answered OK reaches query-1" wait_for 60 "query-1 at $((5 + ok)) articles or more" holds_all query-1
check "every article answered OK reaches query-2" wait_for 60 "query-2 at $((5 + ok)) articles or more" holds_all query-2
echo "     replicas hold $(articles_on query-1) and $(articles_on query-2) articles (5 seeds + $ok answered OK)"

echo "multihost: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
