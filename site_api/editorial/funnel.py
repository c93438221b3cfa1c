"""The meter funnel as editors read it: a date range, daily and per-topic totals, conversion,
CSV, and SVG plots drawn on the server (each shown beside a table of the same numbers)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from site_api.models import FunnelCount
from site_api.serving.funnel import EVENTS

#: Longest range one request may ask for.
MAX_DAYS = 366
DEFAULT_DAYS = 30
LABELS: dict[str, str] = {
    "view": "Anonymous topic views",
    "first_view": "First views",
    "last_free": "Last free topic used",
    "gate": "Gate pages shown",
    "gate_sign_in_page": "Sign-in opened from the gate",
    "gate_create_page": "Create-account opened from the gate",
    "gate_account": "Accounts created after the gate",
    "gate_sign_in": "Sign-ins after the gate",
}
#: The daily plot's lines: what reaches the gate, and what comes out of it.
DAILY_LINES = ("view", "gate", "gate_account", "gate_sign_in")
#: Its panels, each on its own scale: views are hundreds of times the gate's numbers.
DAILY_PANELS = (("view",), ("gate", "gate_account", "gate_sign_in"))
PANEL_TITLES = ("Anonymous topic views", "The gate, and accounts and sign-ins after it")
#: Colour-blind-safe (Okabe-Ito), each line also dashed its own way.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
DASHES = ("", "6 3", "2 3", "8 3 2 3")


class RangeError(ValueError):
    """A date range the funnel cannot show; the message says what to change."""


@dataclass(frozen=True)
class Range:
    """From `start` to `end`, both included (UTC days)."""

    start: date
    end: date

    @property
    def days(self) -> list[date]:
        """Every day of the range, in order."""
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def parse_range(start: str, end: str, today: date) -> Range:
    """The range from two ISO dates (either may be empty: the last 30 days to today)."""
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        raise RangeError("start, end: dates are written YYYY-MM-DD.") from None
    if first > last:
        raise RangeError(f"start: {first} is after end {last}; swap them.")
    if (last - first).days + 1 > MAX_DAYS:
        raise RangeError(
            f"The range is {(last - first).days + 1} days: at most {MAX_DAYS}, please."
        )
    return Range(first, last)


@dataclass(frozen=True)
class Funnel:
    """The counts of one range: per day, per topic, and in total."""

    range: Range
    daily: dict[str, list[int]]  # event -> one count per day of the range
    topics: list[tuple[str, dict[str, int]]]  # (page id, event -> count), most gated first
    totals: dict[str, int]

    @property
    def conversion(self) -> float | None:
        """Accounts created and sign-ins after the gate, per gate page shown."""
        gates = self.totals["gate"]
        won = self.totals["gate_account"] + self.totals["gate_sign_in"]
        return won / gates if gates else None


def load(engine: Engine, span: Range) -> Funnel:
    """Read the counters of `span` (one grouped query per view of them)."""
    index = {day: i for i, day in enumerate(span.days)}
    daily = {event: [0] * len(index) for event in EVENTS}
    per_topic: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(EVENTS, 0))
    total = func.sum(col(FunnelCount.count))
    where = (col(FunnelCount.day) >= span.start, col(FunnelCount.day) <= span.end)
    with Session(engine) as db:
        by_day = db.execute(
            select(col(FunnelCount.day), col(FunnelCount.event), total)
            .where(*where)
            .group_by(col(FunnelCount.day), col(FunnelCount.event))
        ).all()
        by_topic = db.execute(
            select(col(FunnelCount.page_id), col(FunnelCount.event), total)
            .where(*where)
            .group_by(col(FunnelCount.page_id), col(FunnelCount.event))
        ).all()
    for day, event, n in by_day:
        if event in daily:
            daily[event][index[day]] = int(n)
    for page_id, event, n in by_topic:
        if event in daily:
            per_topic[page_id][event] = int(n)
    topics = sorted(per_topic.items(), key=lambda t: (-t[1]["gate"], -t[1]["view"], t[0]))
    totals = {event: sum(counts) for event, counts in daily.items()}
    return Funnel(span, daily, topics, totals)


def funnel_csv(funnel: Funnel) -> str:
    """One row per day and topic of the range that has any count: day, page id, each event."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["day", *EVENTS])
    for i, day in enumerate(funnel.range.days):
        writer.writerow([day.isoformat(), *(funnel.daily[e][i] for e in EVENTS)])
    writer.writerow([])
    writer.writerow(["page_id", *EVENTS])
    for page_id, counts in funnel.topics:
        writer.writerow([page_id, *(counts[e] for e in EVENTS)])
    return out.getvalue()


