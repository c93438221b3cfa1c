"""`make bench`: the MAS topic page on 127.0.0.1 with wrk, every server started in this run.

Plain nginx serving the file is the reference. Then the floor (deploy/'s nginx asking a gate that
decides nothing), the embedded server (`site-api serve`, SQLite) and the production topology
(nginx with deploy/'s configuration in front of `site-api serve --workers 1, 2, 4` on PostgreSQL
over loopback TCP, and once over a Unix socket to compare: a signed-in reader through
auth_request and the cached gate answer, anonymous visitors proxied straight to the API), each
for a signed-in reader and anonymous visitors; every row is also given as a ratio to plain nginx,
production's anonymous rows to the floor and the embedded server too, and each row's CPU per
request by process (nginx, the Python workers, wrk itself) beside what the rest of the machine
used meanwhile (it is shared), with `uptime` before and after.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
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
WARMUP, DURATION = 1, 5  # seconds; `--warm-up` and `--seconds` (the smoke run: 0 and 1)
#: Every server runs at once and each round loads every row once, in turn: the machine is shared,
#: and what others run drifts over minutes, so each row is the median of rounds spread over the
#: whole run rather than one stretch of it (`--rounds`; the smoke run: 1).
ROUNDS = 3
#: The servers' log level: `SITE_LOG_LEVEL` when set, else info, the default (a JSON line per
#: request); `SITE_LOG_LEVEL=warning make bench` measures without those lines.
LOG_LEVEL = os.environ.get("SITE_LOG_LEVEL", "info")
#: `site-api serve --workers N` behind nginx: the curve README's worker advice is read from.
WORKERS = (1, 2, 4)
#: The same topology with nginx reaching the API over a Unix socket (`serve --uds`) instead.
UDS_WORKERS = (2,)
#: Production rows vs plain nginx (issue 6; signed-in raised by issue 29).
TARGETS = {"signed-in": 0.6, "anonymous": 0.25}
#: Production's anonymous rows vs the embedded server's and the floor's same rows (issue 29).
ANONYMOUS_TARGETS = {"embedded": 1.0, "floor": 1.3}
ANONYMOUS = ("anonymous first visit", "anonymous within the meter")
#: A session cookie shaped as the API issues them (deploy/nginx.conf's door), naming no session.
FLOOR_COOKIE = "session=" + "f" * 43


def cpu_seconds(pgids: tuple[int, ...]) -> dict[str, float]:
    """User+system CPU seconds of every live process in these process groups, by kind: `nginx`
    (its master and workers) and `python` (site-api's or the no-op gate's processes)."""
    totals, tick = {"nginx": 0.0, "python": 0.0}, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            comm, rest = stat.read_text().split(" (", 1)[1].rsplit(")", 1)
        except (OSError, IndexError, ValueError):
            continue
        fields = rest.split()
        if int(fields[2]) in pgids:
            kind = "nginx" if comm == "nginx" else "python"
            totals[kind] += (int(fields[11]) + int(fields[12])) / tick
    return totals


def machine_cpu() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine so far, every core (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields) - idle) / tick, sum(fields) / tick


def wrk_cpu() -> float:
    """User+system CPU seconds of this process's finished children (wrk, once it has exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def uptime() -> str:
    """`uptime`'s line (the load averages), or the load averages alone where it is missing."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


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
    #: CPU microseconds per request by kind of process (`nginx`, `python`, `wrk`, and `other`:
    #: every other process on the machine meanwhile, divided by the same requests), from /proc.
    per_request: dict[str, float] = {}


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
    cpu0, t0, wrk0, busy0 = cpu_seconds(pgids), time.monotonic(), wrk_cpu(), machine_cpu()[0]
    run = subprocess.run([*WRK, "-d", f"{seconds}s", *hdr, url], check=True, capture_output=True)
    cpu1, elapsed, wrk1, busy1 = (
        cpu_seconds(pgids),
        time.monotonic() - t0,
        wrk_cpu(),
        machine_cpu()[0],
    )
    used = {kind: cpu1[kind] - cpu0[kind] for kind in cpu1}
    cpu = 100 * sum(used.values()) / elapsed
    used["wrk"] = wrk1 - wrk0
    # What the rest of the machine (other people's work, PostgreSQL, the kernel's own) used.
    used["other"] = max(busy1 - busy0 - sum(used.values()), 0.0)
    out = run.stdout.decode()
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    errors = re.findall(r"^\s*(Non-2xx or 3xx responses: \d+|Socket errors: .*)$", out, re.M)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    per_request = {kind: 1e6 * s / max(done, 1) for kind, s in used.items() if s}
    return Row(name, rps, to_ms(pct["50"]), to_ms(pct["99"]), cpu, errors, per_request)


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


class Load(NamedTuple):
    """One row to measure: a URL, the request headers, and the process groups that serve it."""

    name: str
    url: str
    headers: list[str]
    pgids: tuple[int, ...]


def median_row(rounds: list[Row]) -> Row:
    """One row from several rounds of it: the median of each figure (errors of every round)."""
    kinds = {kind for r in rounds for kind in r.per_request}
    return Row(
        rounds[0].name,
        statistics.median(r.rps for r in rounds),
        statistics.median(r.p50 for r in rounds),
        statistics.median(r.p99 for r in rounds),
        statistics.median(r.cpu for r in rounds),
        [e for r in rounds for e in r.errors],
        {k: statistics.median(r.per_request.get(k, 0.0) for r in rounds) for k in kinds},
    )


class Bench:
    """One run's options, the rows to measure and those measured; each measurement is printed as
    soon as it is made, and a scenario that fails is recorded as such while the others go on."""

    def __init__(self, seconds: int, warm_up: int, rounds: int = 1) -> None:
        self.seconds, self.warm_up, self.rounds = seconds, warm_up, rounds
        self.rows: list[Row] = []
        self.failed: list[str] = []
        self.loads: list[Load] = []

    def add(self, name: str, url: str, headers: list[str], *pgids: int) -> None:
        """A row to measure in every round (`run_rounds`), its servers already running."""
        self.loads.append(Load(name, url, headers, pgids))

    def run_rounds(self) -> None:
        """Every added row once per round, each round starting one row further on (no row
        always first after a pause); then each row's medians, in the order they were added."""
        measured: dict[str, list[Row]] = {load.name: [] for load in self.loads}
        for n in range(self.rounds):
            print(f"round {n + 1} of {self.rounds}", flush=True)
            shift = n % max(len(self.loads), 1)
            for load in self.loads[shift:] + self.loads[:shift]:
                if load.name not in measured:
                    continue  # failed in an earlier round
                try:
                    row = wrk(
                        load.name,
                        load.url,
                        load.headers,
                        *load.pgids,
                        seconds=self.seconds,
                        warm_up=self.warm_up,
                    )
                except (subprocess.SubprocessError, OSError, AttributeError, KeyError) as exc:
                    self.failed.append(f"{load.name}: wrk failed: {exc}")
                    print(f"  {load.name}: FAILED: {exc}", flush=True)
                    del measured[load.name]
                    continue
                measured[load.name].append(row)
                print(
                    f"  {row.name}: {row.rps:.0f} req/s, p50 {row.p50:.2f} ms, "
                    f"p99 {row.p99:.2f} ms, CPU {row.cpu:.0f}%"
                    + "".join(f"; {e}" for e in row.errors),
                    flush=True,
                )
        self.rows += [median_row(rows) for rows in measured.values() if rows]

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
        self.add(f"{name}, signed-in", url, [f"Cookie: session={token}"], *pgids)
        self.add(f"{name}, anonymous within the meter", url, [f"Cookie: meter={meter}"], *pgids)
        self.add(f"{name}, anonymous first visit", url, [], *pgids)


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


