"""`--data FILE`: rows kept as JSON across restarts, written atomically after every change."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from emulators.dataverse.store import Store


def load(store: Store, path: Path) -> bool:
    """Fill the store from `path`; False when there is no file yet."""
    if not path.exists():
        return False
    with path.open(encoding="utf-8") as handle:
        store.restore(json.load(handle))
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
