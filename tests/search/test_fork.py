"""A search index opened before a fork answers in the child through a connection of its own."""

from __future__ import annotations

import json
import os
from pathlib import Path

from site_api.search.index import EVERY_BODY, SearchIndex

QUERIES = ("etoposide", "kawasaky", "ferritin macrophage", "HLH")


def answers(index: SearchIndex) -> list[list[object]]:
    """What a signed-in reader finds for each query: page ids and snippets."""
    return [
        [(hit.page_id, hit.snippet) for hit in index.find(query, 10, EVERY_BODY)[0]]
        for query in QUERIES
    ]


def test_a_forked_child_searches_through_its_own_connection(built_site: Path) -> None:
    """`site-api serve` forks its workers from the process that opened (and searched) the index:
    SQLite forbids using a connection across fork, so the child must open its own."""
    index = SearchIndex.for_site(built_site)
    before = answers(index)
    parents = index._db()  # the main thread's connection, which a forked child inherits
    assert index._db() is parents, "one connection per thread while the process is the same"
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: report, never return into pytest
        try:
            os.close(read)
            report = {"own": index._db() is not parents, "answers": answers(index)}
            report["kept"] = index._db() is index._db()
            os.write(write, json.dumps(report).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        report = json.loads(pipe.read() or b"{}")
    os.waitpid(child, 0)
    assert report.get("own") is True, f"the child used its parent's connection: {report}"
    assert report["kept"] is True, "the child's own connection is reused, not opened per query"
    assert report["answers"] == json.loads(json.dumps(before)), "the child finds the same"
    assert before[0] and before[0][0][0] == "haemophagocytic-lymphohistiocytosis"
    assert index._db() is parents and answers(index) == before, "the parent is untouched"
