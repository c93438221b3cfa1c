"""Which of two sources changed more recently, by their content revision (git).

A clash between two topics (a title, an alias) is the fault of the one added or changed last:
the build blames that one. Files with uncommitted changes are the newest; two such files, or
files outside a git checkout, cannot be told apart, and the build then names both.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

GIT_SECONDS = 10


def _git(where: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(where), *args],
            capture_output=True,
            text=True,
            timeout=GIT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


class Revisions:
    """Asks git about a source only when a clash needs it (a handful per build, not per page)."""

    def __init__(self) -> None:
        self._stamps: dict[str, float | None] = {}

    def stamp(self, path: str) -> float | None:
        """The time of the source's last commit; infinity if changed since; None: unknown."""
        if path not in self._stamps:
            self._stamps[path] = self._look(Path(path).resolve())
        return self._stamps[path]

    @staticmethod
    def _look(path: Path) -> float | None:
        status = _git(
            path.parent, "status", "--porcelain", "--untracked-files=all", "--", path.name
        )
        if status is None:
            return None  # not a git checkout, or no git
        if status.strip():
            return math.inf
        last = _git(path.parent, "log", "-1", "--format=%ct", "--", path.name)
        return float(last) if last and last.strip().isdigit() else None

    def newer(self, a: str, b: str) -> str | None:
        """`a` or `b`, whichever changed more recently; None when that cannot be told."""
        stamp_a, stamp_b = self.stamp(a), self.stamp(b)
        if stamp_a is None or stamp_b is None or stamp_a == stamp_b:
            return None
        return a if stamp_a > stamp_b else b
