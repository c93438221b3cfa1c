"""`python bench/cpd.py`: what the CPD log costs. Beacons per second, and a signed-in reader's
page view (the topic, then the `/api/reader` read notes.js makes) with CPD off against the same
view with CPD on (plus the one beacon it sends when the page is hidden), in alternating rounds of
the same run; then one batched flush of the credited seconds.

In-process (the app on its own ASGI interface, SQLite, one thread): the CPU cost of the very code,
least disturbed by a shared machine. `--site DIR --views N` make the smoke run in the tests quick.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlmodel import Session

from site_api.accounts.sessions import SessionStore
from site_api.config import Settings
from site_api.db import make_engine, upgrade
from site_api.models import User
from site_api.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
PAGE_ID = "macrophage-activation-syndrome"
PAGE = f"/topics/{PAGE_ID}/"
ROUNDS = 3
#: Views (and beacons) per reader.
BEACONS_PER_READER = 25


def readers(database_url: str, n: int, cpd: bool) -> list[str]:
    """`n` new readers' session cookies, recording CPD or not."""
    engine = make_engine(database_url)
    store = SessionStore(engine, idle=timedelta(hours=8), absolute=timedelta(days=7))
    now = datetime.now(UTC).replace(tzinfo=None)
    cookies = []
    with Session(engine) as db:
        users = [
            User(
                email=f"bench-{secrets.token_hex(6)}@example.org",
                created_at=now,
                email_verified_at=now,
                cpd_on=cpd,
            )
            for _ in range(n)
        ]
        db.add_all(users)
        db.commit()
        ids = [u.id for u in users]
    for user_id in ids:
        assert user_id is not None
        cookies.append(f"session={store.create(user_id)}")
    return cookies


async def run(settings: Settings, views: int) -> None:
    """Measure and print the table."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    base = "http://127.0.0.1:8000"
    n_readers = max(1, views // BEACONS_PER_READER)
    off = readers(settings.database_url, n_readers, cpd=False)
    on = readers(settings.database_url, n_readers, cpd=True)
    headers = {"content-type": "text/plain;charset=UTF-8", "sec-fetch-site": "same-origin"}
    # Each beacon arrives 200 s after the one before, as real reading would: every one is
    # credited (the write path), and no reader meets the rate limit.
    clock = [time.time()]
    app.api.state.cpd.now = lambda: clock[0]
    async with httpx.AsyncClient(transport=transport, base_url=base) as client:

        async def view(cookie: str, beacon: bool) -> None:
            page = await client.get(PAGE, headers={"cookie": cookie})
            state = await client.get(f"/api/reader/{PAGE_ID}", headers={"cookie": cookie})
            assert page.status_code == 200 and state.status_code == 200, page.status_code
            if beacon:
                clock[0] += 200
                body = f'{{"page":"{PAGE_ID}","view":"{secrets.token_hex(8)}","seconds":200}}'
                sent = await client.post(
                    "/api/cpd/beacon", content=body, headers={**headers, "cookie": cookie}
                )
                assert sent.status_code == 200, sent.text

        async def views_of(cookies: list[str], cpd: bool) -> float:
            """Microseconds per view."""
            start = time.perf_counter()
            for i in range(views):
                await view(cookies[i % len(cookies)], cpd)
            return (time.perf_counter() - start) / views * 1e6

        async def beacons() -> float:
            """Beacons per second."""
            start = time.perf_counter()
            for i in range(views):
                clock[0] += 200
                body = f'{{"page":"{PAGE_ID}","view":"{secrets.token_hex(8)}","seconds":200}}'
                cookie = on[i % len(on)]
                sent = await client.post(
                    "/api/cpd/beacon", content=body, headers={**headers, "cookie": cookie}
                )
                assert sent.status_code == 200, sent.text
            return views / (time.perf_counter() - start)

        await views_of(off, False)  # warm the page cache and the session cache
        best: dict[str, float] = {}
        rates: list[float] = []
        for _ in range(ROUNDS):
            best["off"] = min(best.get("off", 1e12), await views_of(off, False))
            best["on"] = min(best.get("on", 1e12), await views_of(on, True))
            rates.append(await beacons())
    pending = app.api.state.cpd.pending()
    start = time.perf_counter()
    app.api.state.cpd.flush()
    flushed_ms = (time.perf_counter() - start) * 1e3
    print(f"CPD log, in-process, SQLite, {views:,} views per round, best of {ROUNDS} rounds")
    print(f"{'measure':<52} {'value':>12}")
    print(f"{'beacons per second (best round)':<52} {max(rates):>12.0f}")
    print(f"{'signed-in view + /api/reader, CPD off (us)':<52} {best['off']:>12.0f}")
    print(f"{'signed-in view + /api/reader + beacon, CPD on (us)':<52} {best['on']:>12.0f}")
    print(f"{'CPD on / off':<52} {best['on'] / best['off']:>12.3f}")
    print(f"{f'one flush of {pending:,} waiting credits (ms)':<52} {flushed_ms:>12.1f}")
    print(f"load average: {os.getloadavg()[0]:.2f} (2 cores shared)")


def main() -> None:
    """Parse the arguments, make a throwaway database, run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--views", type=int, default=2000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="site-bench-cpd-"))
    try:
        var = tmp / "var"
        var.mkdir()
        upgrade(f"sqlite:///{var / 'site.db'}")
        settings = Settings(
            site_dir=args.site,
            var_dir=var,
            secret_key=secrets.token_urlsafe(32),
            log_level="warning",
        )
        asyncio.run(run(settings, args.views))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
