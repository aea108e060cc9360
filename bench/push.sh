#!/usr/bin/env bash
# Push API benchmark: pushes/s and latency percentiles of
#   PUT /api/oms/pvt/orders/{orderId}/invoice/{invoiceNumber}/tracking
# against a release build of `rastro serve` on loopback, with wrk.
#
#   bash bench/push.sh [SHIPMENTS=1000] [SECONDS=20] [CONNECTIONS=32]
#   PERF_OUT=/tmp/push.perf bash bench/push.sh   # and a profile of the server (perf report -i …)
#   PERF_EVENT="-e sched:sched_switch" PERF_OUT=… # where the server's threads wait instead
#   RASTRO_BIN=/tmp/old/rastro bash bench/push.sh # a binary built before (alternate two builds)
#   KEEP=/tmp/run bash bench/push.sh              # keep the data folder (database, .eml files)
#
# Every push carries a new event (a distinct time), so each one is a real write:
# events stored, status derived, rules run, outbox rows committed (synchronous=FULL).
# A shipment's first push moves it to in transit, so its email is written during the run.
# Every push reads and merges all of its shipment's events: with 1,000 shipments a 20 s run
# ends with about 80 events each; with 10,000, about 10, nearer a real parcel's.
set -euo pipefail
cd "$(dirname "$0")/.."
SHIPMENTS=${1:-1000}; SECONDS_=${2:-20}; CONNECTIONS=${3:-32}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
# Release build in its own folder, so it never waits on (or invalidates) the debug build's.
# RASTRO_BIN=path runs a binary built before (to alternate runs of two builds).
if [ -n "${RASTRO_BIN:-}" ]; then BIN=$RASTRO_BIN; else
  BUILD=${RASTRO_BUILD:-.build-rel}
  swift build -c release --scratch-path "$BUILD" --product rastro >/dev/null
  BIN=$BUILD/release/rastro
fi
WORK=$(mktemp -d); trap 'kill $SERVE 2>/dev/null || true; rm -rf "$WORK"' EXIT
KEY=$($BIN merchant add bench --data "$WORK/data" | sed -n 's/.*(shown once): //p')
# A carrier that is never reached (polls fail fast and back off), so polling does not compete with pushes.
mkdir -p "$WORK/carriers/bench"
cat > "$WORK/carriers/bench/carrier.lua" <<'LUA'
return {
  id = "bench", name = "Bench", api = 1, hosts = { "127.0.0.1" }, poll = { every = "1d" },
  validate = function(code) return code:match("^BN%d+$") ~= nil end,
  request = function(codes, config, ctx) return { url = "http://127.0.0.1:9/track" } end,
  parse = function(response, codes, ctx) return failure.temporary("bench") end,
}
LUA
RASTRO_LOG_LEVEL=notice $BIN serve --port 0 --data "$WORK/data" --carriers "$WORK/carriers" --rules rules > "$WORK/serve.log" 2>&1 &
SERVE=$!
for _ in $(seq 100); do grep -q "url=http" "$WORK/serve.log" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/.*url=http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/serve.log" | head -1)
[ -n "$PORT" ] || { cat "$WORK/serve.log"; exit 1; }
python3 - "$PORT" "$KEY" "$SHIPMENTS" <<'PY'
import json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
port, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def register(i):
    body = json.dumps({"orderId": f"o-{i}", "invoiceNumber": f"nf-{i}", "carrier": "bench", "trackingNumber": f"BN{i}",
                       "customer": {"email": f"c{i}@example.com", "locale": "pt-BR"}}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/shipments", data=body, method="POST",
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
with ThreadPoolExecutor(8) as pool:
    list(pool.map(register, range(n)))
PY
# The registrations' emails are written before the run, so the run measures pushes.
for _ in $(seq 600); do
  [ "$(ls "$WORK/data/mail" 2>/dev/null | wc -l)" -ge "$SHIPMENTS" ] && break; sleep 0.1
done
cat > "$WORK/push.lua" <<LUA
local n, counter = $SHIPMENTS, 0
request = function()
  counter = counter + 1
  local i = math.random(0, n - 1)
  local minute = counter % 60
  local hour = math.floor(counter / 60) % 24
  local day = 1 + math.floor(counter / 1440) % 28
  local body = string.format('{"isDelivered":false,"deliveredDate":null,"events":[{"city":"Curitiba","state":"PR","description":"Em trânsito %d","date":"2026-01-%02d %02d:%02d"}]}', counter, day, hour, minute)
  return wrk.format("PUT", string.format("/api/oms/pvt/orders/o-%d/invoice/nf-%d/tracking", i, i),
    { ["Authorization"] = "Bearer $KEY", ["Content-Type"] = "application/json" }, body)
end
LUA
echo "machine: $(nproc) cores, $(uname -m); $SHIPMENTS shipments, $CONNECTIONS connections, ${SECONDS_}s"
# The server's CPU time (user + system, in clock ticks) around the run: CPU per push is steadier
# than pushes/s on a shared machine, and it is what a change to the hot path moves.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVE/stat"; }
sys_ticks() { awk '{print $15}' "/proc/$SERVE/stat"; }
CPU_BEFORE=$(cpu_ticks); SYS_BEFORE=$(sys_ticks)
# PERF_OUT=file: also sample the server's stacks during the run (perf record, software clock).
if [ -n "${PERF_OUT:-}" ]; then perf record ${PERF_EVENT:--e cpu-clock -F 999} ${PERF_CALLGRAPH:--g} -p "$SERVE" -o "$PERF_OUT" -- sleep "$SECONDS_" 2>/dev/null & fi
# wrk's own CPU too (it shares the cores), when GNU time is installed.
TIME=(); [ -x /usr/bin/time ] && TIME=(/usr/bin/time -f "wrk CPU: %U s user, %S s system")
"${TIME[@]}" wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_}s" --latency -s "$WORK/push.lua" "http://127.0.0.1:$PORT" | tee "$WORK/wrk.txt"
CPU_AFTER=$(cpu_ticks); SYS_AFTER=$(sys_ticks)
if grep -q "Non-2xx" "$WORK/wrk.txt"; then echo "some pushes failed: see above" >&2; exit 1; fi
awk '/Requests\/sec/ {print "pushes/s: " $2} / 99%/ {print "p99: " $2}' "$WORK/wrk.txt"
awk -v ticks=$((CPU_AFTER - CPU_BEFORE)) -v sys=$((SYS_AFTER - SYS_BEFORE)) -v hz="$(getconf CLK_TCK)" \
    '/requests in/ {printf "server CPU per push: %.3f ms (%.0f %% in the kernel)\n", ticks / hz * 1000 / $1, ticks ? 100 * sys / ticks : 0}' "$WORK/wrk.txt"
echo "outbox rows written: $($BIN outbox list --data "$WORK/data" --merchant bench --limit 500 | wc -l) (last 500 shown at most)"
if [ -n "${KEEP:-}" ]; then cp -r "$WORK" "$KEEP"; fi
