"""The headline table of a results file: ``python -m bench.report [FILE]`` (Markdown)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

Row = tuple[str, str, str]


def _n(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.3g}"


def _command(r: dict[str, Any]) -> list[Row]:
    e, ra = r["events_per_s"], r["ratios"]
    note = f"{r['requests']} req x {r['steps_per_request']} steps, median of {r['rounds']}"
    return [
        ("sqlite: engine, inline projections (events/s)", _n(e["engine_inline"]), note),
        ("sqlite: engine, catchup incl. catch-up (events/s)", _n(e["engine_catchup"]), ""),
        (
            "sqlite: engine, catchup commands only (events/s)",
            _n(e["engine_catchup_commands_only"]),
            "read models behind until the next query",
        ),
        ("sqlite: engine, projections=[] (events/s)", _n(e["engine_no_projections"]), ""),
        ("sqlite: raw eventsourcing get->event->save (events/s)", _n(e["eventsourcing"]), ""),
        ("sqlite: raw sqlite3, 1 row per txn (events/s)", _n(e["sqlite3"]), ""),
        (
            "sqlite: engine inline / eventsourcing",
            f"{ra['engine_inline_vs_eventsourcing']:.2f}x",
            "target >= 1.0x (DESIGN), >= 0.7x (issue)",
        ),
        (
            "sqlite: engine catchup incl. catch-up / eventsourcing",
            f"{ra['engine_catchup_vs_eventsourcing']:.2f}x",
            "same targets",
        ),
        (
            "sqlite: engine catchup commands only / eventsourcing",
            f"{ra['engine_catchup_commands_only_vs_eventsourcing']:.2f}x",
            "",
        ),
        (
            "sqlite: engine projections=[] / eventsourcing",
            f"{ra['engine_no_projections_vs_eventsourcing']:.2f}x",
            "",
        ),
        (
            "sqlite: engine inline / sqlite3",
            f"{ra['engine_inline_vs_sqlite3']:.2f}x",
            "stretch >= 0.8x",
        ),
        (
            "sqlite: engine catchup incl. catch-up / sqlite3",
            f"{ra['engine_catchup_vs_sqlite3']:.2f}x",
            "",
        ),
        (
            "sqlite: engine projections=[] / sqlite3",
            f"{ra['engine_no_projections_vs_sqlite3']:.2f}x",
            "",
        ),
    ]


def _peers(r: dict[str, Any]) -> list[Row]:
    rows = []
    for name, v in r["requests_per_s"].items():
        note = f"{r['steps_per_s'][name]:,} steps/s"
        if not name.startswith("engine"):
            note += (
                f"; engine inline/this {r['engine_inline_vs'][name]:.2f}x, "
                f"catchup/this {r['engine_catchup_vs'][name]:.2f}x"
            )
        rows.append((f"peers: {name} (requests/s)", _n(v), note))
    rows += [(f"peers: {name}", "skipped", why) for name, why in r["skipped"].items()]
    return rows


def _postgres(r: dict[str, Any]) -> list[Row]:
    if "skipped" in r:
        return [("postgres", "skipped", r["skipped"])]
    e, ra = r["events_per_s"], r["ratios"]
    return [
        ("postgres: engine, commands (events/s)", _n(e["engine"]), "projections caught up after"),
        (
            "postgres: engine projection catch-up (events/s)",
            _n(e["engine_projection_catch_up"]),
            "",
        ),
        ("postgres: engine incl. catch-up (events/s)", _n(e["engine_with_catch_up"]), ""),
        ("postgres: raw eventsourcing (events/s)", _n(e["eventsourcing"]), ""),
        ("postgres: engine / eventsourcing", f"{ra['engine_vs_eventsourcing']:.2f}x", ""),
        (
            "postgres: engine incl. catch-up / eventsourcing",
            f"{ra['engine_with_catch_up_vs_eventsourcing']:.2f}x",
            "",
        ),
    ]


def _rebuild(r: dict[str, Any]) -> list[Row]:
    return [
        (
            "rebuild: projections (events/s)",
            _n(r["rebuild_events_per_s"]),
            f"{r['events']:,} events; target >= 20k",
        ),
        ("rebuild: raw notification scan (events/s)", _n(r["raw_scan_events_per_s"]), ""),
        ("rebuild: scan + decode (events/s)", _n(r["scan_and_decode_events_per_s"]), ""),
    ]


def _reads(r: dict[str, Any]) -> list[Row]:
    q = r["requests_query"]
    rows = [
        (
            f"requests(): {name} p50/p99 (ms)",
            f"{v['p50_ms']:.1f}/{v['p99_ms']:.1f}",
            f"{q['instances']:,} instances; target < 50 ms",
        )
        for name, v in q["latency"].items()
    ]
    a = r["as_of"]
    for key, v in a.items():
        if key.startswith("as_of_v"):
            rows.append(
                (
                    f"get(as_of) at {key[6:]} of {a['events']} p50 (ms)",
                    f"{v['with_snapshots']['p50_ms']:.1f}",
                    f"without snapshots {v['without_snapshots']['p50_ms']:.1f} ms; "
                    f"target < {a['target_ms']} ms: "
                    f"{_met(v['with_snapshots']['p50_ms'] < a['target_ms'])}",
                )
            )
    v = r["verify"]
    rows.append(
        (
            "verify() (events/s)",
            _n(v["events_per_s"]) if "events_per_s" in v else "skipped",
            v.get("skipped", f"{v.get('events', 0):,} events"),
        )
    )
    return rows


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _portfolio(r: dict[str, Any]) -> list[Row]:
    b = r["rebuild"]
    rows = [
        (
            "portfolio: rebuild (events/s)",
            _n(b["events_per_s"]),
            f"{b['events']:,} events of {r['requests']:,} demo requests; "
            f"{_n(b['cpu_events_per_s'])}/CPU-s; target >= {_n(b['target_events_per_s'])}: "
            f"{_met(b['met'])}",
        )
    ]
    for name, v in r["requests_query"].items():
        target = (
            "for comparison"
            if name.startswith("page_at_offset")
            else (f"target < {r['query_target_ms']:g} ms: {_met(v['met'])}")
        )
        rows.append(
            (
                f"portfolio: requests() {name} p50/p99 (ms)",
                f"{v['p50_ms']:.1f}/{v['p99_ms']:.1f}",
                f"{v['matches']:,} matches; {target}",
            )
        )
    rows.append(("portfolio: portfolio() uncached (ms)", _n(r["portfolio_figures_ms"]), ""))
    return rows


def _scale(r: dict[str, Any]) -> list[Row]:
    sizes = [k for k in r if k.isdigit()]
    rows = []
    for op in ("open", "scan", "rebuild", "verify", "export"):
        vals = [r[s][op] for s in sizes]
        if any("skipped" in v for v in vals):
            rows.append((f"scale: {op}", "skipped", vals[0].get("skipped", "")))
            continue
        rss = " / ".join(f"{v['peak_rss_mib']:.0f}" for v in vals)
        rate = " / ".join(_n(v["events_per_s"]) for v in vals if "events_per_s" in v)
        flat = ""
        if op in FLAT_OPS and len(vals) > 1:
            growth = vals[-1]["peak_rss_mib"] / max(vals[0]["peak_rss_mib"], 1e-9)
            flat = f"; growth {growth:.2f}x, target flat (<= {FLAT_GROWTH}x): "
            flat += _met(growth <= FLAT_GROWTH)
        rows.append(
            (
                f"scale: {op} peak RSS MiB at {' / '.join(sizes)} events",
                rss,
                (f"{rate} events/s" if rate else "") + flat,
            )
        )
    return rows


FLAT_OPS = ("rebuild", "verify", "export")
"""Issue 19: flat memory from 100k to 1M events for rebuild, verify and export."""
FLAT_GROWTH = 1.10
"""What "flat" allows: the peak at the largest size at most 10% above the smallest's."""


