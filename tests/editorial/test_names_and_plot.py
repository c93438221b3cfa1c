"""The desk and `site-api review` name authors (key in brackets); the funnel's daily plot keeps a
handful of gates and accounts readable beside thousands of views."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from test_desk import EDITOR, PASSWORD, sign_in
from visitors import TOPICS

from site_api.accounts import users
from site_api.config import Settings
from site_api.editorial import funnel
from site_api.serving.funnel import EVENTS, FunnelCounter
from site_api.web.app import create_app

CONTENT = Path(__file__).resolve().parents[2] / "content"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def editor(engine: Engine) -> None:
    users.create_user(engine, EDITOR, PASSWORD, verified=True, editor=True)


def overdue_copy(root: Path, authors: bool) -> Path:
    """A content directory with one topic overdue for review (and authors.yml when asked)."""
    text = (CONTENT / "topics" / f"{TOPICS[0]}.md").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^next_review: .*$", "next_review: 2020-01-01", text)
    text = re.sub(r"(?m)^reviewed: .*$", "reviewed: 2019-01-01", text)
    text = re.sub(r"(?m)^changes:\n(?:  .*\n)*", "", text)
    (root / "topics").mkdir(parents=True)
    (root / "topics" / f"{TOPICS[0]}.md").write_text(text, encoding="utf-8")
    if authors:
        shutil.copy(CONTENT / "authors.yml", root / "authors.yml")
    return root


def review_section(settings: Settings, content: Path) -> str:
    app = create_app(settings.model_copy(update={"content_dir": content}))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        sign_in(client, EDITOR)
        page = client.get("/editorial/").text
    return page.split('id="review"', 1)[1].split('id="searches"', 1)[0]


def test_the_review_queue_names_each_author_with_the_key_in_brackets(
    settings: Settings, editor: None, tmp_path: Path
) -> None:
    section = review_section(settings, overdue_copy(tmp_path / "named", authors=True))
    assert (
        "<td>Rheumatology section editor (rheumatology-editor), Haematology section editor "
        "(haematology-editor), General practice clinical reviewer (gp-reviewer)</td>" in section
    ), section
    # Without authors.yml (or with a key it lacks) the key is shown as written: never a blank.
    bare = review_section(settings, overdue_copy(tmp_path / "bare", authors=False))
    assert "<td>rheumatology-editor, haematology-editor, gp-reviewer</td>" in bare


def one_day(counts: dict[str, int], days: int = 30) -> funnel.Funnel:
    """A range of `days` days whose last day has `counts`, every other day none."""
    end = date(2026, 11, 30)
    span = funnel.Range(end - timedelta(days=days - 1), end)
    daily = {e: [0] * (days - 1) + [counts.get(e, 0)] for e in EVENTS}
    totals = {e: sum(v) for e, v in daily.items()}
    return funnel.Funnel(span, daily, [], totals)


def heights(svg: str) -> dict[str, float]:
    """How high each line rises within its own panel, as a fraction of the panel's height."""
    root = ET.fromstring(svg)
    found = {}
    for panel in root.iter(f"{SVG}g"):
        bottom = float(panel.get("data-top", 0)) + float(panel.get("data-height", 0))
        tall = float(panel.get("data-height", 1))
        for line in panel.iter(f"{SVG}polyline"):
            ys = [float(p.split(",")[1]) for p in str(line.get("points")).split()]
            found[str(line.get("data-event"))] = (bottom - min(ys)) / tall
    return found


def test_three_gates_and_one_account_are_not_flat_under_1716_views() -> None:
    """The issue's day: one linear axis to 2,000 drew the gate's 3 at 0.15% of the height."""
    svg = funnel.daily_svg(
        one_day({"view": 1716, "gate": 3, "gate_account": 1, "gate_sign_in": 0}), "daily"
    )
    rise = heights(svg)
    assert set(rise) == set(funnel.DAILY_LINES)
    assert rise["view"] == pytest.approx(1716 / 2000)
    assert rise["gate"] == pytest.approx(3 / 5)
    assert rise["gate_account"] == pytest.approx(1 / 5)
    assert rise["gate_sign_in"] == 0
    labels = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert "2,000" in labels and "5" in labels  # each panel's own scale, labelled
    assert all(t and "." not in t for t in labels if t and t[0].isdigit() and "-" not in t)


def test_a_quiet_range_still_draws_both_panels_on_whole_numbers() -> None:
    svg = funnel.daily_svg(one_day({}, days=1), "quiet")
    root = ET.fromstring(svg)
    assert len(list(root.iter(f"{SVG}g"))) == 2
    assert heights(svg) == dict.fromkeys(funnel.DAILY_LINES, 0.0)


def test_the_funnel_page_draws_the_two_panels(
    settings: Settings, engine: Engine, editor: None
) -> None:
    counter = FunnelCounter(engine)
    now = (date.today() - date(1970, 1, 1)).days * 86400 + 3600
    for _ in range(40):
        counter.add(TOPICS[0], "view", now)
    counter.add(TOPICS[0], "gate", now)
    counter.flush()
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as client:
        sign_in(client, EDITOR)
        page = client.get("/editorial/funnel").text
    start = page.index('<svg class="desk-plot" viewBox="0 0 640')
    svg = page[start : page.index("</svg>", start) + len("</svg>")]
    rise = heights(svg)
    assert rise["view"] == pytest.approx(40 / 50) and rise["gate"] == pytest.approx(1.0)
