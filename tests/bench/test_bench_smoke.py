"""Every benchmark under bench/ runs to its table at tiny sizes, so a product change that breaks a
benchmark fails here instead of on the day someone measures. Nothing is timed: each script must
exit 0 and print its header and rows."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, copy_project, require
from servers import CHROMIUM, SITE_API, nginx_binary, postgres_bindir

from site_api.content.search_index import search_index_path_for

BENCH = ROOT / "bench"
#: Scripts run by another's smoke run rather than on their own.
RUN_BY_OTHERS = {
    "noop_gate.py": "run.py's floor row",
    "cpd.py": "tests/cpd/test_bench_cpd.py (beside the CPD tests it measures)",
}


def smoke(*args: str, timeout: float = 600) -> str:
    """Run `python bench/<args>` from the checkout; its output, after asserting it exited 0."""
    result = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "SITE_LOG_LEVEL": "warning"},
        check=False,
    )
    assert result.returncode == 0, f"{args[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def bench_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The real content built by `site-api build` as `make build` does: `site` is the link into
    `site-builds/`, the layout deploy/nginx.conf and the gate's page paths expect."""
    project = tmp_path_factory.mktemp("bench-project")
    copy_project(project)
    built = subprocess.run(
        [SITE_API, "build"],
        cwd=project,
        env={**os.environ, "SITE_SITE_DIR": "site"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    yield project / "site"


def need_wrk() -> None:
    require(shutil.which("wrk") is not None, "wrk (Debian package 'wrk')")


def need_nginx() -> None:
    require(nginx_binary() is not None, "nginx (Debian package 'nginx')")
    need_wrk()


def test_every_bench_script_has_a_smoke_run() -> None:
    scripts = {p.name for p in BENCH.glob("*.py")}
    tested = {
        name.removeprefix("test_").removesuffix("_smoke") + ".py"
        for name in globals()
        if name.startswith("test_") and name.endswith("_smoke")
    }
    assert scripts - set(RUN_BY_OTHERS) == tested
    assert (ROOT / "tests" / "cpd" / "test_bench_cpd.py").is_file()


def test_scale_generate_only_writes_a_project_that_builds_cleanly(tmp_path: Path) -> None:
    project = tmp_path / "catalogue"
    out = smoke("bench/scale.py", "20", "--generate-only", str(project))
    assert "wrote 20 topics" in out
    assert (project / "content" / "whats-new.md").is_file()
    assert len(list((project / "content" / "topics").glob("*.md"))) == 20
    built = subprocess.run(
        [SITE_API, "build"],
        cwd=project,
        env={**os.environ, "SITE_SITE_DIR": "site", "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr  # strict: not one broken link or warning
    assert (project / "site" / "whats-new" / "index.html").is_file()


@pytest.mark.nginx
def test_scale_smoke(tmp_path: Path) -> None:
    need_nginx()
    out = smoke(
        "bench/scale.py", "20", "--requests", "20", "--wrk-seconds", "1", "--broken-links", "50"
    )
    assert "| measure | site-api | plain mkdocs-material / nginx | ratio |" in out
    for row in (
        "| build CPU seconds |",
        "| search index (site-search.sqlite, server-side) |",
        "| link check, 50 broken links with suggestions",
        "| random topics, req/s (nginx on the same files) |",
        "| editorial desk: first / second view |",
        "| a reader's worst page latency during the first desk view |",
        "| one-topic body published (save to served; parsed 1 and rendered ",
        "| one-topic title published (save to served; parsed 1 and rendered ",
        "| one-topic body published by a running site-api build --watch (save to served; parsed 1 ",
        "| one-topic title published by a running site-api build --watch (save to served; parsed 1 ",
    ):
        assert row in out, row


@pytest.mark.nginx
@pytest.mark.postgres
def test_run_smoke(bench_site: Path, tmp_path: Path) -> None:
    need_nginx()
    require(postgres_bindir() is not None, "PostgreSQL (Debian package 'postgresql')")
    results = tmp_path / "results.txt"
    out = smoke(
        "bench/run.py",
        *("--site", str(bench_site), "--seconds", "1", "--warm-up", "0", "--workers", "1"),
        *("--uds-workers", "1", "--rounds", "1", "--out", str(results)),
    )
    table = results.read_text()
    assert "scenario" in table and "req/s" in table and "FAILED" not in table
    for row in (
        "plain nginx, static file (reference)",
        "floor: nginx auth_request, no-op gate",
        "embedded, signed-in",
        "embedded, anonymous first visit",
        "production, 1 worker, signed-in",
        "production, 1 worker, anonymous within the meter",
        "production, 1 worker over a Unix socket, anonymous first visit",
    ):
        assert f"  {row}: " in out, f"{row} not printed as measured"
        assert row in table, row
    # Production's anonymous rows against the embedded server and the floor, and what each row
    # cost in CPU per request by process.
    assert "vs embedded" in table and "vs floor" in table and "vs 1 worker" in table
    assert "CPU per request (us)" in table
    [cpu_line] = [line for line in table.splitlines() if line.startswith("floor: ")][1:]
    nginx_us, python_us, servers_us, wrk_us, _ = (int(cell) for cell in cpu_line.split()[-5:])
    assert abs(servers_us - (nginx_us + python_us)) <= 1  # each rounded to a microsecond
    assert nginx_us > 0 and python_us > 0 and wrk_us > 0  # the load generator is counted too
    # The load average as `uptime` prints it, before and after the run.
    assert "uptime before: " in table and "uptime after: " in table and "load average" in table


@pytest.mark.browser
def test_notes_visible_smoke(bench_site: Path, tmp_path: Path) -> None:
    require(Path(CHROMIUM).exists(), f"Chromium ({CHROMIUM}, Debian package 'chromium')")
    out = smoke(
        "bench/notes_visible.py",
        *("--site", str(bench_site), "--loads", "1", "--out", str(tmp_path / "notes.txt")),
    )
    for line in (
        "signed in, with a note: 1 loads",
        "anonymous (the invitation): 1 loads",
        "GET /api/reader answered",
        "API requests per load: [1]",
    ):
        assert line in out, line


def test_funnel_smoke(bench_site: Path) -> None:
    need_wrk()
    out = smoke(
        "bench/funnel.py",
        *("--site", str(bench_site), "--rounds", "1", "--views", "100"),
        *("--seconds", "1", "--warm-up", "0"),
    )
    assert "in-process view(), anonymous first visit" in out
    assert "off req/s" in out and "anonymous within the meter" in out


def test_search_smoke(bench_site: Path) -> None:
    out = smoke("bench/search.py", "--topics", "10", "--rounds", "4")
    assert "10 topics: site build" in out and "written in" in out
    assert "site-api serve, 1 worker, over HTTP" in out and "load average" in out
    for reader in ("anonymous", "signed in"):
        assert f"  {reader}, 4 requests per kind:" in out
    for row in ("GET /healthz (reference)", "typo, suggest=true", "all full results"):
        assert out.count(row) == 2, row
    # A built project (the catalogue mode): only read, its own index left as it was.
    project = bench_site.parent
    index = search_index_path_for(Path(os.path.realpath(project / "site")))
    before = index.stat().st_mtime_ns
    out = smoke("bench/search.py", "--catalogue", str(project), "--natural", "--rounds", "2")
    assert "natural-vocabulary bodies (Zipf)" in out and out.count("all suggestions") == 4
    assert index.stat().st_mtime_ns == before


@pytest.mark.browser
def test_preview_edit_smoke() -> None:
    require(Path(CHROMIUM).exists(), f"Chromium ({CHROMIUM}, Debian package 'chromium')")
    out = smoke("bench/preview_edit.py", "--sizes", "5", "--runs", "1")
    assert "5 topics: plain strict mkdocs build" in out and "edit to visible in the tab" in out


def test_institutions_smoke() -> None:
    out = smoke("bench/institutions.py", "--ranges", "100", "--lookups", "200")
    assert "bisect index:" in out and "loop over every range (reference)" in out


def test_run_keeps_every_measured_row_when_a_scenario_fails(tmp_path: Path) -> None:
    """`make bench` used to stop at its first failure and lose the rows already measured."""
    sys.path.insert(0, str(BENCH))
    try:
        import run
    finally:
        sys.path.remove(str(BENCH))
    bench = run.Bench(seconds=1, warm_up=0)
    bench.rows.append(run.Row("plain nginx, static file (reference)", 1000.0, 1, 2, 50, []))
    with bench.scenario("floor"):
        raise run.ScenarioError("pre-check failed: 404")
    with bench.scenario("embedded"):
        bench.rows.append(run.Row("embedded, signed-in", 500.0, 1, 2, 50, []))
    out = tmp_path / "results.txt"
    run.report(bench, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), out)
    table = out.read_text()
    assert "plain nginx, static file (reference)" in table and "embedded, signed-in" in table
    assert "FAILED floor: pre-check failed: 404" in table
    assert bench.failed == ["floor: pre-check failed: 404"]


def test_a_row_is_the_median_of_its_rounds() -> None:
    """Each row of `make bench` is the median of its rounds, figure by figure, so one round
    disturbed by other work on the shared machine does not make the row."""
    sys.path.insert(0, str(BENCH))
    try:
        import run
    finally:
        sys.path.remove(str(BENCH))
    rounds = [
        run.Row("r", 100.0, 1.0, 9.0, 50, [], {"nginx": 30.0, "python": 100.0}),
        run.Row("r", 300.0, 3.0, 7.0, 70, ["Socket errors: 1"], {"nginx": 10.0}),
        run.Row("r", 200.0, 2.0, 8.0, 60, [], {"nginx": 20.0, "python": 300.0}),
    ]
    row = run.median_row(rounds)
    assert (row.name, row.rps, row.p50, row.p99, row.cpu) == ("r", 200.0, 2.0, 8.0, 60)
    assert row.errors == ["Socket errors: 1"]
    # A round that used no Python time counts as 0 for that figure, not as missing.
    assert row.per_request == {"nginx": 20.0, "python": 100.0}
