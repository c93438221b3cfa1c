"""The Content-Security-Policy of a built site: sha256 of each inline script and style.

Computed once per build (the MkDocs hook stores them in the manifest); deploy/render.py reads
them from there for nginx, and a test checks both doors send the same policy.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

# Inline <script> without src whose type the browser executes (JSON data blocks are not run).
_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", re.S | re.I)
_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)
_DATA_TYPE = re.compile(r"""\btype=["']?(?!text/javascript|module)""", re.I)


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def html_hashes(html: str) -> tuple[set[str], set[str]]:
    """CSP source expressions of one HTML document's inline scripts and styles."""
    scripts = {
        _sha256(body) for attrs, body in _SCRIPT.findall(html) if not _DATA_TYPE.search(attrs)
    }
    return scripts, {_sha256(body) for body in _STYLE.findall(html)}


def inline_hashes(site: Path) -> tuple[list[str], list[str]]:
    """CSP source expressions for every distinct inline script and style in the site's HTML."""
    scripts: set[str] = set()
    styles: set[str] = set()
    for page in site.rglob("*.html"):
        found_scripts, found_styles = html_hashes(page.read_text(encoding="utf-8"))
        scripts |= found_scripts
        styles |= found_styles
    return sorted(scripts), sorted(styles)


def policy(scripts: list[str], styles: list[str]) -> str:
    """The policy deploy/security-headers.conf sends, for these hashes."""
    return (
        f"default-src 'self'; script-src 'self' {' '.join(scripts)}; "
        f"style-src 'self' {' '.join(styles)}; img-src 'self' data:; font-src 'self' data:; "
        "connect-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'self'; "
        "frame-ancestors 'none'"
    )