@contextmanager
def floor(bench: Bench, nginx: str, site: Path, tmp: Path) -> Iterator[None]:
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
            # A session cookie takes nginx's auth_request door (the no-op gate's answers are not
            # stored); without one, nginx would send the request to the gate as a page.
            check(url, {"Cookie": FLOOR_COOKIE}, countdown=True, set_cookie=False)
            cookie = [f"Cookie: {FLOOR_COOKIE}"]
            bench.add("floor: nginx auth_request, no-op gate", url, cookie, front.pid, gate.pid)
            yield
    finally:
        stop(gate)


def main() -> None:
    """Start every scenario's servers, measure them in rounds and print the table (also written
    to bench/results.txt)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=SITE, help="the built site (its link)")
    parser.add_argument("--seconds", type=int, default=DURATION, help="each wrk run's length")
    parser.add_argument("--warm-up", type=int, default=WARMUP, help="wrk warm-up seconds")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="rounds over every row")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=list(WORKERS),
        help="site-api serve --workers behind nginx, one production scenario each",
    )
    parser.add_argument(
        "--uds-workers",
        type=int,
        nargs="*",
        default=list(UDS_WORKERS),
        help="the same over a Unix socket instead of loopback TCP, to compare (none: skip)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.txt")
    args = parser.parse_args()
    nginx, bindir = nginx_binary(), postgres_bindir()
    if not nginx or not shutil.which("wrk") or bindir is None:
        sys.exit(
            "nginx, wrk and PostgreSQL are needed: sudo apt-get install -y nginx wrk postgresql"
        )
    site = args.site
    load_before, uptime_before = os.getloadavg(), uptime()
    print(f"before: {uptime_before}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="site-bench-"))
    env = {**os.environ, "SITE_SECRET_KEY": secrets.token_urlsafe(32), "SITE_LOG_LEVEL": LOG_LEVEL}
    bench = Bench(args.seconds, args.warm_up, args.rounds)
    try:
        with ExitStack() as running:
            start_all(bench, running, args, nginx, bindir, site, tmp, env)
            bench.run_rounds()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(bench, load_before, os.getloadavg(), args.out, (uptime_before, uptime()))
    if bench.failed:
        sys.exit(f"{len(bench.failed)} scenario(s) failed; the rows above were measured")


def start_all(
    bench: Bench,
    running: ExitStack,
    args: argparse.Namespace,
    nginx: str,
    bindir: Path,
    site: Path,
    tmp: Path,
    env: dict[str, str],
) -> None:
    """Start every scenario's servers (kept running in `running`) and add their rows; a scenario
    that cannot start is recorded as failed and the others go on."""
    with bench.scenario("plain nginx (static site/)"):
        (tmp / "static").mkdir()
        url, pgid = running.enter_context(plain_nginx(nginx, tmp / "static", site))
        bench.add("plain nginx, static file (reference)", url, [], pgid)

    with bench.scenario(
        "floor: nginx (deploy/ config) asking a gate that decides nothing (bench/noop_gate.py)"
    ):
        running.enter_context(floor(bench, nginx, site, tmp / "floor"))

    with bench.scenario("site-api serve, SQLite (the embedded server)"):
        var = tmp / "var"
        embedded = {**env, "SITE_SITE_DIR": str(site), "SITE_VAR_DIR": str(var)}
        token = seed_session(embedded, f"sqlite:///{var / 'site.db'}")
        port = free_port()
        proc = start([SITE_API, "serve", "--port", str(port)], tmp / "serve.log", embedded)
        running.callback(stop, proc)
        url = f"http://127.0.0.1:{port}{PAGE}"
        wait_http(url, proc, tmp / "serve.log")
        bench.load_page("embedded", url, token, proc.pid)

    with bench.scenario("production: PostgreSQL (durable)"):
        server = running.enter_context(postgres_cluster(bindir, durable=True))
        database_url = server + "postgres"
        production = {**env, "SITE_VAR_DIR": str(tmp / "var-pg")}
        production["SITE_DATABASE_URL"] = database_url
        token = seed_session(production, database_url)
        runs = [(n, False) for n in args.workers] + [(n, True) for n in args.uds_workers]
        for workers, uds in runs:
            upstream = "Unix socket" if uds else "loopback TCP"
            with bench.scenario(
                f"production: nginx (two doors), {workers} worker(s) over {upstream}, PostgreSQL"
            ):
                run_dir = tmp / f"topology-{workers}-{'unix' if uds else 'tcp'}"
                run_dir.mkdir()
                # nginx is the API's peer: a Unix socket's `unix:`, or loopback's address.
                proxies = '["unix:"]' if uds else '["127.0.0.1"]'
                api_env = {**production, "SITE_TRUSTED_PROXIES": proxies}
                front = running.enter_context(
                    topology(nginx, site, run_dir, api_env, workers, uds=uds)
                )
                name = f"production, {workers} worker{'s' if workers > 1 else ''}"
                name += " over a Unix socket" if uds else ""
                bench.load_page(name, front.base + PAGE, token, front.nginx.pid, front.workers.pid)


def target(row: Row) -> float | None:
    """The issue's floor for a production-topology row, as a ratio to plain nginx."""
    if not row.name.startswith("production"):
        return None
    return TARGETS["signed-in" if row.name.endswith("signed-in") else "anonymous"]


