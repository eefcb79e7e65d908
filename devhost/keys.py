"""Function keys, checked the way the Functions host checks them.

A ``function`` level route accepts one of that function's keys, a host key or the master
key; an ``admin`` level route only the master key; ``anonymous`` needs none. The key comes
from the ``x-functions-key`` header or else the ``code`` query parameter. Keys live in a
devhost file (default ``.run/keys.json``, created with random keys on first use), because
local.settings.json has no place for them and Core Tools does not check keys at all::

    {"masterKey": "...", "hostKeys": {"default": "..."},
     "functionKeys": {"import_schedules": {"default": "..."}}}
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

KEY_HEADER = "x-functions-key"
KEY_QUERY = "code"


class KeysError(ValueError):
    """The keys file cannot be used; the message names the file, never a key."""


def new_key() -> str:
    return secrets.token_urlsafe(32)


class HostKeys(BaseModel):
    """The master key, host keys and per-function keys of one local host."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)

    master_key: str = Field(default_factory=new_key, alias="masterKey", min_length=16)
    host_keys: dict[str, str] = Field(default_factory=lambda: {"default": new_key()}, alias="hostKeys")
    function_keys: dict[str, dict[str, str]] = Field(default_factory=dict, alias="functionKeys")

    @field_validator("host_keys")
    @classmethod
    def _keys_not_empty(cls, keys: dict[str, str]) -> dict[str, str]:
        if any(len(key) < 16 for key in keys.values()):
            raise ValueError("every key needs at least 16 characters")
        return keys

    @property
    def default_key(self) -> str:
        """The key to put in example URLs: the default host key (or the master key)."""
        return self.host_keys.get("default") or next(iter(self.host_keys.values()), self.master_key)

    def accepts(self, auth_level: str, function_name: str, presented: str | None) -> bool:
        """Whether ``presented`` opens a route of ``auth_level`` for ``function_name``.

        Compares every candidate in constant time, so timing tells nothing about which
        key (or how much of one) matched.
        """
        if auth_level == "anonymous":
            return True
        if not presented:
            return False
        candidates = [self.master_key]
        if auth_level == "function":
            candidates += list(self.host_keys.values())
            candidates += list(self.function_keys.get(function_name, {}).values())
        given = presented.encode()
        matched = False
        for candidate in candidates:
            matched |= hmac.compare_digest(given, candidate.encode())
        return matched


def load_or_create_keys(path: Path) -> HostKeys:
    """Read the keys file, or write one with fresh random keys (mode 0600) when missing."""
    if path.exists():
        try:
            return HostKeys.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, ValidationError) as exc:
            kind = "invalid keys" if isinstance(exc, ValidationError) else exc.__class__.__name__
            raise KeysError(f"{path}: cannot use this keys file ({kind}); fix it or delete it to get new keys") from None
    keys = HostKeys()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(keys.model_dump(by_alias=True), handle, indent=2)
        handle.write("\n")
    return keys
