"""`make bench`: the MAS topic page on 127.0.0.1 with wrk, every server started in this run.

Plain nginx serving the file is the reference. Then the embedded server (`site-api serve`, SQLite)
and the production topology (nginx with deploy/'s configuration asking `site-api serve
--workers 2` on PostgreSQL about every page through auth_request), each for a signed-in reader and
anonymous visitors; every row is also given as a ratio to plain nginx.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the servers the tests start, started the same way here
from servers import (  # noqa: E402
    SITE_API,
    free_port,
    front_door,
    nginx_binary,
    postgres_bindir,
    postgres_cluster,
    render_nginx,
    start,
    stop,
    topology,
    wait_http,
)

SITE = ROOT / "site"
PAGE = "/topics/macrophage-activation-syndrome/"
#: The countdown's own words ("You can read 4 more topics before signing in.").
COUNTDOWN = "before signing in"
WRK = ["wrk", "-t2", "-c32", "--latency"]
WARMUP, DURATION = 2, 10  # seconds; `--warm-up` and `--seconds` (the smoke run: 0 and 1)
#: The servers' log level: `SITE_LOG_LEVEL` when set, else info, the default (a JSON line per
#: request); `SITE_LOG_LEVEL=warning make bench` measures without those lines.
LOG_LEVEL = os.environ.get("SITE_LOG_LEVEL", "info")
#: `site-api serve --workers N` behind nginx: the tested topology (2) and one worker, which on a
#: small machine shared with the load generator can do better.
WORKERS = (2, 1)
TARGETS = {"signed-in": 0.5, "anonymous": 0.25}  # production topology vs plain nginx (issue #6)


def cpu_seconds(pgids: tuple[int, ...]) -> float:
    """User+system CPU seconds of every live process in these process groups."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in pgids:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def to_ms(text: str) -> float:
    """wrk's latency (`812.00us`, `1.23ms`, `2.01s`) in milliseconds."""
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


class Row(NamedTuple):
    """One scenario's result."""

    name: str
    rps: float
    p50: float
    p99: float
    cpu: float
    errors: list[str]


class ScenarioError(RuntimeError):
    """A scenario that could not be measured; the others still are."""


def wrk(
    name: str,
    url: str,
    headers: list[str],
    *pgids: int,
    seconds: int = DURATION,
    warm_up: int = WARMUP,
) -> Row:
    """Warm up, then one bounded wrk run; requests/s, p50/p99 (ms), server CPU %, errors."""
    hdr = [a for h in headers for a in ("-H", h)]
    if warm_up:
        subprocess.run([*WRK, "-d", f"{warm_up}s", *hdr, url], check=True, capture_output=True)
    cpu0, t0 = cpu_seconds(pgids), time.monotonic()
    run = subprocess.run([*WRK, "-d", f"{seconds}s", *hdr, url], check=True, capture_output=True)
    cpu = 100 * (cpu_seconds(pgids) - cpu0) / (time.monotonic() - t0)
    out = run.stdout.decode()
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    errors = re.findall(r"^\s*(Non-2xx or 3xx responses: \d+|Socket errors: .*)$", out, re.M)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return Row(name, rps, to_ms(pct["50"]), to_ms(pct["99"]), cpu, errors)


def check(url: str, headers: dict[str, str], countdown: bool, set_cookie: bool) -> httpx.Response:
    """One request before loading: 200, countdown and Set-Cookie present exactly when expected."""
    r = httpx.get(url, headers=headers)
    has, cookie = COUNTDOWN in r.text, "set-cookie" in r.headers
    if r.status_code != 200 or has != countdown or cookie != set_cookie:
        raise ScenarioError(
            f"pre-check failed for {url} {headers}: {r.status_code}, countdown={has}, "
            f"set-cookie={cookie}"
        )
    print(f"  check ok: {r.status_code}, {len(r.content)} B, countdown={has}, set-cookie={cookie}")
    return r


def seed_session(env: dict[str, str], database_url: str) -> str:
    """Migrate the database, create a reader (email confirmed) and a session; returns its token."""
    subprocess.run([SITE_API, "db", "upgrade"], env=env, check=True, capture_output=True)
    from site_api.accounts.sessions import SessionStore
    from site_api.accounts.users import create_user
    from site_api.db import make_engine

    engine = make_engine(database_url)
    user = create_user(engine, "bench@example.org", None, verified=True)
    assert user.id is not None
    store = SessionStore(engine, idle=timedelta(hours=8), absolute=timedelta(days=7))
    token = store.create(user.id)
    engine.dispose()
    return token


