"""Waiting for a condition instead of sleeping for a guess."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")


def _polls(condition: Callable[[], T], seconds: float, what: str) -> Iterator[T]:
    """What ``condition`` returns, call after call, until something truthy; fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        yield condition()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what or condition!r}")


def wait_until(condition: Callable[[], T], seconds: float = 5.0, interval: float = 0.01, what: str = "") -> T:
    """Poll ``condition`` until it returns something truthy, and return that; fail after ``seconds``."""
    for result in _polls(condition, seconds, what):
        if result:
            return result
        time.sleep(interval)
    raise AssertionError("unreachable")


async def wait_until_async(condition: Callable[[], T], seconds: float = 5.0, interval: float = 0.01,
                           what: str = "") -> T:
    """``wait_until`` for a test on an event loop: the loop keeps running while it waits."""
    for result in _polls(condition, seconds, what):
        if result:
            return result
        await asyncio.sleep(interval)
    raise AssertionError("unreachable")
