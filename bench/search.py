"""`make bench`, part 3: search. Latency of /api/search in-process, index size and build time.

1,000 topics: tests/synthetic_site.py's generator, built with the real MkDocs config (strict), so
the site build and the index it writes are timed together; then `GET /api/search` through the
whole ASGI app (httpx's in-process transport, as a worker answers it, no network) for one-word,
two-word, prefix and typo queries, against `GET /healthz` on the same app as the reference.

30,000 topics: the index alone (no MkDocs build), written from generated pages whose bodies mix
words of the real topics, then the query engine (`SearchIndex.plan` + `search`) timed directly.
Prints p50 / p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the generator the tests use
from synthetic_site import write_synthetic_project  # noqa: E402

from site_api.content.search_index import (  # noqa: E402
    IndexedPage,
    search_index_path_for,
    text_of_html,
    write_index,
)
from site_api.search.index import SearchIndex  # noqa: E402

ROUNDS = 300
QUERIES = {
    "one word": ["synthetic", "generated", "overview", "section", "topic"],
    "two words": ["synthetic topic", "generated text", "topic 500", "second section", "load tests"],
    "prefix": ["synth", "gener", "overv", "sectio", "conten"],
    "typo": ["synthetc", "generatd", "overveiw", "sectoin", "contnet"],
}
BIG_QUERIES = {
    "one word": ["ferritin", "kawasaki", "etoposide", "anaemia", "coagulation"],
    "two words": [
        "raised ferritin",
        "kawasaki disease",
        "bone marrow",
        "lupus nephritis",
        "high fever",
    ],
    "prefix": ["hyperferr", "kawas", "coagul", "haemoph", "cytok"],
    "typo": ["ferritn", "kawasaky", "etoposid", "coagulaton", "lymphoma"],
}


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def timed(call: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def row(label: str, samples: list[float], reference: float | None = None) -> None:
    p50, p95 = percentiles(samples)
    ratio = f"{p50 / reference:6.1f}x" if reference else "   ref "
    print(f"  {label:<28} p50 {p50:7.3f} ms   p95 {p95:7.3f} ms   {ratio}")


def bench_1000(tmp: Path, topics: int = 1000, rounds: int = ROUNDS) -> None:
    import httpx
    from conftest import mkdocs_build
    from fastapi.testclient import TestClient

    from site_api.config import Settings
    from site_api.db import upgrade
    from site_api.web.app import create_app

    config = write_synthetic_project(tmp, topics)
    site = tmp / "site"
    start = time.perf_counter()
    result = mkdocs_build(config, site)
    build_s = time.perf_counter() - start
    if result.returncode:
        raise SystemExit(f"the synthetic site did not build:\n{result.stderr}")
    index_path = search_index_path_for(site)
    # The index's share of the build: reading each page's text, and writing the file.
    pages = [p for p in site.rglob("index.html") if "topics" in p.parts]
    start = time.perf_counter()
    for path in pages:
        html = path.read_text(encoding="utf-8")
        body = html.split('class="topic-body">', 1)[-1].split('<div class="topic-references"', 1)[0]
        text_of_html(body)
    extract_s = time.perf_counter() - start
    db = sqlite3.connect(index_path)
    rows = db.execute("SELECT page_id, url, access, title, summary, body FROM page").fetchall()
    db.close()
    again = [IndexedPage(*r[:5], body=r[5]) for r in rows]
    start = time.perf_counter()
    write_index(tmp / "again.sqlite", again, {})
    write_s = time.perf_counter() - start
    share = (extract_s + write_s) / build_s
    print(f"{topics:,} topics: site build (MkDocs, strict, index included) {build_s:.1f} s")
    print(
        f"  index: {index_path.stat().st_size / 1e6:.2f} MB; text extraction {extract_s:.2f} s "
        f"+ write {write_s:.2f} s = {100 * share:.1f}% of the site build"
    )

    var = tmp / "var"
    var.mkdir()
    upgrade(f"sqlite:///{var / 'site.db'}")
    settings = Settings(site_dir=site, var_dir=var, secret_key="b" * 40, log_level="warning")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        client.get("/healthz")
        reference = percentiles(timed(lambda: client.get("/healthz"), rounds))[0]
        print("  GET /api/search in-process (whole ASGI app, no network):")
        row("GET /healthz (reference)", timed(lambda: client.get("/healthz"), rounds))
        for kind, queries in QUERIES.items():
            samples: list[float] = []
            for q in queries:
                url = httpx.URL("/api/search", params={"q": q})
                assert client.get(url).status_code == 200
                samples += timed(lambda url=url: client.get(url), max(rounds // len(queries), 1))  # type: ignore[misc]
            row(kind, samples, reference)


def bench_30000(tmp: Path, zipf: bool, size: int = 30000, rounds: int = ROUNDS) -> None:
    real = sorted(
        {
            w.lower()
            for path in (ROOT / "content" / "topics").glob("*.md")
            for w in re.findall(r"[A-Za-z]{4,}", path.read_text(encoding="utf-8"))
        }
    )
    rng = random.Random(12)
    if zipf:
        # Natural text: a long tail of rare words (made up here) around the real topics' words,
        # drawn with Zipf weights (the k-th commonest word about 1/k as often as the first).
        made_up = {
            "".join(rng.choice("abcdefghiklmnoprstuvy") for _ in range(8)) for _ in range(40000)
        }
        vocabulary = real + sorted(made_up)
        rng.shuffle(vocabulary)
        weights = [1 / (k + 1) for k in range(len(vocabulary))]
    else:
        vocabulary, weights = real, [1.0] * len(real)
    cumulative = list(itertools.accumulate(weights))

    def text(n: int) -> str:
        return " ".join(rng.choices(vocabulary, cum_weights=cumulative, k=n))

    pages = [
        IndexedPage(
            page_id=f"t{n:05d}",
            url=f"/topics/t{n:05d}/",
            access="metered",
            title=" ".join(rng.sample(real, 3)).capitalize(),
            summary=text(25),
            aliases=[" ".join(rng.sample(real, 2))],
            headings=[w.capitalize() for w in rng.sample(real, 5)],
            body=text(400),
        )
        for n in range(1, size + 1)
    ]
    path = tmp / f"big-{zipf}.sqlite"
    start = time.perf_counter()
    write_index(path, pages, {})
    write_s = time.perf_counter() - start
    index = SearchIndex(path)
    kind = (
        "Zipf-distributed words, long tail" if zipf else "uniform draw from the real topics' words"
    )
    print(
        f"{size:,} topics, index only, 400-word bodies ({kind}): index "
        f"{path.stat().st_size / 1e6:.0f} MB written in {write_s:.1f} s; "
        f"vocabulary {len(index.vocabulary):,} terms"
    )
    print("  SearchIndex.plan + search (10 results), the engine under /api/search:")
    for quick in (False, True):
        mode = "suggest=true" if quick else "full"
        for kind, queries in BIG_QUERIES.items():
            samples: list[float] = []
            for q in queries:
                plan = index.plan(q)
                assert plan is not None
                index.search(plan, 10, quick=quick)
                samples += timed(
                    lambda q=q, quick=quick: index.search(index.plan(q), 10, quick=quick),  # type: ignore[arg-type,misc]
                    max(rounds // len(queries), 1),
                )
            row(f"{kind}, {mode}", samples)
    index.close()
    path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=1000, help="the built synthetic site")
    parser.add_argument("--big", type=int, default=30000, help="the index-only catalogue")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="requests per kind of query")
    parser.add_argument("--big-only", action="store_true", help="skip the built site")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        if not args.big_only:
            bench_1000(Path(tmp) / "s1000", args.topics, args.rounds)
        bench_30000(Path(tmp), zipf=True, size=args.big, rounds=args.rounds)
        bench_30000(Path(tmp), zipf=False, size=args.big, rounds=args.rounds)


if __name__ == "__main__":
    main()