class Bench:
    """One run's options and its rows so far; each row is printed as soon as it is measured, and
    a scenario that fails is recorded as such while the others go on."""

    def __init__(self, seconds: int, warm_up: int) -> None:
        self.seconds, self.warm_up = seconds, warm_up
        self.rows: list[Row] = []
        self.failed: list[str] = []

    def measure(self, name: str, url: str, headers: list[str], *pgids: int) -> None:
        """One wrk row, printed at once."""
        row = wrk(name, url, headers, *pgids, seconds=self.seconds, warm_up=self.warm_up)
        self.rows.append(row)
        reference = self.rows[0].rps if self.rows else row.rps
        print(
            f"  {row.name}: {row.rps:.0f} req/s, p50 {row.p50:.2f} ms, p99 {row.p99:.2f} ms, "
            f"{row.rps / reference:.3f} of the first row, CPU {row.cpu:.0f}%"
            + "".join(f"; {e}" for e in row.errors),
            flush=True,
        )

    @contextmanager
    def scenario(self, title: str) -> Iterator[None]:
        """A group of rows: a failure inside is reported and recorded, and the run goes on."""
        print(title, flush=True)
        try:
            yield
        except (ScenarioError, RuntimeError, OSError, subprocess.SubprocessError) as exc:
            self.failed.append(f"{title}: {exc}")
            print(f"  FAILED: {exc}", flush=True)

    def load_page(self, name: str, url: str, token: str, *pgids: int) -> None:
        """The page for a signed-in reader, for a visitor within the meter re-reading a page
        already counted (cookie unchanged), and for a first visit each time (counted,
        Set-Cookie)."""
        signed_in = check(url, {"Cookie": f"session={token}"}, countdown=False, set_cookie=False)
        if "meter-countdown" in signed_in.text:
            raise ScenarioError(f"pre-check failed for {url}: a signed-in reader got a notice")
        meter = check(url, {}, countdown=True, set_cookie=True).cookies["meter"]
        check(url, {"Cookie": f"meter={meter}"}, countdown=True, set_cookie=False)
        self.measure(f"{name}, signed-in", url, [f"Cookie: session={token}"], *pgids)
        self.measure(f"{name}, anonymous within the meter", url, [f"Cookie: meter={meter}"], *pgids)
        self.measure(f"{name}, anonymous first visit", url, [], *pgids)


@contextmanager
def plain_nginx(
    nginx: str, tmp: Path, site: Path = SITE, page: str = PAGE
) -> Iterator[tuple[str, int]]:
    """nginx serving `site` as static files (bench/nginx.conf.template); yields page URL, pgid."""
    conf, port = (ROOT / "bench" / "nginx.conf.template").read_text(), free_port()
    slots = {"@PREFIX@": str(tmp), "@PORT@": str(port), "@SITE@": str(site)}
    slots["@USER@"] = getpass.getuser()
    for slot, value in slots.items():
        conf = conf.replace(slot, value)
    (tmp / "nginx.conf").write_text(conf)
    cmd = [nginx, "-e", str(tmp / "error.log"), "-p", str(tmp), "-c", str(tmp / "nginx.conf")]
    proc = start(cmd, tmp / "nginx.log")
    try:
        url = f"http://127.0.0.1:{port}{page}"
        wait_http(url, proc, tmp / "nginx.log")
        check(url, {}, countdown=False, set_cookie=False)
        yield url, proc.pid
    finally:
        stop(proc)


def floor(bench: Bench, nginx: str, site: Path, tmp: Path) -> None:
    """deploy/'s nginx in front of bench/noop_gate.py on Granian: the cost of the front door."""
    api_port, port = free_port(), free_port()
    render_nginx(site, f"127.0.0.1:{api_port}", f"127.0.0.1:{port}", tmp)
    granian = [str(Path(sys.executable).with_name("granian")), "--interface", "asgi"]
    granian += ["--host", "127.0.0.1", "--port", str(api_port), "--log-level", "warning"]
    granian += ["--working-dir", str(ROOT / "bench"), "noop_gate:app"]
    # The gate names the page's file inside the live build, as /api/gate does (deploy/nginx.conf).
    env = {**os.environ, "NOOP_GATE_SITE": str(site)}
    gate = start(granian, tmp / "gate.log", env)
    try:
        wait_http(f"http://127.0.0.1:{api_port}/", gate, tmp / "gate.log")
        with front_door(nginx, tmp, f"http://127.0.0.1:{port}") as front:
            url = f"http://127.0.0.1:{port}{PAGE}"
            check(url, {}, countdown=True, set_cookie=False)
            bench.measure("floor: nginx auth_request, no-op gate", url, [], front.pid, gate.pid)
    finally:
        stop(gate)


