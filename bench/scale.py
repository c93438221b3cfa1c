"""`make bench-scale N=1000`: a catalogue of N realistic topics, built and served, against references
measured in the same run.

Generates N topics (about 1,500 words each, headings, a table, 5–10 references with numbered
citations, aliases, a section, related topics), then:
- builds them with `site-api build` and with plain mkdocs-material (the same Markdown and the
  same navigation settings, no hook, no theme overrides): seconds and peak RSS of each;
- reports `site/` bytes, one topic's HTML bytes and the server-side search index's bytes;
- times the build's link check with 2,000 broken links (their "did you mean" suggestions)
  against comparing each with every page (difflib, estimated from 20 links);
- starts `site-api serve` on the result: seconds until it answers, one worker's RSS after 1,000
  requests to random topics, and requests/s for random topics with wrk (a Lua script picks the
  topic) against nginx serving the same files;
- an editor's first and second view of the editorial desk: seconds, the worker's RSS before and
  after, and the worst latency of a reader fetching a topic every 100 ms during the first.

The topics' text is sentences from this project's own topics, shuffled; the references are the
real entries of its reference library, cited by key (never invented). It is load, not clinical
content.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
from run import plain_nginx  # noqa: E402
from servers import SITE_API, free_port, nginx_binary, start, stop, wait_http  # noqa: E402

from site_api.config import Settings  # noqa: E402
from site_api.content.engine import engine_command  # noqa: E402
from site_api.content.search_index import search_index_path_for  # noqa: E402

HOOK = "site_api/content/mkdocs_hooks.py"
HEADINGS = [
    "Definition",
    "Causes and risk factors",
    "Clinical features",
    "Investigations",
    "Differential diagnosis",
    "Management",
    "When to refer",
]
WORDS_PER_TOPIC = 1500
SECTIONS = [
    "Cardiology",
    "Dermatology",
    "Endocrinology",
    "Gastroenterology",
    "Geriatrics",
    "Haematology",
    "Infectious diseases",
    "Investigations",
    "Nephrology",
    "Neurology",
    "Obstetrics",
    "Oncology",
    "Ophthalmology",
    "Paediatrics",
    "Psychiatry",
    "Respiratory medicine",
    "Rheumatology",
    "Urology",
]
#: Title words by initial, so the A–Z spreads over the letters as a real catalogue's does.
STEMS = [
    "acute",
    "adrenal",
    "allergic",
    "anaemic",
    "aortic",
    "arterial",
    "atrial",
    "benign",
    "biliary",
    "bronchial",
    "cardiac",
    "cerebral",
    "cervical",
    "chronic",
    "colonic",
    "congenital",
    "cystic",
    "dermal",
    "diabetic",
    "diffuse",
    "ductal",
    "eosinophilic",
    "epidural",
    "erosive",
    "familial",
    "febrile",
    "focal",
    "gastric",
    "genital",
    "giant",
    "glandular",
    "haemolytic",
    "hepatic",
    "hereditary",
    "hypertensive",
    "idiopathic",
    "immune",
    "infantile",
    "interstitial",
    "juvenile",
    "jugular",
    "keratotic",
    "kidney",
    "labial",
    "lobar",
    "lumbar",
    "lymphatic",
    "macular",
    "malignant",
    "medullary",
    "mitral",
    "nasal",
    "neonatal",
    "nodular",
    "ocular",
    "optic",
    "oral",
    "orbital",
    "pancreatic",
    "pelvic",
    "pleural",
    "pulmonary",
    "quadriceps",
    "radial",
    "renal",
    "retinal",
    "rheumatic",
    "sacral",
    "scleral",
    "septic",
    "spinal",
    "splenic",
    "systemic",
    "tarsal",
    "temporal",
    "thoracic",
    "thyroid",
    "toxic",
    "tubular",
    "ulnar",
    "ulcerative",
    "urethral",
    "uterine",
    "vaginal",
    "valvular",
    "vascular",
    "venous",
    "vertebral",
    "viral",
    "xanthomatous",
    "yellow",
    "zygomatic",
]
NOUNS = [
    "abscess",
    "anaemia",
    "arthritis",
    "atrophy",
    "carcinoma",
    "cyst",
    "dermatitis",
    "dysplasia",
    "embolism",
    "failure",
    "fibrosis",
    "fistula",
    "haemorrhage",
    "hernia",
    "hyperplasia",
    "infarction",
    "infection",
    "inflammation",
    "lesion",
    "lymphoma",
    "myopathy",
    "necrosis",
    "neuropathy",
    "obstruction",
    "polyp",
    "sclerosis",
    "stenosis",
    "syndrome",
    "thrombosis",
    "tumour",
    "ulcer",
    "vasculitis",
]
CITED = re.compile(r"\s*\[@[^\]]*\]")
#: A Markdown link or image; the generated text keeps its words only (the real topics' links
#: point to pages the generated catalogue does not have).
LINKED = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def corpus() -> tuple[list[str], list[str]]:
    """Sentences from the project's own topics, and the keys of its reference library."""
    sentences: list[str] = []
    library = yaml.safe_load((ROOT / "content" / "references.yml").read_text(encoding="utf-8"))
    for path in sorted((ROOT / "content" / "topics").glob("*.md")):
        _, front, body = path.read_text(encoding="utf-8").split("---", 2)
        for line in body.splitlines():
            if not line or line[0] in "#|-*!<>`0123456789" or line.startswith("    "):
                continue
            plain = LINKED.sub(r"\1", CITED.sub("", line))
            for sentence in re.split(r"(?<=[.!?])\s+", plain):
                if len(sentence.split()) >= 6 and sentence[-1] in ".!?":
                    sentences.append(sentence)
    return sentences, sorted(library)


