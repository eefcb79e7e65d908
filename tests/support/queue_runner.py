"""Running the app's queue-triggered functions in-process on messages from Azurite, as the host's queue
extension does in the essentials: base64 bodies, hidden while running, deleted on success, visible
again on failure, moved to ``<queue>-poison`` at ``max_dequeue_count``.

For component tests that drive a job step by step without a host (the dev host's own listener is
tested with the dev host). ``azure.functions.queue.QueueMessage`` is the type the worker passes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from azure.functions.queue import QueueMessage

if TYPE_CHECKING:
    from entry.composition_root import CompositionRoot


class QueueRunner:
    def __init__(self, root: CompositionRoot, connection_string: str, *, max_dequeue_count: int = 5) -> None:
        import background
        from http_api import build_app

        app = build_app(root)
        background.register(app, root)
        self._functions: dict[str, Any] = {}
        for function in app.get_functions():
            trigger = function.get_trigger()
            if trigger is not None and trigger.get_binding_name() == "queueTrigger":
                self._functions[trigger.queue_name] = function.get_user_function()
        self._connection_string = connection_string
        self.max_dequeue_count = max_dequeue_count
        self.handled: dict[str, int] = {}
        self.failures: list[BaseException] = []

    def _client(self, queue: str) -> Any:
        from azure.storage.queue import BinaryBase64DecodePolicy, BinaryBase64EncodePolicy
        from azure.storage.queue.aio import QueueClient

        return QueueClient.from_connection_string(
            self._connection_string, queue, message_encode_policy=BinaryBase64EncodePolicy(),
            message_decode_policy=BinaryBase64DecodePolicy(),
        )

    async def run_once(self, queue: str, *, visibility: int = 60) -> int:
        """Receive what is visible on ``queue`` and run its function on each message; how many ran."""
        from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

        function = self._functions[queue]
        async with self._client(queue) as client:
            try:
                messages = [m async for m in client.receive_messages(max_messages=32, visibility_timeout=visibility)]
            except ResourceNotFoundError:
                return 0

            async def one(message: Any) -> None:
                self.handled[queue] = self.handled.get(queue, 0) + 1
                try:
                    await function(QueueMessage(id=message.id, body=message.content, pop_receipt=message.pop_receipt,
                                                dequeue_count=message.dequeue_count))
                except Exception as failure:  # noqa: BLE001 - the host's reaction to a failed invocation
                    self.failures.append(failure)
                    if message.dequeue_count >= self.max_dequeue_count:
                        async with self._client(f"{queue}-poison") as poison:
                            try:
                                await poison.create_queue()
                            except ResourceExistsError:
                                pass
                            await poison.send_message(message.content)
                        await client.delete_message(message)
                    else:
                        await client.update_message(message, visibility_timeout=0)
                else:
                    await client.delete_message(message)

            # side by side, as the host runs a batch: two jobs' steps really race for the leases
            await asyncio.gather(*(one(m) for m in messages))
            ran = len(messages)
        return ran

    async def run_until(self, condition: Callable[[], Any], seconds: float = 30.0, *queues: str) -> None:
        """Run every queue's messages until ``condition()`` (a coroutine function or a plain one) is truthy."""
        deadline = time.monotonic() + seconds
        while True:
            outcome = condition()
            if asyncio.iscoroutine(outcome):
                outcome = await outcome
            if outcome:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {seconds} s; handled {self.handled}, failures {self.failures!r}")
            ran = 0
            for queue in queues or tuple(self._functions):
                ran += await self.run_once(queue)
            if not ran:
                await asyncio.sleep(0.05)
