"""Render deploy/nginx.conf and security-headers.conf for one built site (stdlib only).

    python deploy/render.py --site /srv/site --api 127.0.0.1:8000 --listen 127.0.0.1:8080 \
        --prefix /run/site-nginx
    nginx -p /run/site-nginx -e /run/site-nginx/error.log -c /run/site-nginx/nginx.conf

Run it again after every build: the Content-Security-Policy lists the sha256 of each inline
script and style MkDocs Material writes into the pages (they change with Material's version);
the build records them in its manifest, which this reads.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def inline_hashes(site: Path) -> tuple[list[str], list[str]]:
    """CSP source expressions for the build's inline scripts and styles, as `site-api build`
    recorded them in the manifest beside the site (site_api/content/csp.py scans the pages once
    per build; a 30,000-page site is not read again here)."""
    real = site.resolve()
    path = real.with_name(real.name + "-manifest.json")
    if not path.is_file():
        raise SystemExit(f"{path} is missing: build the site with 'make build' (site-api build)")
    data = json.loads(path.read_text(encoding="utf-8"))
    return list(data.get("csp_scripts", [])), list(data.get("csp_styles", []))


def pages_root(site: Path) -> Path:
    """Where nginx finds the page files the gate names (`X-Page-File`).

    For a published site (`site` a link into `site-builds/`, see site_api/serving/publishing.py)
    that is the builds directory, and the gate names `/<build>/site/<page>`: nginx sends the very
    build the gate decided with, even while the link is switched. For a plain directory it is the
    directory itself. Stdlib only, so the rule is repeated here rather than imported.
    """
    builds = site.with_name(site.name + "-builds")
    if site.is_symlink() and builds.is_dir():
        return builds.resolve()
    return site.resolve()


HSTS = 'add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;'


def render(
    site: Path,
    api: list[str],
    listen: str,
    prefix: Path,
    user: str = "www-data",
    hsts: bool = False,
) -> Path:
    """Write nginx.conf and security-headers.conf into `prefix`; returns the nginx.conf path.

    `api` lists the `site-api serve` addresses (host:port or unix:/path), one per API host.
    """
    # Not resolved: `site` is the link `site-api build` switches, and nginx must follow it.
    site, prefix = site.absolute(), prefix.resolve()
    if not (site / "index.html").is_file():
        raise SystemExit(f"{site}/index.html is missing: build the site first ('make build')")
    prefix.mkdir(parents=True, exist_ok=True)
    for name in TEMP_DIRS:
        (prefix / name).mkdir(exist_ok=True)
    scripts, styles = inline_hashes(site)
    slots = {
        "@PREFIX@": str(prefix),
        "@SITE@": str(site),
        "@PAGES@": str(pages_root(site)),
        "@API@": "\n        ".join(f"server {address};" for address in api),
        "@HSTS@": HSTS if hsts else "",
        "@LISTEN@": listen,
        "@USER@": user,
        "@SCRIPT_HASHES@": " ".join(scripts),
        "@STYLE_HASHES@": " ".join(styles),
    }
    for name in ("nginx.conf", "security-headers.conf"):
        text = (HERE / name).read_text(encoding="utf-8")
        for slot, value in slots.items():
            text = text.replace(slot, value)
        leftover = sorted(set(re.findall(r"@[A-Z_]+@", text)))
        if leftover:
            raise SystemExit(f"deploy/{name}: unfilled slots {', '.join(leftover)}")
        (prefix / name).write_text(text, encoding="utf-8")
    return prefix / "nginx.conf"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=Path("site"), help="built site directory")
    parser.add_argument(
        "--api",
        action="append",
        help="site-api serve address (host:port or unix:/path); repeat for each API host "
        "(default 127.0.0.1:8000)",
    )
    parser.add_argument("--listen", default="127.0.0.1:8080", help="nginx listen address")
    parser.add_argument("--user", default="www-data", help="worker account when run as root")
    parser.add_argument("--prefix", type=Path, required=True, help="nginx run directory")
    parser.add_argument(
        "--hsts", action="store_true", help="send Strict-Transport-Security (served over HTTPS)"
    )
    args = parser.parse_args()
    api = args.api or ["127.0.0.1:8000"]
    print(render(args.site, api, args.listen, args.prefix, args.user, args.hsts))


if __name__ == "__main__":
    main()
