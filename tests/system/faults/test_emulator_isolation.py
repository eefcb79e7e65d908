"""The emulator's request log after ``reset()`` must only hold requests made after it."""

from __future__ import annotations

import threading

import httpx

from tests.support import loopback
from tests.support.polling import wait_until


def test_a_hang_interrupted_by_reset_leaves_the_new_log_empty(dataverse) -> None:
    dataverse.faults.hang(1, seconds=30, path="leads")
    def request() -> None:
        try:
            loopback.get(f"{dataverse.url}/api/data/v9.2/leads", timeout=5)
        except httpx.HTTPError:
            pass  # the reset drops the hung connection

    thread = threading.Thread(target=request, daemon=True)
    thread.start()
    wait_until(lambda: dataverse.faults.pending() == 0, what="the request to take its fault and hang")
    dataverse.reset()
    thread.join(timeout=5)

    assert dataverse.requests == []
