"""How a beacon is credited (site_api/cpd/clock.py), table by table, with no server."""

from __future__ import annotations

from site_api.cpd.clock import BEACONS_PER_MINUTE, VIEWS_PER_READER, ReadingClock

T = 1_796_000_000.0
CAP = 1800


def test_sequential_reading_is_credited_in_full() -> None:
    clock = ReadingClock(CAP)
    assert clock.credit(1, "a", "view-a", 200, T) == 200
    assert clock.credit(1, "b", "view-b", 300, T + 300) == 300
    assert clock.credit(1, "a", "view-a", 260, T + 400) == 60  # the same view, 60 s more


def test_replays_and_older_reports_add_nothing() -> None:
    clock = ReadingClock(CAP)
    assert clock.credit(1, "a", "view-a", 200, T) == 200
    assert clock.credit(1, "a", "view-a", 200, T + 1000) == 0
    assert clock.credit(1, "a", "view-a", 150, T + 2000) == 0


def test_overlapping_views_share_one_wall_clock() -> None:
    clock = ReadingClock(CAP)
    assert clock.credit(1, "a", "tab-1", 200, T) == 200
    assert clock.credit(1, "b", "tab-2", 200, T + 50) == 50
    assert clock.credit(2, "b", "tab-2", 200, T + 50) == 200  # another reader has their own


def test_the_cap_and_bad_numbers() -> None:
    clock = ReadingClock(CAP)
    assert clock.credit(1, "a", "view-a", 10**9, T) == CAP
    assert clock.credit(1, "a", "view-b", -50, T + 5000) == 0


def test_a_view_is_of_one_page() -> None:
    clock = ReadingClock(CAP)
    assert clock.credit(1, "a", "view-a", 200, T) == 200
    assert clock.credit(1, "b", "view-a", 400, T + 1000) == 0


def test_rate_per_minute() -> None:
    clock = ReadingClock(CAP)
    allowed = [clock.allow(1, T + i / 100) for i in range(BEACONS_PER_MINUTE + 3)]
    assert allowed.count(True) == BEACONS_PER_MINUTE and allowed[-1] is False
    assert clock.allow(2, T) is True
    assert clock.allow(1, T + 60) is True


def test_made_up_view_ids_are_bounded_per_reader() -> None:
    clock = ReadingClock(CAP)
    for i in range(VIEWS_PER_READER):
        clock.credit(1, "a", f"view-{i}", 1, T + i)
    assert clock.credit(1, "a", "view-one-more", 100, T + 10_000) == 0
    assert clock.credit(2, "a", "view-one-more", 100, T + 10_000) == 100
    clock.forget_user(1)
    assert clock.credit(1, "a", "view-one-more", 100, T + 20_000) == 100


def test_sweep_forgets_what_no_longer_matters() -> None:
    clock = ReadingClock(CAP)
    clock.credit(1, "a", "view-a", 200, T)
    clock.allow(1, T)
    assert clock.size() > 0
    clock.sweep(T + 2 * 86_400)
    assert clock.size() == 0
