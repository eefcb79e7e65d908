"""Helpers for the schedule import tests: users in the emulator, write counts, a tampering transport."""

from __future__ import annotations

from collections.abc import Callable, Collection

import httpx

from dataverse import RetryPolicy

FAST_RETRY = RetryPolicy(max_attempts=2, max_total_wait=1.0, base_delay=0.01, max_delay=0.02)


def seed_users(dataverse, emails: list[str]) -> dict[str, str]:
    """systemuserid by email, one user per email."""
    return {email: dataverse.insert("systemusers", {"internalemailaddress": email, "fullname": "Test User"})
            for email in emails}


def writes(dataverse) -> int:
    """Requests that can change data ($batch counts as one, as in Dataverse)."""
    return sum(dataverse.count(method=m) for m in ("POST", "PATCH", "PUT", "DELETE"))


class Tampered(httpx.AsyncHTTPTransport):
    """Real HTTP to the emulator, tampering with the requests whose URL path ends with ``suffix``.

    ``before(n, request)`` runs before the n-th such request is sent (a concurrent writer acts);
    the answers to the requests numbered in ``lose`` are read, then dropped (the write landed,
    the client never hears of it).
    """

    def __init__(
        self, suffix: str, *, before: Callable[[int, httpx.Request], None] | None = None,
        lose: Collection[int] = (),
    ) -> None:
        super().__init__()
        self.suffix, self.before, self.lose, self.seen = suffix, before, lose, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith(self.suffix):
            return await super().handle_async_request(request)
        self.seen += 1
        number = self.seen
        if self.before is not None:
            self.before(number, request)
        response = await super().handle_async_request(request)
        if number in self.lose:
            await response.aread()
            await response.aclose()
            raise httpx.ReadError("the answer was lost", request=request)
        return response
