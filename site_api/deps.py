"""FastAPI dependencies for what every request may use (settings, database engine), and the
error body every API route declares."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel
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
