"""The build's calculators as one JSON file beside the site directory, which every server reads.

Written by the MkDocs hook after every check passed; like the manifest it sits beside the site,
never inside it, so it is not published as a page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from site_api.calculators.schema import Calculator
from site_api.content.manifest import ManifestError
from site_api.content.references import LibraryEntry

VERSION = 1


@dataclass(frozen=True)
class BuiltCalculators:
    """A build's calculators by id, and the reference library's view of the works they cite."""

    calculators: dict[str, Calculator] = field(default_factory=dict)
    works: dict[str, dict[str, Any]] = field(default_factory=dict)

    def sources(self, calc: Calculator) -> list[dict[str, Any]]:
        """The calculator's references as the form shows them (citation text, DOI, PubMed id)."""
        return [self.works[key] for key in calc.references if key in self.works]


def calculators_path_for(site_dir: Path) -> Path:
    """`site` -> `site-calculators.json`, beside the manifest."""
    return site_dir.with_name(site_dir.name + "-calculators.json")


def built(
    calculators: Mapping[str, Calculator], library: Mapping[str, LibraryEntry]
) -> BuiltCalculators:
    """The calculators with the library's view of every work they cite."""
    keys = sorted({key for calc in calculators.values() for key in calc.references})
    return BuiltCalculators(
        dict(calculators), {key: library[key].view(key) for key in keys if key in library}
    )


def write_calculators(site_dir: Path, found: BuiltCalculators) -> None:
    """Write every calculator of the build (sorted, so equal builds write equal files)."""
    data = {
        "version": VERSION,
        "calculators": [
            found.calculators[key].model_dump(mode="json", by_alias=True)
            for key in sorted(found.calculators)
        ],
        "works": found.works,
    }
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
    calculators_path_for(site_dir).write_text(text, encoding="utf-8")


def read_calculators(site_dir: Path) -> BuiltCalculators:
    """The calculators of a build; none for a build made before calculators existed."""
    path = calculators_path_for(site_dir)
    if not path.is_file():
        return BuiltCalculators()
    try:
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError("version: expected 1")
        found = [Calculator.model_validate(item) for item in data.get("calculators", [])]
        works = data.get("works", {})
        if not isinstance(works, dict):
            raise ValueError("works: expected a mapping")
    except (ValueError, ValidationError) as exc:
        raise ManifestError(
            f"{path} is corrupt ({exc}): rebuild the site with 'make build'"
        ) from None
    return BuiltCalculators({calc.id: calc for calc in found}, works)
