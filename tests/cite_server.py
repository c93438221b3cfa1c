"""A stand-in for Crossref's REST API and NCBI's E-utilities on loopback, for `site-api cite`.

Run as `python tests/cite_server.py`: it prints the port it listens on, then serves
`/crossref/works/<doi>` and `/eutils/esummary.fcgi?db=pubmed&id=<pmid>&retmode=json` in the format
the real services answer in, from the records below, and 404 (Crossref) or an `error` summary
(NCBI, which answers 200) for anything else. Under `/slow/` it waits longer than any test's
timeout. The works are fictitious (Crossref's documented test prefix 10.5555), except one that
the library already holds, so its `already in` answer can be tested.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SLOW_SECONDS = 5

CROSSREF: dict[str, dict[str, Any]] = {
    "10.5555/12345678": {
        "DOI": "10.5555/12345678",
        "type": "journal-article",
        "title": ["Toward a unified theory of <i>high-energy</i> metaphysics: silly string theory"],
        "author": [
            {"given": "Josiah", "family": "Carberry", "sequence": "first"},
            {"given": "Anna-Lena M.", "family": "Østergård", "sequence": "additional"},
        ],
        "container-title": ["Journal of Psychoceramics"],
        "short-container-title": ["J Psychoceram"],
        "volume": "5",
        "issue": "11",
        "page": "1-3",
        "published-print": {"date-parts": [[2008, 8, 13]]},
        "issued": {"date-parts": [[2008, 8, 13]]},
    },
    "10.5555/crowd": {
        "DOI": "10.5555/crowd",
        "type": "journal-article",
        "title": ["A consensus of many hands."],
        "author": [{"given": f"Given {n}", "family": f"Author{n}"} for n in range(1, 9)],
        "container-title": ["Journal of Psychoceramics"],
        "volume": "6",
        "page": "e12",
        "issued": {"date-parts": [[2010]]},
    },
    "10.1097/MPH.0000000000000872": {
        "DOI": "10.1097/MPH.0000000000000872",
        "title": ["Kawasaki disease complicated with macrophage activation syndrome"],
        "author": [{"given": "S.", "family": "García-Pavón"}],
        "short-container-title": ["J Pediatr Hematol Oncol"],
        "issued": {"date-parts": [[2017]]},
    },
}

PUBMED: dict[str, dict[str, Any]] = {
    "99999901": {
        "uid": "99999901",
        "pubdate": "2008 Aug 13",
        "source": "J Psychoceram",
        "authors": [
            {"name": "Carberry J", "authtype": "Author"},
            {"name": "Østergård AL", "authtype": "Author"},
        ],
        "title": "Toward a unified theory of high-energy metaphysics: silly string theory.",
        "volume": "5",
        "issue": "11",
        "pages": "1-3",
        "articleids": [
            {"idtype": "pubmed", "idtypen": 1, "value": "99999901"},
            {"idtype": "doi", "idtypen": 3, "value": "10.5555/12345678"},
        ],
    },
    "99999902": {
        "uid": "99999902",
        "pubdate": "2011",
        "source": "J Psychoceram",
        "authors": [{"name": "Carberry J", "authtype": "Author"}],
        "title": "A record without a DOI.",
        "articleids": [{"idtype": "pubmed", "idtypen": 1, "value": "99999902"}],
    },
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        if path.startswith("/slow/"):
            time.sleep(SLOW_SECONDS)
            path = path.removeprefix("/slow")
        if path.startswith("/crossref/works/"):
            doi = path.removeprefix("/crossref/works/")
            # DOIs are case-insensitive, and Crossref answers any case.
            record = next((r for d, r in CROSSREF.items() if d.lower() == doi.lower()), None)
            if record is None:
                self._send(404, b"Resource not found.", "text/plain")
                return
            body = {"status": "ok", "message-type": "work", "message": record}
            self._send(200, json.dumps(body).encode(), "application/json")
        elif path == "/eutils/esummary.fcgi":
            pmid = urllib.parse.parse_qs(url.query).get("id", [""])[0]
            summary = PUBMED.get(pmid, {"uid": pmid, "error": "cannot get document summary"})
            body = {"header": {"type": "esummary"}, "result": {"uids": [pmid], pmid: summary}}
            self._send(200, json.dumps(body).encode(), "application/json")
        else:
            self._send(404, b"not found", "text/plain")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: the tests read only the port line."""


def main() -> None:
    server = ThreadingHTTPServer(
        ("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler
    )
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
