"""Incremental builds equal full builds, file by file, after every kind of edit.

Each step edits a small synthetic catalogue, runs `site-api build` (incremental: it reuses the
live build) and `site-api build --full` into a second site, and compares every file of the two
builds byte for byte, their manifests, their dependency records and the answers of their search
indexes to a fixed set of queries.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from contextlib import redirect_stderr
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click import ClickException
from click.testing import CliRunner
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synthetic_site import topic_ids, write_synthetic_project

from site_api.cli import _build_and_publish, main
from site_api.content import parse_cache, prepared
from site_api.content.approval import write_approval
from site_api.content.incremental import build_code, deps_path_for, load_deps
from site_api.content.manifest import editorial_path_for, manifest_path_for
from site_api.content.model import load_authors
from site_api.content.references import REFERENCES_FILE, load_library
from site_api.content.search_index import search_index_path_for
from site_api.search.index import EVERY_BODY, FREE_BODIES_ONLY, SearchIndex

#: The pages MkDocs' navigation names: rendered in every build (every page shows their titles).
NAV_PAGES = {"index.md", "a-z/index.md", "sections/index.md", "about.md", "terms.md"}
QUERIES = ["synthetic", "topic 3", "zymosan", "overview", "alpha", "zeta", "notes", "gen", "t00"]
SYNONYMS = "zymo: [zymosan]\n"
#: Two works of the reference library, cited by t011 and t012 only.
LIBRARY = {
    "alpha2020": {"authors": ["Alpha A"], "title": "A first work", "journal": "J", "year": 2020},
    "beta2021": {"authors": ["Beta B"], "title": "A second work", "journal": "J", "year": 2021},
}
#: The synthetic topics' review date (a change is dated on or before it).
reviewed = date.today() - timedelta(days=30)


def make_project(root: Path, topics: int) -> Path:
    """A synthetic catalogue with What's new and a synonym whose term only one topic holds."""
    config = write_synthetic_project(root, topics)
    shutil.copy(ROOT / "content" / "whats-new.md", root / "content" / "whats-new.md")
    (root / "content" / "synonyms.yml").write_text(SYNONYMS, encoding="utf-8")
    edit(root, "t001", body=lambda b: b + "\nZymosan was used to provoke inflammation.\n")
    write_library(root, LIBRARY)
    if topic_path(root, "t012").exists():
        edit(root, "t011", body=lambda b: b + "\nA cited claim [@alpha2020].\n")
        edit(root, "t012", body=lambda b: b + "\nAnother cited claim [@beta2021].\n")
    return config


def write_library(root: Path, entries: dict[str, dict[str, Any]]) -> None:
    path = root / "content" / "references.yml"
    path.write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")


def topic_path(root: Path, page_id: str) -> Path:
    return root / "content" / "topics" / f"{page_id}.md"


def edit(root: Path, page_id: str, body: Callable[[str], str] | None = None, **fields: Any) -> None:
    """Change a topic's front matter fields (None removes one) and/or its body."""
    path = topic_path(root, page_id)
    _, front, text = path.read_text(encoding="utf-8").split("---\n", 2)
    data = yaml.safe_load(front)
    for key, value in fields.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    text = body(text) if body else text
    dumped = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    path.write_text(f"---\n{dumped}---\n{text}", encoding="utf-8")


def build(root: Path, link: str, full: bool = False, here: bool = False) -> tuple[int, str]:
    """`site-api build [--full]` of the project into the site link `root/link`; `here`: the
    preview's way instead, the engine run in this process (site_api/content/inprocess.py)."""
    if not here:
        args = ["build", "-f", str(root / "mkdocs.yml"), *(["--full"] if full else [])]
        result = CliRunner().invoke(main, args, env={"SITE_SITE_DIR": str(root / link)})
        return result.exit_code, result.output
    with redirect_stderr(io.StringIO()) as said:
        try:
            _build_and_publish(str(root / "mkdocs.yml"), root / link, full=full, in_process=True)
        except ClickException as exc:
            return 1, said.getvalue() + exc.message
    return 0, said.getvalue()


