"""local.settings.json, read the way Core Tools reads it.

``Values`` become environment variables for the app, but a variable already set in the
environment wins (so CI or a shell can override one setting without editing the file).
``Host.LocalHttpPort`` is the default port and ``Host.CORS`` the allowed browser origins.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class LocalSettingsError(ValueError):
    """local.settings.json cannot be used; the message names the file and the problem."""


class HostSection(BaseModel):
    model_config = ConfigDict(extra="ignore")

    local_http_port: int | None = Field(default=None, alias="LocalHttpPort", ge=0, le=65535)
    cors: str | None = Field(default=None, alias="CORS")
    cors_credentials: bool = Field(default=False, alias="CORSCredentials")

    @property
    def cors_origins(self) -> tuple[str, ...]:
        return tuple(o.strip().rstrip("/") for o in (self.cors or "").split(",") if o.strip())


class LocalSettings(BaseModel):
    """The parts of local.settings.json the devhost uses."""

    model_config = ConfigDict(extra="ignore")

    is_encrypted: bool = Field(default=False, alias="IsEncrypted")
    values: dict[str, str] = Field(default_factory=dict, alias="Values")
    host: HostSection = Field(default_factory=HostSection, alias="Host")


def load_local_settings(path: Path) -> LocalSettings:
    """Parse ``path``; a missing file means no settings, a malformed one is a clear error."""
    if not path.exists():
        return LocalSettings()
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise LocalSettingsError(f"{path}: not valid JSON ({exc.__class__.__name__}: {exc})") from None
    try:
        settings = LocalSettings.model_validate(document)
    except ValidationError as exc:
        errors = exc.errors(include_input=False)
        problems = "; ".join(f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in errors)
        hint = " (Values must be strings)" if any(error["loc"][0] == "Values" for error in errors) else ""
        raise LocalSettingsError(f"{path}: {problems}{hint}") from None
    if settings.is_encrypted:
        raise LocalSettingsError(f"{path}: IsEncrypted is true; the devhost reads only unencrypted settings")
    return settings


def apply_values(values: Mapping[str, str], environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Set each value not already in the environment; returns the names that were set."""
    env = os.environ if environ is None else environ
    applied = []
    for name, value in values.items():
        if name not in env:
            env[name] = value
            applied.append(name)
    return applied
