"""Real servers on loopback, for the tests and for `make bench` (no pytest here, so both use it).

`postgres_cluster()` is a throwaway PostgreSQL from Debian's binaries; `topology()` is the
production front door: nginx with deploy/'s rendered configuration in front of
`site-api serve --workers N`. Every server runs in its own process group so that stopping it
stops its workers too, and its output goes to a file (a pipe nobody reads blocks a server once
some 64 KiB are waiting).
"""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_ROOT = Path("/usr/lib/postgresql")
SITE_API = str(Path(sys.executable).with_name("site-api"))
#: Debian's Chromium, driven by Playwright (whose own browser download is not used).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nginx_binary() -> str | None:
    """Debian's nginx (in /usr/sbin, which a non-root PATH often lacks)."""
    return shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin")


def start(
    cmd: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a server in a new process group (its pid is the group's id), output to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server's whole process group: TERM, then KILL after 10 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
            proc.wait(10)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def wait_http(
    url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30, uds: Path | None = None
) -> None:
    """Poll `url` until the server answers at all (over the Unix socket `uds` when given); raise
    with its log if it exits or times out."""
    deadline = time.monotonic() + timeout
    transport = httpx.HTTPTransport(uds=str(uds)) if uds is not None else None
    while True:
        try:
            with httpx.Client(transport=transport, timeout=1) as client:
                client.get(url)
            return
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                output = log.read_text(errors="replace") if log.is_file() else ""
                raise RuntimeError(f"{url} did not answer:\n{output}") from None
            time.sleep(0.1)


def postgres_bindir() -> Path | None:
    """The newest Debian PostgreSQL server's bin/ directory, if one is installed."""
    versions = sorted(
        (p for p in PG_ROOT.glob("*/bin") if (p / "initdb").is_file() and (p / "pg_ctl").is_file()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return versions[-1] if versions else None


def _as_server_user(tmp: Path) -> list[str]:
    """The command prefix that runs the server binaries as a non-root user (initdb refuses root)."""
    if os.geteuid() != 0:
        return []
    user = pwd.getpwnam("postgres")  # created by the Debian package
    os.chown(tmp, user.pw_uid, user.pw_gid)
    return ["runuser", "-u", "postgres", "--"]


@contextmanager
def postgres_cluster(bindir: Path, durable: bool = False) -> Iterator[str]:
    """A fresh PostgreSQL cluster on loopback, removed afterwards; yields
    `postgresql+psycopg://postgres@127.0.0.1:<port>/` (append a database name).

    Tests run it without fsync (nothing must survive a power cut); the benchmark asks for
    `durable=True`, PostgreSQL's defaults, as production would run it.
    """
    # Not under pytest's tmp_path: its parents are private to root, and the socket path is short.
    tmp = Path(tempfile.mkdtemp(prefix="pg-"))
    prefix = _as_server_user(tmp)
    data, log = tmp / "data", tmp / "server.log"
    port = free_port()
    try:
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        initdb += ["--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"]
        subprocess.run([*prefix, *initdb], check=True, capture_output=True, text=True)
        options = f"-k {tmp} -p {port} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        started = subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "start", "-w", "-t", "30"]
            + ["-D", str(data), "-l", str(log), "-o", options],
            capture_output=True,
            text=True,
        )
        if started.returncode != 0:
            server_log = log.read_text(errors="replace") if log.is_file() else ""
            raise RuntimeError(f"PostgreSQL did not start:\n{started.stderr}\n{server_log}")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "stop", "-m", "immediate", "-D", str(data)],
                capture_output=True,
            )
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass(frozen=True)
class Topology:
    """A running production front door: nginx's base URL, the API's own, their logs and pids."""

    base: str
    api: str  # the API's own base URL; with `uds`, the socket's path as `unix:PATH`
    api_log: Path
    nginx_log: Path  # nginx's JSON access log
    nginx: subprocess.Popen[bytes]
    workers: subprocess.Popen[bytes]


@contextmanager
def topology(
    nginx: str,
    site: Path,
    tmp: Path,
    env: dict[str, str],
    workers: int = 2,
    hsts: bool = False,
    uds: bool = False,
) -> Iterator[Topology]:
    """nginx (unprivileged, deploy/'s rendered config) in front of `site-api serve --workers N`.

    `env` carries the API's settings (SITE_DATABASE_URL, SITE_SECRET_KEY, ...); SITE_SITE_DIR and
    SITE_PUBLIC_URL are set here to match. `hsts` renders nginx with `--hsts`; `uds` puts the API
    on a Unix socket in `tmp` (`site-api serve --uds`, nginx's `--api unix:PATH`).
    """
    prefix = tmp / "nginx"
    api_port, port = free_port(), free_port()
    base, api = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{api_port}"
    socket_path = tmp / "api.sock"
    env = {**env, "SITE_SITE_DIR": str(site), "SITE_PUBLIC_URL": base}
    upstream = f"unix:{socket_path}" if uds else f"127.0.0.1:{api_port}"
    render_nginx(site, upstream, f"127.0.0.1:{port}", prefix, hsts)
    api_log = tmp / "api.log"
    serve = [SITE_API, "serve", "--workers", str(workers)]
    serve += ["--uds", str(socket_path)] if uds else ["--port", str(api_port)]
    with ExitStack() as running:
        api_proc = start(serve, api_log, env)
        running.callback(stop, api_proc)
        if uds:
            api = upstream
            wait_http("http://api/healthz", api_proc, api_log, uds=socket_path)
        else:
            wait_http(f"{api}/healthz", api_proc, api_log)
        nginx_proc = running.enter_context(front_door(nginx, prefix, base))
        yield Topology(base, api, api_log, prefix / "access.log", nginx_proc, api_proc)


def render_nginx(site: Path, api: str, listen: str, prefix: Path, hsts: bool = False) -> None:
    """deploy/render.py for this site and these addresses, into `prefix`."""
    render = [sys.executable, str(ROOT / "deploy" / "render.py"), "--site", str(site)]
    render += ["--api", api, "--listen", listen, "--prefix", str(prefix)]
    render += ["--hsts"] if hsts else []
    render += ["--user", getpass.getuser()]  # nginx's workers read `site` as this user
    subprocess.run(render, check=True, capture_output=True)


@contextmanager
def front_door(nginx: str, prefix: Path, base: str) -> Iterator[subprocess.Popen[bytes]]:
    """nginx on the configuration rendered into `prefix`, once it serves an asset at `base`."""
    conf, out = prefix / "nginx.conf", prefix / "nginx.out"
    proc = start([nginx, "-e", str(prefix / "error.log"), "-p", str(prefix), "-c", str(conf)], out)
    try:
        wait_http(f"{base}/assets/javascripts/notes.js", proc, out)
        yield proc
    finally:
        stop(proc)
