"""The booking sandbox as the suites use it: started with a suite's options, cleaned per test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SANDBOX_API_KEY = "sandbox-api-key-7f3a"  # test-only
# Webhook retries in tens of milliseconds instead of the sandbox's 1 s / 5 s / 30 s.
QUICK_DELIVERY: dict[str, Any] = {"retry_delays": (0.05, 0.05), "max_retry_after": 0.2}


def start_sandbox(api_key: str | None = None, webhook_secret: str | None = None, **options: Any) -> Any:
    """A started BookingSandbox on an ephemeral loopback port; ``options`` as BookingSandbox takes them."""
    from emulators.booking import BookingSandbox

    return BookingSandbox(api_key=api_key, webhook_secret=webhook_secret, **options).start()


@contextmanager
def running_sandbox(api_key: str | None = None, webhook_secret: str | None = None, **options: Any) -> Iterator[Any]:
    """``start_sandbox`` for the length of a ``with`` block."""
    sandbox = start_sandbox(api_key, webhook_secret, **options)
    try:
        yield sandbox
    finally:
        sandbox.stop()


def clean_sandbox(sandbox: Any, *, api_key: str | None, webhook_secret: str | None = None,
                  webhook_url: str | None = None) -> Any:
    """``sandbox`` reset (no sessions, appointments, logs or planned failures) with this test's credentials."""
    sandbox.reset()
    sandbox.api_key = api_key
    if webhook_secret is not None:
        sandbox.webhook_secret = webhook_secret
    if webhook_url is not None:
        sandbox.webhook_url = webhook_url
    return sandbox


def session_requests(sandbox: Any) -> list[dict[str, Any]]:
    """The session requests the sandbox received (POST /api/sessions)."""
    return [r for r in sandbox.requests if r["method"] == "POST" and r["path"] == "/api/sessions"]