def main() -> None:
    """Run every scenario once and print the table (also written to bench/results.txt)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=SITE, help="the built site (its link)")
    parser.add_argument("--seconds", type=int, default=DURATION, help="each wrk run's length")
    parser.add_argument("--warm-up", type=int, default=WARMUP, help="wrk warm-up seconds")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=list(WORKERS),
        help="site-api serve --workers behind nginx, one production scenario each",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.txt")
    args = parser.parse_args()
    nginx, bindir = nginx_binary(), postgres_bindir()
    if not nginx or not shutil.which("wrk") or bindir is None:
        sys.exit(
            "nginx, wrk and PostgreSQL are needed: sudo apt-get install -y nginx wrk postgresql"
        )
    site = args.site
    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="site-bench-"))
    env = {**os.environ, "SITE_SECRET_KEY": secrets.token_urlsafe(32), "SITE_LOG_LEVEL": LOG_LEVEL}
    bench = Bench(args.seconds, args.warm_up)
    try:
        with bench.scenario("plain nginx (static site/)"):
            (tmp / "static").mkdir()
            with plain_nginx(nginx, tmp / "static", site) as (url, pgid):
                bench.measure("plain nginx, static file (reference)", url, [], pgid)

        with bench.scenario(
            "floor: nginx (deploy/ config) asking a gate that decides nothing (bench/noop_gate.py)"
        ):
            floor(bench, nginx, site, tmp / "floor")

        with bench.scenario("site-api serve, SQLite (the embedded server)"):
            var = tmp / "var"
            embedded = {**env, "SITE_SITE_DIR": str(site), "SITE_VAR_DIR": str(var)}
            token = seed_session(embedded, f"sqlite:///{var / 'site.db'}")
            port = free_port()
            proc = start([SITE_API, "serve", "--port", str(port)], tmp / "serve.log", embedded)
            try:
                url = f"http://127.0.0.1:{port}{PAGE}"
                wait_http(url, proc, tmp / "serve.log")
                bench.load_page("embedded", url, token, proc.pid)
            finally:
                stop(proc)

        with (
            bench.scenario("production: PostgreSQL (durable)"),
            postgres_cluster(bindir, durable=True) as server,
        ):
            database_url = server + "postgres"
            production = {**env, "SITE_VAR_DIR": str(tmp / "var-pg")}
            production["SITE_DATABASE_URL"] = database_url
            token = seed_session(production, database_url)
            for workers in args.workers:
                with bench.scenario(
                    f"production: nginx, auth_request, {workers} worker(s), PostgreSQL"
                ):
                    run_dir = tmp / f"topology-{workers}"
                    run_dir.mkdir()
                    with topology(nginx, site, run_dir, production, workers) as front:
                        pgids = (front.nginx.pid, front.workers.pid)
                        name = f"production, {workers} worker{'s' if workers > 1 else ''}"
                        bench.load_page(name, front.base + PAGE, token, *pgids)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(bench, load_before, os.getloadavg(), args.out)
    if bench.failed:
        sys.exit(f"{len(bench.failed)} scenario(s) failed; the rows above were measured")


def target(row: Row) -> float | None:
    """The issue's floor for a production-topology row, as a ratio to plain nginx."""
    if not row.name.startswith("production"):
        return None
    return TARGETS["signed-in" if row.name.endswith("signed-in") else "anonymous"]


def report(bench: Bench, before: tuple[float, ...], after: tuple[float, ...], out: Path) -> None:
    """Print the table and the load notes; write the same text to `out` (bench/results.txt)."""
    rows = bench.rows
    wrk_args = f"wrk {' '.join(WRK[1:])} -d{bench.seconds}s after a {bench.warm_up}s warm-up"
    head = (
        f"{'scenario':<44} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'vs nginx':>8} "
        f"{'target':>7} {'CPU':>5}"
    )
    lines = [f"GET {PAGE} on 127.0.0.1; {wrk_args}; log level {LOG_LEVEL}", "", head]
    reference = rows[0].rps if rows and "reference" in rows[0].name else None
    for r in rows:
        ratio, floor = (r.rps / reference if reference else float("nan")), target(r)
        goal = "" if floor is None else f"{'>=' if ratio >= floor else '< '}{floor:.2f}"
        lines.append(
            f"{r.name:<44} {r.rps:>8.0f} {r.p50:>7.2f} {r.p99:>7.2f} {ratio:>8.3f} "
            f"{goal:>7} {r.cpu:>4.0f}%"
        )
        lines += [f"    ! {e}" for e in r.errors]
    lines += [f"FAILED {f}" for f in bench.failed]
    lines += [
        "",
        f"machine: {os.cpu_count()} CPUs, shared by wrk (2 threads) and the servers; load average "
        f"(1, 5 min) before {before[0]:.2f} {before[1]:.2f}, after {after[0]:.2f} {after[1]:.2f}",
        "embedded = site-api serve, one process, SQLite; production = nginx (deploy/nginx.conf) "
        "asking site-api serve --workers N on PostgreSQL (fsync on) through auth_request",
        "within the meter = a meter cookie that already counts this page (re-read, no new cookie); "
        "first visit = no cookie, so every request is counted and answered with a Set-Cookie",
        "CPU = nginx's and site-api's process groups' CPU time / wall time (100% = one core; "
        "PostgreSQL not included)",
    ]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    out.write_text(text)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` cleans up on kill too
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))
    main()
