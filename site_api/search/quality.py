"""How well search finds what clinicians type: rank of the topic meant, over a file of pairs.

The file (`content/search-queries.tsv`) holds `query<TAB>page id` lines (`#` comments, blank
lines ignored); `site-api search-report --queries FILE` prints the figures and `make test` holds
them to a floor (tests/search/test_quality.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from site_api.search.index import Reader, SearchIndex

#: How far down the list a topic still counts as found.
DEPTH = 10


class QueryFileError(ValueError):
    """A line of the query file cannot be used: `path:line: message`."""


@dataclass(frozen=True)
class Outcome:
    """One query's result: the rank (1-based) of the topic meant, or None when not in the list."""

    query: str
    expected: str
    rank: int | None
    first: str | None  # what came first instead, for the report


@dataclass(frozen=True)
class Quality:
    """The figures of a run."""

    outcomes: list[Outcome]

    def share(self, within: int) -> float:
        """The share of queries whose topic is ranked `within` or better."""
        found = sum(1 for o in self.outcomes if o.rank is not None and o.rank <= within)
        return found / len(self.outcomes) if self.outcomes else 0.0

    @property
    def missing(self) -> list[Outcome]:
        """The queries whose topic is not in the first DEPTH results."""
        return [o for o in self.outcomes if o.rank is None]


def read_pairs(path: Path, known: set[str] | None = None) -> list[tuple[str, str]]:
    """The (query, page id) pairs of a query file; an unknown page id is an error."""
    pairs: list[tuple[str, str]] = []
    errors: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        query, tab, page_id = line.partition("\t")
        if not tab or not query.strip() or not page_id.strip():
            errors.append(f"{path}:{number}: expected 'query<TAB>page id'")
        elif known is not None and page_id.strip() not in known:
            errors.append(f"{path}:{number}: no page '{page_id.strip()}'")
        else:
            pairs.append((query.strip(), page_id.strip()))
    if errors:
        raise QueryFileError("\n".join(errors))
    return pairs


def measure(index: SearchIndex, pairs: list[tuple[str, str]], reader: Reader) -> Quality:
    """Each pair's rank in what `reader` would see (full results, not suggestions)."""
    outcomes = []
    for query, expected in pairs:
        ids = [hit.page_id for hit in index.find(query, DEPTH, reader)[0]]
        rank = ids.index(expected) + 1 if expected in ids else None
        outcomes.append(Outcome(query, expected, rank, ids[0] if ids else None))
    return Quality(outcomes)
