"""A second clinician's approval: the fingerprint of a topic's clinical content, the build's
checks of each `approval:` block, and writing one into a topic's front matter. Pure but for
`write_approval`, which edits one source file as `site-api approve` asks."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from site_api.content.model import (
    Author,
    ContentError,
    SourcePage,
    TopicMeta,
    split_front_matter,
)
from site_api.content.references import LibraryEntry, cited_entries

#: What an approval says of a topic now: none, still the content approved, or changed since.
State = Literal["none", "approved", "changed"]


def normalise(text: str) -> str:
    """Text as the fingerprint sees it: NFC, `\\n` line ends, no trailing spaces, single blank
    lines, no blank ends (re-wrapping whitespace is no clinical change; a word is)."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def fingerprint(title: str, summary: str, body: str, references: Any) -> str:
    """sha256 of a topic's clinical content: title, summary, body and references, normalised."""
    refs = json.dumps(references, sort_keys=True, ensure_ascii=False, default=str)
    text = "\x1e".join([normalise(title), normalise(summary), normalise(body), refs])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def page_fingerprint(meta: TopicMeta, body: str) -> str:
    """The fingerprint of a parsed topic's own text (its citations are keys in the body)."""
    refs = [r.model_dump(mode="json", exclude_none=True) for r in meta.references]
    return fingerprint(meta.title, meta.summary, body, refs)


def approved_fingerprint(
    page_print: str,
    cited: Iterable[tuple[str, LibraryEntry]],
    memo: dict[str, str] | None = None,
) -> str:
    """What an approval records: the topic's own text (`page_fingerprint`) and the library
    entries it cites as they stand, so an edit to a cited work needs a new approval too.

    `memo` keeps each library entry's JSON across the topics of one build (one library: a key
    names one entry); the text is `json.dumps` of the whole list either way."""
    works = []
    for key, entry in cited:
        work = memo.get(key) if memo is not None else None
        if work is None:
            dumped = [key, entry.model_dump(mode="json", exclude_none=True)]
            work = json.dumps(dumped, sort_keys=True, ensure_ascii=False)
            if memo is not None:
                memo[key] = work
        works.append(work)
    text = page_print + "\x1e[" + ", ".join(works) + "]"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: A long-lived builder's approved fingerprints from its last build (`approved_prints`).
_kept_prints: dict[tuple[str, str], str] = {}


def approved_prints(
    pages: Iterable[SourcePage], library: Mapping[str, LibraryEntry], library_digest: str
) -> dict[str, str]:
    """`approved_fingerprint` of each topic among `pages` (with its `fingerprint` taken), by path.

    One is made from the topic's own fingerprint and the library (`library_digest`, of its
    source text) alone, so a long-lived builder takes those of the last build whose two are
    unchanged instead of making them again (half a second at 30,000 topics)."""
    memo: dict[str, str] = {}
    kept: dict[tuple[str, str], str] = {}
    prints: dict[str, str] = {}
    for page in pages:
        if not isinstance(page.meta, TopicMeta):
            continue
        key = (page.fingerprint, library_digest)
        found = _kept_prints.get(key)
        if found is None:
            cited = [(k, e) for _, k, e in cited_entries(page, library)]
            found = approved_fingerprint(page.fingerprint, cited, memo)
        kept[key] = prints[page.path] = found
    _kept_prints.clear()  # this build's only: the next is compared with it
    _kept_prints.update(kept)
    return prints


@dataclass(frozen=True)
class ApprovalView:
    """What the build knows of one topic's approval, for its page, the preview and the desk."""

    state: State
    by: str = ""
    name: str = ""
    on: date | None = None


def approval_of(page: SourcePage, authors: Mapping[str, Author], current: str) -> ApprovalView:
    """The approval of a topic whose fingerprint is `current`."""
    meta = page.meta
    assert isinstance(meta, TopicMeta)
    found = meta.approval
    if found is None:
        return ApprovalView("none")
    name = authors[found.by].name if found.by in authors else found.by
    state: State = "approved" if found.fingerprint == current else "changed"
    return ApprovalView(state, found.by, name, found.date)


