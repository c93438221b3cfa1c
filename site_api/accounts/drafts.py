"""Where a browser keeps a reader's unsaved text: the localStorage key of each draft."""

from __future__ import annotations

# drafts.js removes every key with one of these prefixes when a reader signs out.
KINDS = ("note", "cpd")


def draft_key(kind: str, user_id: int, *parts: str) -> str:
    """The key of one reader's draft (`<kind>-draft:<reader>:<parts…>`): named per reader, so a
    second reader on the same browser is never offered the first one's text."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of draft: {kind!r}")
    return ":".join((f"{kind}-draft", str(user_id), *parts))
