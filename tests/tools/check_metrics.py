#!/usr/bin/python3
"""Parses a Prometheus text exposition with the reference Python client's parser.

Usage: check_metrics.py METRICS_FILE [DASHBOARD_JSON | RULES_YAML]

Prints one JSON object: {"samples": [[name, {labels}, value], ...], "types": {family: type},
"dashboard_names": [...], "dashboard_missing": [...]}. Exits 1 when the exposition does not
parse (the parser's error on stderr), 0 otherwise. With a dashboard, every metric name in its
PromQL expressions must be a series of the exposition (sampled, or of a family it declares):
those that are not are listed in dashboard_missing (the caller asserts it is empty).
"""
import json
import math
import re
import sys

from prometheus_client.parser import text_string_to_metric_families

# PromQL words that look like metric names but are functions, keywords or label names.
PROMQL_WORDS = {
    "sum", "rate", "irate", "increase", "histogram_quantile", "by", "without", "max", "min",
    "avg", "count", "topk", "bottomk", "on", "ignoring", "group_left", "group_right", "and",
    "or", "unless", "le", "clamp_min", "clamp_max", "abs", "time", "label_replace", "delta",
    "deriv", "offset", "bool", "vector", "scalar", "sort", "sort_desc", "avg_over_time",
    "max_over_time", "min_over_time", "sum_over_time", "count_over_time",
}


def dashboard_names(path):
    with open(path) as f:
        if path.endswith((".yml", ".yaml")):  # Prometheus rules: the same "expr" keys
            import yaml
            board = yaml.safe_load(f)
        else:
            board = json.load(f)
    exprs = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "expr" and isinstance(value, str):
                    exprs.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(board)
    names = set()
    for expr in exprs:
        # Drop label matchers, strings, durations and grouping lists: what stays are names.
        text = re.sub(r"\$\{?[a-zA-Z_]+\}?", "", expr)  # Grafana variables
        text = re.sub(r'"[^"]*"', "", text)
        text = re.sub(r"\{[^}]*\}", "", text)
        text = re.sub(r"\[[^\]]*\]", "", text)
        text = re.sub(r"(?<![a-zA-Z_:])\d+(\.\d+)?([eE][-+]?\d+)?", "", text)  # numbers
        text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", text)
        for word in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
            if word not in PROMQL_WORDS:
                names.add(word)
    return len(exprs), sorted(names)


def main():
    with open(sys.argv[1]) as f:
        text = f.read()
    samples = []
    types = {}
    try:
        for family in text_string_to_metric_families(text):
            types[family.name] = family.type
            for s in family.samples:
                value = s.value
                if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
                    value = str(value)
                samples.append([s.name, dict(s.labels), value])
    except Exception as error:  # the parser's complaint is the test's failure message
        print("exposition does not parse: %r" % (error,), file=sys.stderr)
        return 1
    out = {"samples": samples, "types": types}
    if len(sys.argv) > 2:
        exprs, names = dashboard_names(sys.argv[2])
        # A series exists when it has samples or its family is declared (# TYPE) without any
        # yet (a reflection gauge before any reflection backend, say).
        present = {s[0] for s in samples}
        for family, kind in types.items():
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"],
                        "summary": ["_sum", "_count"]}.get(kind, [""])
            present.update(family + suffix for suffix in suffixes)
        out["dashboard_exprs"] = exprs
        out["dashboard_names"] = names
        out["dashboard_missing"] = [n for n in names if n not in present]
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
