"""FastAPI dependencies for what every request may use (settings, database engine), and what
every JSON API route shares: the error body and the errors it declares, the page-id parameter,
and the no-store header of personal answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from site_api.config import Settings


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(_settings)]
EngineDep = Annotated[Engine, Depends(_engine)]


class Detail(BaseModel):
    """An error as every API route sends it (site_api/web/errors.py): one sentence to act on."""

    detail: str


#: Personal answers are never kept by a browser or a cache.
NO_STORE = {"cache-control": "private, no-store"}
#: A page id in a path or a body, as the content model allows it.
PageIdPath = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]


def api_error(description: str) -> dict[str, Any]:
    """An error response for the OpenAPI document: the `Detail` body, with what it means here."""
    return {"model": Detail, "description": description}


#: The errors every JSON API route may answer (site_api/web/errors.py sends these bodies).
API_ERRORS: dict[int | str, dict[str, Any]] = {
    400: api_error("The body could not be read (not JSON, or not UTF-8)."),
    401: api_error("Not signed in."),
    413: api_error("The body is over 64 KB."),
    422: api_error("A parameter or the body breaks a rule; `detail` says which and how."),
}
