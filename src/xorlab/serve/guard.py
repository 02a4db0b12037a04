"""Who may talk to the playground: its own host and origin only.

A local server is a door every web page the user opens can knock on. A page on another
site can send a "simple" cross-site POST (no preflight: `Content-Type: text/plain`), and
with DNS rebinding its own domain name can point at 127.0.0.1, so that the browser
treats the playground as that site. As Jupyter does, so do we:
- `Host` must name the address served (loopback names by default, the `--host` given
  otherwise), else 421: a rebound domain name is never served;
- an `Origin` header, when a browser sends one, must be the server's own origin, else
  403 (a non-browser client sends none);
- a POST must say `Content-Type: application/json`, which no cross-site page can send
  without a preflight that this server never answers, else 415.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any, Awaitable, Callable, Iterable
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def allowed_hosts(host: str) -> frozenset[str]:
    """The names a request's `Host` may carry when the server listens on `host`."""
    names = set(LOOPBACK_NAMES) | {host.lower().strip("[]")}
    if host in WILDCARDS:  # every interface: also this machine's own names
        names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
    return frozenset(names - {""})


def host_name(header: str) -> str | None:
    """The name in a `Host` header without its port ("[::1]:8000" -> "::1"), or None if malformed."""
    try:
        parts = urlsplit(f"//{header}")
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    return parts.hostname


def host_ok(header: str, allowed: frozenset[str], wildcard: bool) -> bool:
    name = host_name(header)
    if name is None:
        return False
    # An address literal cannot be rebound (rebinding needs a domain name), so a server
    # on every interface answers any of its addresses.
    return name in allowed or (wildcard and _ip(name) is not None)


def refusal(method: str, headers: dict[str, str], allowed: frozenset[str], wildcard: bool
            ) -> tuple[int, str] | None:
    """Why this request is refused (status, message), or None to serve it."""
    host = headers.get("host", "")
    if not host_ok(host, allowed, wildcard):
        return 421, f"this server does not answer for host {host!r}"
    origin = headers.get("origin")
    if origin is not None and origin != f"http://{host}":
        return 403, f"cross-origin requests are refused (origin {origin!r})"
    if method == "POST":
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            return 415, "a POST must have Content-Type: application/json"
    return None


Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]


class Guard:
    """ASGI middleware: refuses (with a JSON error) what `refusal` names, before any route."""

    def __init__(self, app: ASGIApp, host: str):
        self.app = app
        self.allowed = allowed_hosts(host)
        self.wildcard = host in WILDCARDS

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        why = refusal(scope["method"], _headers(scope["headers"]), self.allowed, self.wildcard)
        if why is None:
            return await self.app(scope, receive, send)
        status, message = why
        body = json.dumps({"error": message}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The first value of each header, by lower-case name (latin-1, as HTTP/1.1 sends them)."""
    out: dict[str, str] = {}
    for name, value in raw:
        out.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return out
