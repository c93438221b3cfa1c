"""The reference topics as a reader meets them: which are read first, which is gated, a sentence of each body."""

from __future__ import annotations

from typing import Any

import yaml
from conftest import ROOT

TOPICS = ROOT / "content" / "topics"
FREE_PAGES = 5

#: The five topics a new visitor reads in order (each one counted), then the one that is gated.
READ = [
    "macrophage-activation-syndrome",
    "haemophagocytic-lymphohistiocytosis",
    "hyperferritinaemia",
    "cytokine-release-syndrome",
    "kawasaki-disease",
]
GATED = "stills-disease"

#: A sentence from each topic's Markdown body (not its summary): visible only when it opens.
BODY_SENTENCE = {
    "macrophage-activation-syndrome": (
        "HLH as a whole is a frequently fatal complication of infections, rheumatic disorders "
        "and haematological malignancies"
    ),
    "stills-disease": (
        "The two are now widely regarded as the same disease occurring at different ages."
    ),
}

COUNTDOWN = {
    5: "You can read 5 more topics before signing in.",
    4: "You can read 4 more topics before signing in.",
    3: "You can read 3 more topics before signing in.",
    2: "You can read 2 more topics before signing in.",
    1: "You can read 1 more topic before signing in.",
}
LAST = "This is the last topic you can read before signing in."
ALL_USED = "You have read all your free topics."


def url(slug: str) -> str:
    return f"/topics/{slug}/"


def front_matter(slug: str) -> dict[str, Any]:
    text = (TOPICS / f"{slug}.md").read_text(encoding="utf-8")
    meta = yaml.safe_load(text.split("---", 2)[1])
    assert isinstance(meta, dict)
    return meta


def body_sentence(slug: str) -> str:
    """The topic's distinctive sentence, checked to be in its body and not in its summary."""
    sentence = BODY_SENTENCE[slug]
    text = (TOPICS / f"{slug}.md").read_text(encoding="utf-8")
    body = text.split("---", 2)[2]
    assert sentence in body, f"{slug}.md no longer contains {sentence!r}: update BODY_SENTENCE"
    assert sentence not in front_matter(slug)["summary"]
    return sentence