def files_of(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def folders_of(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_dir())


def answers(site: Path) -> list[Any]:
    """What the build's search index answers to the fixed queries, for two kinds of reader."""
    index = SearchIndex.for_site(site)
    found = []
    try:
        for query in QUERIES:
            plan = index.plan(query)
            for reader in (EVERY_BODY, FREE_BODIES_ONLY):
                hits = index.search(plan, 20, reader) if plan else []
                found.append([(query, h.page_id, h.title, h.snippet) for h in hits])
    finally:
        index.close()
    # The words a server knows at start, and in how many pages' columns: patched, not recounted.
    with sqlite3.connect(search_index_path_for(site)) as db:
        found.append(db.execute("SELECT * FROM term ORDER BY term").fetchall())
    return found


def record(site: Path) -> dict[str, Any]:
    """The dependency record without what says how it was built (reused or not)."""
    deps = load_deps(site)
    assert deps is not None
    return {
        k: v for k, v in deps.__dict__.items() if k not in ("rendered", "parsed", "reused_from")
    }


def assert_same(root: Path) -> None:
    """The incremental build (`site`) equals the full one (`full`), byte for byte."""
    incremental = Path(os.path.realpath(root / "site"))
    full = Path(os.path.realpath(root / "full"))
    ours, theirs = files_of(incremental), files_of(full)
    assert sorted(ours) == sorted(theirs)
    assert folders_of(incremental) == folders_of(full)  # none left empty by a removed page
    different = [name for name in ours if ours[name] != theirs[name]]
    assert different == []
    for path_for in (manifest_path_for, editorial_path_for):
        assert path_for(incremental).read_bytes() == path_for(full).read_bytes()
    assert record(incremental) == record(full)
    assert answers(incremental) == answers(full)


def step(root: Path, here: bool = False) -> list[str]:
    """Build incrementally and in full; both succeed and are equal. Returns what was rendered."""
    code, out = build(root, "site", here=here)
    assert code == 0, out
    code, out = build(root, "full", full=True)
    assert code == 0, out
    assert_same(root)
    deps = load_deps(Path(os.path.realpath(root / "site")))
    assert deps is not None
    return deps.rendered


def fails_and_keeps_the_live_build(root: Path, message: str) -> None:
    """The broken content fails both builds, naming the problem; the live builds stay."""
    before = {link: os.path.realpath(root / link) for link in ("site", "full")}
    for link, full in (("site", False), ("full", True)):
        code, out = build(root, link, full)
        assert code != 0 and message in out, out
        assert os.path.realpath(root / link) == before[link]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    make_project(tmp_path, 12)
    code, out = build(tmp_path, "site", full=True)
    assert code == 0, out
    code, out = build(tmp_path, "full", full=True)
    assert code == 0, out
    return tmp_path


def test_named_edits_build_incrementally_equal_to_full_builds(project: Path) -> None:
    root = project
    theme = root / "theme" / "main.html"

    # A body edit renders that topic (and the few navigation pages) only.
    edit(root, "t003", body=lambda b: b + "\nA new paragraph about topic three.\n")
    assert set(step(root)) == {"topics/t003.md", *NAV_PAGES}

    # A title change moves the topic in the A–Z and in its section.
    edit(root, "t004", title="Alpha topic four")
    rendered = set(step(root))
    assert {"topics/t004.md", "a-z/a.md", "a-z/s.md"} <= rendered
    assert "topics/t005.md" not in rendered

    edit(root, "t005", aliases=["Zeta syndrome"])
    assert "a-z/z.md" in step(root)
    edit(root, "t005", aliases=[])
    step(root)

    edit(root, "t006", related=["t007", "t008"])
    assert "topics/t007.md" not in step(root)
    # A related topic's summary is shown on t006: t006 is rendered again, t008 is not.
    edit(root, "t007", summary="A changed summary for topic seven.")
    rendered = set(step(root))
    assert {"topics/t006.md", "topics/t007.md"} <= rendered
    assert "topics/t008.md" not in rendered

    # A library entry is an input of exactly the topics citing it.
    write_library(root, {**LIBRARY, "alpha2020": {**LIBRARY["alpha2020"], "title": "Retitled"}})
    assert set(step(root)) == {"topics/t011.md", *NAV_PAGES}
    html = (root / "site" / "topics" / "t011" / "index.html").read_text(encoding="utf-8")
    assert "Alpha A. Retitled. J. 2020." in html
    deps = load_deps(Path(os.path.realpath(root / "site")))
    assert deps is not None and deps.inputs["topics/t011.md"]["references"] == ["alpha2020"]
    # An entry no topic cites yet (a warning, not an error) renders no topic.
    retitled = {**LIBRARY, "alpha2020": {**LIBRARY["alpha2020"], "title": "Retitled"}}
    write_library(root, {**retitled, "gamma2022": {**LIBRARY["beta2021"], "year": 2022}})
    assert set(step(root)) == NAV_PAGES
    # A cited entry removed from the library fails the build, as in a full build.
    write_library(root, {"beta2021": LIBRARY["beta2021"]})
    fails_and_keeps_the_live_build(root, "unknown reference key 'alpha2020'")
    write_library(root, LIBRARY)
    assert set(step(root)) == {"topics/t011.md", *NAV_PAGES}

    new = topic_path(root, "t013")
    shutil.copy(topic_path(root, "t012"), new)
    edit(root, "t013", id="t013", title="Brand new topic", related=["t001"])
    assert "topics/t013.md" in step(root)

    topic_path(root, "t002").unlink()
    step(root)

    edit(root, "t008", section="investigations")
    step(root)

    changes = [{"date": reviewed.isoformat(), "summary": "Rewrote the overview."}]
    edit(root, "t009", changes=changes)
    assert "whats-new.md" in step(root)

    # A topic becomes a draft: gone from its pages and the lists holding it; then back.
    edit(root, "t011", status="draft")
    rendered = set(step(root))
    assert "topics/t011.md" not in rendered
    assert not (Path(os.path.realpath(root / "site")) / "topics" / "t011").exists()
    edit(root, "t011", status="published")
    assert "topics/t011.md" in step(root)
    # A second clinician's approval shows on the page: it is rendered again, no other topic.
    path = topic_path(root, "t012")
    authors = load_authors("authors.yml", (root / "content" / "authors.yml").read_text())
    assert isinstance(authors, dict)
    approver = next(a for a in authors if a not in path.read_text())
    library_file = root / "content" / REFERENCES_FILE
    library, _ = load_library(str(library_file), library_file.read_text(encoding="utf-8"))
    approved = write_approval(
        path.read_text(), str(path), approver, authors, reviewed, library.entries
    )
    path.write_text(approved)
    rendered = set(step(root))
    assert "topics/t012.md" in rendered and "topics/t011.md" not in rendered
    edit(root, "t012", body=lambda b: b + "\nChanged after approval.\n")
    assert "topics/t012.md" in step(root)

    # A broken edit fails and leaves the live build; its fix builds equal again.
    edit(root, "t010", section="no-such-section")
    fails_and_keeps_the_live_build(root, "no-such-section")
    edit(root, "t010", section="haematology")
    step(root)

    # The only page holding a synonym's term loses it: synonyms.yml fails as in a full build.
    edit(root, "t001", body=lambda b: b.replace("Zymosan", "Yeast cell walls"))
    fails_and_keeps_the_live_build(root, "'zymosan' is no page id, title or alias")
    edit(root, "t001", body=lambda b: b + "\nZymosan again.\n")
    step(root)

    # The theme is site-wide: every page is rendered again.
    theme.write_text(theme.read_text(encoding="utf-8") + "\n{#- changed -#}\n", encoding="utf-8")
    deps = load_deps(Path(os.path.realpath(root / "site")))
    assert deps is not None
    assert len(step(root)) == len(deps.inputs)


def test_builds_in_the_previews_process_equal_full_builds_in_a_child(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preview runs the engine in its own long-lived process: the same builds, the same
    errors, and a process that builds again and again (one hook, one filter, no leftovers)."""
    monkeypatch.setenv("SITE_SITE_DIR", str(project / "site"))
    edit(project, "t003", body=lambda b: b + "\nA sentence built in process.\n")
    assert set(step(project, here=True)) == {"topics/t003.md", *NAV_PAGES}
    edit(project, "t004", title="Alpha topic four")
    assert {"topics/t004.md", "a-z/a.md"} <= set(step(project, here=True))
    edit(project, "t010", section="no-such-section")
    child = build(project, "full", full=True)
    here = build(project, "site", here=True)
    assert child[0] == here[0] == 1
    errors = [{line for line in out.splitlines() if "t010.md:" in line} for _, out in (child, here)]
    assert errors[0] and errors[0] == errors[1], (child, here)
    edit(project, "t010", section="haematology")
    step(project, here=True)
    for _ in range(3):  # nothing of one build stays behind to change the next
        step(project, here=True)
    dirty = logging.getLogger("mkdocs.commands.build").filters
    assert len([f for f in dirty if getattr(f, "__name__", "") == "not_the_dirty_warning"]) <= 1
    code, out = build(project, "site", full=True, here=True)
    assert code == 0 and "incremental build" not in out, out
    assert_same(project)


def test_a_long_lived_builder_reads_only_sources_whose_stat_changed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`site-api build --watch` and the preview take back what they read of an unchanged file
    (`parse_cache.SourceReads`); an edit is read, and so is a file written just before it was
    read (its time may not move with a second write in the same clock tick)."""
    monkeypatch.setenv("SITE_SITE_DIR", str(project / "site"))
    an_hour_ago = time.time() - 3600
    for source in (project / "content").rglob("*.md"):
        os.utime(source, (an_hour_ago, an_hour_ago))
    step(project, here=True)  # reads every source once, and keeps what it read
    kept = dict(parse_cache._read)
    assert str(topic_path(project, "t005")) in kept
    opened: list[str] = []
    real_open = open

    def watched_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    edit(project, "t005", body=lambda b: b + "\nEdited while the builder ran.\n")
    with monkeypatch.context() as patched:
        patched.setattr("builtins.open", watched_open)
        assert set(step(project, here=True)) == {"topics/t005.md", *NAV_PAGES}
    sources = {p for p in opened if p.endswith(".md") and "/content/" in p}
    assert str(topic_path(project, "t005")) in sources
    assert str(topic_path(project, "t006")) not in sources  # unchanged: not read again
    # Written in the same instant as read: never taken back, so a second same-size write in
    # that clock tick is still seen.
    edit(project, "t006", body=lambda b: b.replace("a", "b", 1))
    step(project, here=True)
    fresh = os.stat(topic_path(project, "t006"))
    edit(project, "t006", body=lambda b: b.replace("b", "c", 1))
    os.utime(topic_path(project, "t006"), ns=(fresh.st_atime_ns, fresh.st_mtime_ns))
    assert os.stat(topic_path(project, "t006")).st_size == fresh.st_size
    assert "topics/t006.md" in step(project, here=True)


def test_a_record_not_written_after_publishing_loses_no_publish(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-lived builder writes its records' files after the switch: if the disk refuses,
    the build is still published, the editor is warned, and the next build still renders only
    what changed (the records are in its memory)."""
    monkeypatch.setenv("SITE_SITE_DIR", str(project / "site"))
    real_replace = os.replace

    def full_disk(source: Any, target: Any) -> None:
        if str(target).endswith(("-deps.json", "-parsed.pickle")):
            raise OSError(28, "No space left on device")
        real_replace(source, target)

    edit(project, "t003", body=lambda b: b + "\nSaved when the disk was full.\n")
    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", full_disk)
        code, out = build(project, "site", here=True)
    assert code == 0 and "a build record was not written" in out, out
    live = Path(os.path.realpath(project / "site"))
    assert "Saved when the disk was full." in (live / "topics" / "t003" / "index.html").read_text()
    assert not deps_path_for(live).exists()
    assert not [p for p in live.parent.iterdir() if ".tmp" in p.name]  # nothing left behind
    edit(project, "t004", body=lambda b: b + "\nThe next save.\n")
    assert set(step(project, here=True)) == {"topics/t004.md", *NAV_PAGES}


def test_a_long_lived_builder_starts_from_a_prepared_directory_and_never_writes_the_live_one(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After publishing, `--watch` and the preview link the next build's directory from the
    live build and copy its index while they wait (site_api/content/prepared.py); the next
    build takes it, renders what changed into new files, and equals a full build."""
    monkeypatch.setenv("SITE_SITE_DIR", str(project / "site"))
    step(project, here=True)
    prepared.wait()
    live = Path(os.path.realpath(project / "site"))
    spare = project / "site-cache" / "next-build"
    page = "topics/t004/index.html"
    assert (spare / "site" / page).stat().st_ino == (live / page).stat().st_ino
    assert (spare / "site-search.sqlite").read_bytes() == search_index_path_for(live).read_bytes()
    before = files_of(live.parent)
    edit(project, "t003", body=lambda b: b + "\nWritten into a prepared directory.\n")
    topic_path(project, "t009").unlink()  # its folder must go too (folders_of in assert_same)
    for other in ("t008", "t010"):
        edit(project, other, related=[])
    rendered = step(project, here=True)
    assert "topics/t003.md" in rendered and "topics/t004.md" not in rendered
    assert files_of(live.parent) == before, "the live build was written to"
    new = Path(os.path.realpath(project / "site"))
    assert (new / page).stat().st_ino == (live / page).stat().st_ino  # reused: the same file
    assert (new / "topics/t003/index.html").stat().st_ino != (live / page).stat().st_ino
    assert not (new / "topics" / "t009").exists()
    prepared.wait()  # made again, from `new`
    assert (spare / "site" / page).stat().st_ino == (new / page).stat().st_ino
    # Made from a build that is no longer live (a one-shot build published since): not taken.
    edit(project, "t005", body=lambda b: b + "\nPublished by another process.\n")
    code, out = build(project, "site")
    assert code == 0, out
    edit(project, "t006", title="Alpha topic six")
    step(project, here=True)
    # ...and removed aside at once, so the next is made whole in its place.
    prepared.wait()
    live = Path(os.path.realpath(project / "site"))
    deps = load_deps(live)
    assert deps is not None
    assert all((spare / "site" / name).is_file() for name in deps.outputs)
    # Removed from under the builder (site-cache/ only speeds builds up): built without it.
    shutil.rmtree(project / "site-cache")
    edit(project, "t007", body=lambda b: b + "\nSaved after site-cache was removed.\n")
    step(project, here=True)
    # A change to the theme renders every page: nothing prepared is kept, nothing live written.
    prepared.wait()
    live = Path(os.path.realpath(project / "site"))
    assert (spare / "site" / page).stat().st_ino == (live / page).stat().st_ino
    before = files_of(live.parent)
    theme = project / "theme" / "main.html"
    theme.write_text(theme.read_text(encoding="utf-8") + "\n{#- changed -#}\n", encoding="utf-8")
    step(project, here=True)
    assert files_of(live.parent) == before, "the live build was written to"


def test_unchanged_outputs_are_hard_links_to_the_live_build(project: Path) -> None:
    live = Path(os.path.realpath(project / "site"))
    before = files_of(live.parent)  # the site and its manifest, index and record beside it
    edit(project, "t003", body=lambda b: b + "\nOne more sentence.\n")
    code, out = build(project, "site")
    assert code == 0, out
    new = Path(os.path.realpath(project / "site"))
    assert files_of(live.parent) == before, "the live build was written to"
    assert new != live
    assert "parsed 1 and rendered 6 of" in out
    same = (new / "topics" / "t004" / "index.html").stat()
    assert same.st_ino == (live / "topics" / "t004" / "index.html").stat().st_ino
    asset = "assets/stylesheets/site.css"
    assert (new / asset).stat().st_ino == (live / asset).stat().st_ino
    changed = (new / "topics" / "t003" / "index.html").stat()
    assert changed.st_ino != (live / "topics" / "t003" / "index.html").stat().st_ino
    assert b"One more sentence." in (new / "topics" / "t003" / "index.html").read_bytes()
    assert b"One more sentence." not in (live / "topics" / "t003" / "index.html").read_bytes()
    # The live build's artifacts are its own: the new index is a new file.
    assert deps_path_for(new).stat().st_ino != deps_path_for(live).stat().st_ino


def test_only_changed_sources_are_parsed_and_errors_still_name_their_lines(project: Path) -> None:
    edit(project, "t006", related=["t007"])
    step(project)
    edit(project, "t003", body=lambda b: b + "\nA sentence more.\n")
    step(project)
    deps = load_deps(Path(os.path.realpath(project / "site")))
    assert deps is not None and deps.parsed == ["topics/t003.md"]
    # t006 comes from the record (no YAML tree): its error must still name its own line.
    topic_path(project, "t007").unlink()
    found = {}
    for link, full in (("site", False), ("full", True)):
        code, out = build(project, link, full)
        assert code != 0, out
        found[link] = sorted({line for line in out.splitlines() if "t006.md:" in line})
    source = topic_path(project, "t006").read_text(encoding="utf-8").splitlines()
    related = 1 + next(n for n, text in enumerate(source) if text.startswith("related:"))
    assert found["site"] == found["full"]
    assert found["site"] and all(
        f"t006.md:{related}:" in line or f"t006.md:{related + 1}:" in line for line in found["site"]
    ), found


def test_full_flag_and_a_missing_record_render_everything(project: Path) -> None:
    code, out = build(project, "site", full=True)
    assert code == 0 and "incremental build" not in out
    deps_path_for(Path(os.path.realpath(project / "site"))).unlink()
    code, out = build(project, "site")
    assert code == 0 and "incremental build" not in out
    deps = load_deps(Path(os.path.realpath(project / "site")))
    assert deps is not None and len(deps.rendered) == len(deps.inputs)


WORDS = ["alpha", "Ödem", "zeta", "1-omega", "mango", "kappa"]


@st.composite
def edits(draw: st.DrawFn) -> tuple[str, int, int]:
    kind = draw(
        st.sampled_from(
            ["body", "title", "alias", "related", "section", "change", "add", "remove", "status"]
        )
    )
    return kind, draw(st.integers(0, 5)), draw(st.integers(0, len(WORDS) - 1))


SECTIONS = ["haematology", "investigations", "paediatrics", "rheumatology"]


def apply(root: Path, kind: str, n: int, w: int) -> None:
    """One valid edit of the catalogue (titles stay distinct: each carries its topic's id)."""
    ids = sorted(p.stem for p in (root / "content" / "topics").glob("*.md"))
    page_id = ids[n % len(ids)]
    word = WORDS[w]
    if kind == "body":
        edit(root, page_id, body=lambda b: b + f"\n{word} in a new sentence.\n")
    elif kind == "title":
        edit(root, page_id, title=f"{word} {page_id}")
    elif kind == "alias":
        edit(root, page_id, aliases=[] if w % 2 else [f"{word} alias {page_id}"])
    elif kind == "related":
        others = [i for i in ids if i != page_id]
        edit(root, page_id, related=others[w % len(others) :][:2])
    elif kind == "section":
        edit(root, page_id, section=SECTIONS[w % len(SECTIONS)])
    elif kind == "change":
        edit(root, page_id, changes=[{"date": reviewed.isoformat(), "summary": word}])
    elif kind == "add":
        new_id = f"n{len(ids):03d}{w}"
        if new_id not in ids:
            shutil.copy(topic_path(root, ids[-1]), topic_path(root, new_id))
            edit(root, new_id, id=new_id, title=f"{word} {new_id}", aliases=[], related=[])
    elif kind == "status" and page_id != "t001":  # t001 holds the synonym's only term
        edit(root, page_id, status="draft" if w % 2 else "published")
    elif kind == "remove" and page_id != "t001" and len(ids) > 2:
        topic_path(root, page_id).unlink()
        for other in ids:
            if other != page_id:
                data = yaml.safe_load(topic_path(root, other).read_text().split("---\n")[1])
                related = [r for r in data.get("related", []) if r != page_id]
                edit(root, other, related=related)


@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(edits(), min_size=1, max_size=3))
def test_random_edit_sequences_build_equal_to_full_builds(
    sequence: list[tuple[str, int, int]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_project(root, len(topic_ids(6)))
        for link in ("site", "full"):
            code, out = build(root, link, full=True)
            assert code == 0, out
        for kind, n, w in sequence:
            apply(root, kind, n, w)
            # The long-lived builder's way (its records, reads and prepared directory kept
            # between builds); test_named_edits covers each kind of edit through the child.
            step(root, here=True)


def test_the_fingerprint_covers_the_code_a_build_runs_and_no_other(tmp_path: Path) -> None:
    """Our code in the fingerprint is what the build runs, templates included: a change to a
    calculator's form renders every page again; a change to the server renders none."""
    package = tmp_path / "site_api"
    shutil.copytree(ROOT / "site_api", package, ignore=shutil.ignore_patterns("__pycache__"))
    before = build_code(package)
    for changed, renders in (
        ("serving/gate.py", False),
        ("accounts/users.py", False),
        ("calculators/templates/form.html", True),
        ("content/browse.py", True),
        ("config.py", True),
    ):
        path = package / changed
        original = path.read_text(encoding="utf-8")
        path.write_text(original + "\n", encoding="utf-8")
        assert (build_code(package) != before) is renders, changed
        path.write_text(original, encoding="utf-8")
    assert build_code(package) == before