def _cli(r: dict[str, Any]) -> list[Row]:
    return [
        ("cli: python -c pass (s)", f"{r['python_c_pass_s']:.3f}", f"median of {r['runs']}"),
        (
            "cli: socieux --help (s)",
            f"{r['socieux_help_s']:.3f}",
            f"target < 0.1 s: {_met(r['met']['help'])}",
        ),
        (
            "cli: socieux list (s)",
            f"{r['socieux_list_s']:.3f}",
            f"target < 0.15 s: {_met(r['met']['list'])}",
        ),
        (
            "cli: socieux show ID (s)",
            f"{r['socieux_show_s']:.3f}",
            f"target < 0.15 s: {_met(r['met']['show'])}",
        ),
        *_library(r.get("library")),
    ]


def _library(lib: dict[str, Any] | None) -> list[Row]:
    if not lib:
        return []
    ui = (
        f"; CLI modules imported: {lib['cli_modules_imported']}"
        if lib["cli_modules_imported"]
        else ""
    )
    return [
        (
            "memory: import + SQLite engine + a read (MB RSS)",
            f"{lib['rss_mb']:.1f}",
            f"{lib['modules']} modules; target <= {lib['target_mb']:g} MB{ui}: {_met(lib['met'])}",
        )
    ]


def _profile(r: dict[str, Any]) -> list[Row]:
    c = r["command_path"]
    rows = [("profile: engine step unprofiled (us)", _n(c["unprofiled_us_per_step"]), "")]
    rows += [
        (f"profile: WAL pages per step, {k}", f"{v}", "")
        for k, v in r["wal_frames_per_step"].items()
        if k != "page_size"
    ]
    p = r["projection_costs"]
    rows += [
        (f"profile: +us per step for projection {k}", _n(v), "best round")
        for k, v in p["added_us_per_step"].items()
    ]
    return rows


_SUITES = {
    "command": _command,
    "peers": _peers,
    "postgres": _postgres,
    "rebuild": _rebuild,
    "reads": _reads,
    "portfolio": _portfolio,
    "scale": _scale,
    "cli": _cli,
    "profile": _profile,
}


def summary_rows(results: dict[str, Any]) -> list[Row]:
    """(measure, value, note) for every suite present in ``results``."""
    rows: list[Row] = []
    for name, fn in _SUITES.items():
        if name in results:
            rows += fn(results[name])
    return rows


def markdown(results: dict[str, Any]) -> str:
    """The headline rows as a Markdown table."""
    lines = ["| measure | value | note |", "|---|---:|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in summary_rows(results)]
    return "\n".join(lines)


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results/latest.json")
    print(markdown(json.loads(path.read_text(encoding="utf-8"))))
