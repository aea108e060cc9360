#!/usr/bin/env python3
"""rastro vs karrio: parse time per corpus body that karrio's own tests used.

Run through bench/karrio_compare.sh, which installs karrio into a virtualenv and
produces rastro's figures (`rastro carrier bench --json`). This script times
karrio's tracking parse for the same bodies and prints the comparison.

For each `karrio_*` body named in the corpus' SOURCES.md, the karrio connector is
the one whose tests the body came from (e.g. fedex_ws, mydhl, usps_wt), so a
corpus carrier can map to several connectors. The response object karrio parses
is the one the connector's own proxy builds: the proxy's `get_tracking` runs once,
untimed, with karrio's HTTP helpers replaced by a stub that returns the body (what
karrio's tests do with `mock.patch(...lib.request)`). The timed region is then
`gateway.mapper.parse_tracking_response(response)`, which runs the JSON/XML
deserialization of the raw body (the proxy's deserializer) and the parse.
"""

import argparse
import contextlib
import gc
import json
import logging
import math
import os
import re
import statistics
import sys
import time
import unittest.mock as mock
from pathlib import Path

# karrio logs an INFO line on import; timing is unaffected either way (debug calls are filtered).
os.environ.setdefault("KARRIO_LOG_LEVEL", "WARNING")

def karrio_bodies(corpus: Path):
    """(carrier, file, connector) for every karrio-sourced body, from SOURCES.md's Files table."""
    sources = corpus / "SOURCES.md"
    if not sources.exists():
        sys.exit(f"error: {sources} not found; it maps each karrio_* body to the karrio connector whose tests used it")
    rows = []
    for line in sources.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or cells[3] != "karrioapi/karrio":
            continue
        carrier, path, test_path = cells[0], cells[1], cells[4]
        m = re.match(r"(?:modules/connectors|sdk/extensions)/([^/]+)/", test_path)
        if not m or not Path(path).name.startswith("karrio_"):
            continue
        rows.append((carrier, Path(path).name, m.group(1)))
    if not rows:
        sys.exit(f"error: no karrioapi/karrio rows in the Files table of {sources}")
    return rows


CREDENTIAL = re.compile(r"key|secret|password|client_id|username|user_id|login|delis_id|account_number|api_token")


def dummy_settings(settings_class):
    """Placeholders for the mandatory fields and the optional credentials, as karrio's test fixtures use dummy ones."""
    import attr
    values = {}
    for f in attr.fields(settings_class):
        if f.name.startswith("_"):
            continue
        mandatory = f.default is attr.NOTHING
        if not mandatory and not (f.default is None and CREDENTIAL.search(f.name)):
            continue
        kind = str(f.type)
        values[f.name] = True if "bool" in kind else 0 if "int" in kind else f.name
    return values


