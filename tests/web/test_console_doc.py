"""docs/console.md's mounting example runs as written, and the mounted console works."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient

from tests.web.store import DemoStore

DOC = Path(__file__).resolve().parents[2] / "docs" / "console.md"


def test_the_mounting_example_serves_the_console_under_console(demo_store: DemoStore) -> None:
    (block,) = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert 'Engine.open("sqlite:///socieux.db")' in block
    names: dict[str, object] = {}
    exec(compile(block.replace("sqlite:///socieux.db", demo_store.url), str(DOC), "exec"), names)
    token = re.search(r'token="([^"]+)"', block).group(1)
    try:
        with TestClient(names["app"]) as client:
            assert client.get("/console/requests").status_code == 401
            page = client.get("/console/requests", headers={"X-Console-Token": token})
            assert page.status_code == 200
            assert 'href="/console/static/console.css"' in page.text
            links = re.findall(r'href="(/[^"]*)"', page.text)
            assert links
            assert all(link.startswith("/console/") for link in links)
            first = next(
                link for link in links if re.match(r"/console/requests/[0-9a-f-]{36}$", link)
            )
            opened = client.get(first, headers={"X-Console-Token": token})
            assert opened.status_code == 200
            assert (
                client.get(
                    "/console/static/htmx.min.js", headers={"X-Console-Token": token}
                ).status_code
                == 200
            )
            moved = client.get("/console/requests?token=" + token, follow_redirects=False)
            assert moved.headers["location"] == "/console/requests"
            assert "Path=/console" in moved.headers["set-cookie"]
    finally:
        names["engine"].close()
