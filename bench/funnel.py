"""`python bench/funnel.py`: what counting the meter funnel costs an anonymous page view.

First in-process: the gate's `view()` for an anonymous first visit (the view that counts the
most events), with and without the counter, the best of several alternating rounds (CPU time
of the very code, least disturbed by a shared machine). Then over HTTP on the embedded server
(`site-api serve`'s app on one Granian worker, SQLite) with wrk, against the same app with the
counter switched off, in alternating rounds of the same run; medians are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from run import PAGE, SITE, Row, check, wrk
from servers import free_port, start, stop, wait_http

from site_api.config import Settings
from site_api.web.app import SiteApp, create_app

ROUNDS = 3
VIEWS = 20_000


def counting() -> SiteApp:
    """The embedded app as `site-api serve` builds it."""
    return create_app(Settings())


def not_counting() -> SiteApp:
    """The same app with no funnel counter in its page server (the reference)."""
    app = create_app(Settings())
    app.pages.funnel = None
    return app


def serve(factory: str, env: dict[str, str], log: Path) -> tuple[str, int, object]:
    """One Granian worker on `bench/funnel.py:<factory>`; (page URL, pgid, process)."""
    port = free_port()
    granian = [str(Path(sys.executable).with_name("granian")), "--interface", "asgi", "--factory"]
    granian += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    granian += ["--working-dir", str(Path(__file__).parent), f"funnel:{factory}"]
    proc = start(granian, log, env)
    url = f"http://127.0.0.1:{port}{PAGE}"
    wait_http(url, proc, log)
    return url, proc.pid, proc


def in_process(site: Path, var: Path, views_per_round: int) -> None:
    """Microseconds per anonymous first view in `PageServer.view`, counter on and off."""
    settings = Settings(site_dir=site, var_dir=var, secret_key=secrets.token_urlsafe(32))
    pages = create_app(settings).pages
    counter = pages.funnel
    found = pages.site.lookup(PAGE)

    async def views() -> float:
        start = time.perf_counter()
        for _ in range(views_per_round):
            await pages.view(found, None, "GET")
        return (time.perf_counter() - start) / views_per_round * 1e6

    best: dict[str, float] = {}
    for _ in range(5):
        for name, funnel in (("off", None), ("on", counter)):
            pages.funnel = funnel
            best[name] = min(best.get(name, 1e9), asyncio.run(views()))
    print(
        f"in-process view(), anonymous first visit, best of 5 x {views_per_round:,}: "
        f"off {best['off']:.2f} us, on {best['on']:.2f} us, "
        f"counting {best['on'] - best['off']:.2f} us ({best['on'] / best['off'] - 1:+.1%})"
    )


def main() -> None:
    """Alternate rounds of each scenario with and without counting; print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=SITE, help="the built site (its link)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="alternating wrk rounds")
    parser.add_argument("--views", type=int, default=VIEWS, help="in-process views per round")
    parser.add_argument("--seconds", type=int, default=None, help="each wrk run's length")
    parser.add_argument("--warm-up", type=int, default=None, help="wrk warm-up seconds")
    args = parser.parse_args()
    timing = {
        k: v for k, v in (("seconds", args.seconds), ("warm_up", args.warm_up)) if v is not None
    }
    rounds = args.rounds
    tmp = Path(tempfile.mkdtemp(prefix="site-bench-funnel-"))
    (tmp / "var").mkdir()
    in_process(args.site, tmp / "var", args.views)
    env = {
        **os.environ,
        "SITE_SECRET_KEY": secrets.token_urlsafe(32),
        "SITE_SITE_DIR": str(args.site),
        "SITE_VAR_DIR": str(tmp / "var"),
        "SITE_LOG_LEVEL": os.environ.get("SITE_LOG_LEVEL", "info"),
        "PYTHONPATH": str(Path(__file__).parent),
    }
    from site_api.db import upgrade

    upgrade(f"sqlite:///{tmp / 'var' / 'site.db'}")
    results: dict[tuple[str, str], list[Row]] = {}
    try:
        for n in range(rounds):
            for factory in ("not_counting", "counting"):
                url, pgid, proc = serve(factory, env, tmp / f"{factory}.log")
                try:
                    meter = check(url, {}, countdown=True, set_cookie=True).cookies["meter"]
                    for scenario, headers in (
                        ("anonymous first visit", []),
                        ("anonymous within the meter", [f"Cookie: meter={meter}"]),
                    ):
                        name = f"{factory} {scenario} #{n + 1}"
                        row = wrk(name, url, headers, pgid, **timing)
                        print(f"  {row.name}: {row.rps:.0f} req/s, p50 {row.p50:.2f} ms")
                        results.setdefault((scenario, factory), []).append(row)
                finally:
                    stop(proc)  # type: ignore[arg-type]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nGET {PAGE}, embedded app, 1 Granian worker, medians of {rounds} alternating rounds")
    print(
        f"{'scenario':<30} {'off req/s':>10} {'on req/s':>10} {'on/off':>7} {'p50 off/on ms':>15}"
        f" {'CPU us/req off/on':>18}"
    )
    for scenario in ("anonymous first visit", "anonymous within the meter"):
        off, on = results[(scenario, "not_counting")], results[(scenario, "counting")]
        rps_off = statistics.median(r.rps for r in off)
        rps_on = statistics.median(r.rps for r in on)
        p50 = f"{statistics.median(r.p50 for r in off):.2f}/{statistics.median(r.p50 for r in on):.2f}"
        # Server CPU per request: less swayed than throughput by what else the machine runs.
        cpu_off = statistics.median(r.cpu / 100 / r.rps * 1e6 for r in off)
        cpu_on = statistics.median(r.cpu / 100 / r.rps * 1e6 for r in on)
        print(
            f"{scenario:<30} {rps_off:>10.0f} {rps_on:>10.0f} {rps_on / rps_off:>7.3f} {p50:>15}"
            f" {f'{cpu_off:.0f}/{cpu_on:.0f}':>18}"
        )
    print(f"load average: {os.getloadavg()[0]:.2f} (2 cores shared)")


if __name__ == "__main__":
    main()
