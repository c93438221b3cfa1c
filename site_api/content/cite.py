"""`site-api cite`: a reference library entry from the record Crossref or PubMed holds for a work.

The entry is printed for the editor to check and paste into `content/references.yml`; nothing is
written. Fields come only from the record fetched: an identifier the record lacks stays empty.
"""

from __future__ import annotations

import json
import re
import socket
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from site_api.content.references import DOI_RE, DOI_URL_PREFIXES, PMID_RE

#: Vancouver style: up to six authors are listed; beyond that the first three and "et al.".
MAX_LISTED = 6
LISTED_WITH_ET_AL = 3
USER_AGENT = "site-api-cite/1 (Clinical Notebook reference library)"


class CiteError(Exception):
    """A record that could not be fetched; `code` is the command's exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


NOT_FOUND = 1
UNREACHABLE = 3


@dataclass
class Record:
    """What a bibliographic record says of a work, in the library's fields."""

    authors: list[str]
    title: str
    journal: str
    year: int | None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    pmid: str | None = None
    et_al: bool = field(default=False)


def normal_doi(text: str) -> str | None:
    """A DOI as the library writes it (no link prefix), or None when it is not one."""
    value = text.strip()
    for prefix in DOI_URL_PREFIXES:
        if value.lower().startswith(prefix):
            value = value[len(prefix) :]
    return value if DOI_RE.fullmatch(value) else None


def normal_pmid(text: str) -> str | None:
    """A PubMed id (digits), or None."""
    value = text.strip()
    return value if PMID_RE.fullmatch(value) else None


def _get_json(url: str, timeout: float, what: str) -> Any:
    request = urllib.request.Request(
        url, headers={"Accept": "application/json", "User-Agent": USER_AGENT}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (settings)
            body = response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise CiteError(f"{what}: no such record ({url} answered 404)", NOT_FOUND) from None
        raise CiteError(f"{what}: {url} answered {exc.code} {exc.reason}", UNREACHABLE) from None
    except TimeoutError:
        raise CiteError(
            f"{what}: no answer from {url} within {timeout:g} s: try again later, or write the "
            "entry by hand from the article",
            UNREACHABLE,
        ) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError | socket.timeout):
            raise CiteError(
                f"{what}: no answer from {url} within {timeout:g} s: try again later, or write "
                "the entry by hand from the article",
                UNREACHABLE,
            ) from None
        raise CiteError(
            f"{what}: cannot reach {url} ({reason}): is this machine online?", UNREACHABLE
        ) from None
    try:
        return json.loads(body)
    except ValueError:
        raise CiteError(f"{what}: {url} did not answer with JSON", UNREACHABLE) from None


def crossref(doi: str, base_url: str, timeout: float) -> Record:
    """The work Crossref registers under this DOI."""
    url = f"{base_url.rstrip('/')}/works/{urllib.parse.quote(doi, safe='/')}"
    data = _get_json(url, timeout, f"DOI {doi}")
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, dict):
        raise CiteError(f"DOI {doi}: Crossref's answer holds no record", NOT_FOUND)
    people = [
        _vancouver_name(a.get("family", ""), a.get("given", ""))
        for a in message.get("author", [])
        if isinstance(a, dict) and a.get("family")
    ]
    journal = _first(message.get("short-container-title")) or _first(message.get("container-title"))
    year = None
    for key in ("published-print", "published-online", "issued"):
        parts = (message.get(key) or {}).get("date-parts") or [[None]]
        if parts and parts[0] and parts[0][0]:
            year = int(parts[0][0])
            break
    return _listed(
        Record(
            authors=people,
            title=_clean_title(_first(message.get("title"))),
            journal=journal,
            year=year,
            volume=_text(message.get("volume")),
            issue=_text(message.get("issue")),
            pages=_pages(message.get("page")),
            doi=_text(message.get("DOI")) or doi,
        )
    )


