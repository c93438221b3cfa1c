"""`make bench`: nginx vs `site-api serve` on the MAS topic page, on 127.0.0.1, with wrk."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import httpx

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "site"
BIN = ROOT / ".venv" / "bin"
PAGE = "/topics/macrophage-activation-syndrome/"
COUNTDOWN = "more pages before signing in"
WRK = ["wrk", "-t2", "-c32", "--latency"]
WARMUP, DURATION = "2s", "10s"
PROCS: list[subprocess.Popen[bytes]] = []


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a server in its own process group, output to `log`; remembered for cleanup."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    PROCS.append(proc)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop one server's whole process group: TERM, then KILL after 5 s."""
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
            proc.wait(wait)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Poll `url` until the server answers (30 s at most)."""
    for _ in range(300):
        if proc.poll() is not None:
            sys.exit(f"server exited early:\n{log.read_text()}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    sys.exit(f"server at {url} did not answer in 30 s:\n{log.read_text()}")


def cpu_seconds(pgid: int) -> float:
    """User+system CPU seconds of every live process in a process group."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
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


def wrk(name: str, url: str, headers: list[str], pgid: int) -> Row:
    """Warm up, then one bounded wrk run; requests/s, p50/p99 (ms), server CPU %, errors."""
    hdr = [a for h in headers for a in ("-H", h)]
    subprocess.run([*WRK, "-d", WARMUP, *hdr, url], check=True, capture_output=True)
    cpu0, t0 = cpu_seconds(pgid), time.monotonic()
    run = subprocess.run([*WRK, "-d", DURATION, *hdr, url], check=True, capture_output=True)
    cpu = 100 * (cpu_seconds(pgid) - cpu0) / (time.monotonic() - t0)
    out = run.stdout.decode()
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    errors = re.findall(r"^\s*(Non-2xx or 3xx responses: \d+|Socket errors: .*)$", out, re.M)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return Row(name, rps, to_ms(pct["50"]), to_ms(pct["99"]), cpu, errors)


def check(url: str, headers: dict[str, str], countdown: bool) -> None:
    """One request before loading: 200, and the countdown present exactly when expected."""
    r = httpx.get(url, headers=headers)
    has = COUNTDOWN in r.text
    if r.status_code != 200 or has != countdown:
        sys.exit(f"pre-check failed for {url} {headers}: {r.status_code}, countdown present={has}")
    cookie = "set-cookie" in r.headers
    print(f"  check ok: {r.status_code}, {len(r.content)} B, countdown={has}, set-cookie={cookie}")


def seed_session(env: dict[str, str], var: Path) -> str:
    """Upgrade the bench database, create a user and a session; returns the session token."""
    subprocess.run(
        [str(BIN / "site-api"), "db", "upgrade"], env=env, check=True, capture_output=True
    )
    from sqlmodel import Session

    from site_api.db import make_engine
    from site_api.models import User
    from site_api.sessions import SessionStore

    engine = make_engine(f"sqlite:///{var / 'site.db'}")
    with Session(engine) as db:
        user = User(email="bench@example.org", created_at=datetime.now(UTC).replace(tzinfo=None))
        db.add(user)
        db.commit()
        db.refresh(user)
        assert user.id is not None
    store = SessionStore(engine, idle=timedelta(hours=8), absolute=timedelta(days=7))
    return store.create(user.id)


def bench_app(name: str, cmd: list[str], env: dict[str, str], log: Path, token: str) -> list[Row]:
    """Start one site-api configuration, check both paths, load anonymous then signed-in."""
    proc = start(cmd, env, log)
    url = f"http://127.0.0.1:{cmd[cmd.index('--port') + 1]}{PAGE}"
    wait_ready(url, proc, log)
    check(url, {}, countdown=True)
    check(url, {"Cookie": f"session={token}"}, countdown=False)
    rows = [wrk(f"{name}, anonymous (no cookie)", url, [], proc.pid)]
    rows.append(wrk(f"{name}, signed-in", url, [f"Cookie: session={token}"], proc.pid))
    stop(proc)
    return rows


def main() -> None:
    """Run every scenario once and print the table (also written to bench/results.txt)."""
    nginx = shutil.which("nginx", path=os.environ["PATH"] + ":/usr/sbin")
    if not nginx or not shutil.which("wrk"):
        sys.exit("nginx and wrk are needed: sudo apt-get install -y nginx wrk")
    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="site-bench-"))
    try:
        conf, port = (ROOT / "bench" / "nginx.conf.template").read_text(), free_port()
        for slot, value in {"@PREFIX@": str(tmp), "@PORT@": str(port), "@SITE@": str(SITE)}.items():
            conf = conf.replace(slot, value)
        (tmp / "nginx.conf").write_text(conf)
        print("nginx (static site/)")
        cmd = [nginx, "-e", str(tmp / "error.log"), "-p", str(tmp), "-c", str(tmp / "nginx.conf")]
        proc = start(cmd, dict(os.environ), tmp / "nginx.log")
        url = f"http://127.0.0.1:{port}{PAGE}"
        wait_ready(url, proc, tmp / "nginx.log")
        check(url, {}, countdown=False)
        rows = [wrk("nginx static (reference)", url, [], proc.pid)]
        stop(proc)

        var = tmp / "var"
        env = {**os.environ, "SITE_SITE_DIR": str(SITE), "SITE_VAR_DIR": str(var)}
        env["SITE_LOG_LEVEL"] = "warning"
        token = seed_session(env, var)
        print("site-api serve (1 worker)")
        listen = ["--host", "127.0.0.1", "--port", str(free_port())]
        serve = [str(BIN / "site-api"), "serve", *listen]
        rows += bench_app("site-api serve", serve, env, tmp / "serve.log", token)
        print("site-api serve --workers 2")
        listen = ["--host", "127.0.0.1", "--port", str(free_port())]
        serve = [str(BIN / "site-api"), "serve", "--workers", "2", *listen]
        rows += bench_app("site-api serve --workers 2", serve, env, tmp / "serve2.log", token)
    finally:
        for proc in PROCS:
            stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    report(rows, load_before, os.getloadavg())


def report(rows: list[Row], before: tuple[float, ...], after: tuple[float, ...]) -> None:
    """Print the table and the load notes; write the same text to bench/results.txt."""
    wrk_args = f"wrk {' '.join(WRK[1:])} -d{DURATION} after a {WARMUP} warm-up"
    head = f"{'scenario':<40} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'vs nginx':>9} {'server CPU':>11}"
    lines = [f"GET {PAGE} on 127.0.0.1; {wrk_args}", "", head]
    for r in rows:
        ratio = r.rps / rows[0].rps
        lines.append(
            f"{r.name:<40} {r.rps:>10.0f} {r.p50:>8.2f} {r.p99:>8.2f} {ratio:>9.3f} {r.cpu:>10.0f}%"
        )
        lines += [f"    ! {e}" for e in r.errors]
    lines += [
        "",
        f"machine: {os.cpu_count()} CPUs, shared by wrk (2 threads) and the server; load average "
        f"(1, 5 min) before {before[0]:.2f} {before[1]:.2f}, after {after[0]:.2f} {after[1]:.2f}",
        "anonymous = no cookie: a fresh visitor each request, counted, answered with a Set-Cookie",
        "server CPU = the server's process-group CPU time / wall time (100% = one core)",
    ]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    (ROOT / "bench" / "results.txt").write_text(text)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` cleans up on kill too
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))
    main()
