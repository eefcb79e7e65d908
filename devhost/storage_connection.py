"""Which storage account a trigger's ``connection`` names, resolved from the app settings.

As the host does: ``connection`` names an app setting; an empty one means
``AzureWebJobsStorage``; the setting ``AzureWebJobs<name>`` is looked up first, then
``<name>``. A connection string is used as is. Identity-based connections
(``<name>__queueServiceUri``, ``__accountName``, ...) are not supported by the devhost: the
error says so, and never shows a setting's value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT_CONNECTION = "AzureWebJobsStorage"
PREFIX = "AzureWebJobs"


class ConnectionSettingError(ValueError):
    """The trigger's connection cannot be used by the devhost; the message names the setting."""


def connection_string(connection: str, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    name = connection.strip() or DEFAULT_CONNECTION
    candidates = [name] if name.startswith(PREFIX) else [PREFIX + name, name]
    for candidate in candidates:
        value = env.get(candidate, "").strip()
        if value:
            if "=" not in value:
                raise ConnectionSettingError(f"setting {candidate} is not a storage connection string "
                                             "(expected key=value pairs such as UseDevelopmentStorage=true)")
            return value
    for candidate in candidates:
        if any(key.startswith(candidate + "__") for key in env):
            raise ConnectionSettingError(
                f"setting {candidate}: identity-based connections ({candidate}__*) are not supported by the "
                f"devhost; set {candidate} to a connection string (UseDevelopmentStorage=true for Azurite)")
    raise ConnectionSettingError(f"storage connection {' or '.join(candidates)} is not set "
                                 "(an app setting with a connection string)")
