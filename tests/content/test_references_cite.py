"""`site-api cite` against a stand-in Crossref and NCBI server (a real process on loopback)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT

from site_api.content.references import load_library

SITE_API = str(ROOT / ".venv" / "bin" / "site-api")


@pytest.fixture(scope="module")
def stand_in() -> Iterator[str]:
    """The stand-in server's base address."""
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "cite_server.py")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def cite(
    base: str, *args: str, timeout: str = "5", content: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SITE_CROSSREF_URL": f"{base}/crossref",
        "SITE_NCBI_EUTILS_URL": f"{base}/eutils",
        "SITE_CITE_TIMEOUT_SECONDS": timeout,
    }
    where = ["--content-dir", str(content)] if content else []
    return subprocess.run(
        [SITE_API, "cite", *args, *where], capture_output=True, text=True, env=env, check=False
    )


def entry_of(output: str) -> tuple[str, dict[str, object]]:
    """The printed entry, loaded as the build loads the library: (key, fields)."""
    library, errors = load_library("printed", output)
    assert errors == [], [str(e) for e in errors]
    [(key, entry)] = library.entries.items()
    return key, entry.model_dump(exclude_defaults=True, mode="json")


def test_a_doi_gives_a_ready_entry_from_crossref(stand_in: str, tmp_path: Path) -> None:
    for doi in ("10.5555/12345678", "https://doi.org/10.5555/12345678"):
        result = cite(stand_in, "--doi", doi, content=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("# From Crossref: check it against the article")
        key, entry = entry_of(result.stdout)
        assert key == "carberry2008"
        assert entry == {
            "authors": ["Carberry J", "Østergård ALM"],
            "title": "Toward a unified theory of high-energy metaphysics: silly string theory",
            "journal": "J Psychoceram",
            "year": 2008,
            "volume": "5",
            "issue": "11",
            "pages": "1–3",
            "doi": "10.5555/12345678",
        }


def test_more_than_six_authors_are_three_and_et_al(stand_in: str, tmp_path: Path) -> None:
    result = cite(stand_in, "--doi", "10.5555/crowd", content=tmp_path)
    assert result.returncode == 0, result.stderr
    _, entry = entry_of(result.stdout)
    assert entry["authors"] == ["Author1 G", "Author2 G", "Author3 G"]
    assert entry["et_al"] is True
    assert entry["journal"] == "Journal of Psychoceramics"  # no abbreviation in the record
    assert entry["title"] == "A consensus of many hands"


def test_a_pmid_gives_a_ready_entry_from_pubmed_with_the_records_doi(
    stand_in: str, tmp_path: Path
) -> None:
    result = cite(stand_in, "--pmid", "99999901", content=tmp_path)
    assert result.returncode == 0, result.stderr
    key, entry = entry_of(result.stdout)
    assert key == "carberry2008"
    assert entry["authors"] == ["Carberry J", "Østergård AL"]
    assert entry["pmid"] == "99999901" and entry["doi"] == "10.5555/12345678"
    assert entry["pages"] == "1–3" and entry["year"] == 2008


def test_no_identifier_is_added_that_the_record_lacks(stand_in: str, tmp_path: Path) -> None:
    result = cite(stand_in, "--pmid", "99999902", content=tmp_path)
    assert result.returncode == 0, result.stderr
    _, entry = entry_of(result.stdout)
    assert "doi" not in entry and "doi:" not in result.stdout
    assert "volume" not in entry and "pages" not in entry


def test_a_taken_key_gets_a_letter_and_a_known_work_is_named(stand_in: str, tmp_path: Path) -> None:
    (tmp_path / "references.yml").write_text(
        "carberry2008:\n  authors: [Other O]\n  title: Another work\n  journal: J\n  year: 2008\n",
        encoding="utf-8",
    )
    result = cite(stand_in, "--doi", "10.5555/12345678", content=tmp_path)
    assert entry_of(result.stdout)[0] == "carberry2008b"
    known = cite(stand_in, "--doi", "10.1097/mph.0000000000000872", content=ROOT / "content")
    assert known.returncode == 0, known.stderr
    assert "as 'garciapavon2017': cite it as [@garciapavon2017]" in known.stdout
    # Found by its PubMed id, the work's DOI is the library's: named, not printed again.
    (tmp_path / "references.yml").write_text(
        "held:\n  authors: [Carberry J]\n  title: Toward\n  journal: J\n  year: 2008\n"
        "  doi: 10.5555/12345678\n",
        encoding="utf-8",
    )
    again = cite(stand_in, "--pmid", "99999901", content=tmp_path)
    assert again.returncode == 0 and "as 'held': cite it as [@held]" in again.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--doi", "10.5555/missing"], "error: DOI 10.5555/missing: no such record"),
        (["--pmid", "99999999"], "error: PMID 99999999: PubMed holds no such record"),
    ],
)
def test_an_unknown_work_is_a_clear_message_and_status_1(
    stand_in: str, tmp_path: Path, args: list[str], message: str
) -> None:
    result = cite(stand_in, *args, content=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_server_that_does_not_answer_in_time_is_status_3(stand_in: str, tmp_path: Path) -> None:
    result = cite(f"{stand_in}/slow", "--doi", "10.5555/12345678", timeout="0.5", content=tmp_path)
    assert result.returncode == 3
    assert "no answer from" in result.stderr and "within 0.5 s" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_server_is_status_3(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = cite(f"http://127.0.0.1:{port}", "--pmid", "1", content=tmp_path)
    assert result.returncode == 3
    assert "cannot reach" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--doi", "10.1000/a b"], "is not a DOI"),
        (["--pmid", "12a"], "is not a PubMed id"),
        ([], "give --doi or --pmid"),
        (["--doi", "10.1000/x", "--pmid", "1"], "give --doi or --pmid"),
    ],
)
def test_bad_arguments_are_usage_errors(args: list[str], message: str, tmp_path: Path) -> None:
    result = cite("http://127.0.0.1:9", *args, content=tmp_path)
    assert result.returncode == 2 and message in result.stderr
