"""FastAPI dependencies for what every request may use: the settings and the database engine."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from site_api.config import Settings


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(_settings)]
EngineDep = Annotated[Engine, Depends(_engine)]
