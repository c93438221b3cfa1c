"""A second clinician's approval: `site-api approve`, its checks, and SITE_REQUIRE_APPROVAL."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
import yaml
from conftest import copy_project
from servers import SITE_API

from site_api.config import Settings, approval_required
from site_api.content.approval import (
    ApproveError,
    approved_fingerprint,
    fingerprint,
    page_fingerprint,
    write_approval,
)
from site_api.content.model import TopicMeta, load_authors, parse_page, split_front_matter
from site_api.content.references import REFERENCES_FILE, cited_entries, load_library

REFERENCES = f"content/{REFERENCES_FILE}"
TOPICS = "content/topics"
TODAY = date.today().isoformat()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path)


def run(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "SITE_SITE_DIR": str(project / "site"), **env}
    full.pop("SITE_ENV", None)
    full.update(env)
    return subprocess.run(
        [SITE_API, *args], cwd=project, capture_output=True, text=True, env=full, check=False
    )


def authors_of(path: Path) -> list[str]:
    parts = split_front_matter(path.read_text())
    assert parts is not None
    return list(yaml.safe_load(parts[0])["authors"])


def approver_for(project: Path, path: Path) -> str:
    """An author key that is not one of this topic's authors."""
    keys = list(yaml.safe_load((project / "content" / "authors.yml").read_text()))
    return next(k for k in keys if k not in authors_of(path))


def approve_all(project: Path) -> None:
    for path in sorted((project / TOPICS).glob("*.md")):
        done = run(
            project, "approve", str(path.relative_to(project)), "--by", approver_for(project, path)
        )
        assert done.returncode == 0, done.stderr


def test_the_fingerprint_is_of_the_clinical_content_normalised() -> None:
    base = fingerprint("Title", "Summary.", "Body line.\n\nMore.", [])
    assert fingerprint(" Title ", "Summary.", "Body line.  \r\n\r\n\r\nMore.\n", []) == base
    assert fingerprint("Title", "Summary.", "Body line.\n\nMore!", []) != base
    assert fingerprint("Title", "Summary!", "Body line.\n\nMore.", []) != base
    assert fingerprint("Title", "Summary.", "Body line.\n\nMore.", [{"key": "x"}]) != base


def test_approve_writes_who_when_and_the_fingerprint(project: Path) -> None:
    path = project / TOPICS / "kawasaki-disease.md"
    before = path.read_text()
    approver = approver_for(project, path)
    done = run(project, "approve", f"{TOPICS}/kawasaki-disease.md", "--by", approver)
    assert done.returncode == 0, done.stderr
    assert f"by {approver}" not in done.stdout and f"({approver})" in done.stdout
    parsed = parse_page(str(path), "topics/kawasaki-disease.md", path.read_text())
    assert not isinstance(parsed, list)
    meta = parsed.meta
    assert isinstance(meta, TopicMeta) and meta.approval is not None
    assert (meta.approval.by, meta.approval.date.isoformat()) == (approver, TODAY)
    library, problems = load_library("references.yml", (project / REFERENCES).read_text())
    assert problems == []
    cited = [(k, e) for _, k, e in cited_entries(parsed, library.entries)]
    assert cited, "the topic cites the library: the fingerprint must hold its entries"
    assert meta.approval.fingerprint == approved_fingerprint(
        page_fingerprint(meta, parsed.body), cited
    )
    assert meta.approval.fingerprint != approved_fingerprint(
        page_fingerprint(meta, parsed.body), []
    )
    # Only the approval block was added: the body and the other fields are as they were.
    assert path.read_text().split("\n---\n", 1)[1] == before.split("\n---\n", 1)[1]
    # Approving again replaces the block, never adds a second.
    again = run(project, "approve", f"{TOPICS}/kawasaki-disease.md", "--by", approver)
    assert again.returncode == 0 and path.read_text().count("approval:") == 1


def test_approve_refuses_an_author_and_an_unknown_key(project: Path) -> None:
    path = project / TOPICS / "kawasaki-disease.md"
    before = path.read_text()
    author = authors_of(path)[0]
    own = run(project, "approve", f"{TOPICS}/kawasaki-disease.md", "--by", author)
    assert own.returncode != 0 and f"'{author}' is an author of" in own.stderr
    unknown = run(project, "approve", f"{TOPICS}/kawasaki-disease.md", "--by", "jdoe")
    assert unknown.returncode != 0 and "unknown author 'jdoe'" in unknown.stderr
    assert path.read_text() == before
    authors = load_authors("authors.yml", (project / "content" / "authors.yml").read_text())
    assert isinstance(authors, dict)
    with pytest.raises(ApproveError):
        write_approval(before, str(path), author, authors, date.today())
    about = run(project, "approve", "content/about.md", "--by", "gp-reviewer")
    assert about.returncode != 0 and "is not a topic" in about.stderr


def test_the_setting_defaults_on_in_production_only() -> None:
    assert approval_required(Settings(env="production")) is True
    assert approval_required(Settings()) is False
    assert approval_required(Settings(require_approval=True)) is True
    assert approval_required(Settings(env="production", require_approval=False)) is False


