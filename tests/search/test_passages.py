"""Snippets cut with the index's passage record are the snippets cut from the text alone.

The record (`content.search_index.passages`) spares a server the word pattern over a whole body
for each result; it must never change which passage is shown or what is marked in it.
"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from site_api.content.search_index import (
    CHECKPOINT_WORDS,
    WORD_RE,
    normalise_word,
    passages,
    read_passages,
    words,
)
from site_api.search.index import MARK_END, MARK_START, SNIPPET_WORDS, best_passage

#: Words whose forms meet across spellings, cases, accents and plurals, and some that fold to
#: nothing or split oddly: what makes a word's position in the text differ from its form's.
VOCABULARY = [
    "Haemophilia",
    "hemophilia",
    "oedema",
    "Edema",
    "anaemia",
    "ferritin",
    "Ferritins",
    "café",
    "CAFE",
    "½",
    "IL-6",
    "sIL-2R",
    "x",
    "β2",
    "µg",
    "steroids",
    "Kawasaki",
    "kawasaki",
]
SEPARATORS = [" ", ", ", " – ", "\n\n", " (", ") ", "; ", "_", " · ", "/"]

texts = st.lists(
    st.tuples(st.sampled_from(VOCABULARY), st.sampled_from(SEPARATORS)), min_size=0, max_size=400
).map(lambda pairs: "".join(w + s for w, s in pairs))


@settings(max_examples=300, deadline=None)
@given(
    text=texts,
    lead=st.sampled_from(["", " ", "… "]),
    chosen=st.sets(st.sampled_from(VOCABULARY), max_size=3),
    prefix=st.sampled_from(["", "h", "fer", "kawa", "ca", "zz"]),
)
@example(text="ferritin " * (CHECKPOINT_WORDS * 3), lead="", chosen={"ferritin"}, prefix="")
def test_a_passage_cut_with_the_record_is_the_passage_cut_from_the_text(
    text: str, lead: str, chosen: set[str], prefix: str
) -> None:
    text = lead + text
    marks = frozenset(normalise_word(w) for w in chosen) - {""}
    record, given_body = passages(text)
    assert given_body == " ".join(words(text))  # what FTS5 is given, from the same pass
    every_word = [m.start() for m in WORD_RE.finditer(text)]
    assert read_passages(record)[1] == every_word[::CHECKPOINT_WORDS]
    alone = best_passage(text, marks, prefix)
    assert best_passage(text, marks, prefix, record) == alone
    if alone is not None:
        shown = alone.replace(MARK_START, "").replace(MARK_END, "").strip("…")
        assert shown in text
        assert MARK_START in alone


def test_a_passage_deep_in_a_long_body_is_cut_from_its_checkpoint() -> None:
    filler = "lorem " * (CHECKPOINT_WORDS * 5 + 7)
    text = f"{filler}raised ferritin in haemophagocytic lymphohistiocytosis {filler}"
    record, _ = passages(text)
    snippet = best_passage(text, frozenset({"ferritin", "raised"}), "", record)
    assert snippet is not None
    assert f"{MARK_START}raised{MARK_END} {MARK_START}ferritin{MARK_END}" in snippet
    assert snippet.startswith("…") and snippet.endswith("…")
    assert len(snippet.replace(MARK_START, "").replace(MARK_END, "").split()) == SNIPPET_WORDS
