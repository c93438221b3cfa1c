"""Limits on input: request targets with no path, and request bodies refused before they are read."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import TEST_KEY
from servers import SITE_API, free_port, start, stop, wait_http

from site_api.web.security import API_BODY_BYTES, FORM_BODY_BYTES

MB = 1024 * 1024


@pytest.fixture(scope="module")
def own_server(
    built_site: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, int]]:
    """A `site-api serve` of this module's own; yields its base URL and the worker's pid."""
    var = tmp_path_factory.mktemp("limits")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SITE_SITE_DIR": str(built_site),
        "SITE_VAR_DIR": str(var),
        "SITE_DATABASE_URL": "",
        "SITE_SECRET_KEY": TEST_KEY,
    }
    log = var / "server.log"
    proc = start([SITE_API, "serve", "--port", str(port)], log, env)
    try:
        wait_http(base + "/", proc, log, timeout=20)
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        yield base, int(children[0]) if children else proc.pid
    finally:
        stop(proc)


def exchange(base: str, request: bytes, body: Iterable[bytes] = ()) -> str:
    """Send a request byte for byte, then `body` until the server stops reading; the status line."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(request)
        try:
            for chunk in body:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused early and closed: what we want
        answer = b""
        try:
            while b"\r\n" not in answer:
                more = sock.recv(4096)
                if not more:
                    break
                answer += more
        except ConnectionResetError:
            pass
    return answer.split(b"\r\n", 1)[0].decode()


@pytest.mark.parametrize(
    ("line", "status"),
    [
        ("OPTIONS * HTTP/1.1", "204"),
        ("GET * HTTP/1.1", "400"),
        ("GET x HTTP/1.1", "400"),
        ("POST sign-in HTTP/1.1", "400"),
        # Absolute form: the server takes the path from it, so it is an ordinary request.
        ("GET http://127.0.0.1/sign-in HTTP/1.1", "200"),
    ],
)
def test_any_request_target_gets_an_answer(
    own_server: tuple[str, int], line: str, status: str
) -> None:
    base, _ = own_server
    request = f"{line}\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    assert exchange(base, request.encode()).split(" ")[1] == status


def hundred_megabytes() -> Iterator[bytes]:
    yield b'{"text": "'
    for _ in range(100):
        yield b"a" * MB


def worker_peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_hundred_megabyte_body_costs_the_worker_under_5_mb(
    own_server: tuple[str, int], framing: str
) -> None:
    base, pid = own_server
    before = worker_peak_kb(pid)
    head = "PUT /api/notes/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    if framing == "chunked":
        head += "Transfer-Encoding: chunked\r\n\r\n"
        body = (b"%x\r\n%s\r\n" % (len(c), c) for c in hundred_megabytes())
    else:
        head += f"Content-Length: {100 * MB + 10}\r\n\r\n"
        body = hundred_megabytes()
    assert exchange(base, head.encode(), body).split(" ")[1] == "413"
    grown = worker_peak_kb(pid) - before
    assert grown < 5 * 1024, f"the worker's peak memory grew by {grown} KB"


def test_notes_json_over_64_kb_is_413_before_sign_in(client: httpx.Client) -> None:
    text = "a" * API_BODY_BYTES
    response = client.put("/api/notes/stills-disease", content=json.dumps({"text": text}))
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large: at most 64 KB."}


def test_a_chunked_body_is_cut_off_at_the_limit(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(100):
            yield b"a" * 1024

    response = client.put("/api/notes/stills-disease", content=chunks())
    assert response.status_code == 413
    assert response.json()["detail"].startswith("The request body is too large")


def test_forms_over_1_mb_are_413(client: httpx.Client) -> None:
    data = {"email": "a@example.org", "password": "x" * FORM_BODY_BYTES}
    response = client.post("/sign-in", data=data)
    assert response.status_code == 413
    small = client.post("/sign-in", data={"email": "a@example.org", "password": "x" * 1000})
    assert small.status_code == 403  # read and handled: no CSRF token


def test_nginx_refuses_bodies_with_the_same_figures() -> None:
    conf = (Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf").read_text()
    assert f"client_max_body_size {FORM_BODY_BYTES // 1024}k;" in conf
    assert f"client_max_body_size {API_BODY_BYTES // 1024}k;" in conf
