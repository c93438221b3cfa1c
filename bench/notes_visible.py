"""`make bench`, part 2: how soon a reader's note is visible on a topic, and whether anything moves.

Starts its own `site-api serve` on loopback (fresh database, one reader with a note on the MAS
page), then loads the page in Debian's Chromium repeatedly, signed in and anonymous. For each
load, from navigation start (performance.timeOrigin): first contentful paint (the reference,
measured in the same load), the moment the notes panel holds the note (or, anonymous, the
invitation; a MutationObserver) and the next frame after it, the GET /api/reader request that
decides what the panel shows, and the cumulative layout shift (PerformanceObserver
'layout-shift'). Prints median and p95.

The page's Content-Security-Policy allows no `eval`, so Playwright's `wait_for_function` (which
compiles its predicate in the page) is refused: the probe is read by polling from Python.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the servers the tests start, started the same way here
from servers import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    SITE_API,
    free_port,
    start,
    stop,
    wait_http,
)

from site_api.accounts.sessions import COOKIE  # noqa: E402

SITE = ROOT / "site"
PAGE_ID = "macrophage-activation-syndrome"
PAGE = f"/topics/{PAGE_ID}/"
LOADS = 20
NOTE = "Bench note: on-call haematology +44 20 7946 0958; protocol https://www.example.org/hlh."
#: The anonymous reader's panel (theme/assets/javascripts/notes.js, showAnonymous()).
INVITATION = "to add page annotations"
#: What the panel asks for after load (notes.js: one read for reader, note and saved state).
READER_API = "/api/reader/"

#: Installed before any page script: records paint, the panel filling, and layout shifts.
PROBE = """
(() => {
  const probe = window.__probe = {fcp: null, filled: null, frame: null, cls: 0, shifts: 0};
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.name === "first-contentful-paint") probe.fcp = e.startTime;
  }).observe({type: "paint", buffered: true});
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (!e.hadRecentInput) { probe.cls += e.value; probe.shifts++; }
  }).observe({type: "layout-shift", buffered: true});
  const watcher = new MutationObserver(() => {
    const slot = document.querySelector("[data-notes-slot]");
    if (probe.filled !== null || !slot || !slot.textContent.includes(%s)) return;
    probe.filled = performance.now();
    requestAnimationFrame(() => { probe.frame = performance.now(); });
    watcher.disconnect();
  });
  watcher.observe(document, {childList: true, subtree: true, characterData: true});
})();
"""


def start_server(site: Path, var: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    """A fresh `site-api serve` with one reader; returns the process, base URL, session token."""
    env = {**os.environ, "SITE_SITE_DIR": str(site), "SITE_VAR_DIR": str(var)}
    env["SITE_LOG_LEVEL"] = "warning"
    subprocess.run([SITE_API, "db", "upgrade"], env=env, check=True, capture_output=True)
    from site_api.accounts.sessions import SessionStore
    from site_api.accounts.users import create_user
    from site_api.db import make_engine

    engine = make_engine(f"sqlite:///{var / 'site.db'}")
    user = create_user(engine, "bench-notes@example.org", None, verified=True)
    assert user.id is not None
    token = SessionStore(engine, idle=timedelta(hours=8), absolute=timedelta(days=7)).create(
        user.id
    )
    port = free_port()
    cmd = [SITE_API, "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = start(cmd, var / "serve.log", env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/", proc, var / "serve.log")
    except RuntimeError as exc:
        stop(proc)
        sys.exit(str(exc))
    return proc, base, token


def wait_for_frame(page: Any, timeout: float = 10.0) -> None:
    """Poll the probe until the panel has been painted (no in-page eval: the CSP forbids it)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate("() => window.__probe !== undefined && window.__probe.frame !== null"):
        if time.monotonic() > deadline:
            text = page.locator("[data-notes-slot]").inner_text()
            raise SystemExit(f"the notes panel never showed the expected text; it shows {text!r}")
        page.wait_for_timeout(20)


