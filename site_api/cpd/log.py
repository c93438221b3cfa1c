"""The CPD log as its owner reads it: counted entries, totals, appraisal years, downloads,
clearing; and the only view of it others get, the desk's aggregates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlencode

from sqlalchemy import Engine, delete, func
from sqlmodel import Session, col, select

from site_api.config import Settings
from site_api.content import spreadsheet
from site_api.models import CpdReading, CpdReflection, User
from site_api.serving.pages import SiteIndex

Claimed = Literal["", "claimed", "unclaimed"]
CSV_FIELDS = (
    "date",
    "page_id",
    "title",
    "url",
    "minutes",
    "credits",
    "claimed",
    "learned",
    "change",
    "further",
)


@dataclass(frozen=True)
class Rule:
    """When an entry counts and what it earns (from the settings)."""

    min_seconds: int
    credits: Decimal
    year_start_month: int

    @classmethod
    def of(cls, settings: Settings) -> Rule:
        """The rule the settings make."""
        return cls(
            settings.cpd_min_seconds,
            Decimal(str(settings.cpd_credits_per_topic)),
            settings.cpd_year_start_month,
        )


@dataclass(frozen=True)
class Entry:
    """A counted topic on a day, with the reflection that claims it (if any)."""

    page_id: str
    day: date
    seconds: int
    title: str
    url: str | None
    credits: Decimal
    reflection: CpdReflection | None

    @property
    def claimed(self) -> bool:
        """Whether the reader reflected on it."""
        return self.reflection is not None

    @property
    def minutes(self) -> int:
        """Whole minutes read."""
        return self.seconds // 60

    @property
    def reflect_href(self) -> str:
        """The entry's reflection form (/account/cpd/reflect, which works without JavaScript)."""
        return "/account/cpd/reflect?" + urlencode(
            {"page": self.page_id, "day": self.day.isoformat()}
        )


def hours(value: Decimal) -> str:
    """Hours as the log and certificate print them: two decimals."""
    return f"{value:.2f}"


def appraisal_year(start_year: int, start_month: int) -> tuple[date, date]:
    """The first and last day of the appraisal year starting in `start_month` of `start_year`."""
    first = date(start_year, start_month, 1)
    after = date(start_year + 1, start_month, 1)
    return first, after - timedelta(days=1)


def current_year_start(today: date, start_month: int) -> int:
    """The calendar year in which the appraisal year containing `today` began."""
    return today.year if today.month >= start_month else today.year - 1


def entries(
    site: SiteIndex,
    engine: Engine,
    user_id: int,
    rule: Rule,
    start: date | None = None,
    end: date | None = None,
    claimed: Claimed = "",
) -> list[Entry]:
    """The reader's counted entries between `start` and `end` (both included), newest first."""
    with Session(engine) as db:
        query = select(CpdReading).where(
            CpdReading.user_id == user_id, CpdReading.seconds >= rule.min_seconds
        )
        if start is not None:
            query = query.where(col(CpdReading.day) >= start)
        if end is not None:
            query = query.where(col(CpdReading.day) <= end)
        readings = db.exec(
            query.order_by(col(CpdReading.day).desc(), col(CpdReading.page_id))
        ).all()
        reflections = {
            (r.page_id, r.day): r
            for r in db.exec(select(CpdReflection).where(CpdReflection.user_id == user_id)).all()
        }
    out = []
    for reading in readings:
        reflection = reflections.get((reading.page_id, reading.day))
        if (claimed == "claimed" and reflection is None) or (
            claimed == "unclaimed" and reflection is not None
        ):
            continue
        page = site.by_id.get(reading.page_id)
        out.append(
            Entry(
                page_id=reading.page_id,
                day=reading.day,
                seconds=reading.seconds,
                title=page.meta.title if page else reading.page_id,
                url=page.meta.url if page else None,
                credits=rule.credits,
                reflection=reflection,
            )
        )
    return out


def find_entry(
    site: SiteIndex, engine: Engine, user_id: int, rule: Rule, page_id: str, day: date
) -> Entry | None:
    """One counted entry of the reader's, or None (not read long enough, or not theirs)."""
    for entry in entries(site, engine, user_id, rule, day, day):
        if entry.page_id == page_id:
            return entry
    return None


@dataclass(frozen=True)
class Totals:
    """Hours logged (every counted entry) and claimed (reflected on)."""

    entries: int
    logged: Decimal
    claimed: Decimal


def totals(items: list[Entry]) -> Totals:
    """The totals of some entries."""
    logged = sum((e.credits for e in items), Decimal(0))
    claimed = sum((e.credits for e in items if e.claimed), Decimal(0))
    return Totals(len(items), logged, claimed)


def by_month(items: list[Entry]) -> list[tuple[str, Totals]]:
    """("December 2026", totals) per month with entries, newest first."""
    months: dict[tuple[int, int], list[Entry]] = {}
    for entry in items:
        months.setdefault((entry.day.year, entry.day.month), []).append(entry)
    return [
        (f"{date(y, m, 1):%B %Y}", totals(months[(y, m)])) for y, m in sorted(months, reverse=True)
    ]


def clear(engine: Engine, user_id: int) -> None:
    """Delete the reader's whole log: reading time and reflections."""
    with Session(engine) as db:
        db.execute(delete(CpdReflection).where(col(CpdReflection.user_id) == user_id))
        db.execute(delete(CpdReading).where(col(CpdReading.user_id) == user_id))
        db.commit()


def export_rows(items: list[Entry]) -> list[dict[str, Any]]:
    """Entries for the CSV and JSON downloads and "download my data"."""
    rows = []
    for e in items:
        r = e.reflection
        rows.append(
            {
                "date": e.day.isoformat(),
                "page_id": e.page_id,
                "title": e.title,
                "url": e.url,
                "minutes": e.minutes,
                "credits": float(e.credits),
                "claimed": e.claimed,
                "learned": r.learned if r else None,
                "change": r.change if r else None,
                "further": r.further if r else None,
                "reflection_version": r.version if r else None,
            }
        )
    return rows


def csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    """The log as CSV, safe to open in a spreadsheet (content.spreadsheet), UTF-8 with a BOM."""
    return spreadsheet.csv_bytes(CSV_FIELDS, rows)


@dataclass(frozen=True)
class Week:
    """One week on the desk: readers who logged something, topics counted, CPD hours."""

    monday: date
    readers: int
    topics: int
    hours: Decimal


def desk_summary(engine: Engine, rule: Rule, today: date, weeks: int = 8) -> tuple[int, list[Week]]:
    """How many readers record CPD now, and per week (newest first) how many logged, how many
    topics counted and their hours: aggregates only, no reader named."""
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    with Session(engine) as db:
        recording = db.exec(select(func.count()).where(col(User.cpd_on).is_(True))).one()
        rows = db.exec(
            select(col(CpdReading.user_id), col(CpdReading.day)).where(
                col(CpdReading.day) >= first, CpdReading.seconds >= rule.min_seconds
            )
        ).all()
    readers: dict[date, set[int]] = {}
    topics: dict[date, int] = {}
    for user_id, day in rows:
        monday = day - timedelta(days=day.weekday())
        readers.setdefault(monday, set()).add(user_id)
        topics[monday] = topics.get(monday, 0) + 1
    out = []
    for i in range(weeks):
        monday = first + timedelta(days=7 * (weeks - 1 - i))
        n = topics.get(monday, 0)
        out.append(Week(monday, len(readers.get(monday, ())), n, rule.credits * n))
    return recording, out