def anonymous_comparison(rows: list[Row]) -> list[str]:
    """Production's anonymous rows against the embedded server's same row and the floor, and
    each worker count against one worker (issue 29's targets)."""
    by_name = {r.name: r for r in rows}
    floor = next((r for r in rows if r.name.startswith("floor")), None)
    lines = [
        "",
        f"{'production, anonymous':<50} {'vs embedded':>12} {'vs floor':>9} {'vs 1 worker':>12}",
    ]
    for r in rows:
        kind = next((k for k in ANONYMOUS if r.name.endswith(k)), None)
        if not r.name.startswith("production") or kind is None:
            continue
        cells = []
        for ref, goal in (
            (by_name.get(f"embedded, {kind}"), ANONYMOUS_TARGETS["embedded"]),
            (floor, ANONYMOUS_TARGETS["floor"]),
        ):
            ratio = r.rps / ref.rps if ref else float("nan")
            cells.append(f"{ratio:.2f}{'>=' if ratio >= goal else '< '}{goal:.1f}")
        one = by_name.get(f"production, 1 worker, {kind}")
        cells.append(f"{r.rps / one.rps:.2f}" if one else "")
        lines.append(f"{r.name:<50} {cells[0]:>12} {cells[1]:>9} {cells[2]:>12}")
    return lines