def pubmed(pmid: str, base_url: str, timeout: float) -> Record:
    """The work PubMed holds under this id (NCBI E-utilities' esummary)."""
    query = urllib.parse.urlencode({"db": "pubmed", "id": pmid, "retmode": "json"})
    url = f"{base_url.rstrip('/')}/esummary.fcgi?{query}"
    data = _get_json(url, timeout, f"PMID {pmid}")
    result = data.get("result") if isinstance(data, dict) else None
    summary = result.get(pmid) if isinstance(result, dict) else None
    if not isinstance(summary, dict) or "error" in summary or not summary.get("title"):
        raise CiteError(f"PMID {pmid}: PubMed holds no such record", NOT_FOUND)
    ids = {
        i.get("idtype"): i.get("value")
        for i in summary.get("articleids", [])
        if isinstance(i, dict)
    }
    year = re.match(r"\d{4}", str(summary.get("pubdate", "")))
    return _listed(
        Record(
            authors=[
                str(a["name"])
                for a in summary.get("authors", [])
                if isinstance(a, dict) and a.get("name")
            ],
            title=_clean_title(str(summary["title"])),
            journal=str(summary.get("source", "")),
            year=int(year.group(0)) if year else None,
            volume=_text(summary.get("volume")),
            issue=_text(summary.get("issue")),
            pages=_pages(summary.get("pages")),
            doi=normal_doi(str(ids["doi"])) if ids.get("doi") else None,
            pmid=pmid,
        )
    )


def _first(value: Any) -> str:
    return str(value[0]).strip() if isinstance(value, list) and value else ""


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value not in (None, "") else None


def _clean_title(title: str) -> str:
    """One line, no tags (Crossref keeps JATS markup such as <i>), no closing full stop."""
    title = re.sub(r"<[^>]+>", "", title)
    return re.sub(r"\s+", " ", title).strip().removesuffix(".")


def _pages(value: Any) -> str | None:
    """A page range with the en dash the library prints."""
    text = _text(value)
    return text.replace("-", "–") if text else None


def _vancouver_name(family: str, given: str) -> str:
    """`Lee DW` from family `Lee` and given `Daniel W.`."""
    initials = "".join(p[0].upper() for p in re.split(r"[\s.\-]+", given) if p[:1].isalpha())
    return f"{family.strip()} {initials}".strip()


def _listed(record: Record) -> Record:
    if len(record.authors) > MAX_LISTED:
        record.authors = record.authors[:LISTED_WITH_ET_AL]
        record.et_al = True
    return record


def suggested_key(record: Record, taken: set[str]) -> str:
    """First author's family name and the year, in ASCII: `lee2019`, then `lee2019b`…"""
    family = record.authors[0].rsplit(" ", 1)[0] if record.authors else "anon"
    ascii_name = unicodedata.normalize("NFKD", family).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]", "", ascii_name.lower()) or "ref"
    key = f"{base}{record.year or ''}"
    suffix = ord("b")
    candidate = key
    while candidate in taken:
        candidate = f"{key}{chr(suffix)}"
        suffix += 1
    return candidate


def entry_yaml(key: str, record: Record) -> str:
    """The entry as `content/references.yml` holds it (strings quoted as JSON, valid YAML)."""

    def q(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = [f"{key}:", f"  authors: [{', '.join(q(a) for a in record.authors)}]"]
    if record.et_al:
        lines.append("  et_al: true")
    lines.append(f"  title: {q(record.title)}")
    lines.append(f"  journal: {q(record.journal)}")
    lines.append(f"  year: {record.year if record.year is not None else ''}")
    fields: Mapping[str, str | None] = {
        "volume": record.volume,
        "issue": record.issue,
        "pages": record.pages,
        "doi": record.doi,
        "pmid": record.pmid,
    }
    lines.extend(f"  {name}: {q(value)}" for name, value in fields.items() if value)
    return "\n".join(lines) + "\n"