def _nice_top(value: int) -> int:
    """A round upper bound for an axis: 1, 2, 5, 10, 20, 50 ..."""
    top = 1
    while True:
        for factor in (1, 2, 5):
            if top * factor >= value:
                return top * factor
        top *= 10


def daily_svg(funnel: Funnel, plot_id: str) -> str:
    """Lines per day for `DAILY_LINES`, in two panels sharing the days: anonymous views on their
    own scale, and the gate and what comes out of it on theirs (on one axis, a few gate pages and
    accounts lay flat under thousands of views). The table beside it holds the same numbers."""
    width, left, right, top, panel_h, gap, bottom = 640, 48, 28, 24, 100, 40, 60
    height = top + 2 * panel_h + gap + bottom
    days = funnel.range.days
    step = (width - left - right) / max(len(days) - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    parts = [
        f'<svg class="desk-plot" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{plot_id}-title {plot_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{plot_id}-title">Funnel per day, {funnel.range.start} to {funnel.range.end}</title>',
        f'<desc id="{plot_id}-desc">Two panels, each with its own scale: '
        + "; ".join(", ".join(escape(LABELS[e]) for e in panel) for panel in DAILY_PANELS)
        + ". The table beside the plot gives every number.</desc>",
    ]
    for p, panel in enumerate(DAILY_PANELS):
        panel_top = top + p * (panel_h + gap)
        peak = _nice_top(max([1, *(max(funnel.daily[e]) for e in panel)]))

        def y(n: float, panel_top: int = panel_top, peak: int = peak) -> float:
            return panel_top + panel_h - panel_h * n / peak

        title = PANEL_TITLES[p]
        parts.append(
            f'<g class="desk-panel" data-peak="{peak}" data-top="{panel_top}" '
            f'data-height="{panel_h}"><text x="{left}" y="{panel_top - 8}" font-size="11" '
            f'font-weight="bold" fill="#333">{escape(title)}</text>'
        )
        for value in sorted({0, peak // 2, peak}):
            parts.append(
                f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                f'stroke="#999" stroke-width="0.5"/>'
                f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="11" '
                f'fill="#333">{value:,}</text>'
            )
        for event in panel:
            n = DAILY_LINES.index(event)
            points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(funnel.daily[event]))
            dash = f' stroke-dasharray="{DASHES[n]}"' if DASHES[n] else ""
            parts.append(
                f'<polyline data-event="{event}" points="{points}" fill="none" '
                f'stroke="{COLOURS[n]}" stroke-width="2"{dash}/>'
            )
        parts.append("</g>")
    axis = top + 2 * panel_h + gap + 16
    ticks = sorted({0, len(days) - 1, *range(0, len(days), max(len(days) // 6, 1))})
    for i in ticks[:8] if len(ticks) <= 8 else [0, len(days) - 1]:
        parts.append(
            f'<text x="{x(i):.1f}" y="{axis}" text-anchor="middle" font-size="11" '
            f'fill="#333">{days[i]:%d %b}</text>'
        )
    for n, event in enumerate(DAILY_LINES):
        dash = f' stroke-dasharray="{DASHES[n]}"' if DASHES[n] else ""
        lx = left + (n % 2) * 300
        ly = height - 22 + (n // 2) * 14
        parts.append(
            f'<line x1="{lx}" x2="{lx + 24}" y1="{ly - 4}" y2="{ly - 4}" stroke="{COLOURS[n]}" '
            f'stroke-width="2"{dash}/><text x="{lx + 30}" y="{ly}" font-size="11" fill="#333">'
            f"{escape(LABELS[event])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def steps_svg(funnel: Funnel, plot_id: str) -> str:
    """One horizontal bar per funnel step, in order: where visitors drop off."""
    label_w, bar_w, row, top = 250, 330, 26, 8
    height = top * 2 + row * len(EVENTS)
    peak = max([1, *funnel.totals.values()])
    parts = [
        f'<svg class="desk-plot" viewBox="0 0 {label_w + bar_w + 70} {height}" role="img" '
        f'aria-labelledby="{plot_id}-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{plot_id}-title">Funnel steps, {funnel.range.start} to {funnel.range.end}'
        "</title>",
    ]
    for i, event in enumerate(EVENTS):
        n = funnel.totals[event]
        y = top + i * row
        w = bar_w * n / peak
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="12" fill="#333">'
            f"{escape(LABELS[event])}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="16" fill="{COLOURS[0]}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" font-size="12" fill="#333">{n}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
