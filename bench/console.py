"""The console's pages rendered server-side over a large store: ms per page (p50, p99).

The store is filled as the ``reads`` suite fills it (``instances`` requests through
``engine.start``/``engine.fire``), plus one demo batch whose requests have full histories
(the Request and event pages are measured on the longest one). Each page is requested
through Starlette's TestClient in-process: the figure is the app's time to answer, with
no network in it. Target: under 100 ms per page.

The portfolio's figures are kept while the log does not move (``engine.web.cache``), so
its page is measured warm (``page``) and as a first render with nothing cached
(``first_render``: building and rendering the page, without the HTTP round trip).
Each list page is also measured against its façade query alone (``query_alone``), to
tell the page's own cost (parsing, the form's choices, rendering) from the read model's.

``python -m bench.console [--instances N] [--repeat N] [--db PATH]`` runs it alone
(``--db``: measure an existing SQLite store instead of filling a new one).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from bench.common import fresh_db, latency_ms, quiet_logs
from bench.reads import _fill_requests
from engine import Engine
from engine.cli.demos import load_demo

TARGET_MS = 100
DEMO_REQUESTS = 20


def _pages(engine: Engine) -> dict[str, str]:
    """The pages to measure: every page, and the list with each kind of filter."""
    longest = max(
        (r.id for r in engine.requests(state="disseminated", limit=200)),
        key=lambda rid: len(engine.history(rid)),
    )
    definition = engine.registry.all()[0].definition.key
    return {
        "portfolio": "/",
        "requests_latest_50": "/requests",
        "requests_state": "/requests?state=fine_tuned",
        "requests_country_state": "/requests?country=KH&state=submitted",
        "requests_area": "/requests?area=sp.financing",
        "requests_text": "/requests?q=ministry",
        "requests_overdue": "/requests?overdue=1",
        "requests_version": f"/requests?definition={definition}",
        "requests_200_by_created": "/requests?limit=200&sort=created",
        "request": f"/requests/{longest}",
        "request_as_of": f"/requests/{longest}?version=3",
        "event": f"/requests/{longest}/events/2",
        "audit": "/audit",
        "operations": "/operations",
    }


def _engine_call(engine: Engine, path: str) -> Any:
    """The façade query behind a list page (to tell the page's own cost from the query's)."""
    if path == "/":
        return engine.portfolio
    if not path.startswith("/requests?") and path != "/requests":
        return None
    query = dict(parse_qsl(path.partition("?")[2]))
    filters: dict[str, Any] = {
        k: v for k, v in query.items() if k in ("state", "country", "area", "q")
    }
    if "overdue" in query:
        filters["overdue"] = True
    if "limit" in query:
        filters["limit"] = int(query["limit"])
    if "sort" in query:
        filters["order"] = query["sort"]
    if "definition" in query:
        filters["definition_hash"] = engine.registry.all()[0].hash
    return lambda: engine.requests(**filters)


def _measure(engine: Engine, repeat: int) -> dict[str, Any]:
    from starlette.testclient import TestClient

    from engine.web import create_app
    from engine.web.cache import HeadCache
    from engine.web.lists import portfolio_page
    from engine.web.render import Renderer

    out: dict[str, Any] = {}
    with TestClient(create_app(engine)) as client:
        for name, path in _pages(engine).items():

            def get(p: str = path) -> None:
                answer = client.get(p)
                if answer.status_code != 200:
                    raise RuntimeError(f"{p}: {answer.status_code}")

            out[name] = {"page": latency_ms(get, repeat)}
            call = _engine_call(engine, path)
            if call is not None:
                out[name]["query_alone"] = latency_ms(call, repeat)

    renderer = Renderer()

    def first_render() -> None:  # the page's work with nothing cached (no HTTP around it)
        page = portfolio_page(engine, HeadCache(engine))
        renderer.text("portfolio.html", {"base": "", "page": "portfolio", "p": page})

    out["portfolio"]["first_render"] = latency_ms(first_render, max(3, repeat // 5), warmup=1)
    return out


def _fill(path: Path, instances: int) -> float:
    t0 = time.perf_counter()
    _fill_requests(path, instances)
    session = load_demo(None).open(f"sqlite:///{path}")
    try:
        session.run(seed=1, requests=DEMO_REQUESTS, progress=None)
    finally:
        session.close()
    return round(time.perf_counter() - t0, 1)


def measure(path: Path, repeat: int) -> dict[str, Any]:
    """ms per page on the store at ``path``."""
    with Engine.open(f"sqlite:///{path}") as engine:
        total = engine.requests(limit=1).total
        events = engine.projection_status()[0].head
        pages = _measure(engine, repeat)
    slowest = max(p["p50_ms"] for v in pages.values() for k, p in v.items() if k != "query_alone")
    return {
        "instances": total,
        "events": events,
        "pages_ms": pages,
        "slowest_p50_ms": slowest,
        "target_ms": TARGET_MS,
        "met": slowest < TARGET_MS,
    }


def run(instances: int, repeat: int) -> dict[str, Any]:
    """ms per page over ``instances`` requests (plus a demo batch)."""
    with fresh_db("console") as path:
        fill_s = _fill(path, instances)
        return {**measure(path, repeat), "fill_s": fill_s}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.console")
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--db", type=Path, help="measure this SQLite file (no fill)")
    args = parser.parse_args()
    quiet_logs()
    result = measure(args.db, args.repeat) if args.db else run(args.instances, args.repeat)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
