#!/usr/bin/env python3
"""Checks the monitoring files shipped in packaging/ against the proxy's metrics.

  check_monitoring.py DOCS RULES DASHBOARD

DOCS is docs/metrics.md: its tables (| `name` | type | ...) are the list of
metrics the proxy exports. RULES is the Prometheus alert rules file, DASHBOARD
the Grafana dashboard JSON. Fails (exit 1, saying what and where) when:
  - `promtool check rules` rejects the rules file;
  - a dashboard panel lacks a data source or queries, or the data source
    variable is missing;
  - any PromQL expression of either file does not parse (promtool, via a
    scratch file of recording rules) or names a metric that is not in DOCS
    (a misspelt name), Prometheus' own `up` excepted.
Standard library only; needs promtool (Debian package prometheus).
"""
import json
import os
import re
import subprocess
import sys
import tempfile

# Metrics that Prometheus itself makes, not the proxy.
PROMETHEUS_METRICS = {"up"}
# PromQL words that look like names but are not metrics.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
            "offset", "inf", "nan", "atan2", "start", "end"}
# Grafana's interval variables, replaced by a duration promtool can parse.
GRAFANA_INTERVALS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"


def documented_metrics(docs_path):
    """Names a query may use: each documented metric, plus a histogram's series."""
    names = set()
    row = re.compile(r"^\|\s*`(" + NAME + r")`\s*\|\s*(counter|gauge|histogram)\s*\|")
    with open(docs_path, encoding="utf-8") as docs:
        for line in docs:
            match = row.match(line)
            if not match:
                continue
            name, kind = match.groups()
            if kind == "histogram":
                names.update(name + suffix for suffix in ("_bucket", "_sum", "_count"))
            else:
                names.add(name)
    return names


def metric_names(expr):
    """The metric names a PromQL expression selects."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)  # strings
    text = re.sub(r"#[^\n]*", "", text)                                           # comments
    text = re.sub(r"\{[^}]*\}", "", text)                                         # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)                                        # ranges, subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)  # label lists
    text = re.sub(r"\boffset\s+-?[0-9a-z]+", " ", text)
    names = set()
    for match in re.finditer(NAME, text):
        word = match.group(0)
        start = match.start()
        if start > 0 and (text[start - 1].isdigit() or text[start - 1] in "._$"):
            continue  # part of a number (1e3, 0.5) or a variable
        following = text[match.end():].lstrip()
        if following.startswith("("):
            continue  # a function or an aggregation
        if word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names


def grafana_to_promql(expr):
    for variable, duration in GRAFANA_INTERVALS.items():
        expr = expr.replace(variable, duration)
    return expr


def rules_exprs(rules_path):
    """(line, expr) of each `expr:` in a rules file: plain, quoted or a `|` block."""
    exprs = []
    with open(rules_path, encoding="utf-8") as rules:
        lines = rules.read().split("\n")
    index = 0
    while index < len(lines):
        match = re.match(r"^(\s*)(?:-\s*)?expr:\s*(.*)$", lines[index])
        index += 1
        if not match:
            continue
        start = index  # 1-based line of `expr:`
        indent, value = len(match.group(1)), match.group(2).strip()
        if value in ("|", ">", "|-", ">-"):
            block = []
            while index < len(lines) and (not lines[index].strip() or len(lines[index]) - len(lines[index].lstrip()) > indent):
                block.append(lines[index].strip())
                index += 1
            exprs.append((start, " ".join(part for part in block if part)))
        else:
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            exprs.append((start, value))
    return exprs


def promtool_rules(path):
    result = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
    return result.returncode, (result.stdout + result.stderr).strip()


def check_exprs_parse(exprs, problems):
    """Every expression through promtool as a recording rule of a scratch file."""
    if not exprs:
        return
    with tempfile.NamedTemporaryFile("w", suffix=".rules.yml", delete=False) as scratch:
        scratch.write("groups:\n  - name: dashboard_queries\n    rules:\n")
        for number, (where, expr) in enumerate(exprs):
            scratch.write(f"      - record: check:query_{number}\n        expr: {json.dumps(expr)}\n")
        path = scratch.name
    try:
        status, output = promtool_rules(path)
    finally:
        os.unlink(path)
    if status != 0:
        # Name the expression promtool complained about ("... rule N ...").
        problems.append("promtool rejects a dashboard query:\n" + output)
        for number, (where, expr) in enumerate(exprs):
            if f'"check:query_{number}"' in output:
                problems.append(f"  that is {where}: {expr}")


def check_names(where, expr, known, problems):
    unknown = sorted(metric_names(expr) - known - PROMETHEUS_METRICS)
    if unknown:
        problems.append(f"{where}: unknown metric(s) {', '.join(unknown)} (not in docs/metrics.md) in: {expr}")


def check_dashboard(path, known, problems):
    try:
        with open(path, encoding="utf-8") as file:
            dashboard = json.load(file)
    except (OSError, ValueError) as error:
        problems.append(f"{path}: not valid JSON: {error}")
        return
    variables = dashboard.get("templating", {}).get("list", [])
    if not any(v.get("type") == "datasource" and v.get("query") == "prometheus" for v in variables):
        problems.append(f"{path}: no Prometheus data source variable in templating")
    exprs = []
    for variable in variables:
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if variable.get("type") == "query" and query:
            match = re.match(r"^label_values\((.*),\s*" + NAME + r"\s*\)$", query)
            if not match:
                problems.append(f"{path}: variable {variable.get('name')}: unexpected query {query}")
                continue
            where = f"variable {variable.get('name')}"
            exprs.append((where, grafana_to_promql(match.group(1))))
            check_names(where, match.group(1), known, problems)

    def panels_of(panels):
        for panel in panels:
            yield panel
            yield from panels_of(panel.get("panels", []))

    count = 0
    for panel in panels_of(dashboard.get("panels", [])):
        if panel.get("type") == "row":
            continue
        count += 1
        title = f"panel {panel.get('title')!r}"
        source = panel.get("datasource")
        if not isinstance(source, dict) or not source.get("uid"):
            problems.append(f"{title}: no data source")
        targets = panel.get("targets") or []
        if not targets:
            problems.append(f"{title}: no queries")
        for target in targets:
            expr = target.get("expr", "")
            if not expr.strip():
                problems.append(f"{title} query {target.get('refId')}: empty expr")
                continue
            if not isinstance(target.get("datasource"), dict):
                problems.append(f"{title} query {target.get('refId')}: no data source")
            where = f"{title} query {target.get('refId')}"
            exprs.append((where, grafana_to_promql(expr)))
            check_names(where, expr, known, problems)
    if count == 0:
        problems.append(f"{path}: no panels")
    check_exprs_parse(exprs, problems)
    return count, len(exprs)


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    docs, rules, dashboard = argv[1:]
    problems = []
    known = documented_metrics(docs)
    if len(known) < 10:
        problems.append(f"{docs}: found only {len(known)} metrics in its tables")
    status, output = promtool_rules(rules)
    if status != 0:
        problems.append(f"promtool check rules {rules}:\n{output}")
    alert_exprs = rules_exprs(rules)
    if not alert_exprs:
        problems.append(f"{rules}: no expr found")
    for line, expr in alert_exprs:
        check_names(f"{rules}:{line}", expr, known, problems)
    counts = check_dashboard(dashboard, known, problems)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(f"check_monitoring: {len(alert_exprs)} alert expressions, {counts[0]} panels, {counts[1]} dashboard queries: "
          f"valid, and every metric is one of the {len(known)} in {os.path.basename(docs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
