"""The build's calculators as one JSON file beside the site directory, which every server reads.

Written by the MkDocs hook after every check passed; like the manifest it sits beside the site,
never inside it, so it is not published as a page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from site_api.calculators.schema import Calculator
from site_api.content.manifest import ManifestError

VERSION = 1


def calculators_path_for(site_dir: Path) -> Path:
    """`site` -> `site-calculators.json`, beside the manifest."""
    return site_dir.with_name(site_dir.name + "-calculators.json")


def write_calculators(site_dir: Path, calculators: Mapping[str, Calculator]) -> None:
    """Write every calculator of the build (sorted, so equal builds write equal files)."""
    data = {
        "version": VERSION,
        "calculators": [
            calculators[key].model_dump(mode="json", by_alias=True) for key in sorted(calculators)
        ],
    }
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
    calculators_path_for(site_dir).write_text(text, encoding="utf-8")


def read_calculators(site_dir: Path) -> dict[str, Calculator]:
    """The calculators of a build by id; none for a build made before calculators existed."""
    path = calculators_path_for(site_dir)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError("version: expected 1")
        found = [Calculator.model_validate(item) for item in data.get("calculators", [])]
    except (ValueError, ValidationError) as exc:
        raise ManifestError(
            f"{path} is corrupt ({exc}): rebuild the site with 'make build'"
        ) from None
    return {calc.id: calc for calc in found}
