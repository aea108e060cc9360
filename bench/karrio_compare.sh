#!/usr/bin/env bash
# rastro vs karrio: median parse time of every corpus body that karrio's own tests used,
# per carrier, with the ratio karrio / rastro and its geometric mean.
#
#   bash bench/karrio_compare.sh [RUNS=2000]
#
# Environment:
#   RASTRO_CORPUS  corpus folder (default ../shared/corpus)
#   RASTRO_BIN     rastro binary to time (default: a release build in .build-rel, built here)
#   MAX_SECONDS    time bound per body for karrio's runs (default 3)
#
# Every figure is also left in .build-karrio/rastro.json and .build-karrio/compare.json.
# karrio and its carrier extensions are installed once into .build-karrio/venv (gitignored
# through .build-*/), pinned below; nothing of karrio is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-2000}
CORPUS=${RASTRO_CORPUS:-../shared/corpus}
MAX_SECONDS=${MAX_SECONDS:-3}
[ -f "$CORPUS/SOURCES.md" ] || { echo "corpus not found: $CORPUS/SOURCES.md (set RASTRO_CORPUS)" >&2; exit 1; }

# One version for the core and every extension: karrio releases them together.
KARRIO_VERSION=2026.1.32
# The connectors whose tests the corpus' karrio_* bodies come from (SOURCES.md). Not on PyPI for
# this version, so their bodies are listed as not compared: dpdhl (last 2023.9.2), sf_express
# (2023.4), fedex_ws, usps_wt, ups_freight, yanwen (never published).
EXTENSIONS="amazon-shipping aramex australiapost bpost canpar chronopost dhl-express dhl-parcel-de
  dhl-universal dpd fedex geodis gls hermes laposte mydhl purolator royalmail seko sendle spring tnt ups usps"

VENV=.build-karrio/venv
REQUIREMENTS="karrio==$KARRIO_VERSION"
for e in $EXTENSIONS; do REQUIREMENTS+=$'\n'"karrio-$e==$KARRIO_VERSION"; done
STAMP="$VENV/.installed-$(printf '%s' "$REQUIREMENTS" | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  echo "installing karrio $KARRIO_VERSION and $(echo $EXTENSIONS | wc -w) extensions into $VENV" >&2
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  printf '%s\n' "$REQUIREMENTS" > .build-karrio/requirements.txt
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r .build-karrio/requirements.txt
  touch "$STAMP"
fi

if [ -z "${RASTRO_BIN:-}" ]; then
  echo "building rastro (release, .build-rel)" >&2
  swift build -c release --scratch-path .build-rel --product rastro >&2
  RASTRO_BIN=.build-rel/release/rastro
fi

# Only the carriers that have karrio bodies; rastro times each body after 10 warm-up runs.
CARRIERS=$(cd "$CORPUS" && ls -d */karrio_* | cut -d/ -f1 | sort -u)
echo "timing rastro ($RASTRO_BIN, $RUNS runs per body)" >&2
# shellcheck disable=SC2086
"$RASTRO_BIN" carrier bench --carriers carriers --corpus "$CORPUS" --runs "$RUNS" --json $CARRIERS > .build-karrio/rastro.json
echo "timing karrio" >&2
"$VENV/bin/python" bench/karrio_compare.py --corpus "$CORPUS" --rastro-json .build-karrio/rastro.json \
  --runs "$RUNS" --max-seconds "$MAX_SECONDS" --json-out .build-karrio/compare.json
