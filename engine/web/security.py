"""Read-only and safe by default: the ASGI layer in front of every page.

* Only ``GET`` and ``HEAD``: any other method is answered ``405`` (there is no write
  endpoint to reach).
* With a token, every request must carry it: ``Authorization: Bearer T``, the
  ``X-Console-Token`` header, the cookie the console sets, or ``?token=T`` once (which sets
  the cookie and redirects to the same page without the token in the URL). Compared in
  constant time.
* Every response gets the CSP ``default-src 'self'`` (no inline script or style anywhere),
  ``frame-ancestors 'none'``, ``nosniff``, ``no-referrer``; pages are not cached.
"""

from __future__ import annotations

import hmac
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.web.render import Renderer

__all__ = ["COOKIE", "HEADERS", "ConsoleGuard", "valid_token"]

COOKIE = "socieux_console_token"
"""The cookie that carries the token after its first use."""
HEADERS = {
    "content-security-policy": (
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
"""Security headers on every response."""
READ_METHODS = ("GET", "HEAD")


def valid_token(token: str) -> bool:
    """Whether ``token`` can travel in a header and a cookie: printable ASCII, no spaces."""
    return bool(token) and token.isascii() and token.isprintable() and " " not in token


class ConsoleGuard:
    """The ASGI middleware: methods, token, security headers."""

    def __init__(self, app: ASGIApp, *, token: str | None, renderer: Renderer) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.renderer = renderer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse, redirect or pass the request on; add the headers to whatever answers."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(send, static=str(scope.get("path", "")).find("/static/") >= 0)
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> Response | None:
        base = str(scope.get("root_path", ""))
        if scope["method"] not in READ_METHODS:
            return self.renderer.error(
                405,
                "the console is read-only: only GET and HEAD are answered",
                base=base,
                code="method_not_allowed",
                headers={"allow": ", ".join(READ_METHODS)},
            )
        if self.token is None:
            return None
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = next((v for k, v in query if k == "token"), None)
        if given is not None and self._matches(given.encode()):
            return self._remember(scope, base, [(k, v) for k, v in query if k != "token"])
        if self._matches(self._presented(scope)):
            return None
        message = "this console needs its token: open it with ?token=... or send it as a header"
        return self.renderer.error(
            401, message, base=base, code="token_required", headers={"www-authenticate": "Bearer"}
        )

    def _matches(self, given: bytes | None) -> bool:
        return (
            given is not None and self.token is not None and hmac.compare_digest(given, self.token)
        )

    @staticmethod
    def _presented(scope: Scope) -> bytes | None:
        """The token the request carries in a header or the cookie, if any."""
        headers = Headers(scope=scope)
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip().encode("latin-1")
        if "x-console-token" in headers:
            return headers["x-console-token"].encode("latin-1")
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(headers.get("cookie", ""))
        except CookieError:  # a malformed cookie header carries no token
            return None
        morsel = jar.get(COOKIE)
        return morsel.value.encode("latin-1", "replace") if morsel else None

    def _remember(self, scope: Scope, base: str, query: list[tuple[str, str]]) -> Response:
        """Set the cookie and send the browser to the same page without the token."""
        path = str(scope.get("path", "/")) or "/"
        target = path + (f"?{urlencode(query)}" if query else "")
        response = RedirectResponse(target, status_code=303)
        assert self.token is not None
        response.set_cookie(
            COOKIE,
            self.token.decode(),
            path=base or "/",
            httponly=True,
            samesite="strict",
            secure=scope.get("scheme") == "https",
        )
        return response


def _with_headers(send: Send, *, static: bool) -> Send:
    """``send`` adding the security headers (and ``no-store`` on pages) to the response."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.decode() not in HEADERS]
            headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
            if not static:
                headers.append((b"cache-control", b"no-store"))
            message = {**message, "headers": headers}
        await send(message)

    return sending
