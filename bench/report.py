"""The table "today vs target" of bench/README.md, from the JSON figures in bench/results/ (one run of each
benchmark): prints Markdown.

    .venv/bin/python bench/report.py
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _target(f: dict) -> str:
    parts = []
    if f.get("target_ratio"):
        parts.append(f"≤ ×{f['target_ratio']:g}")
    if f.get("target_ms"):
        parts.append(f"p95 ≤ {f['target_ms']} ms")
    if f.get("rss_target_mb"):
        parts.append(f"RSS < {f['rss_target_mb']} MB")
    return ", ".join(parts) or "—"


def _met(f: dict) -> str:
    checks = []
    if f.get("target_ratio"):
        checks.append(bool(f.get("met")))
    if f.get("target_ms"):
        checks.append(f["ours"] <= f["target_ms"])
    if f.get("rss_target_mb") and f.get("peak_rss_mb") is not None:
        checks.append(f["peak_rss_mb"] < f["rss_target_mb"])
    if not checks:
        return "—"
    return "met" if all(checks) else "**not met**"


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def main() -> None:
    print("| benchmark | workload | figure | ours | floor | ratio | peak RSS | target | | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        load = data["machine"]
        load_text = f"{load['load_average_start'][0]} → {load['load_average_end'][0]} ({load['cores']} cores)"
        workload = ", ".join(f"{k} {v:,}" for k, v in data["workload"].items() if isinstance(v, int))
        for f in data["figures"]:
            unit = f["unit"]
            ours, floor = _num(f["ours"]), _num(f["floor"])
            rss = f"{f['peak_rss_mb']:.0f} MB" if f.get("peak_rss_mb") is not None else ""
            ratio = f"×{f['ratio']:g}" if f.get("ratio") is not None else ""
            print(
                f"| {data['benchmark']} | {workload} | {f['what']} | {ours} {unit} | "
                f"{floor} {unit} ({f['floor_what']}) | {ratio} | {rss} | {_target(f)} | {_met(f)} | "
                f"{load_text} |"
            )


if __name__ == "__main__":
    main()
