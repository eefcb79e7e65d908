"""Running a flow's requests side by side, failing as one."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


async def all_or_first_error(coros: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """Results in order; on the first failure the others are cancelled and that error is raised as is.

    A plain ``gather`` would leave the siblings writing after the flow gave up; a bare
    ``TaskGroup`` raises an ExceptionGroup that the HTTP layer cannot map to an answer.
    """
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coros]
    except BaseExceptionGroup as failed:
        error: BaseException = failed
        while isinstance(error, BaseExceptionGroup):
            error = error.exceptions[0]
        raise error from None
    return [task.result() for task in tasks]