def title_for(n: int) -> str:
    """A unique topic title, its first word spread over the alphabet."""
    stem = STEMS[n % len(STEMS)]
    noun = NOUNS[(n // len(STEMS)) % len(NOUNS)]
    round_ = n // (len(STEMS) * len(NOUNS))
    title = f"{stem.capitalize()} {noun}"
    return title if round_ == 0 else f"{title} type {round_ + 1}"


def topic_markdown(
    n: int,
    total: int,
    rng: random.Random,
    sentences: list[str],
    references: list[str],
    section_keys: list[str],
    author: str,
) -> str:
    """One topic: front matter as editors write it, then about 1,500 words under headings."""
    title = title_for(n)
    keys = rng.sample(references, min(len(references), rng.randint(5, 10)))
    initials = "".join(w[0] for w in title.split() if w[0].isalpha()).upper()
    others = [i for i in rng.sample(range(total), min(total, 4)) if i != n][:3]
    meta = {
        "id": f"topic-{n:05d}",
        "title": title,
        "summary": " ".join(rng.sample(sentences, 2))[:290],
        "authors": [author],
        "section": rng.choice(section_keys),
        "reviewed": "2026-01-15",
        "next_review": "2028-01-15",
        "aliases": [f"{initials}-{n}", f"{title.split()[1]} of {title.split()[0].lower()} ({n})"],
        "related": [f"topic-{i:05d}" for i in others],
    }
    words, uncited, parts = 0, list(keys), []
    per_heading = WORDS_PER_TOPIC // len(HEADINGS)
    for heading in HEADINGS:
        parts.append(f"## {heading}\n")
        written, paragraph = 0, []
        while written < per_heading:
            sentence = rng.choice(sentences)
            if rng.random() < 0.25 or (uncited and written == 0):
                key = uncited.pop() if uncited else rng.choice(keys)
                sentence = sentence[:-1] + f" [@{key}]."
            paragraph.append(sentence)
            written += len(sentence.split())
            if len(paragraph) == 4:
                parts.append(" ".join(paragraph) + "\n")
                paragraph = []
        if paragraph:
            parts.append(" ".join(paragraph) + "\n")
        if heading == "Investigations":
            parts.append(
                "| Test | Typical finding |\n|---|---|\n| Full blood count | Cytopenias |\n"
                "| Ferritin | Raised |\n| C-reactive protein | Raised |\n"
            )
        words += written
    for key in uncited:  # every reference is cited at least once
        parts.append(f"See also [@{key}].\n")
    return (
        "---\n"
        + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
        + "---\n"
        + "\n".join(parts)
    )


def write_project(root: Path, topics: int, seed: int = 11) -> None:
    """The generated catalogue in `root/content`, with the project's mkdocs.yml and theme."""
    rng = random.Random(seed)
    sentences, references = corpus()
    content = root / "content"
    (content / "topics").mkdir(parents=True)
    for name in (
        "authors.yml",
        "references.yml",
        "about.md",
        "terms.md",
        "index.md",
        "whats-new.md",
    ):
        shutil.copy(ROOT / "content" / name, content / name)
    sections = {
        s.lower().replace(" ", "-"): {"title": s, "summary": f"Topics in {s.lower()}."}
        for s in SECTIONS
    }
    (content / "sections.yml").write_text(yaml.safe_dump(sections), encoding="utf-8")
    author = next(iter(yaml.safe_load((content / "authors.yml").read_text(encoding="utf-8"))))
    keys = list(sections)
    for n in range(topics):
        text = topic_markdown(n, topics, rng, sentences, references, keys, author)
        (content / "topics" / f"topic-{n:05d}.md").write_text(text, encoding="utf-8")
    shutil.copytree(ROOT / "theme", root / "theme")
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    (root / "mkdocs.yml").write_text(config.replace(HOOK, str(ROOT / HOOK)), encoding="utf-8")


def write_plain_project(root: Path, ours: Path) -> None:
    """The same Markdown and navigation for plain mkdocs-material: no hook, no theme overrides.

    The pages our hook generates (a-z/, sections/) are named in the navigation, so plain gets a
    stub for each index to keep the same navigation settings."""
    content = root / "content"
    shutil.copytree(ours / "content", content)
    for stub in ("a-z/index.md", "sections/index.md"):
        (content / stub).parent.mkdir(parents=True, exist_ok=True)
        (content / stub).write_text("---\ntitle: Browse\n---\nBrowse.\n", encoding="utf-8")
    config = yaml.safe_load((ours / "mkdocs.yml").read_text(encoding="utf-8"))
    for key in ("hooks", "extra_css", "extra_javascript"):
        config.pop(key, None)
    for key in ("custom_dir", "static_templates"):
        config["theme"].pop(key, None)
    config["strict"] = False
    (root / "mkdocs.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, int]:
    """Run to completion; wall seconds, CPU seconds and peak RSS (bytes) of the process tree.

    CPU seconds are the fairer comparison on a machine shared with other work."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode})")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def tree_bytes(path: Path) -> int:
    """Bytes of every file under `path`."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def rss_of_group(pgid: int) -> int:
    """A worker's memory (bytes): the largest proportional set size (PSS) among the group's
    processes other than its leader (the master, whose app the workers Granian forks share).

    PSS counts each page shared with other processes by its share, so a worker's own cost is
    not hidden by, nor double-counted with, what it shares with the master (its RSS counts every
    shared page whole). The leader's when it is alone."""
    found: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                rollup = (stat.parent / "smaps_rollup").read_text()
                pss = re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE)
                found[int(stat.parent.name)] = int(pss.group(1)) * 1024 if pss else 0
        except (OSError, ValueError):
            continue
    workers = [size for pid, size in found.items() if pid != pgid]
    return max(workers or found.values() or [0])


def wrk_random(base: str, paths_file: Path, tmp: Path, seconds: int = 10) -> float:
    """Requests/s for random topics: a wrk Lua script picks one per request."""
    script = tmp / "random.lua"
    script.write_text(
        f"""
local paths = {{}}
for line in io.lines("{paths_file}") do paths[#paths + 1] = line end
math.randomseed(os.time())
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
""",
        encoding="utf-8",
    )
    cmd = ["wrk", "-t2", "-c32", "-s", str(script)]
    warm_up = f"{min(seconds, 2)}s"
    subprocess.run([*cmd, "-d", warm_up, base], check=True, capture_output=True)
    out = subprocess.run([*cmd, "-d", f"{seconds}s", base], check=True, capture_output=True).stdout
    text = out.decode()
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if errors:
        print(f"  wrk: {errors.group(0)}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]


def save_edit(ours: Path, topic: str, change: str, wanted: str) -> None:
    """Save an edit to `topic`'s source (`change`: "body" appends `wanted`, "title" renames it)."""
    path = ours / "content" / "topics" / f"{topic}.md"
    text = path.read_text(encoding="utf-8")
    if change == "body":
        path.write_text(text + f"\n{wanted}\n", encoding="utf-8")
    else:
        path.write_text(re.sub(r"^title: .*$", f"title: {wanted}", text, count=1, flags=re.M))


def served_after(base: str, topic: str, wanted: str, t0: float, failed: Any) -> float:
    """Seconds from `t0` until the server serves `wanted` on `topic`'s page, polled as a fresh
    visitor each time; stops if `failed()` says the publishing side gave up."""
    with httpx.Client(base_url=base) as client:
        while wanted not in client.get(f"/topics/{topic}/").text:
            if failed():
                break
            if time.monotonic() - t0 > 900:
                sys.exit(f"{wanted!r} was never served")
            time.sleep(0.02)
    return time.monotonic() - t0


def published_in(ours: Path, base: str, topic: str, change: str, wanted: str) -> tuple[float, str]:
    """Seconds from saving an edit to `topic`'s source until a running server serves `wanted` on
    its page, published by one `site-api build`; and what the build said it rendered."""
    save_edit(ours, topic, change, wanted)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "SITE_SITE_DIR": str(ours / "site")}
    t0 = time.monotonic()
    # Served is published: the build's own tidying after the switch (old builds removed) is
    # not waited for, but a build that fails or ends without the text served is an error.
    log = ours / "publish.log"
    with log.open("w+", encoding="utf-8") as out:  # a file, not a pipe: MkDocs may say a lot
        building = subprocess.Popen(
            [SITE_API, "build", "-f", str(ours / "mkdocs.yml")],
            cwd=ours,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
        seconds = served_after(
            base, topic, wanted, t0, lambda: building.poll() is not None and building.returncode
        )
        building.wait()
        out.seek(0)
        stderr = out.read()
    if building.returncode:
        sys.exit(f"site-api build failed:\n{stderr[-3000:]}")
    said = re.search(r"parsed \d+ and rendered \d+ of \d+", stderr)
    return seconds, said.group(0) if said else "full build"


def wait_until_prepared(log: Path, proc: subprocess.Popen[bytes], most: float = 120) -> None:
    """An editor's next save comes after the watcher has prepared its next build (it says how
    long that took; a save before then waits for it): at most `most` seconds."""
    until = time.monotonic() + most
    while time.monotonic() < until:
        text = log.read_text(encoding="utf-8")
        if text.count("prepared the next build") >= text.count("published "):
            return
        if proc.poll() is not None:
            sys.exit(f"site-api build --watch stopped:\n{text[-3000:]}")
        time.sleep(0.05)


def published_by_watcher(
    ours: Path, base: str, topic: str, edits: list[tuple[str, str]]
) -> list[tuple[float, str]]:
    """The same edits published by a running `site-api build --watch` (its caches warm): seconds
    from each save until served, and what its build said it rendered."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "SITE_SITE_DIR": str(ours / "site")}
    log = ours / "watch.log"
    log.unlink(missing_ok=True)
    proc = start([SITE_API, "build", "--watch", "-f", str(ours / "mkdocs.yml")], log, env, ours)
    found = []
    try:
        while "watching" not in log.read_text(encoding="utf-8"):
            if proc.poll() is not None:
                sys.exit(f"site-api build --watch stopped:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        for change, wanted in edits:
            wait_until_prepared(log, proc)
            said_before = log.read_text(encoding="utf-8").count("published ")
            save_edit(ours, topic, change, wanted)
            t0 = time.monotonic()
            seconds = served_after(base, topic, wanted, t0, lambda: proc.poll() is not None)
            while log.read_text(encoding="utf-8").count("published ") == said_before:
                time.sleep(0.05)  # its own line follows the switch the reader already saw
            said = re.findall(r"parsed \d+ and rendered \d+ of \d+", log.read_text())
            found.append((seconds, said[-1] if said else "full build"))
    finally:
        stop(proc)
    return found


def serve(
    site: Path,
    topics: list[str],
    tmp: Path,
    requests: int,
    wrk_seconds: int,
    ours: Path | None = None,
) -> dict[str, Any]:
    """Start `site-api serve` on `site`; start seconds, worker PSS, req/s for random topics; with
    `ours` (the project), how soon a body edit and a title change are served."""
    port = free_port()
    env = {
        **os.environ,
        "SITE_SITE_DIR": str(site),
        "SITE_VAR_DIR": str(tmp / "var"),
        "SITE_SECRET_KEY": secrets.token_urlsafe(32),
        "SITE_LOG_LEVEL": "warning",
    }
    log = tmp / "serve.log"
    t0 = time.monotonic()
    proc = start([SITE_API, "serve", "--port", str(port)], log, env)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc, log, timeout=300)
        started = time.monotonic() - t0
        base = f"http://127.0.0.1:{port}"
        rss_start = rss_of_group(proc.pid)
        rng = random.Random(1)
        with httpx.Client(base_url=base) as client:
            for _ in range(requests):
                client.cookies.clear()
                response = client.get(rng.choice(topics))
                if response.status_code != 200:
                    sys.exit(f"{response.url}: {response.status_code}")
        rss = rss_of_group(proc.pid)
        publish: dict[str, tuple[float, str]] = {}
        if ours is not None:
            victim = topics[len(topics) // 2].strip("/").rsplit("/", 1)[1]
            publish["body published"] = published_in(
                ours, base, victim, "body", f"An edited sentence, {secrets.token_hex(4)}."
            )
            publish["title published"] = published_in(
                ours, base, victim, "title", f"Zz renamed {secrets.token_hex(4)}"
            )
            watched = published_by_watcher(
                ours,
                base,
                victim,
                [
                    ("body", f"A watched sentence, {secrets.token_hex(4)}."),
                    ("title", f"Zz watched {secrets.token_hex(4)}"),
                ],
            )
            publish["body published by a running site-api build --watch"] = watched[0]
            publish["title published by a running site-api build --watch"] = watched[1]
        paths = tmp / "paths.txt"
        paths.write_text("\n".join(topics) + "\n", encoding="utf-8")
        rps = wrk_random(base, paths, tmp, wrk_seconds)
        rss_after_wrk = rss_of_group(proc.pid)
        desk = desk_view(base, env, proc.pid, topics[0])
    finally:
        stop(proc)
    return {
        "start": started,
        "rss_start": rss_start,
        "rss": rss,
        "rss_wrk": rss_after_wrk,
        "rps": rps,
        **desk,
        "publish": publish,
    }


def desk_view(base: str, env: dict[str, str], pgid: int, topic: str) -> dict[str, float]:
    """An editor's first and second desk views: seconds, the worker's RSS before and after, and
    the worst latency of a reader fetching a topic every 100 ms meanwhile."""
    email, password = "bench-editor@example.org", secrets.token_urlsafe(16)
    made = subprocess.run(
        [SITE_API, "user", "create", "--email", email, "--editor", "--password-stdin"],
        input=password + "\n",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode:
        sys.exit(f"cannot create the editor: {made.stderr}")
    worst = [0.0]
    reading = threading.Event()
    reading.set()

    def reader() -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            while reading.is_set():
                t0 = time.monotonic()
                client.get(topic)
                worst[0] = max(worst[0], time.monotonic() - t0)
                time.sleep(0.1)

    with httpx.Client(base_url=base, timeout=300) as editor:
        page = editor.get("/sign-in").text
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        signed = editor.post(
            "/sign-in", data={"email": email, "password": password, "csrf_token": token}
        )
        if signed.status_code != 303:  # to the page signed in for
            sys.exit(f"the editor could not sign in: {signed.status_code}")
        rss_before = rss_of_group(pgid)
        thread = threading.Thread(target=reader)
        thread.start()
        time.sleep(0.5)  # the reader's own latency before the desk, in its worst too
        t0 = time.monotonic()
        first = editor.get("/editorial/")
        first_s = time.monotonic() - t0
        reading.clear()
        thread.join()
        t0 = time.monotonic()
        second = editor.get("/editorial/")
        second_s = time.monotonic() - t0
        if first.status_code != 200 or second.status_code != 200:
            sys.exit(f"the desk answered {first.status_code}, {second.status_code}")
        rss_after = rss_of_group(pgid)
    return {
        "desk_first": first_s,
        "desk_second": second_s,
        "desk_rss_before": rss_before,
        "desk_rss_after": rss_after,
        "desk_reader_worst": worst[0],
    }


def link_check(ours: Path, broken: int, sample: int = 20) -> tuple[float, float, float]:
    """The build's link check over the generated topics with `broken` broken links (each a
    topic's name with a letter dropped): seconds with them, seconds with none, and the old
    way's estimate (difflib over every page per broken link, timed on `sample` links)."""
    import difflib

    from site_api.content.links import LinkSource, check_links

    docs = ours / "content"
    topics = sorted((docs / "topics").glob("*.md"))
    rng = random.Random(3)
    added: dict[int, list[str]] = {}
    wanted = []
    for _ in range(broken):
        name = rng.choice(topics).stem
        at = rng.randrange(1, len(name) - 1)
        wanted.append(f"topics/{name[:at]}{name[at + 1 :]}.md")
        added.setdefault(rng.randrange(len(topics)), []).append(f"See [it]({wanted[-1][7:]}).")
    names: dict[str, list[str]] = {}
    clean, dirty = [], []
    for n, path in enumerate(topics):
        _, front, body = path.read_text(encoding="utf-8").split("---", 2)
        meta = yaml.load(front, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        uri = f"topics/{path.name}"
        names[uri] = [meta["title"], *meta.get("aliases", [])]
        clean.append(LinkSource(str(path), uri, body, 1))
        dirty.append(LinkSource(str(path), uri, "\n".join([body, *added.get(n, [])]), 1))
    others = ["index.md", "about.md", "terms.md", "whats-new.md"]
    t0 = time.perf_counter()
    assert check_links(clean, others, names) == []
    none_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    errors = check_links(dirty, others, names)
    with_s = time.perf_counter() - t0
    if len(errors) != broken:
        sys.exit(f"link check: {len(errors)} errors for {broken} broken links")
    md_files = sorted([*names, *others])
    t0 = time.perf_counter()
    for uri in wanted[:sample]:
        difflib.get_close_matches(uri, md_files, n=1, cutoff=0.5)
    old_s = (time.perf_counter() - t0) / min(sample, broken) * broken
    return with_s, none_s, old_s


def main() -> None:
    """Generate, build twice, serve, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("topics", type=int, nargs="?", default=1000)
    parser.add_argument("--keep", type=Path, help="work here and keep the result")
    parser.add_argument(
        "--generate-only",
        type=Path,
        metavar="DIR",
        help="only write the project (content, mkdocs.yml, theme) into DIR, then stop",
    )
    parser.add_argument("--requests", type=int, default=1000, help="random topics fetched")
    parser.add_argument("--wrk-seconds", type=int, default=10, help="each wrk run's length")
    parser.add_argument("--broken-links", type=int, default=2000, help="for the link check row")
    parser.add_argument(
        "--links-only", action="store_true", help="generate, then time only the link check"
    )
    args = parser.parse_args()
    if args.links_only:
        with tempfile.TemporaryDirectory(prefix="site-scale-links-") as links_tmp:
            write_project(Path(links_tmp), args.topics)
            with_s, none_s, old_s = link_check(Path(links_tmp), args.broken_links)
        print(
            f"{args.topics} topics, link check: {args.broken_links:,} broken links with "
            f"suggestions {with_s:.2f} s (none broken: {none_s:.2f} s); difflib over every page "
            f"{old_s:.1f} s (est.); load {os.getloadavg()[0]:.1f}"
        )
        return
    if args.generate_only is not None:
        if args.generate_only.exists() and any(args.generate_only.iterdir()):
            sys.exit(f"{args.generate_only} is not empty")
        write_project(args.generate_only, args.topics)
        print(f"wrote {args.topics} topics into {args.generate_only}; build it there with")
        print(f"  cd {args.generate_only} && {SITE_API} build")
        return
    nginx = nginx_binary()
    if not nginx or not shutil.which("wrk"):
        sys.exit("nginx and wrk are needed: sudo apt-get install -y nginx wrk")
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="site-scale-"))
    ours, plain = tmp / "ours", tmp / "plain"
    try:
        print(f"generating {args.topics} topics in {ours}")
        write_project(ours, args.topics)
        write_plain_project(plain, ours)
        print("building: site-api build")
        site_api = [SITE_API, "build", "-f", str(ours / "mkdocs.yml")]
        ours_s, ours_cpu, ours_rss = timed(site_api, ours)
        print("building: plain mkdocs-material")
        site, plain_site = ours / "site", plain / "site"
        engine = engine_command(Settings().build_engine)  # SITE_BUILD_ENGINE, as site-api's
        mkdocs = [*engine, "build", "-q", "-f", str(plain / "mkdocs.yml")]
        plain_s, plain_cpu, plain_rss = timed([*mkdocs, "-d", str(plain_site)], plain)
        print(f"  site-api build {ours_s:.1f} s, plain mkdocs-material {plain_s:.1f} s")

        print(f"link check: {args.broken_links} broken links")
        links_s, links_none_s, links_old_s = link_check(ours, args.broken_links)

        topic = "topics/topic-00000/index.html"
        topics = [f"/topics/topic-{n:05d}/" for n in range(args.topics)]
        print("serving: site-api serve, then nginx on the same files")
        served = serve(site, topics, tmp, args.requests, args.wrk_seconds, ours)
        (tmp / "nginx").mkdir(exist_ok=True)
        with plain_nginx(nginx, tmp / "nginx", site, topics[0]) as (url, _):
            base = url.split("/topics/", 1)[0]
            nginx_rps = wrk_random(base, tmp / "paths.txt", tmp, args.wrk_seconds)

        mb = 1024 * 1024
        index_bytes = search_index_path_for(site.resolve()).stat().st_size
        rows = [
            ("build seconds (wall)", f"{ours_s:.1f}", f"{plain_s:.1f}", f"{ours_s / plain_s:.2f}×"),
            (
                "build CPU seconds",
                f"{ours_cpu:.1f}",
                f"{plain_cpu:.1f}",
                f"{ours_cpu / plain_cpu:.2f}×",
            ),
            ("build peak RSS", f"{ours_rss / mb:.0f} MB", f"{plain_rss / mb:.0f} MB", ""),
            (
                "site/ bytes",
                f"{tree_bytes(site.resolve()) / mb:.1f} MB",
                f"{tree_bytes(plain_site) / mb:.1f} MB",
                "",
            ),
            (
                "one topic's HTML",
                f"{(site / topic).stat().st_size / 1024:.1f} KB",
                f"{(plain_site / topic).stat().st_size / 1024:.1f} KB",
                "",
            ),
            (
                "search index (site-search.sqlite, server-side)",
                f"{index_bytes / mb:.1f} MB",
                "",
                "",
            ),
            (
                f"link check, {args.broken_links:,} broken links with suggestions "
                f"(none broken: {links_none_s:.2f} s)",
                f"{links_s:.2f} s",
                f"difflib over every page {links_old_s:.1f} s (est.)",
                f"{links_s / links_old_s:.3f}×",
            ),
            ("server start (until /healthz answers)", f"{served['start']:.2f} s", "", ""),
            *(
                (
                    f"one-topic {kind} (save to served; {said})",
                    f"{seconds:.2f} s",
                    "",
                    f"{seconds / ours_s:.3f}× the full build",
                )
                for kind, (seconds, said) in served["publish"].items()
            ),
            (
                f"worker PSS: at start / after {args.requests:,} random topics / after wrk",
                f"{served['rss_start'] / mb:.0f} / {served['rss'] / mb:.0f} / "
                f"{served['rss_wrk'] / mb:.0f} MB",
                "",
                "",
            ),
            (
                "editorial desk: first / second view",
                f"{served['desk_first']:.2f} / {served['desk_second']:.2f} s",
                "",
                "",
            ),
            (
                "worker PSS before / after the desk views",
                f"{served['desk_rss_before'] / mb:.0f} / {served['desk_rss_after'] / mb:.0f} MB",
                "",
                f"{served['desk_rss_after'] / served['desk_rss_before']:.2f}×",
            ),
            (
                "a reader's worst page latency during the first desk view",
                f"{served['desk_reader_worst'] * 1000:.0f} ms",
                "",
                "",
            ),
            (
                "random topics, req/s (nginx on the same files)",
                f"{served['rps']:.0f}",
                f"nginx {nginx_rps:.0f}",
                f"{served['rps'] / nginx_rps:.2f}×",
            ),
        ]
        print(f"\n{args.topics} topics; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
        print("| measure | site-api | plain mkdocs-material / nginx | ratio |")
        print("|---|---:|---:|---:|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
