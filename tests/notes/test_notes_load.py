"""Notes under load and through a crash, against a real `site-api serve` on a 100-topic site."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from conftest import TEST_KEY
from servers import free_port
from sqlmodel import Session
from synthetic_site import build_synthetic_site, topic_ids

from site_api.accounts.sessions import SessionStore
from site_api.db import make_engine, upgrade
from site_api.models import User

TOPICS = 100
READERS = 50
#: Notes each reader saves and then updates: 50 x 40 x 2 = 4,000 concurrent saves.
NOTES_EACH = 40
#: A bound so a hung server fails the test instead of CI, not a speed target: the load takes
#: about 40 s on this 2-core machine (100-130 saves/s; the test prints the figure).
LOAD_DEADLINE_SECONDS = 180


@pytest.fixture(scope="module")
def synthetic_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A strictly built site of 100 generated topics (t001 ... t100)."""
    return build_synthetic_site(tmp_path_factory.mktemp("synthetic"), TOPICS)


@dataclass
class Server:
    """A `site-api serve` process group on loopback."""

    proc: subprocess.Popen[bytes]
    base: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL the whole group (the server and its workers): a crash, no clean shutdown."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        _wait_for_group_end(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is not None and not _group_alive(self.proc.pid):
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
            _wait_for_group_end(self.proc.pid)
        except (subprocess.TimeoutExpired, TimeoutError):
            self.kill()
        except ProcessLookupError:
            pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for_group_end(pgid: int) -> None:
    deadline = time.monotonic() + 10
    while _group_alive(pgid):
        if time.monotonic() > deadline:
            raise TimeoutError(f"process group {pgid} is still running")
        time.sleep(0.05)


