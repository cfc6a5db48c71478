"""Read-only and safe by default: no write method, CSP headers, the token, 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from engine import Engine
from engine.cli.app import build_app
from engine.web import create_app
from engine.web.security import COOKIE

SOCIEUX = str(Path(sys.executable).parent / "socieux")
TOKEN = "s3cret-token-for-the-console"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/", "/requests", "/audit", "/static/console.css", "/nowhere"])
def test_every_write_method_is_a_405(client: TestClient, method: str, path: str) -> None:
    answer = client.request(method, path)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, HEAD"
    assert "read-only" in answer.text


@pytest.mark.parametrize("path", ["/", "/requests", "/audit", "/operations", "/nowhere"])
def test_every_answer_carries_the_csp_and_security_headers(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"


def test_pages_hold_no_inline_script_or_style(client: TestClient, console_engine: Engine) -> None:
    rid = console_engine.requests(limit=1)[0].id
    for path in ("/", "/requests", f"/requests/{rid}", "/audit", "/operations"):
        html = client.get(path).text
        assert "style=" not in html
        assert "<style" not in html
        assert "<script>" not in html
        assert " on" + "click=" not in html
        assert '<script src="/static/htmx.min.js" defer></script>' in html


def test_htmx_and_its_licence_are_served_from_the_package(client: TestClient) -> None:
    js = client.get("/static/htmx.min.js")
    assert js.status_code == 200
    assert "htmx" in js.text[:200]
    assert "Zero-Clause BSD" in client.get("/static/htmx.LICENSE").text


@pytest.fixture
def guarded(console_engine: Engine):
    with TestClient(create_app(console_engine, token=TOKEN)) as c:
        yield c


def test_with_a_token_a_request_without_it_is_a_401(guarded: TestClient) -> None:
    for path in ("/", "/requests", "/static/console.css"):
        answer = guarded.get(path)
        assert answer.status_code == 401
        assert 'name="token"' in answer.text
        assert answer.headers["content-security-policy"].startswith("default-src 'self'")


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer wrong"},
        {"X-Console-Token": TOKEN[:-1]},
        {"Cookie": f"{COOKIE}=nope"},
        {"Cookie": "=;;;\x7f"},
    ],
)
def test_a_wrong_token_is_a_401(guarded: TestClient, headers: dict[str, str]) -> None:
    assert guarded.get("/requests", headers=headers).status_code == 401


@pytest.mark.parametrize(
    "headers", [{"Authorization": f"Bearer {TOKEN}"}, {"X-Console-Token": TOKEN}]
)
def test_the_token_in_a_header_opens_every_page(guarded: TestClient, headers) -> None:
    assert guarded.get("/requests", headers=headers).status_code == 200


def test_the_token_in_the_url_sets_a_cookie_and_leaves_the_url(guarded: TestClient) -> None:
    first = guarded.get(f"/requests?state=rejected&token={TOKEN}", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/requests?state=rejected"
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    guarded.cookies.set(COOKIE, TOKEN)
    assert guarded.get("/requests?state=rejected").status_code == 200
    guarded.cookies.clear()
    assert guarded.get("/requests?state=rejected").status_code == 401
    assert guarded.get(f"/requests?token=wrong{TOKEN}", follow_redirects=False).status_code == 401


def test_a_write_method_is_refused_even_with_the_token(guarded: TestClient) -> None:
    answer = guarded.post("/requests", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 405


def test_serve_binds_127_0_0_1_by_default_and_needs_a_token_for_any_other_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SOCIEUX_CONSOLE_TOKEN", raising=False)
    runner = CliRunner()
    shown = runner.invoke(build_app(), ["serve", "-h"])
    assert "127.0.0.1" in shown.stdout
    refused = runner.invoke(build_app(), ["serve", "--host", "0.0.0.0"])
    assert refused.exit_code == 2
    assert "--token" in refused.output
    short = runner.invoke(build_app(), ["serve", "--host", "0.0.0.0", "--token", "short"])
    assert short.exit_code == 2
    assert "at least 16" in short.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_socieux_serve_answers_on_127_0_0_1_by_default(demo_store) -> None:
    port = _free_port()
    cmd = [SOCIEUX, "--db", demo_store.url, "serve", "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if k != "SOCIEUX_CONSOLE_TOKEN"}
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().startswith(f"socieux console on http://127.0.0.1:{port}/")
            body = _get_when_listening(f"http://127.0.0.1:{port}/requests")
            assert "matching requests" in body
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _get_when_listening(url: str) -> str:
    """GET ``url`` once the server listens (it binds just after printing its address)."""
    for _ in range(300):
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                return answer.read().decode()
        except ConnectionRefusedError:
            pass
        except urllib.error.URLError as exc:
            if not isinstance(exc.reason, ConnectionRefusedError):
                raise
        time.sleep(0.1)
    raise AssertionError(f"nothing listens at {url}")


@pytest.mark.parametrize(
    "token", ["", "has a space in it here", "nön-ascii-token-value-ü", "tab\there"]
)
def test_a_token_that_cannot_travel_in_a_header_is_refused(console_engine: Engine, token) -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        create_app(console_engine, token=token)
    if len(token) >= 16:
        refused = CliRunner().invoke(build_app(), ["serve", "--host", "0.0.0.0", "--token", token])
        assert refused.exit_code == 2
        assert "printable ASCII" in refused.output
