"""What can still be checked of a page whose front matter failed validation.

A build reports every problem at once: a topic with a missing summary must still have its
section, authors, related ids, citations and title clashes checked in the same build, not the
next one. `salvage` keeps the fields that are valid, stands placeholders in for the others, and
says which fields those were, so that errors about placeholders are left out.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import yaml
from pydantic import ValidationError

from site_api.content.citations import find_citations
from site_api.content.model import (
    ContentError,
    PageMeta,
    SourcePage,
    TopicMeta,
    is_topic_path,
    load_yaml,
    split_front_matter,
)

#: Fields whose checks read another field too: an error about one is unsure when that one is
#: a placeholder (changes are checked against `reviewed`; citations against `references`; an
#: approval's fingerprint against the clinical content).
DEPENDS: dict[str, set[str]] = {
    "changes": {"reviewed"},
    "citation": {"references"},
    "references": {"references"},
    "approval": {"title", "summary", "references"},
    "reviewed": {"next_review"},
    "next_review": {"reviewed"},
}
ROUNDS = 6  # each round drops the fields still failing; a handful always suffices


@dataclass
class Salvaged:
    """A page built from a failed front matter's valid fields, and the fields stood in for."""

    page: SourcePage
    stand_ins: set[str]

    def keeps(self, error: ContentError) -> bool:
        """Whether an error about this page is real (not about a placeholder)."""
        field = error.message.split(":", 1)[0].split(".", 1)[0]
        unsure = {field} | DEPENDS.get(field, set())
        return not (unsure & self.stand_ins)


def _placeholders(path: str) -> dict[str, Any]:
    """Values that validate and match nothing real (titles and ids unique to this file)."""
    return {
        "id": f"x-salvaged-{zlib.crc32(path.encode())}",
        "title": "\x00" + path,
        "summary": "-",
        "authors": ["\x00"],
        "section": "x-salvaged",
        "reviewed": date.min,
        "next_review": date.max,
    }


def _failing_fields(exc: ValidationError) -> set[str]:
    failing: set[str] = set()
    for err in exc.errors():
        loc = [p for p in err["loc"] if not (isinstance(p, str) and "[" in p)]
        if loc:
            failing.add(str(loc[0]))
        else:  # a rule of the whole model names its fields in its message
            failing.update({"reviewed", "next_review"})
    return failing


def salvage(path: str, src_uri: str, text: str) -> Salvaged | None:
    """The checkable part of a page whose front matter failed; None when nothing is."""
    parts = split_front_matter(text)
    if parts is None:
        return None
    raw, body, body_line = parts
    try:
        node, data = load_yaml(raw)
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict):
        return None
    model: type[PageMeta] = TopicMeta if is_topic_path(src_uri) else PageMeta
    data = {str(k): v for k, v in data.items()}
    stand_ins: set[str] = set()
    for _ in range(ROUNDS):
        try:
            meta = model.model_validate(data)
        except ValidationError as exc:
            failing = _failing_fields(exc) - stand_ins
            if not failing:
                return None
            stand_ins |= failing
            _stand_in(path, data, failing)
            continue
        page = SourcePage(path, src_uri, meta, body, body_line, node=node)
        page.citations = find_citations(body, body_line)
        return Salvaged(page, stand_ins)
    return None


def _stand_in(path: str, data: dict[str, Any], fields: Iterable[str]) -> None:
    placeholders = _placeholders(path)
    for name in fields:
        if name in placeholders:
            data[name] = placeholders[name]
        else:
            data.pop(name, None)  # optional, or not a field at all: its default then