def measure(context: Any, url: str, expected: str, loads: int) -> list[dict[str, float]]:
    """One warm-up load, then `loads` loads of `url`, each in a new tab of the same context."""
    context.add_init_script(PROBE % json.dumps(expected))
    rows = []
    for n in range(loads + 1):
        page = context.new_page()
        page.goto(url, wait_until="load")
        wait_for_frame(page)
        page.wait_for_timeout(300)  # any late shift would show up now
        row = page.evaluate(
            """(path) => {
              const p = window.__probe;
              const nav = performance.getEntriesByType("navigation")[0];
              const api = performance.getEntriesByType("resource")
                .filter((e) => e.name.includes(path));
              return {fcp: p.fcp, filled: p.filled, frame: p.frame, cls: p.cls, shifts: p.shifts,
                      dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
                      api_requests: api.length,
                      api_start: api.length ? api[0].startTime : NaN,
                      api_end: api.length ? api[0].responseEnd : NaN};
            }""",
            READER_API,
        )
        page.close()
        if n:  # the first load warms the caches and the server
            rows.append(row)
    return rows


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)]


def report(name: str, rows: list[dict[str, float]]) -> list[str]:
    """Median and p95 of each figure for one scenario, as text lines."""

    def col(key: str) -> list[float]:
        return [r[key] for r in rows]

    figures = [
        ("first contentful paint (reference)", col("fcp")),
        ("DOMContentLoaded", col("dcl")),
        ("GET /api/reader sent", col("api_start")),
        ("GET /api/reader answered", col("api_end")),
        ("panel filled (DOM)", col("filled")),
        ("panel filled, next frame (visible)", col("frame")),
        ("visible minus first paint", [r["frame"] - r["fcp"] for r in rows]),
    ]
    lines = [
        f"{name}: {len(rows)} loads",
        f"  {'ms from navigation start':<40} {'median':>8} {'p95':>8}",
    ]
    for label, values in figures:
        lines.append(f"  {label:<40} {statistics.median(values):>8.1f} {pct(values, 95):>8.1f}")
    ratio = [r["frame"] / r["fcp"] for r in rows]
    lines.append(
        f"  {'visible / first paint (ratio)':<40} {statistics.median(ratio):>8.2f} {pct(ratio, 95):>8.2f}"
    )
    cls = col("cls")
    lines.append(
        f"  layout shift (CLS): max {max(cls):.4f}, median {statistics.median(cls):.4f}; "
        f"loads with any shift: {sum(1 for r in rows if r['shifts'])}/{len(rows)}; "
        f"API requests per load: {sorted({int(r['api_requests']) for r in rows})}"
    )
    return lines


def main() -> None:
    """Measure signed in (with a note) and anonymous; print and write bench/notes_visible.txt."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=SITE, help="the built site (its link)")
    parser.add_argument("--loads", type=int, default=LOADS, help="measured loads per scenario")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "notes_visible.txt")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"Chromium is needed ({CHROMIUM}): sudo apt-get install -y chromium")
    if not (args.site / "assets" / "javascripts" / "notes.js").exists():
        sys.exit(f"{args.site}/ has no notes.js: run `make build` (site-api build) first")
    from playwright.sync_api import sync_playwright

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="notes-bench-") as tmp:
        proc, base, token = start_server(args.site, Path(tmp))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                reader = browser.new_context(viewport={"width": 1280, "height": 800})
                reader.add_cookies([{"name": COOKIE, "value": token, "url": base}])
                saved = reader.request.put(
                    f"{base}/api/notes/{PAGE_ID}",
                    data=json.dumps({"text": NOTE, "version": None}),
                    headers={"content-type": "application/json"},
                )
                if saved.status != 201:
                    sys.exit(f"could not save the bench note: {saved.status} {saved.text()}")
                signed_in = measure(reader, base + PAGE, NOTE, args.loads)
                anonymous_context = browser.new_context(viewport={"width": 1280, "height": 800})
                anonymous = measure(anonymous_context, base + PAGE, INVITATION, args.loads)
                version = browser.version
                browser.close()
        finally:
            stop(proc)
    lines = [
        f"GET {PAGE} in Chromium {version} (headless, 1280x800, warm cache) from site-api serve "
        "on 127.0.0.1",
        "",
        *report("signed in, with a note", signed_in),
        "",
        *report("anonymous (the invitation)", anonymous),
        "",
        f"machine: {os.cpu_count()} CPUs shared by Chromium and the server; load average (1 min) "
        f"before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}",
        "visible = the first animation frame after the panel holds the text (MutationObserver + "
        "requestAnimationFrame); p95 is nearest-rank",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.write_text(text)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the server
    main()
