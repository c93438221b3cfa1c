"""How long a saved edit takes to show in the preview's open tab, at 10 and 1,000 topics.

For each size: a synthetic project (tests/synthetic_site.py), `site-api preview` on it, one topic
open in Debian's Chromium; then, three times, append a sentence to that topic's file and time from
the write until the sentence is in the page (the tab reloads itself). The reference, measured in
the same run: a plain strict `mkdocs build` of the same project, which is the floor while MkDocs
can only rebuild everything.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from conftest import mkdocs_build  # noqa: E402
from servers import CHROMIUM, CHROMIUM_ARGS, SITE_API, free_port, start, stop, wait_http  # noqa: E402
from synthetic_site import topic_ids, write_synthetic_project  # noqa: E402

RUNS = 3


def measure(topics: int, runs: int = RUNS) -> tuple[float, list[float]]:
    """(plain build seconds, edit-to-visible seconds per run)."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = write_synthetic_project(root, topics)
        started = time.monotonic()
        result = mkdocs_build(config, root / "reference-site")
        reference = time.monotonic() - started
        assert result.returncode == 0, result.stderr
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "SITE_VAR_DIR": str(root / "var")}
        log = root / "preview.log"
        proc = start([SITE_API, "preview", "--port", str(port)], log, env, cwd=root)
        page_id = topic_ids(topics)[0]
        source = root / "content" / "topics" / f"{page_id}.md"
        times = []
        try:
            wait_http(base + "/_preview/state", proc, log, timeout=600)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page()
                page.goto(f"{base}/topics/{page_id}/")
                for run in range(runs):
                    marker = f"Edit number {run} saved now."
                    saved = time.monotonic()
                    source.write_text(source.read_text() + f"\n{marker}\n")
                    page.locator(".topic-body", has_text=marker).wait_for(timeout=600_000)
                    times.append(time.monotonic() - saved)
                browser.close()
        finally:
            stop(proc)
        return reference, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 1000], help="topics")
    parser.add_argument("--runs", type=int, default=RUNS, help="edits per size")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}; {args.runs} edits per size")
    for topics in args.sizes:
        reference, times = measure(topics, args.runs)
        median = statistics.median(times)
        print(
            f"{topics:>5} topics: plain strict mkdocs build {reference:.1f} s; "
            f"edit to visible in the tab: median {median:.1f} s "
            f"(runs {', '.join(f'{t:.1f}' for t in times)}); ratio {median / reference:.2f}; "
            f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )


if __name__ == "__main__":
    main()