def check_approvals(
    pages: list[SourcePage],
    prints: Mapping[str, str],
    authors: Mapping[str, Author],
    today: date,
    required: bool,
) -> list[ContentError]:
    """Every problem of every `approval:` block, and (when `required`) every topic to publish
    whose content changed since its approval or was never approved.

    `prints`: each topic's current fingerprint by its path."""
    owners = {fp: path for path, fp in prints.items()}
    errors: list[ContentError] = []
    for page in pages:
        meta = page.meta
        if not isinstance(meta, TopicMeta):
            continue
        found = meta.approval

        def err(field: str, message: str, page: SourcePage = page) -> ContentError:
            return ContentError(page.path, page.line_of("approval", field), message)

        if found is None:
            if required and meta.status == "published":
                errors.append(
                    ContentError(
                        page.path,
                        page.line_of("status"),
                        "approval: not approved by a second clinician (SITE_REQUIRE_APPROVAL): "
                        f"site-api approve {page.path} --by AUTHOR_KEY",
                    )
                )
            continue
        if found.by not in authors:
            errors.append(err("by", f"approval.by: unknown author '{found.by}'"))
        elif found.by in meta.authors:
            errors.append(
                err(
                    "by",
                    f"approval.by: '{found.by}' is an author of this topic: a second "
                    "clinician, not one of its authors, must approve it",
                )
            )
        if found.date > today:
            errors.append(err("date", f"approval.date: {found.date} is in the future"))
        current = prints[page.path]
        other = owners.get(found.fingerprint)
        if found.fingerprint != current and other is not None and other != page.path:
            errors.append(
                err(
                    "fingerprint",
                    f"approval.fingerprint: is the fingerprint of {other}, not of this topic: "
                    "an approval belongs to the topic it was given for",
                )
            )
        elif found.fingerprint != current and required and meta.status == "published":
            errors.append(
                ContentError(
                    page.path,
                    page.line_of("approval"),
                    f"approval: approved by {found.by} on {found.date}, changed since",
                )
            )
    return errors


class ApproveError(ValueError):
    """`site-api approve` cannot approve this topic; the message says why."""


def write_approval(
    text: str,
    path: str,
    by: str,
    authors: Mapping[str, Author],
    on: date,
    library: Mapping[str, LibraryEntry] | None = None,
) -> str:
    """The topic's source with an `approval:` block (replacing any earlier one) for its content
    and the `library` entries it cites."""
    from site_api.content.model import parse_page

    names = path.replace("\\", "/").split("/")
    src_uri = "topics/" + names[-1] if names[-2:-1] == ["topics"] else names[-1]
    parsed = parse_page(path, src_uri, text)
    if isinstance(parsed, list):
        raise ApproveError("\n".join(str(e) for e in parsed))
    meta = parsed.meta
    if not isinstance(meta, TopicMeta):
        raise ApproveError(f"{path} is not a topic: only topics are approved")
    if by not in authors:
        raise ApproveError(
            f"unknown author '{by}': use a key of authors.yml ({', '.join(sorted(authors))})"
        )
    if by in meta.authors:
        raise ApproveError(
            f"'{by}' is an author of {path}: a second clinician, not one of its authors "
            f"({', '.join(meta.authors)}), must approve it"
        )
    cited = [(k, e) for _, k, e in cited_entries(parsed, library or {})]
    split = split_front_matter(text)
    assert split is not None  # it parsed
    front, body, _ = split
    block = (
        "approval:\n"
        f"  by: {by}\n"
        f"  date: {on.isoformat()}\n"
        f"  fingerprint: {approved_fingerprint(page_fingerprint(meta, body), cited)}\n"
    )
    lines = front.splitlines(keepends=True)
    kept: list[str] = []
    skipping = False
    for line in lines:
        if re.match(r"approval\s*:", line):
            skipping = True
            continue
        if skipping and (line.startswith((" ", "\t")) or not line.strip()):
            continue
        skipping = False
        kept.append(line)
    if kept and not kept[-1].endswith("\n"):
        kept[-1] += "\n"
    return "---\n" + "".join(kept) + block + "---\n" + body