def test_required_approval_refuses_unapproved_and_changed_topics(project: Path) -> None:
    unapproved = run(project, "build", SITE_REQUIRE_APPROVAL="true")
    assert unapproved.returncode != 0
    count = len(list((project / TOPICS).glob("*.md")))
    assert unapproved.stderr.count("approval: not approved by a second clinician") == count
    assert not (project / "site").exists()
    # Production's default is the same refusal.
    assert run(project, "build", SITE_ENV="production").returncode != 0

    approve_all(project)
    built = run(project, "build", SITE_REQUIRE_APPROVAL="true")
    assert built.returncode == 0, built.stderr
    page = (project / "site" / "topics" / "kawasaki-disease" / "index.html").read_text()
    assert re.search(r"Peer reviewed by [^<]+ on <time", page)

    kd = project / TOPICS / "kawasaki-disease.md"
    kd.write_text(kd.read_text() + "\nA sentence added after the approval.\n")
    approver = yaml.safe_load(split_front_matter(kd.read_text())[0])["approval"]["by"]  # type: ignore[index]
    changed = run(project, "build", SITE_REQUIRE_APPROVAL="true")
    assert changed.returncode != 0
    assert re.search(
        rf"{TOPICS}/kawasaki-disease\.md:\d+: approval: approved by {approver} on {TODAY}, "
        "changed since",
        changed.stderr,
    )
    assert changed.stderr.count("changed since") == 1
    # Without the requirement it builds, but the page no longer claims the approval.
    loose = run(project, "build")
    assert loose.returncode == 0, loose.stderr
    page = (project / "site" / "topics" / "kawasaki-disease" / "index.html").read_text()
    assert "Peer reviewed by" not in page and "A sentence added after" in page


def test_bad_approvals_are_each_reported_in_one_build(project: Path) -> None:
    approve_all(project)
    topics = project / TOPICS
    # Malformed: a date that is no date and a fingerprint that is no sha256.
    kd = topics / "kawasaki-disease.md"
    text = re.sub(
        r"  date: \S+\n  fingerprint: \S+", "  date: soon\n  fingerprint: abc", kd.read_text()
    )
    kd.write_text(text)
    # The approver is one of the topic's authors.
    pan = topics / "pancytopenia.md"
    author = authors_of(pan)[0]
    pan.write_text(re.sub(r"  by: \S+", f"  by: {author}", pan.read_text()))
    # Another topic's approval copied over (its fingerprint).
    sle = topics / "systemic-lupus-erythematosus.md"
    stills = topics / "stills-disease.md"
    theirs = re.search(r"  fingerprint: (\S+)", stills.read_text())
    assert theirs is not None
    sle.write_text(
        re.sub(r"  fingerprint: \S+", f"  fingerprint: {theirs.group(1)}", sle.read_text())
    )
    result = run(project, "build")
    assert result.returncode != 0
    err = result.stderr

    def line(path: Path, prefix: str) -> int:
        return next(
            i for i, x in enumerate(path.read_text().splitlines(), 1) if x.startswith(prefix)
        )

    assert (
        f"{TOPICS}/kawasaki-disease.md:{line(kd, '  date:')}: approval.date: Input should be a valid date"
        in err
    )
    assert (
        f"{TOPICS}/kawasaki-disease.md:{line(kd, '  fingerprint:')}: approval.fingerprint:" in err
    )
    assert (
        f"{TOPICS}/pancytopenia.md:{line(pan, '  by:')}: approval.by: '{author}' is an author of "
        "this topic" in err
    )
    assert (
        f"{TOPICS}/systemic-lupus-erythematosus.md:{line(sle, '  fingerprint:')}: "
        f"approval.fingerprint: is the fingerprint of {TOPICS}/stills-disease.md" in err
    )


def test_a_build_memo_changes_no_fingerprint() -> None:
    """The build keeps each library entry's JSON across topics: the fingerprint it gives is the
    one approvals on disk recorded (json.dumps of the whole list), memo or not."""
    root = Path(__file__).resolve().parents[2]
    library, problems = load_library("references.yml", (root / REFERENCES).read_text())
    assert problems == []
    works = list(library.entries.items())[:3]
    recorded = hashlib.sha256(
        (
            "p" * 64
            + "\x1e"
            + json.dumps(
                [[k, e.model_dump(mode="json", exclude_none=True)] for k, e in works],
                sort_keys=True,
                ensure_ascii=False,
            )
        ).encode("utf-8")
    ).hexdigest()
    memo: dict[str, str] = {}
    assert approved_fingerprint("p" * 64, works) == recorded
    assert approved_fingerprint("p" * 64, works, memo) == recorded
    assert set(memo) == {k for k, _ in works}
    assert approved_fingerprint("p" * 64, works, memo) == recorded  # from the memo
    assert approved_fingerprint("p" * 64, works[:1], memo) != recorded
