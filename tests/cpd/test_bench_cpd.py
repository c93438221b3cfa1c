"""bench/cpd.py's smoke run at a tiny size: it completes and prints its table (no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def test_bench_cpd_smoke(built_site: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "cpd.py"),
            "--site",
            str(built_site),
            "--views",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for line in (
        "beacons per second",
        "CPD off (us)",
        "CPD on (us)",
        "CPD on / off",
        "waiting credits",
    ):
        assert line in out, out
    # 3 rounds of 30 views with CPD on and 30 beacons alone: every beacon credited, then written.
    assert "one flush of 180 waiting credits" in out
    assert "load average:" in out
