"""The summary table of bench/relay.sh: one row per metric, a column per path,
then each proxy's ratio to direct (the median of per-repetition ratios where
those were kept, else the ratio of the medians), the target and a verdict for
vnc-hooks-manager."""
from __future__ import annotations

import json
from pathlib import Path

from procs import say
from sections import LABEL, Row, Settings


def cell(value: float | None, decimals: int) -> str:
    return "-" if value is None else f"{value:.{decimals}f}"


def ratio(row: Row, path: str) -> float | None:
    if row.ratio_to is None or path == row.ratio_to:
        return None
    if row.ratios.get(path) is not None:
        return row.ratios[path]
    base, value = row.values.get(row.ratio_to), row.values.get(path)
    if base in (None, 0) or value is None:
        return None
    return value / base


def print_table(rows: list[Row], paths: list[str], settings: Settings, seconds: float, load_before: str,
                load_after: str) -> bool:
    """Prints the table; returns True when vnc-hooks-manager missed a target."""
    columns = [p for p in ("direct", "vhm", "vhm+hook", "vhm+sleep", "vhm+poll", "haproxy", "haproxy+poll")
               if p in paths or (p in ("vhm+hook", "vhm+sleep", "vhm+poll") and "vhm" in paths)
               or (p == "haproxy+poll" and "haproxy" in paths)]
    proxies = [p for p in columns if p != "direct"]
    head = ["section", "metric"] + [LABEL[p] for p in columns] + [f"{short(p)}/direct" for p in proxies] + \
        ["target", "verdict"]
    table = [head]
    for row in rows:
        if not any(v is not None for v in row.values.values()):
            values = ["-"] * len(columns)
        else:
            values = [cell(row.values.get(p), row.decimals) for p in columns]
        ratios = [cell(ratio(row, p), 2) + ("x" if ratio(row, p) is not None else "") for p in proxies]
        table.append([row.section, row.metric] + values + ratios + [row.target, row.verdict])
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    say(f"== summary ({seconds / 60:.1f} min; load average {load_before} before, {load_after} after;"
        f" MB = 10^6 bytes, medians of {settings.reps} repetitions, scale {settings.scale_reps})")
    for i, r in enumerate(table):
        say("  ".join(c.ljust(w) if j < 2 or j >= len(head) - 2 else c.rjust(w) for j, (c, w) in
                      enumerate(zip(r, widths))).rstrip())
        if i == 0:
            say("  ".join("-" * w for w in widths))
    return any(row.verdict == "MISS" for row in rows)


def short(path: str) -> str:
    return path


def write_json(path: Path, rows: list[Row], paths: list[str], problems: list[str]):
    path.write_text(json.dumps({
        "paths": paths,
        "rows": [{"section": r.section, "metric": r.metric, "unit": r.unit, "values": r.values,
                  "ratios": {p: ratio(r, p) for p in r.values if ratio(r, p) is not None},
                  "target": r.target, "verdict": r.verdict} for r in rows],
        "problems": problems,
    }, indent=1) + "\n")
