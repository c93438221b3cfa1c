"""The package layout holds: imports point one way, no private names cross packages, pure parts do no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT

from site_api.content.incremental import BUILD_CODE

PACKAGE = ROOT / "site_api"
FOUNDATION = {"config", "db", "models", "deps"}
#: What each part of site_api may import besides itself (the README's layout section draws it).
ALLOWED: dict[str, set[str]] = {
    "config": set(),
    "db": {"config"},
    "models": set(),
    "deps": {"config"},
    "health": FOUNDATION,
    "migrations": FOUNDATION,
    # The MkDocs hook (an adapter in content) runs the calculators' build checks and renders
    # their forms into topics; calculators read content's YAML loader: no module cycle.
    "content": {"config", "calculators"},
    "calculators": {"config", "content"},
    "accounts": FOUNDATION,
    "serving": FOUNDATION | {"content", "accounts"},
    "notes": FOUNDATION | {"content", "accounts", "serving"},
    "search": FOUNDATION | {"content", "accounts", "serving"},
    "shares": FOUNDATION | {"content", "accounts", "serving"},
    "reports": FOUNDATION | {"accounts"},
    "cpd": FOUNDATION | {"content", "accounts", "serving", "notes"},
    "editorial": FOUNDATION | {"content", "accounts", "serving", "search", "reports"},
    "web": FOUNDATION
    | {
        "health",
        "content",
        "accounts",
        "serving",
        "notes",
        "search",
        "shares",
        "reports",
        "editorial",
        "cpd",
        "calculators",
    },
    "preview": FOUNDATION
    | {
        "content",
        "accounts",
        "serving",
        "notes",
        "search",
        "shares",
        "reports",
        "editorial",
        "cpd",
        "calculators",
        "web",
    },
    "cli": FOUNDATION
    | {
        "health",
        "content",
        "accounts",
        "serving",
        "notes",
        "search",
        "shares",
        "reports",
        "editorial",
        "cpd",
        "calculators",
        "web",
        "preview",
        "asgi",  # `serve` hands the app it built to the factory its forked workers call
    },
    "asgi": FOUNDATION | {"web"},
}
#: Pure modules: decisions and models that tests table-check, with no I/O behind them.
PURE = [
    "site_api/serving/meter.py",
    "site_api/content/model.py",
    "site_api/content/citations.py",
    "site_api/content/currency.py",
    "site_api/content/links.py",
    "site_api/serving/institutions.py",
    "site_api/serving/address.py",
    "site_api/content/structured_data.py",
    "site_api/content/spreadsheet.py",
]
IO_MODULES = {
    "sqlalchemy",
    "sqlmodel",
    "fastapi",
    "starlette",
    "httpx",
    "anyio",
    "asyncio",
    "socket",
    "subprocess",
    "smtplib",
    "urllib.request",
    "site_api.db",
    "site_api.models",
}


def part_of(module: str) -> str:
    """`site_api.serving.gate` → `serving`; `site_api.config` → `config`."""
    return module.split(".")[1]


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, imported names) for every import in a module, lazy ones too."""
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [alias.name for alias in node.names]
            found.append((node.lineno, node.module, names))
            # `from site_api import models` imports the module site_api.models
            if node.module == "site_api":
                found += [(node.lineno, f"site_api.{name}", []) for name in names]
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_part_has_a_rule() -> None:
    parts = {part_of(module_name(p)) for p in SOURCES if module_name(p) != "site_api"}
    assert parts <= set(ALLOWED), f"add a rule for {parts - set(ALLOWED)}"


def test_packages_say_what_they_own() -> None:
    for init in PACKAGE.glob("*/__init__.py"):
        if init.parent.name == "migrations":
            continue
        docstring = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert "May import" in docstring, f"{init}: say what it may import"
        assert len(docstring) > 120, f"{init}: say what the package owns"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_one_way(path: Path) -> None:
    name = module_name(path)
    if name == "site_api":
        return
    own = part_of(name)
    for line, target, names in imports(path):
        if not target.startswith("site_api."):
            continue
        other = part_of(target)
        where = f"{path.relative_to(ROOT)}:{line}"
        if other == own:
            continue
        assert other in ALLOWED[own], f"{where}: {own} may not import {target}"
        private = [n for n in names if n.startswith("_")]
        assert not private, f"{where}: {private} are private to {target}"


@pytest.mark.parametrize("relative", PURE)
def test_pure_parts_do_no_io(relative: str) -> None:
    for line, target, _ in imports(ROOT / relative):
        top = {target, target.split(".")[0]}
        assert not top & IO_MODULES, f"{relative}:{line}: a pure module imports {target}"


def test_no_import_cycles_between_modules() -> None:
    graph: dict[str, set[str]] = {}
    names = {module_name(p) for p in SOURCES}
    for path in SOURCES:
        graph[module_name(path)] = {t for _, t, _ in imports(path) if t in names}
    seen: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        seen[node] = 1
        for nxt in graph[node]:
            if seen.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if nxt not in seen:
                visit(nxt, stack + [nxt])
        seen[node] = 2

    for node in sorted(graph):
        if node not in seen:
            visit(node, [node])


def test_only_the_mkdocs_hook_of_content_imports_calculators() -> None:
    """content may import calculators for its hook alone (an adapter), never for the model."""
    for path in sorted((PACKAGE / "content").glob("*.py")):
        if path.name == "mkdocs_hooks.py":
            continue
        for line, target, _ in imports(path):
            assert not target.startswith("site_api.calculators"), f"{path.name}:{line}: {target}"


def test_what_a_build_runs_imports_only_what_its_fingerprint_covers() -> None:
    """A build's fingerprint covers our code in `BUILD_CODE` only (a change to the server
    renders nothing again): so nothing there may import a part of ours outside it."""
    covered = {part.removesuffix(".py") for part in BUILD_CODE if part != "__init__.py"}
    sources = [PACKAGE / "__init__.py", PACKAGE / "config.py"]
    sources += sorted((PACKAGE / "content").rglob("*.py"))
    sources += sorted((PACKAGE / "calculators").rglob("*.py"))
    for path in sources:
        for line, target, _ in imports(path):
            if target.startswith("site_api."):
                assert part_of(target) in covered, f"{path.relative_to(ROOT)}:{line}: {target}"
