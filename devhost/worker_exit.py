"""What the end of a worker process would close, closed on the devhost's loop as it stops.

The Functions host ends a worker by ending its process: whatever HTTP sessions the app keeps for
its lifetime (the storage SDK's aiohttp sessions, created per event loop by the composition root)
are never closed by the app, and the process exit drops their sockets. The devhost's loop stops
while the process goes on (tests and benchmarks run several hosts in one process), so those
sessions would be garbage-collected later and aiohttp would log "Unclosed client session" at
ERROR level. The devhost closes the ones left open on its own loop instead, as the exit would.
"""

from __future__ import annotations

import asyncio
import gc
import logging

log = logging.getLogger("devhost")


async def close_sessions_left_open() -> int:
    """Close the aiohttp client sessions still open on the running loop; how many there were."""
    try:
        import aiohttp
    except ImportError:  # the app uses no storage SDK
        return 0
    loop = asyncio.get_running_loop()
    # ``_loop``: the session's loop (the public ``loop`` property is deprecated); sessions of other loops are left alone
    left = [obj for obj in gc.get_objects()
            if isinstance(obj, aiohttp.ClientSession) and not obj.closed and getattr(obj, "_loop", None) is loop]
    for session in left:
        await session.close()
    if left:
        log.debug("closed %d HTTP session(s) the app kept open, as the worker's exit would", len(left))
    return len(left)
