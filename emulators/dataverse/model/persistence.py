"""`--data FILE`: rows kept as JSON across restarts, written atomically after every change."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from emulators.dataverse.model.store import Store


class DataFileError(Exception):
    """The data file cannot be read back; the message says what to do."""


def load(store: Store, path: Path) -> bool:
    """Fill the store from `path`; False when there is no file yet."""
    if not path.exists():
        return False
    try:
        with path.open(encoding="utf-8") as handle:
            store.restore(json.load(handle))
    except (ValueError, KeyError, TypeError) as exc:
        raise DataFileError(
            f"The data file {path} is damaged ({type(exc).__name__}); delete it to start from the seed again."
        ) from None
    return True


def save(store: Store, path: Path) -> None:
    data = store.snapshot()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle, separators=(",", ":"))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
