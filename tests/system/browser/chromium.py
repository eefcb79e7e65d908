"""Find and launch the system's Chromium through Playwright, never a downloaded browser.

Missing Chromium or Playwright skips the suite on a developer machine; on CI (``CI=true``)
the browser is part of the contract and its absence must fail the run.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Playwright

DEFAULT_CHROMIUM = "/usr/bin/chromium"
# Quiet, offline, sandbox-free: nothing may reach the network beyond the loopback stack.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> Path:
    """``CHROMIUM_PATH`` when set (other distributions), else Debian's package."""
    return Path(os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM)


def require_browser() -> Path:
    """The Chromium executable, or a skip (a failure on CI) naming what is missing."""
    missing = []
    if importlib.util.find_spec("playwright") is None:
        missing.append("the Python package `playwright` (pip install -r requirements-dev.txt)")
    executable = chromium_path()
    if not os.access(executable, os.X_OK):
        missing.append(f"Chromium at {executable} (apt-get install chromium, or set CHROMIUM_PATH)")
    if missing:
        reason = "browser tests need " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(reason + "; CI=true, so a missing browser is an error", pytrace=False)
        pytest.skip(reason)
    return executable


@contextmanager
def playwright_driver() -> Iterator["Playwright"]:
    """Playwright's driver; one per process at a time (its sync API runs its own event loop), so
    the suite shares it between the browsers it launches."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@contextmanager
def chromium_context(playwright: "Playwright", executable: Path, user_data_dir: Path,
                     extra_args: Sequence[str] = ()) -> Iterator["BrowserContext"]:
    """A headless Chromium with a fresh profile in ``user_data_dir``, and ``extra_args`` after ours."""
    context = playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=str(executable),
        headless=True,
        args=[*CHROMIUM_ARGS, *extra_args],
    )
    try:
        yield context
    finally:
        context.close()
