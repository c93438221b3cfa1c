"""My notes on the account page: the list, its search without JavaScript, and the CSV download."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from site_api.content import spreadsheet
from site_api.models import Note
from site_api.notes.api import search
from site_api.serving.pages import SiteIndex

PER_PAGE = 50
MAX_QUERY = 200  # as GET /api/notes
CSV_FIELDS = ("page_id", "title", "url", "text", "version", "created_at", "updated_at")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def count_all(engine: Engine, user_id: int) -> int:
    """How many notes the user has."""
    with Session(engine) as db:
        return db.exec(select(func.count()).where(col(Note.user_id) == user_id)).one()


def status_text(q: str, total: int) -> str:
    """What the live status says of a list (my-notes.js words it the same way)."""
    if q.strip():
        return f"{total} note found" if total == 1 else f"{total} notes found"
    return f"You have {total} note." if total == 1 else f"You have {total} notes."


def _href(q: str, page: int) -> str:
    params: dict[str, str | int] = {}
    if q.strip():
        params["q"] = q
    if page > 1:
        params["notes_page"] = page
    return "/account" + ("?" + urlencode(params) if params else "") + "#my-notes"


def _page_number(raw: str) -> int:
    # A hand-edited `?notes_page=` should show a page, not a validation error.
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 1


def context(site: SiteIndex, engine: Engine, user_id: int, q: str, raw_page: str) -> dict[str, Any]:
    """Everything the "My notes" section of the account page shows."""
    q = q[:MAX_QUERY]
    page = max(1, _page_number(raw_page))
    items, total = search(site, engine, user_id, q, PER_PAGE, (page - 1) * PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    if page > pages:  # past the end (notes deleted since): show the last page
        page = pages
        items, total = search(site, engine, user_id, q, PER_PAGE, (page - 1) * PER_PAGE)
    has_any = total > 0 or count_all(engine, user_id) > 0
    return {
        "q": q,
        "has_any": has_any,
        "items": [
            {
                **item.model_dump(),
                "updated_iso": item.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "updated_text": f"{item.updated_at.day} {MONTHS[item.updated_at.month - 1]} "
                f"{item.updated_at.year}",
            }
            for item in items
        ],
        "total": total,
        "status": status_text(q, total),
        "page": page,
        "pages": pages,
        "newer": _href(q, page - 1) if page > 1 else "",
        "older": _href(q, page + 1) if page < pages else "",
        "per_page": PER_PAGE,
    }


def csv_bytes(rows: Iterable[dict[str, Any]]) -> bytes:
    """Notes as CSV, safe to open in a spreadsheet (content.spreadsheet), UTF-8 with a BOM."""
    return spreadsheet.csv_bytes(CSV_FIELDS, rows)
