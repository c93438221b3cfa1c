"""Broken-link suggestions: bounded work per broken link, whatever the catalogue's size, and still
the page the editor meant."""

from __future__ import annotations

import difflib
import random

import pytest

from site_api.content import links
from site_api.content.links import LinkSource, Suggestions, check_links

STEMS = [
    "acute",
    "adrenal",
    "biliary",
    "cardiac",
    "chronic",
    "cystic",
    "diabetic",
    "ductal",
    "febrile",
    "gastric",
    "hepatic",
    "immune",
    "juvenile",
    "lobar",
    "macular",
    "mitral",
    "nasal",
    "ocular",
    "optic",
    "pelvic",
    "renal",
    "septic",
    "spinal",
    "thyroid",
    "toxic",
    "ulnar",
    "vascular",
    "venous",
    "viral",
]
NOUNS = [
    "abscess",
    "anaemia",
    "arthritis",
    "atrophy",
    "carcinoma",
    "cyst",
    "dermatitis",
    "embolism",
    "failure",
    "fibrosis",
    "fistula",
    "hernia",
    "infarction",
    "lesion",
    "lymphoma",
    "myopathy",
    "necrosis",
    "neuropathy",
    "polyp",
    "sclerosis",
    "stenosis",
    "syndrome",
    "thrombosis",
    "tumour",
    "ulcer",
    "vasculitis",
]


def catalogue(size: int) -> list[str]:
    """`size` topic files named as a real catalogue's are (`topics/renal-abscess-3.md`)."""
    names = []
    for n in range(size):
        stem, noun = STEMS[n % len(STEMS)], NOUNS[(n // len(STEMS)) % len(NOUNS)]
        round_ = n // (len(STEMS) * len(NOUNS))
        names.append(f"topics/{stem}-{noun}" + (f"-type-{round_ + 1}" if round_ else "") + ".md")
    return names


def typo(rng: random.Random, word: str) -> str:
    """One slip of the keyboard: a letter dropped, doubled, swapped with the next or replaced."""
    at = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["drop", "double", "swap", "replace"])
    if kind == "drop":
        return word[:at] + word[at + 1 :]
    if kind == "double":
        return word[:at] + word[at] + word[at:]
    if kind == "swap":
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    return word[:at] + rng.choice("aeioustr") + word[at + 1 :]


def broken_links(files: list[str], count: int, seed: int) -> list[tuple[str, str]]:
    """(missing file, meant file) pairs: typos of existing names that name no existing file."""
    rng, existing, found = random.Random(seed), set(files), []
    while len(found) < count:
        meant = rng.choice(files)
        stem = meant.removeprefix("topics/").removesuffix(".md")
        wrong = f"topics/{typo(rng, stem)}.md"
        if wrong not in existing:
            found.append((wrong, meant))
    return found


#: The most comparisons one broken link may cost: both of its names, each against the neighbours
#: on both sides in two sorted lists, and the best names one slip away from its file name.
BOUND = 2 * (2 * 2 * links.NEIGHBOURS) + links.DELETION_CANDIDATES


@pytest.mark.parametrize("size", [100, 5000])
def test_candidates_examined_per_broken_link_do_not_grow_with_the_catalogue(size: int) -> None:
    files = catalogue(size)
    index = Suggestions(files)
    right, per_link = 0, []
    broken = broken_links(files, 200, seed=size)
    for wrong, meant in broken:
        before = index.examined
        right += index.nearest(wrong) == meant
        per_link.append(index.examined - before)
    assert max(per_link) <= BOUND, f"{max(per_link)} comparisons for one link at {size} pages"
    # Most typos have a single best page; a few (a dropped "-2" suffix letter, say) are ambiguous.
    assert right >= 0.9 * len(broken), f"{right}/{len(broken)} suggestions were the page meant"


def test_the_index_agrees_with_comparing_every_page() -> None:
    """Where comparing with every page (the old way) finds a clear best page, so does the index."""
    files = catalogue(400)
    index = Suggestions(files)
    agree, compared = 0, 0
    for wrong, _ in broken_links(files, 60, seed=7):
        scores = sorted(
            (difflib.SequenceMatcher(None, f, wrong).ratio(), f) for f in files if f != wrong
        )
        (second, _), (best, every_page) = scores[-2], scores[-1]
        if best - second < 0.02:
            continue  # a near tie: either answer is as good
        compared += 1
        agree += index.nearest(wrong) == every_page
    assert compared >= 30 and agree >= 0.95 * compared, f"{agree}/{compared}"


def test_titles_and_aliases_are_names_too() -> None:
    files = ["topics/macrophage-activation-syndrome.md", "topics/kawasaki-disease.md", "index.md"]
    names = {"topics/macrophage-activation-syndrome.md": ["Macrophage activation syndrome", "MAS"]}
    page = LinkSource("content/topics/k.md", "topics/kawasaki-disease.md", "See [MAS](mas.md).", 5)
    (error,) = check_links([page], files, names)
    assert error.line == 5
    assert "did you mean 'macrophage-activation-syndrome.md'?" in error.message
    assert Suggestions(files, names).nearest("topics/MAS.md") == files[0]
    assert Suggestions(files).nearest("topics/zzzzzzzz.md") is None, "nothing near: no hint"


def test_the_index_is_built_once_per_check_and_only_when_a_link_is_broken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[int] = []

    class Counting(Suggestions):
        def __init__(self, *args: object, **kwargs: object) -> None:
            built.append(1)
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(links, "Suggestions", Counting)
    files = catalogue(300)
    fine = [LinkSource("a.md", files[0], f"[x]({files[1].removeprefix('topics/')})", 1)]
    assert check_links(fine, files) == [] and not built
    body = "\n".join(f"[x]({w.removeprefix('topics/')})" for w, _ in broken_links(files, 40, 3))
    errors = check_links([LinkSource("a.md", files[0], body, 1)], files)
    assert len(errors) == 40 and built == [1]
