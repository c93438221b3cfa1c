"""The attack of issue 21 replayed against the embedded server (tests/deploy replays it through
nginx): a visitor with a spent meter learns nothing of a gated body's order or prefixes."""

from __future__ import annotations

from pathlib import Path

import pytest
from search_attack import body_words, gated_topic_found, rebuild, unicode61_joiners
from visitors import full_cookie

HLH = "haemophagocytic-lymphohistiocytosis"


def test_the_replay_rebuilds_a_body_where_phrases_and_prefixes_leak() -> None:
    """The replay works: against an answer that leaks a run and a prefix, as FTS5 did."""
    body = ["uncontrolled", "activation", "and", "expansion", "of", "t", "cells"]

    def leaky(query: str) -> bool:  # "does this run of words, the last a prefix, occur?"
        *run, last = query.split("\u19b0")
        return any(
            body[i : i + len(run)] == run and body[i + len(run)].startswith(last)
            for i in range(len(body) - len(run))
        )

    assert rebuild(leaky, body[:2], ("\u19b0",)) == ["and", "expansion", "of"]


@pytest.mark.parametrize("start", [40, 200])
def test_a_spent_meter_rebuilds_nothing_through_the_embedded_server(
    live_server: str, built_site: Path, start: int
) -> None:
    words = body_words(built_site, HLH)
    seed = words[start : start + 2]
    found = gated_topic_found(live_server, full_cookie(), f"/topics/{HLH}/")
    assert found(" ".join(seed)), "the seed's words are in the body: found as a bag"
    joiners = (*unicode61_joiners()[:3], " ", "-")
    assert rebuild(found, seed, joiners) == []
