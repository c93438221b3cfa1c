"""The notes API keeps to its own OpenAPI document: schemathesis, anonymous and signed in (SQLite).

Fixed seed (derandomized) and bounded examples, so a run is repeatable and takes well under two
minutes; every check schemathesis has must pass, which includes "no 5xx".
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from conftest import TEST_KEY
from hypothesis import HealthCheck, given, settings
from visitors import signed_in_cookie

from site_api.config import Settings
from site_api.web.app import create_app

EXAMPLES = 40


@pytest.fixture(scope="module")
def api_settings(
    built_site: Path, tmp_path_factory: pytest.TempPathFactory, migrated_db: Path
) -> Settings:
    var = tmp_path_factory.mktemp("schema")
    shutil.copy(migrated_db, var / "site.db")
    return Settings(site_dir=built_site, var_dir=var, secret_key=TEST_KEY)


@pytest.fixture(scope="module")
def api_schema(api_settings: Settings) -> Any:
    return schemathesis.openapi.from_asgi("/api/openapi.json", create_app(api_settings))


@pytest.fixture(scope="module")
def session_cookie(api_settings: Settings) -> str:
    return signed_in_cookie(api_settings, email="schema-reader@example.org")


bounded = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


def failures(api_schema: Any, headers: dict[str, str]) -> list[str]:
    """Every operation's generated cases, called and validated; what failed, one line each."""
    failed = []
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @bounded
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # one failure must not hide the next
            failed.append(f"{operation.label}: {str(exc)[:1500]}")
    return failed


def test_anonymous_requests_match_the_schema(api_schema: Any) -> None:
    assert failures(api_schema, {}) == []


def test_signed_in_requests_match_the_schema(api_schema: Any, session_cookie: str) -> None:
    assert failures(api_schema, {"cookie": session_cookie}) == []


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/notes/stills-disease", {"GET", "PUT", "DELETE", "OPTIONS"}),
        ("/api/notes", {"GET", "OPTIONS"}),
    ],
)
def test_options_and_405_name_every_method_of_the_path(
    client: Any, path: str, methods: set[str]
) -> None:
    options = client.options(path)
    assert options.status_code == 204
    assert set(options.headers["allow"].split(", ")) == methods
    refused = client.patch(path, json={})
    assert refused.status_code == 405
    assert set(refused.headers["allow"].split(", ")) == methods


def test_error_bodies_are_what_the_schema_declares(client: Any) -> None:
    document = client.get("/api/openapi.json").json()
    put = document["paths"]["/api/notes/{page_id}"]["put"]["responses"]
    for status in ("400", "401", "404", "413", "422"):
        ref = put[status]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/Detail"), (status, ref)
    invalid = client.put("/api/notes/stills-disease", content=b"not json")
    assert invalid.status_code in {400, 401, 422} and isinstance(invalid.json()["detail"], str)
    text = document["components"]["schemas"]["NoteIn"]["properties"]["text"]
    assert "\\x00-\\x08" in text["pattern"]


def test_the_fuzzed_operations_include_search(api_schema: Any) -> None:
    labels = {result.ok().label for result in api_schema.get_all_operations()}
    assert {"GET /api/search", "GET /api/notes", "PUT /api/notes/{page_id}"} <= labels