@contextmanager
def serve(site: Path, var: Path, workers: int) -> Iterator[Server]:
    """Start `site-api serve --workers N` in its own session; stop its whole group afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "SITE_SITE_DIR": str(site),
        "SITE_VAR_DIR": str(var),
        "SITE_DATABASE_URL": "",
        "SITE_SECRET_KEY": TEST_KEY,
        "SITE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SITE_LOG_LEVEL": "warning",
    }
    log = var / f"server-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("site-api")),
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(server.base + "/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"site-api serve did not start:\n{server.output()}")
            time.sleep(0.1)
        yield server
    finally:
        server.stop()


def make_readers(var: Path, count: int) -> list[str]:
    """`count` confirmed accounts with a live session each, straight in the database.

    Returns their session cookies, in order; reader i is reader-i@example.org.
    """
    url = f"sqlite:///{var / 'site.db'}"
    upgrade(url)
    engine = make_engine(url)
    now = datetime.now(UTC).replace(tzinfo=None)
    with Session(engine) as db:
        users = [
            User(email=f"reader-{i}@example.org", created_at=now, email_verified_at=now)
            for i in range(count)
        ]
        db.add_all(users)
        db.commit()
        ids = [u.id for u in users]
    store = SessionStore(engine, idle=timedelta(hours=8), absolute=timedelta(days=1))
    cookies = [f"session={store.create(user_id)}" for user_id in ids if user_id is not None]
    engine.dispose()
    assert len(cookies) == count
    return cookies


def stored_notes(var: Path) -> dict[tuple[int, str], tuple[str, int]]:
    """Every note in the database: (reader number, page id) -> (text, version)."""
    with sqlite3.connect(var / "site.db") as db:
        rows = db.execute(
            'SELECT u.email, n.page_id, n.text, n.version FROM note n JOIN "user" u'
            " ON u.id = n.user_id"
        ).fetchall()
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    return {
        (int(email.removeprefix("reader-").split("@")[0]), page): (text, version)
        for email, page, text, version in rows
    }


@dataclass
class Tally:
    """What the clients saw: acknowledged saves, failures and network errors, thread-safe."""

    acked: dict[tuple[int, str], tuple[str, int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    requests: int = 0
    network_errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, key: tuple[int, str], text: str, version: int) -> None:
        with self.lock:
            self.acked[key] = (text, version)

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)

    def count(self, requests: int = 0, network_errors: int = 0) -> None:
        with self.lock:
            self.requests += requests
            self.network_errors += network_errors


def save(
    client: httpx.Client,
    tally: Tally,
    reader: int,
    page: str,
    text: str,
    version: int | None,
    deadline: float,
) -> bool:
    """PUT one note, retrying on network errors only; records the acknowledgement."""
    expected = 201 if version is None else 200
    new_version = 1 if version is None else version + 1
    retried, last_error = False, None
    for _ in range(5):
        if time.monotonic() > deadline:
            tally.fail(f"reader {reader} {page}: deadline passed")
            return False
        try:
            response = client.put(f"/api/notes/{page}", json={"text": text, "version": version})
        except httpx.TransportError as exc:
            tally.count(requests=1, network_errors=1)
            retried, last_error = True, exc
            continue
        tally.count(requests=1)
        body = response.json()
        saved = body if response.status_code == expected else None
        # A save that was committed before its answer was lost comes back as a conflict whose
        # current note is exactly this save: that is an acknowledgement, not a lost update.
        if retried and response.status_code == 409 and body.get("current"):
            current = body["current"]
            if (current["text"], current["version"]) == (text, new_version):
                saved = current
        if saved is None:
            tally.fail(f"reader {reader} {page} v{version}: {response.status_code} {body}")
            return False
        if (saved["text"], saved["version"]) != (text, new_version):
            tally.fail(f"reader {reader} {page}: answered {saved}, sent {text!r} on v{version}")
            return False
        tally.ack((reader, page), text, new_version)
        return True
    tally.fail(f"reader {reader} {page}: network errors, the last: {last_error!r}")
    return False


def test_fifty_readers_save_and_update_forty_notes_each(
    synthetic_site: Path, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    var.mkdir()
    cookies = make_readers(var, READERS)
    # Each reader starts at a different topic, so readers write different rows at one time.
    every = topic_ids(TOPICS)
    tally = Tally()

    def reader_load(reader: int, base: str, deadline: float) -> None:
        headers = {"cookie": cookies[reader]}
        pages = [every[(reader + i) % TOPICS] for i in range(NOTES_EACH)]
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            for page in pages:
                text = f"Reader {reader} on {page}: first thoughts"
                if not save(client, tally, reader, page, text, None, deadline):
                    return
            for page in pages:
                text = f"Reader {reader} on {page}: second thoughts — ferritin ✓\n{page}"
                if not save(client, tally, reader, page, text, 1, deadline):
                    return

    with serve(synthetic_site, var, workers=2) as server:
        started = time.monotonic()
        deadline = started + LOAD_DEADLINE_SECONDS
        with ThreadPoolExecutor(max_workers=READERS) as pool:
            for future in [
                pool.submit(reader_load, r, server.base, deadline) for r in range(READERS)
            ]:
                future.result()
        elapsed = time.monotonic() - started
        assert not tally.failures, f"{len(tally.failures)} failures, first: {tally.failures[:5]}"
        listed = httpx.get(
            server.base + "/api/notes?limit=1", headers={"cookie": cookies[7]}, timeout=10
        )
        assert listed.json()["total"] == NOTES_EACH
        assert "Server Error" not in server.output() and "Traceback" not in server.output()

    print(
        f"\n{tally.requests} saves by {READERS} readers in {elapsed:.1f} s: "
        f"{tally.requests / elapsed:.0f} requests/s, {tally.network_errors} network errors"
    )
    assert len(tally.acked) == READERS * NOTES_EACH
    stored = stored_notes(var)
    assert len(stored) == READERS * NOTES_EACH
    assert {v for _, v in stored.values()} == {2}
    assert stored == tally.acked


def test_every_acknowledged_save_survives_a_crash(synthetic_site: Path, tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    writers = 8
    cookies = make_readers(var, writers)
    pages = topic_ids(TOPICS)[:12]
    tally = Tally()
    crashed = threading.Event()

    def text_of(reader: int, page: str, version: int) -> str:
        return f"Reader {reader} on {page}, version {version}"

    def write_until_the_crash(reader: int, base: str) -> None:
        versions: dict[str, int] = {}
        headers = {"cookie": cookies[reader]}
        deadline = time.monotonic() + 30
        with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
            for step in range(1_000_000):
                page = pages[step % len(pages)]
                version = versions.get(page)
                text = text_of(reader, page, (version or 0) + 1)
                try:
                    response = client.put(
                        f"/api/notes/{page}", json={"text": text, "version": version}
                    )
                except httpx.TransportError:
                    if not crashed.is_set():
                        tally.fail(f"reader {reader}: network error before the crash")
                    return
                tally.count(requests=1)
                if response.status_code not in (200, 201):
                    tally.fail(f"reader {reader} {page}: {response.status_code} {response.text}")
                    return
                saved = response.json()
                assert saved["text"] == text
                versions[page] = saved["version"]
                tally.ack((reader, page), text, saved["version"])
                if time.monotonic() > deadline:
                    tally.fail(f"reader {reader}: still writing after 30 s")
                    return

    with serve(synthetic_site, var, workers=2) as server:
        threads = [
            threading.Thread(target=write_until_the_crash, args=(r, server.base))
            for r in range(writers)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while len(tally.acked) < len(pages) * writers or tally.requests < 600:
            assert time.monotonic() < deadline and not tally.failures, tally.failures[:5]
            time.sleep(0.01)
        crashed.set()
        server.kill()
        for thread in threads:
            thread.join(timeout=15)
            assert not thread.is_alive()
    assert not tally.failures, tally.failures[:5]
    acked = dict(tally.acked)
    assert len(acked) == len(pages) * writers

    with serve(synthetic_site, var, workers=2) as server:
        for reader in range(writers):
            with httpx.Client(
                base_url=server.base, headers={"cookie": cookies[reader]}, timeout=10
            ) as client:
                for page in pages:
                    text, version = acked[(reader, page)]
                    response = client.get(f"/api/notes/{page}")
                    assert response.status_code == 200, (reader, page, response.text)
                    note = response.json()
                    # A save in flight at the crash may have been committed unacknowledged.
                    assert note["version"] in (version, version + 1), (reader, page, version, note)
                    assert note["text"] == text_of(reader, page, note["version"])
                    after = client.put(
                        f"/api/notes/{page}", json={"text": "after", "version": note["version"]}
                    )
                    assert after.status_code == 200, after.text

    stored = stored_notes(var)
    assert len(stored) == len(pages) * writers
    assert {text for text, _ in stored.values()} == {"after"}
    print(f"\n{tally.requests} saves acknowledged before the SIGKILL; every one kept")
