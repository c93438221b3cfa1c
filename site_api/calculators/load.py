"""Read `content/calculators/*.yml` into checked calculators, or every error at once."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import yaml
from pydantic import ValidationError

from site_api.calculators.checks import check_calculator
from site_api.calculators.schema import Calculator
from site_api.content.citations import Citation
from site_api.content.model import ContentError, load_yaml, yaml_field_errors, yaml_line

#: Under the docs directory; MkDocs is told to leave it out of the site (mkdocs.yml).
CALCULATORS_DIR = "calculators"
#: What an editor writes into a topic to place a calculator there.
MARKER_PREFIX = "<!-- calculator: "


MARKER_RE = re.compile(r"<!--\s*calculator:\s*(\S*)\s*-->")


def marker(calc_id: str) -> str:
    """The marker that places a calculator in a topic: `<!-- calculator: hscore -->`."""
    return f"{MARKER_PREFIX}{calc_id} -->"


def markers_in(text: str) -> list[str]:
    """The calculator markers a page's text holds, exactly as written (each once, in order)."""
    return list(dict.fromkeys(m.group(0) for m in MARKER_RE.finditer(text)))


def marker_id(written: str) -> str:
    """The calculator id a marker names."""
    found = MARKER_RE.fullmatch(written)
    return found.group(1) if found else ""


def check_markers(path: str, body: str, body_line: int, known: Iterable[str]) -> list[ContentError]:
    """A marker must name a calculator that exists, written exactly as `marker()` writes it."""
    names = set(known)
    errors = []
    for found in MARKER_RE.finditer(body):
        line = body_line + body.count("\n", 0, found.start())
        calc_id = found.group(1)
        if calc_id not in names:
            near = difflib.get_close_matches(calc_id, sorted(names), n=1, cutoff=0.5)
            hint = (
                f"; did you mean '{near[0]}'?"
                if near
                else f" (known: {', '.join(sorted(names)) or 'none'})"
            )
            errors.append(
                ContentError(path, line, f"calculator: unknown calculator '{calc_id}'{hint}")
            )
        elif found.group(0) != marker(calc_id):
            errors.append(
                ContentError(path, line, f"calculator: write the marker as '{marker(calc_id)}'")
            )
    return errors


def load_calculator(path: str, text: str) -> Calculator | list[ContentError]:
    """Parse, validate and check one calculator file (`path` as the editor sees it)."""
    try:
        node, data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        return [ContentError(path, 1 + (mark.line if mark else 0), f"invalid YAML: {problem}")]
    if not isinstance(data, dict):
        return [ContentError(path, 1, "must be a mapping of field: value (see the README)")]
    try:
        calc = Calculator.model_validate(data)
    except ValidationError as exc:
        return [_untagged(e, node) for e in yaml_field_errors(exc, node, path)]
    return check_calculator(path, calc, node, Path(path).stem) or calc


_TAGGED = re.compile(r"^inputs\.(\d+)\.(?:number|choice|yesno)\.([^:]*): (.*)$", re.S)


def _untagged(error: ContentError, node: yaml.Node | None) -> ContentError:
    """Pydantic names an input's type in its errors' place (`inputs.0.yesno.weight`): leave it
    out, and find the line of the field itself."""
    found = _TAGGED.match(error.message)
    if found is None:
        return error
    index, rest, message = found.groups()
    loc: list[int | str] = [
        "inputs",
        int(index),
        *(int(p) if p.isdigit() else p for p in rest.split(".")),
    ]
    message = message.replace(
        "see the README's front matter table", "see the README's calculator fields"
    )
    return ContentError(error.path, yaml_line(node, loc), f"inputs.{index}.{rest}: {message}")


def calculator_citations(
    directory: Path, shown: Callable[[Path], str] = str
) -> list[tuple[str, list[Citation]]]:
    """(path, citations) of each calculator file's `references:` keys, with their lines, for
    the reference library's check (an unknown key fails the build as a topic's would)."""
    found = []
    for path in sorted(directory.glob("*.yml")) if directory.is_dir() else []:
        try:
            node, data = load_yaml(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            continue  # reported by load_calculators
        refs = data.get("references") if isinstance(data, dict) else None
        if isinstance(refs, list):
            citations = [
                Citation([key], yaml_line(node, ["references", i]))
                for i, key in enumerate(refs)
                if isinstance(key, str)
            ]
            found.append((shown(path), citations))
    return found


def calculator_ids(directory: Path) -> list[str]:
    """The ids of the calculator files in `directory`, valid or not (for checking markers)."""
    return sorted(p.stem for p in directory.glob("*.yml")) if directory.is_dir() else []


def load_calculators(
    directory: Path, shown: Callable[[Path], str] = str
) -> dict[str, Calculator] | list[ContentError]:
    """Every calculator in `directory` by id, or all their errors (none when it is absent)."""
    found: dict[str, Calculator] = {}
    errors: list[ContentError] = []
    if not directory.is_dir():
        return found
    for path in sorted(directory.iterdir()):
        if path.name.startswith("."):
            continue
        if path.suffix != ".yml":
            errors.append(
                ContentError(shown(path), 1, "calculators: only <id>.yml files belong here")
            )
            continue
        loaded = load_calculator(shown(path), path.read_text(encoding="utf-8"))
        if isinstance(loaded, list):
            errors.extend(loaded)
        else:
            found[loaded.id] = loaded
    return errors or found
