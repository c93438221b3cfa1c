"""`make bench`, part 3, and `make bench-scale`'s search: latency of /api/search over HTTP
against a running `site-api serve`, beside `GET /healthz` in the same run; index size and build
time.

Served (every run): a built site's pages and manifest, linked into a scratch build directory,
with its search index written anew from the build's own page rows (timed: the index's build
time), served by `site-api serve` on loopback. Full results (`/api/search?q=`) and suggestions
(`&suggest=true&limit=8`, every prefix of 2 letters or more of each query, as the search box
sends them while typing), for an anonymous and a signed-in reader, each request beside a
`GET /healthz`. Prints p50 / p95 in milliseconds and the load average.

- `bench/search.py` (`make bench`): 1,000 topics of `tests/synthetic_site.py`, built with the real
  MkDocs config (strict; the index's share of the build is timed too), then served as above.
- `bench/search.py --catalogue DIR` (`make bench-scale`): the live build of a project built by
  `bench/scale.py N --keep DIR` (DIR/ours) or any `site-api build`, served as above. The
  project is only read. `--natural` also serves the same pages with an index whose bodies are
  drawn from a natural vocabulary (Zipf weights, a long tail of rare words): the generator's
  shuffled sentences put every common word in most topics, the harsh case.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import re
import secrets
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the generator and the server helpers the tests use
sys.path.insert(0, str(ROOT / "bench"))
from run import seed_session  # noqa: E402
from servers import SITE_API, free_port, start, stop, wait_http  # noqa: E402
from synthetic_site import write_synthetic_project  # noqa: E402

from site_api.content.search_index import (  # noqa: E402
    IndexedPage,
    search_index_path_for,
    text_of_html,
    write_index,
)

ROUNDS = 300
#: Suggestions asked for at a time, as theme/assets/javascripts/search.js does.
SUGGESTIONS = 8
#: Words of the real topics (which both generators draw on): common, rare, absent.
QUERIES = {
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
    "question": [
        "what is the treatment for macrophage activation syndrome",
        "how is kawasaki disease treated",
        "which drugs cause neutropenia",
    ],
}


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def row(label: str, samples: list[float], reference: float | None = None) -> None:
    p50, p95 = percentiles(samples)
    ratio = f"{p50 / reference:6.1f}x" if reference else "   ref "
    print(f"  {label:<34} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   {ratio}")


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def build_1000(tmp: Path, topics: int) -> Path:
    """The synthetic site built with the real config; prints the index's share of the build."""
    from conftest import mkdocs_build

    config = write_synthetic_project(tmp, topics)
    site = tmp / "site"
    start_s = time.perf_counter()
    result = mkdocs_build(config, site)
    build_s = time.perf_counter() - start_s
    if result.returncode:
        raise SystemExit(f"the synthetic site did not build:\n{result.stderr}")
    # The index's share of the build: reading each page's text, and writing the file.
    pages = [p for p in site.rglob("index.html") if "topics" in p.parts]
    start_s = time.perf_counter()
    for path in pages:
        html = path.read_text(encoding="utf-8")
        body = html.split('class="topic-body">', 1)[-1].split('<div class="topic-references"', 1)[0]
        text_of_html(body)
    extract_s = time.perf_counter() - start_s
    start_s = time.perf_counter()
    write_index(tmp / "again.sqlite", indexed_pages(search_index_path_for(site)), {})
    write_s = time.perf_counter() - start_s
    share = (extract_s + write_s) / build_s
    print(f"{topics:,} topics: site build (MkDocs, strict, index included) {build_s:.1f} s")
    print(
        f"  index's share: text extraction {extract_s:.2f} s + write {write_s:.2f} s = "
        f"{100 * share:.1f}% of the site build"
    )
    return site


def indexed_pages(index: Path, bodies: Iterator[str] | None = None) -> Iterator[IndexedPage]:
    """The pages an index holds, as the build gave them to `write_index` (one at a time);
    `bodies`, when given, replaces each body in turn."""
    db = sqlite3.connect(f"{index.resolve().as_uri()}?mode=ro", uri=True)
    try:
        for page_id, url, access, title, aliases, headings, summary, body, section in db.execute(
            "SELECT page_id, url, access, title, aliases, headings, summary, body, section "
            "FROM page ORDER BY page_id"
        ):
            # One drawn per page, so each body's replacement is drawn for its own length.
            drawn = next(bodies) if bodies is not None else None
            yield IndexedPage(
                page_id,
                url,
                access,
                title,
                summary,
                aliases.split(" · ") if aliases else [],
                headings.split(" · ") if headings else [],
                drawn if drawn is not None and body else body,
                section,
            )
    finally:
        db.close()


def synonyms_of(index: Path) -> dict[str, list[str]]:
    db = sqlite3.connect(f"{index.resolve().as_uri()}?mode=ro", uri=True)
    try:
        found: dict[str, list[str]] = {}
        for phrase, term in db.execute("SELECT phrase, term FROM synonym"):
            found.setdefault(phrase, []).append(term)
        return found
    finally:
        db.close()


