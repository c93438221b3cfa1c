"""Liveness and readiness probes, and one structured JSON log line per request."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import sys
import threading
import time
from collections import deque
from typing import TextIO

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from site_api.config import address_reached, peer_of, public_url_mismatch

router = APIRouter(include_in_schema=False)
ACCESS_LOGGER = "site_api.access"
REQUEST_ID = b"x-request-id"
_MAX_ID = 128  # an upstream id longer than this is not ours to log


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """200 while the process answers at all."""
    return {"status": "ok"}


def _ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def public_url_warning(request: Request) -> str | None:
    """Why SITE_PUBLIC_URL is not the address this request reached, if it is not."""
    settings = request.app.state.settings
    peer = peer_of(request.scope)
    served = address_reached(
        request.url.scheme,
        request.headers.get("host", ""),
        peer,
        request.headers.get("x-forwarded-proto"),
        settings.trusted_proxies,
    )
    return public_url_mismatch(settings.public_url, served) if served else None


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 when the database answers `SELECT 1`, else 503 so the balancer stops sending work;
    `public_url` carries a warning when SITE_PUBLIC_URL is not the address this request reached
    (still 200: the site serves, but its absolute links point elsewhere)."""
    try:
        await run_in_threadpool(_ping, request.app.state.engine)
    except Exception as exc:  # any failure to reach the database means not ready
        body = {"status": "unavailable", "database": type(exc).__name__}
        return JSONResponse(body, status_code=503)
    ready: dict[str, str] = {"status": "ok", "database": "ok"}
    warning = public_url_warning(request)
    if warning:
        ready["public_url"] = warning
    return JSONResponse(ready)


class AccessLog:
    """One JSON line per request, written in batches by a thread of its own.

    A request only appends its fields to a deque (no LogRecord, no lock, no I/O: Python's logging
    machinery tripled the cost of a page view); every `interval` seconds the thread writes what
    has gathered in one write. At most `interval` of lines are lost if the process is killed. A
    stalled reader never stalls a request: past `limit` waiting lines the oldest are dropped.
    """

    def __init__(self, stream: TextIO, interval: float = 0.1, limit: int = 100_000) -> None:
        self.stream = stream
        self.interval = interval
        self.waiting: deque[dict[str, object]] = deque(maxlen=limit)
        self._start()
        atexit.register(self.close)

    def _start(self) -> None:
        # A fresh Event each time: after a fork the parent's thread may have held the old one's lock.
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="access-log", daemon=True)
        self._thread.start()

    def write(self, fields: dict[str, object]) -> None:
        """Queue one request's line (thread-safe: deque.append is atomic)."""
        self.waiting.append(fields)

    def flush(self) -> None:
        """Write every waiting line now, a chunk at a time: between chunks the thread lets go of
        the GIL, so formatting a long backlog never holds requests up for more than a moment."""
        while self.waiting:
            chunk: list[str] = []
            with contextlib.suppress(IndexError):
                while len(chunk) < CHUNK:
                    chunk.append(line(self.waiting.popleft()))
            with contextlib.suppress(OSError, ValueError):  # a closed or broken stream
                self.stream.write("".join(chunk))
                self.stream.flush()
            time.sleep(0)

    def after_fork(self) -> None:
        """In a forked child: start the thread that writes, which fork does not copy (lines the
        parent had queued are the parent's to write)."""
        if not self._stopped.is_set():
            self.waiting.clear()
            self._start()

    def close(self) -> None:
        """Stop the thread and write what is left."""
        self._stopped.set()
        self._thread.join(timeout=2)
        self.flush()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            self.flush()


CHUNK = 200  # lines formatted per hold of the GIL (about half a millisecond)


def line(fields: dict[str, object]) -> str:
    """A request's fields as one JSON log line (with its newline)."""
    entry = {"level": "info", "logger": ACCESS_LOGGER, "msg": "request", **fields}
    return json.dumps(entry, separators=(",", ":")) + "\n"


_writer: tuple[int, AccessLog] | None = None


def access_log() -> AccessLog:
    """This process's request log, to stderr."""
    global _writer
    if _writer is None or _writer[0] != os.getpid():
        _writer = (os.getpid(), AccessLog(sys.stderr))
    return _writer[1]


def _writer_after_fork() -> None:
    """A worker forked from `site-api serve` answers with the app its master built, which writes
    to the master's request log: that log becomes the child's, with a thread of its own."""
    global _writer
    if _writer is not None:
        _writer = (os.getpid(), _writer[1])
        _writer[1].after_fork()


os.register_at_fork(after_in_child=_writer_after_fork)


class RequestLog:
    """Tags each request with an id (nginx's `X-Request-ID`, else a new one), echoes it in the
    response, and logs method, path, status and duration once the response has started.
    Paths in `unlogged` pass straight through (someone else logs them)."""

    def __init__(
        self, app: ASGIApp, log: AccessLog, unlogged: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.log = log
        self.unlogged = unlogged

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.unlogged:
            await self.app(scope, receive, send)
            return
        started, start = time.time(), time.perf_counter()
        request_id = b""
        for key, value in scope["headers"]:
            if key == REQUEST_ID:
                request_id = value[:_MAX_ID]
                break
        if not request_id:
            request_id = os.urandom(8).hex().encode()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (REQUEST_ID, request_id)]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.log.write(
                {
                    "ts": round(started, 3),
                    "request_id": request_id.decode("latin-1"),
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "ms": round((time.perf_counter() - start) * 1000, 2),
                }
            )
