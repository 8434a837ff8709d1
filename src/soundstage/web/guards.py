"""Guards in front of every request: how big a body may be, and which pages may send one.

``BodyLimit`` counts a body's bytes as they arrive (a declared length is checked first, a chunked body
is cut off once it passes the limit), with a small limit for JSON — a scene is a short text, and a
large one would only cost the server time to parse. ``SameOrigin`` refuses requests that change
something when a browser says they come from another site's page: a page elsewhere cannot upload
to, or queue work on, a server on this machine (scripts send no ``Origin`` and pass).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi.responses import JSONResponse

#: Largest body that is not a file upload (JSON requests), in bytes.
MAX_JSON_BYTES = 2 * 1024 * 1024


class BodyLimit:
    """Refuse bodies over ``max_bytes`` (multipart uploads) or :data:`MAX_JSON_BYTES` (anything else) with 413."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        upload = headers.get(b"content-type", b"").startswith(b"multipart/form-data")
        limit = self.max_bytes if upload else min(self.max_bytes, MAX_JSON_BYTES)
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(limit, upload)(scope, receive, send)
            return
        received = 0
        too_large = False

        async def counted():
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def unless_too_large(message) -> None:
            if not too_large:  # the app's answer to a cut-off body is replaced by the 413 below
                await send(message)

        try:
            await self.app(scope, counted, unless_too_large)
        except Exception:
            if not too_large:
                raise
        if too_large:
            await _too_large(limit, upload)(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


def _too_large(limit: int, upload: bool) -> JSONResponse:
    what = "the upload" if upload else "the request"
    fix = "send a smaller file" if upload else "a scene is a short text; upload sounds and pictures as files"
    return JSONResponse(
        {"detail": f"{what} is larger than this server takes ({limit / 2**20:.0f} MiB); {fix}"}, status_code=413
    )


class SameOrigin:
    """Refuse POST/PUT/PATCH/DELETE whose ``Origin`` (sent by browsers) is not the server's own (403)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            headers = dict(scope.get("headers") or [])
            origin = headers.get(b"origin", b"").decode("latin-1")
            host = headers.get(b"host", b"").decode("latin-1")
            if origin and (origin == "null" or urlsplit(origin).netloc.lower() != host.lower()):
                answer = JSONResponse(
                    {"detail": f"a page from {origin} may not send requests to this server; use its own page"},
                    status_code=403,
                )
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


#: The ``Host`` names a server on this machine answers to: a page whose DNS name was rebound to 127.0.0.1
#: sends its own name and is refused.
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"]