def token_cache():
    """A karrio Cache that holds a valid token for every connection, as karrio's fixtures pass `cached_auth`."""
    import datetime
    import karrio.lib as lib

    expiry = (datetime.datetime.now() + datetime.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    token = dict(access_token="access_token", token="token", token_type="Bearer", expires_in=86400,
                 issued_at="1685542319575", scope="", status="approved", depot="0530", expiry=expiry)

    class AnyTokenCache(lib.Cache):
        def get(self, key: str):
            return super().get(key) or dict(token)

    return AnyTokenCache()


def stub_http(body: str):
    """Replace karrio's HTTP helpers wherever a loaded module holds them (modules import them under several names)."""
    import karrio.lib as lib
    from karrio.core.utils import helpers

    originals = {id(getattr(m, "request")) for m in (lib, helpers)}

    def fake_request(*args, **kwargs):
        return body

    patches = []
    for name, module in list(sys.modules.items()):
        if not name.startswith("karrio") or module is None:
            continue
        for attr_name, value in list(vars(module).items()):
            if callable(value) and id(value) in originals:
                patches.append(mock.patch.object(module, attr_name, fake_request))
    return patches


def prepare(connector: str, body: str, tracking_number: str):
    """The gateway and the Deserializable its proxy returns for `body` (untimed)."""
    import karrio.core.models as models
    from karrio.references import collect_providers_data
    from karrio.sdk import gateway

    providers = collect_providers_data()
    if connector not in providers:
        return None, None, f"karrio connector '{connector}' is not installed (no karrio.{connector} package for this karrio version)"
    g = gateway[connector].create(dummy_settings(providers[connector].Settings), cache=token_cache())
    patches = stub_http(body)
    for p in patches:
        p.start()
    try:
        request = g.mapper.create_tracking_request(models.TrackingRequest(tracking_numbers=[tracking_number]))
        response = g.proxy.get_tracking(request)
    finally:
        for p in patches:
            p.stop()
    return g, response, None


def time_parse(g, response, runs: int, max_seconds: float):
    """Median ns of parse_tracking_response over up to `runs` runs (after 10 warm-up), stopping at max_seconds."""
    parse = g.mapper.parse_tracking_response
    # Some schemas print or log "unknown arguments ..." for every unmapped field (jstruct's
    # logger.warning): still timed, but not on the terminal.
    logging.disable(logging.WARNING)
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        result = None
        for _ in range(10):
            result = parse(response)
        samples = []
        gc.collect()
        clock = time.perf_counter_ns
        deadline = clock() + int(max_seconds * 1e9)
        for _ in range(runs):
            start = clock()
            parse(response)
            end = clock()
            samples.append(end - start)
            if end > deadline:
                break
    logging.disable(logging.NOTSET)
    return statistics.median(samples), len(samples), result


def describe(result):
    details, messages = result
    details = details if isinstance(details, list) else ([details] if details else [])
    events = sum(len(getattr(d, "events", None) or []) for d in details)
    return f"{len(details)} tracking, {events} events, {len(messages or [])} messages"


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--rastro-json", type=Path, required=True, help="output of `rastro carrier bench --json`")
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--max-seconds", type=float, default=3.0, help="time bound per body")
    ap.add_argument("--carriers", nargs="*", help="only these corpus carriers")
    ap.add_argument("--json-out", type=Path, help="also write every figure here")
    args = ap.parse_args()

    import karrio.core.models  # noqa: F401  (import cost stays out of the first body's figure)
    from importlib.metadata import version
    karrio_version = version("karrio")

    rastro = json.loads(args.rastro_json.read_text())
    rastro_us = {(b["carrier"], b["body"]): b for b in rastro["bodies"]}

    rows = []
    for carrier, name, connector in karrio_bodies(args.corpus):
        path = args.corpus / carrier / name
        if args.carriers and carrier not in args.carriers:
            continue
        row = {"carrier": carrier, "body": name, "connector": connector,
               "karrio_us": None, "rastro_us": None, "karrio_error": None, "rastro_error": None}
        rows.append(row)
        r = rastro_us.get((carrier, name))
        if r is None:
            row["rastro_error"] = "rastro bench has no figure for this body"
        elif r.get("error"):
            row["rastro_error"] = f"rastro failed: {r['error']}"
        else:
            row["rastro_us"] = r["median_us"]
        if not path.exists():
            row["karrio_error"] = f"{path} listed in SOURCES.md but missing"
            continue
        expected_path = path.with_name(path.name.split(".")[0] + ".expected.json")
        tracking_number = "0000000000"
        if expected_path.exists():
            tracking_number = json.loads(expected_path.read_text()).get("tracking_number") or tracking_number
        body = path.read_text(encoding="utf-8")
        try:
            g, response, missing = prepare(connector, body, tracking_number)
        except Exception as e:  # karrio could not build its response object: report, do not drop
            row["karrio_error"] = f"karrio setup failed: {type(e).__name__}: {str(e)[:200]}"
            continue
        if missing:
            row["karrio_error"] = missing
            continue
        try:
            median_ns, n, result = time_parse(g, response, args.runs, args.max_seconds)
        except Exception as e:
            row["karrio_error"] = f"karrio parse raised {type(e).__name__}: {str(e)[:200]}"
            continue
        row["karrio_us"] = median_ns / 1000
        row["karrio_runs"] = n
        row["karrio_result"] = describe(result)
        print(f"  {carrier:15} {name:45} karrio {row['karrio_us']:9.1f} µs ({n} runs; {row['karrio_result']})", file=sys.stderr)

    print(f"\nPer body (median µs; karrio {karrio_version}, Python {sys.version.split()[0]}; rastro {rastro.get('runs')} runs per body)\n")
    print(f"{'carrier':15} {'body':46} {'connector':16} {'karrio':>9} {'rastro':>8} {'ratio':>7}")
    for r in rows:
        k = f"{r['karrio_us']:9.1f}" if r["karrio_us"] is not None else f"{'-':>9}"
        s = f"{r['rastro_us']:8.1f}" if r["rastro_us"] is not None else f"{'-':>8}"
        ratio = f"{r['karrio_us'] / r['rastro_us']:7.1f}" if r["karrio_us"] and r["rastro_us"] else f"{'-':>7}"
        error = "; ".join(e for e in (r["karrio_error"], r["rastro_error"]) if e)
        print(f"{r['carrier']:15} {r['body']:46} {r['connector']:16} {k} {s} {ratio}" + (f"  {error}" if error else ""))

    print("\nPer carrier: median of the bodies' medians; ratio = geometric mean of the bodies' karrio / rastro\n")
    print("| carrier | files compared | karrio µs | rastro µs | karrio / rastro |")
    print("|---|---:|---:|---:|---:|")
    carrier_ratios, file_ratios = [], []
    for carrier in sorted({r["carrier"] for r in rows}):
        both = [r for r in rows if r["carrier"] == carrier and r["karrio_us"] is not None and r["rastro_us"] is not None]
        if both:
            ratios = [r["karrio_us"] / r["rastro_us"] for r in both]
            carrier_ratios.append(geomean(ratios))
            file_ratios += ratios
            k = statistics.median(r["karrio_us"] for r in both)
            s = statistics.median(r["rastro_us"] for r in both)
            print(f"| {carrier} | {len(both)} | {k:.0f} | {s:.0f} | {geomean(ratios):.1f} |")
    print(f"| **geometric mean** | {len(file_ratios)} | | | **{geomean(file_ratios):.1f}** |")
    print(f"\nGeometric mean of karrio / rastro: {geomean(file_ratios):.2f} over {len(file_ratios)} bodies, "
          f"{geomean(carrier_ratios):.2f} over {len(carrier_ratios)} carriers")
    not_compared = [r for r in rows if r["karrio_us"] is None or r["rastro_us"] is None]
    if not_compared:
        print(f"\nNot compared ({len(not_compared)} bodies):")
        for r in not_compared:
            print(f"  {r['carrier']}/{r['body']} ({r['connector']}): " + "; ".join(e for e in (r["karrio_error"], r["rastro_error"]) if e))
    if args.json_out:
        args.json_out.write_text(json.dumps({"karrio": karrio_version, "python": sys.version.split()[0], "bodies": rows}, indent=2))


if __name__ == "__main__":
    main()
