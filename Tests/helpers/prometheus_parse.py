#!/usr/bin/env python3
"""Parses Prometheus text exposition from stdin with the reference client's parser.

Prints one JSON object: {"families": [{"name", "type", "samples": [{"name", "labels", "value"}]}]}.
Exits 1 with the parser's message when the text is not valid exposition format.
"""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = sys.stdin.read()
    try:
        families = [
            {
                "name": family.name,
                "type": family.type,
                "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples],
            }
            for family in text_string_to_metric_families(text)
        ]
    except Exception as error:  # the parser raises ValueError and friends on malformed input
        print(f"not Prometheus exposition format: {error!r}", file=sys.stderr)
        sys.exit(1)
    json.dump({"families": families}, sys.stdout)


if __name__ == "__main__":
    main()
