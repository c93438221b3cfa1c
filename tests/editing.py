"""What an editor does to a topic `site-api new` started: write it, and mark it published."""

from __future__ import annotations

from pathlib import Path

from site_api.content.currency import SCAFFOLD_BODY, SCAFFOLD_SUMMARY


def finish_draft(path: Path, summary: str, body: str) -> None:
    """Replace the scaffold's summary and body with real text and publish the topic."""
    text = path.read_text(encoding="utf-8")
    assert "status: draft\n" in text and SCAFFOLD_SUMMARY in text and SCAFFOLD_BODY in text
    text = text.replace(SCAFFOLD_SUMMARY, summary).replace(SCAFFOLD_BODY, body)
    path.write_text(text.replace("status: draft\n", "status: published\n"), encoding="utf-8")
