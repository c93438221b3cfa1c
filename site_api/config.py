"""Every setting of the site, from `SITE_`-prefixed environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """One place for every setting; tests build their own with `Settings(...)`."""

    model_config = SettingsConfigDict(env_prefix="SITE_", extra="forbid")

    env: Literal["development", "production"] = "development"
    site_dir: Path = Path("site")
    var_dir: Path = Path("var")
    database_url: str = ""
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'site.db'}"
        return self
