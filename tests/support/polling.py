"""Waiting for a condition instead of sleeping for a guess."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], seconds: float = 5.0, interval: float = 0.01, what: str = "") -> T:
    """Poll ``condition`` until it returns something truthy, and return that; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what or condition!r}")
        time.sleep(interval)


async def wait_until_async(condition: Callable[[], T], seconds: float = 5.0, interval: float = 0.01,
                           what: str = "") -> T:
    """``wait_until`` for a test on an event loop: the loop keeps running while it waits."""
    deadline = time.monotonic() + seconds
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what or condition!r}")
        await asyncio.sleep(interval)
