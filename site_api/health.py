"""Liveness and readiness probes, and one structured JSON log line per request."""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import queue
import sys
import time
from logging.handlers import QueueHandler, QueueListener

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 when the database answers `SELECT 1`, else 503 so the balancer stops sending work."""
    try:
        await run_in_threadpool(_ping, request.app.state.engine)
    except Exception as exc:  # any failure to reach the database means not ready
        body = {"status": "unavailable", "database": type(exc).__name__}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object per line; request fields come from `extra`."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        return json.dumps(entry, separators=(",", ":"))


class _DropWhenFull(QueueHandler):
    """Hands records to the writer thread; a stalled reader of stderr drops lines, never
    requests (the event loop does no log I/O of its own)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record  # formatted by the writer thread, off the hot path

    def enqueue(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(record)


_writer: tuple[int, QueueListener] | None = None


def access_logger(level: str) -> logging.Logger:
    """The request logger: JSON lines to stderr from a writer thread; once per process."""
    global _writer
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.setLevel(level.upper())
    if _writer is not None and _writer[0] == os.getpid():
        return logger
    for old in [h for h in logger.handlers if isinstance(h, _DropWhenFull)]:
        logger.removeHandler(old)  # inherited by a forked worker, whose writer thread is gone
    records: queue.Queue[logging.LogRecord] = queue.Queue(maxsize=10_000)
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(JsonFormatter())
    listener = QueueListener(records, stream)
    listener.start()
    atexit.register(listener.stop)
    logger.addHandler(_DropWhenFull(records))
    logger.propagate = False
    _writer = (os.getpid(), listener)
    return logger


class RequestLog:
    """Tags each request with an id (nginx's `X-Request-ID`, else a new one), echoes it in the
    response, and logs method, path, status and duration once the response has started."""

    def __init__(self, app: ASGIApp, logger: logging.Logger) -> None:
        self.app = app
        self.logger = logger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
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
            if self.logger.isEnabledFor(logging.INFO):
                fields = {
                    "request_id": request_id.decode("latin-1"),
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "ms": round((time.perf_counter() - start) * 1000, 2),
                }
                self.logger.info("request", extra={"fields": fields})