def cpu_per_request(rows: list[Row]) -> list[str]:
    """Each row's CPU microseconds per request by process: what limits it. `servers` is nginx
    plus Python; wrk shares the same cores, and `others` is what the rest of the machine used
    meanwhile, per request measured (large when other work competes for the cores)."""
    lines = [
        "",
        f"{'CPU per request (us)':<50} {'nginx':>8} {'python':>8} {'servers':>8} {'wrk':>8} "
        f"{'others':>8}",
    ]
    for r in rows:
        nginx, python = r.per_request.get("nginx", 0.0), r.per_request.get("python", 0.0)
        wrk_us, other = r.per_request.get("wrk", 0.0), r.per_request.get("other", 0.0)
        lines.append(
            f"{r.name:<50} {nginx:>8.0f} {python:>8.0f} {nginx + python:>8.0f} {wrk_us:>8.0f} "
            f"{other:>8.0f}"
        )
    return lines


def report(
    bench: Bench,
    before: tuple[float, ...],
    after: tuple[float, ...],
    out: Path,
    uptimes: tuple[str, str] = ("", ""),
) -> None:
    """Print the table and the load notes; write the same text to `out` (bench/results.txt)."""
    rows = bench.rows
    wrk_args = (
        f"wrk {' '.join(WRK[1:])} -d{bench.seconds}s after a {bench.warm_up}s warm-up, every row "
        f"in each of {bench.rounds} round(s) with every server running, medians"
    )
    head = (
        f"{'scenario':<50} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'vs nginx':>8} "
        f"{'target':>7} {'CPU':>5}"
    )
    lines = [f"GET {PAGE} on 127.0.0.1; {wrk_args}; log level {LOG_LEVEL}", "", head]
    reference = rows[0].rps if rows and "reference" in rows[0].name else None
    for r in rows:
        ratio, floor = (r.rps / reference if reference else float("nan")), target(r)
        goal = "" if floor is None else f"{'>=' if ratio >= floor else '< '}{floor:.2f}"
        lines.append(
            f"{r.name:<50} {r.rps:>8.0f} {r.p50:>7.2f} {r.p99:>7.2f} {ratio:>8.3f} "
            f"{goal:>7} {r.cpu:>4.0f}%"
        )
        lines += [f"    ! {e}" for e in r.errors]
    lines += [f"FAILED {f}" for f in bench.failed]
    lines += anonymous_comparison(rows) + cpu_per_request(rows)
    lines += [
        "",
        f"machine: {os.cpu_count()} CPUs, shared by wrk (2 threads) and the servers; load average "
        f"(1, 5 min) before {before[0]:.2f} {before[1]:.2f}, after {after[0]:.2f} {after[1]:.2f}",
        *(
            f"uptime {when}: {line}"
            for when, line in zip(("before", "after"), uptimes, strict=True)
            if line
        ),
        "embedded = site-api serve, one process, SQLite; production = nginx (deploy/nginx.conf) "
        "in front of site-api serve --workers N on PostgreSQL (fsync on), over loopback TCP "
        "(a Unix socket where the row says so): signed-in through auth_request (gate answer "
        "cached), "
        "anonymous proxied to the API (decides and sends)",
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