def natural_bodies(index: Path) -> Iterator[str]:
    """Bodies of the same lengths in words drawn from a natural vocabulary: the real topics'
    words and 40,000 made-up ones, with Zipf weights (the k-th commonest about 1/k as often)."""
    real = sorted(
        {
            w.lower()
            for path in (ROOT / "content" / "topics").glob("*.md")
            for w in re.findall(r"[A-Za-z]{4,}", path.read_text(encoding="utf-8"))
        }
    )
    rng = random.Random(12)
    made_up = {"".join(rng.choice("abcdefghiklmnoprstuvy") for _ in range(8)) for _ in range(40000)}
    vocabulary = real + sorted(made_up)
    rng.shuffle(vocabulary)
    cumulative = list(itertools.accumulate(1 / (k + 1) for k in range(len(vocabulary))))
    db = sqlite3.connect(f"{index.resolve().as_uri()}?mode=ro", uri=True)
    try:
        lengths = [n for (n,) in db.execute("SELECT length(body) FROM page ORDER BY page_id")]
    finally:
        db.close()
    for chars in lengths:
        yield " ".join(rng.choices(vocabulary, cum_weights=cumulative, k=chars // 7))


def link(source: str | Path, target: str | Path) -> None:
    """A hard link (a copy where none can be made): the project is never written to."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def scratch_build(site: Path, work: Path, natural: bool) -> tuple[Path, float]:
    """The live build of `site` linked into `work`, with a search index written anew (from the
    build's page rows); returns the scratch site and the index's build time."""
    live = Path(os.path.realpath(site))
    build = work / "site-builds" / live.parent.name
    build.mkdir(parents=True)
    shutil.copytree(live, build / live.name, copy_function=link)
    for artifact in live.parent.iterdir():  # the manifest, the build's record…
        if artifact.is_file() and artifact != search_index_path_for(live):
            link(artifact, build / artifact.name)
    source = search_index_path_for(live)
    bodies = natural_bodies(source) if natural else None
    start_s = time.perf_counter()
    write_index(
        search_index_path_for(build / live.name), indexed_pages(source, bodies), synonyms_of(source)
    )
    return build / live.name, time.perf_counter() - start_s


def typed(query: str) -> list[str]:
    """What the search box sends while `query` is typed: every prefix of 2 characters or more."""
    return [query[:n] for n in range(2, len(query) + 1) if not query[:n].endswith(" ")]


def measure(base: str, cookies: dict[str, str], rounds: int) -> None:
    """Full results and suggestions for each kind of query, each request beside /healthz."""
    with httpx.Client(base_url=base, cookies=cookies, timeout=30) as client:
        for q in itertools.chain(*QUERIES.values()):  # warm: every query answers 200 once
            for suggest in ("false", "true"):
                answer = client.get("/api/search", params={"q": q, "suggest": suggest})
                answer.raise_for_status()
        health: list[float] = []
        full: dict[str, list[float]] = {}
        suggest: dict[str, list[float]] = {}

        def timed(path: str, params: dict[str, str] | None = None) -> float:
            start_s = time.perf_counter()
            client.get(path, params=params).raise_for_status()
            return (time.perf_counter() - start_s) * 1000

        for kind, queries in QUERIES.items():
            prefixes = [p for q in queries for p in typed(q)]
            for n in range(rounds):
                health.append(timed("/healthz"))
                q = queries[n % len(queries)]
                full.setdefault(kind, []).append(timed("/api/search", {"q": q}))
                p = prefixes[n % len(prefixes)]
                suggest.setdefault(kind, []).append(
                    timed("/api/search", {"q": p, "suggest": "true", "limit": str(SUGGESTIONS)})
                )
        reference = percentiles(health)[0]
        row("GET /healthz (reference)", health)
        for kind in QUERIES:
            row(f"{kind}, full", full[kind], reference)
        row("all full results", [x for xs in full.values() for x in xs], reference)
        for kind in QUERIES:
            row(f"{kind}, suggest=true", suggest[kind], reference)
        row("all suggestions", [x for xs in suggest.values() for x in xs], reference)


def serve_and_measure(site: Path, work: Path, rounds: int, natural: bool, port: int) -> None:
    """Serve the scratch build of `site` and measure it, anonymous and signed in."""
    scratch, index_s = scratch_build(site, work, natural)
    index = search_index_path_for(scratch)
    pages = sqlite3.connect(index).execute("SELECT count(*) FROM page").fetchone()[0]
    kind = "natural-vocabulary bodies (Zipf)" if natural else "the build's own bodies"
    print(
        f"{pages:,} pages, {kind}: index {index.stat().st_size / 2**20:.1f} MiB, "
        f"written in {index_s:.1f} s from the build's page rows"
    )
    var = work / "var"
    var.mkdir()
    env = {
        **os.environ,
        "SITE_SITE_DIR": str(scratch),
        "SITE_VAR_DIR": str(var),
        "SITE_SECRET_KEY": secrets.token_urlsafe(32),
        "SITE_LOG_LEVEL": "warning",
    }
    token = seed_session(env, f"sqlite:///{var / 'site.db'}")
    log = work / "serve.log"
    proc = start([SITE_API, "serve", "--host", "127.0.0.1", "--port", str(port)], log, env)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc, log, timeout=300)
        base = f"http://127.0.0.1:{port}"
        print(f"  site-api serve, 1 worker, over HTTP; before: {load()}")
        print(f"  anonymous, {rounds} requests per kind:")
        measure(base, {}, rounds)
        print(f"  signed in, {rounds} requests per kind:")
        measure(base, {"session": token}, rounds)
        print(f"  after: {load()}")
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=1000, help="the built synthetic site")
    parser.add_argument(
        "--catalogue", type=Path, metavar="DIR", help="a built project: measure its live build"
    )
    parser.add_argument("--natural", action="store_true", help="also natural-vocabulary bodies")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="requests per kind of query")
    parser.add_argument("--port", type=int, default=0, help="for site-api serve (default: free)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        if args.catalogue is not None:
            site = args.catalogue / "site"
            if not site.is_dir():
                raise SystemExit(f"{site} is not a built site: build the project first")
        else:
            site = build_1000(Path(tmp) / "built", args.topics)
        for natural in (False, True) if args.natural else (False,):
            work = Path(tmp) / ("natural" if natural else "own")
            serve_and_measure(site, work, args.rounds, natural, args.port or free_port())


if __name__ == "__main__":
    main()
