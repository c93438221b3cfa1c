"""Check, store and forward one problem report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from site_api.accounts import ratelimit
from site_api.accounts.mail import Mailer
from site_api.accounts.users import AccountError, normalise_email, utcnow
from site_api.config import Settings
from site_api.models import ProblemReport

MAX_WHAT = 2000
MAX_REFERENCE = 500
#: Per client address: enough for an editor-minded reader, too few to flood the editors.
PER_ADDRESS = ratelimit.Limit(5, timedelta(minutes=10))


class ReportError(ValueError):
    """A report that cannot be taken as it is; the message says what to change."""


@dataclass(frozen=True)
class Report:
    """A checked report, ready to store."""

    page_id: str
    what: str
    reference: str
    email: str


def _plain(text: str, field: str, multiline: bool) -> str:
    allowed = "\n\r\t" if multiline else "\t"
    if any((ord(c) < 0x20 and c not in allowed) or ord(c) == 0x7F for c in text):
        raise ReportError(f"{field}: control characters are not allowed.")
    return text.replace("\r\n", "\n").strip()


def check(page_id: str, what: str, reference: str, email: str) -> Report:
    """The report as it will be stored, or `ReportError` naming the field to fix."""
    what = _plain(what, "What is wrong", multiline=True)
    if not what:
        raise ReportError("What is wrong: please say what you found.")
    if len(what) > MAX_WHAT:
        raise ReportError(f"What is wrong: at most {MAX_WHAT:,} characters, please.")
    reference = _plain(reference, "Reference", multiline=False)
    if len(reference) > MAX_REFERENCE:
        raise ReportError(f"Reference: at most {MAX_REFERENCE} characters, please.")
    email = email.strip()
    if email:
        try:
            email = normalise_email(_plain(email, "Email", multiline=False))
        except AccountError as exc:
            raise ReportError(f"Email: {exc}") from None
    return Report(page_id, what, reference, email)


def save(engine: Engine, report: Report, user_id: int | None, address: str) -> int:
    """Count the attempt against the client address, then store the report; returns its id."""
    ratelimit.hit(engine, f"report:addr:{address}", PER_ADDRESS)
    with Session(engine) as db:
        row = ProblemReport(
            page_id=report.page_id,
            what=report.what,
            reference=report.reference,
            email=report.email,
            user_id=user_id,
            created_at=utcnow(),
        )
        db.add(row)
        db.commit()
        assert row.id is not None
        return row.id


def reports_of(engine: Engine, user_id: int) -> list[ProblemReport]:
    """The reports a reader sent while signed in, oldest first (for "download my data")."""
    with Session(engine) as db:
        statement = (
            select(ProblemReport)
            .where(col(ProblemReport.user_id) == user_id)
            .order_by(col(ProblemReport.created_at), col(ProblemReport.id))
        )
        return list(db.exec(statement).all())


def mail_editors(settings: Settings, report: Report, title: str, url: str, number: int) -> None:
    """Send the report to the editors, if an address is set; never raises (sent after the answer)."""
    if not settings.editorial_email:
        return
    text = (
        f"Report {number} on {title}\n{settings.public_url}{url}\n\n"
        f"What is wrong:\n{report.what}\n\n"
        f"Reference: {report.reference or '(none)'}\n"
        f"Reply to: {report.email or '(no address given)'}\n"
    )
    Mailer(settings).send_quietly(settings.editorial_email, f"Problem report: {title}", text)
