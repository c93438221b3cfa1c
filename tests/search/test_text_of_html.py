"""What the search index takes from a rendered page body (`text_of_html`): its headings, and its
running text without permalinks, citation marks, scripts, comments or a placed calculator."""

from __future__ import annotations

import pytest

from site_api.content.search_index import text_of_html

HEADING = (
    '<h2 id="treatment">Treatment of <em>MAS</em>'
    '<a class="headerlink" href="#treatment" title="Permanent link">&para;</a></h2>'
)
CITED = (
    "<p>Ferritin above 10,000 &micro;g/L is suggestive"
    '<sup class="citation">[<a href="#ref-allen2008" id="cite-allen2008" '
    'aria-label="Reference 1">1</a>]</sup>. It is not diagnostic.</p>'
)
CALCULATOR = (
    '<div class="calculator" data-calculator="ferritin">'
    "<h3>Ferritin calculator</h3><form><div><label>Ferritin <input name=f></label>"
    "<output>calculated band</output></div><div><p>Band text</p></div></form>"
    "<p>notes<br>more notes</p></div>"
)


def test_headings_are_taken_without_their_permalinks() -> None:
    headings, text = text_of_html(HEADING + "<p>Start steroids.</p>")
    assert headings == ["Treatment of MAS"]
    assert text == "Start steroids."


def test_citation_marks_are_no_part_of_the_text() -> None:
    _, text = text_of_html(CITED)
    assert text == "Ferritin above 10,000 µg/L is suggestive. It is not diagnostic."
    # An editor's space before the mark (`overload [@key].`) does not stay before the stop.
    _, text = text_of_html(CITED.replace("suggestive<sup", "suggestive <sup"))
    assert text == "Ferritin above 10,000 µg/L is suggestive. It is not diagnostic."
    _, text = text_of_html(CITED.replace("</sup>. It", "</sup> and it"))
    assert text == "Ferritin above 10,000 µg/L is suggestive and it is not diagnostic."


def test_a_placed_calculator_is_left_out_and_the_text_after_it_kept() -> None:
    headings, text = text_of_html(f"<p>Before.</p>{CALCULATOR}<p>After the calculator.</p>")
    assert headings == []
    assert text == "Before. After the calculator."


def test_scripts_styles_and_comments_are_left_out() -> None:
    html = (
        "<style>.x { color: red }</style><p>Visible<!-- an editor's aside --> text</p>"
        '<script type="application/ld+json">{"secret": 1}</script><p>&amp; more&nbsp;here</p>'
    )
    assert text_of_html(html) == ([], "Visible text & more here")


def test_inline_elements_keep_words_and_punctuation_as_read() -> None:
    html = (
        '<p>Most are <a href="../iron/">not due to iron overload</a>. Use <em>anti</em>bodies, '
        "<strong>not</strong> <code>CRP</code>; Hb<sub>A1c</sub></p>"
    )
    assert text_of_html(html)[1] == (
        "Most are not due to iron overload. Use antibodies, not CRP; HbA1c"
    )


def test_blocks_and_cells_separate_words() -> None:
    html = (
        "<ul><li>one</li><li>two</li></ul><table><tr><td>three</td><td>four</td></tr></table>"
        "<p>five<br>six</p>"
    )
    assert text_of_html(html)[1] == "one two three four five six"


def test_an_empty_or_plain_body() -> None:
    assert text_of_html("") == ([], "")
    assert text_of_html("just words") == ([], "just words")


def test_deeply_nested_html_keeps_its_text() -> None:
    """Deeper than Python's recursion limit and libxml2's default depth: every word stays."""
    html = "<div>" * 1500 + "<p>deep <em>inside</em></p>" + "</div>" * 1500 + "<p>after</p>"
    assert text_of_html(html)[1] == "deep inside after"


def test_html_too_deep_to_read_is_an_error_not_less_text() -> None:
    with pytest.raises(
        ValueError,
        match=r"could not be read for the search index \(Excessive depth in document: 2048\)",
    ):
        text_of_html("<div>" * 3000 + "deep" + "</div>" * 3000)
