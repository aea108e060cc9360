#!/usr/bin/env bash
# Every benchmark, one after another, on a release build; prints the figures the
# README's "Measured" table reports, with the machine they were taken on.
#
#   bash bench/run.sh            # polls 10k and 100k, parse, push, 1M-shipment store, karrio
#   QUICK=1 bash bench/run.sh    # smaller sizes (polls 10k, store 100k), a minute or two after the build
#
# Needs: wrk (push), python3 (loopback Correios, karrio's virtualenv). A first
# release build takes about 15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASTRO_BUILD=${RASTRO_BUILD:-.build-rel}
swift build -c release --scratch-path "$RASTRO_BUILD" --product rastro >/dev/null
BIN=$RASTRO_BUILD/release/rastro
if [ -n "${QUICK:-}" ]; then POLLS=(--shipments 10000); STORE=100000; else POLLS=(--shipments 10000 --shipments 100000); STORE=1000000; fi

echo "== machine"
echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "$(. /etc/os-release; echo "$PRETTY_NAME"), $(swift --version 2>/dev/null | head -1), SQLite $(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)')"

echo; echo "== 1. end-to-end polls (loopback Correios, batches of 50, parse -> store -> rules -> outbox)"
"$BIN" bench polls "${POLLS[@]}"

echo; echo "== 2. parse µs per carrier (median per body, corpus and fixtures)"
"$BIN" carrier bench

echo; echo "== 3. push API (wrk, a new event per push): 10,000 open orders on 64 connections, then 1,000 on 32"
if command -v wrk >/dev/null; then
  bash bench/push.sh 10000 20 64
  echo; bash bench/push.sh 1000 20 32
else echo "skipped: wrk is not installed (apt-get install wrk)"; fi

echo; echo "== 4. store of $STORE active shipments"
"$BIN" bench store --shipments "$STORE"

echo; echo "== 5. karrio's parse vs rastro's, per carrier"
if [ -f bench/karrio_compare.sh ]; then bash bench/karrio_compare.sh; else echo "skipped: bench/karrio_compare.sh is missing"; fi
