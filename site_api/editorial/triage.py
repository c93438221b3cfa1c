"""Readers' problem reports as the editors work through them: status, remark, filters, CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from site_api.content.spreadsheet import cell
from site_api.models import ProblemReport

#: A report's life on the desk, stored as the key and shown as the label.
STATUSES: dict[str, str] = {
    "new": "New",
    "in_progress": "In progress",
    "resolved": "Resolved",
    "dismissed": "Dismissed",
}
MAX_REMARK = 2000
#: Most reports one page of the desk lists (the CSV has them all).
PAGE_LIMIT = 200


class TriageError(ValueError):
    """A filter or an update the desk cannot take; the message says what to change."""


def check_status(status: str, allow_any: bool = False) -> str | None:
    """`status` if it is one of `STATUSES` (or "" for any, when allowed); else `TriageError`."""
    if allow_any and status == "":
        return None
    if status not in STATUSES:
        raise TriageError(f"status: must be one of {', '.join(STATUSES)}, not {status[:40]!r}.")
    return status


def list_reports(
    engine: Engine, status: str | None, page_id: str | None, limit: int | None = PAGE_LIMIT
) -> list[ProblemReport]:
    """Reports newest first, filtered by status and topic (page id) when given."""
    statement = select(ProblemReport)
    if status:
        statement = statement.where(col(ProblemReport.status) == status)
    if page_id:
        statement = statement.where(col(ProblemReport.page_id) == page_id)
    statement = statement.order_by(
        col(ProblemReport.created_at).desc(), col(ProblemReport.id).desc()
    )
    if limit is not None:
        statement = statement.limit(limit)
    with Session(engine) as db:
        return list(db.exec(statement).all())


def reported_topics(engine: Engine) -> list[tuple[str, int]]:
    """(page id, number of reports) for every topic with a report, most reported first."""
    total = func.count().label("total")
    statement = (
        select(col(ProblemReport.page_id), total)
        .group_by(col(ProblemReport.page_id))
        .order_by(total.desc(), col(ProblemReport.page_id))
    )
    with Session(engine) as db:
        return [(page_id, int(n)) for page_id, n in db.execute(statement).all()]


def update(engine: Engine, report_id: int, status: str, remark: str) -> ProblemReport | None:
    """Set a report's status and remark; None when there is no such report."""
    check_status(status)
    remark = remark.replace("\r\n", "\n").strip()
    if len(remark) > MAX_REMARK:
        raise TriageError(f"remark: at most {MAX_REMARK:,} characters, please.")
    with Session(engine) as db:
        report = db.get(ProblemReport, report_id)
        if report is None:
            return None
        report.status = status
        report.remark = remark
        db.add(report)
        db.commit()
        db.refresh(report)
        return report


def reports_csv(rows: list[ProblemReport], title_of: Callable[[str], str]) -> str:
    """The reports as CSV, one row each, every cell plain text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "id",
            "created_utc",
            "page_id",
            "topic",
            "status",
            "what",
            "reference",
            "reply_to",
            "remark",
        ]
    )
    for r in rows:
        writer.writerow(
            [
                r.id,
                r.created_at.isoformat(timespec="seconds"),
                r.page_id,
                cell(title_of(r.page_id)),
                r.status,
                cell(r.what),
                cell(r.reference),
                cell(r.email),
                cell(r.remark),
            ]
        )
    return out.getvalue()
