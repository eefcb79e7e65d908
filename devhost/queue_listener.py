"""A queue-triggered function's listener, run the way the host's Storage Queues extension runs it.

- It waits for the queue to exist (it never creates the trigger's queue), then receives up to
  ``batchSize`` messages a call, hidden for the listener's own fixed time (10 min, or
  ``DEVHOST_QUEUE_VISIBILITY_SECONDS``), and polls again once no more than
  ``newBatchThreshold`` are running. An empty or failed poll backs off (queue_options.PollingBackoff).
- Each message runs as its own task. While it runs, a timer renews the hide every half of it.
  When the function ends, a renewal in flight is awaited (never cancelled): the service has
  issued it a new pop receipt, and the delete or release that follows needs that one.
- Success deletes the message. A failure makes it visible again after ``visibilityTimeout``
  while its dequeue count is below ``maxDequeueCount``; at that count it is copied to
  ``<queue>-poison`` (created on first use) and deleted. A message received with a count
  above the maximum, or whose body is not valid base64 (``messageEncoding`` base64), goes to
  the poison queue without running.
- A queue without poison queue (a poison queue itself, or a name too long) is handled as the
  host's QueueProcessor does: a failed message is not released (that would loop fast) but left
  hidden until the listener's hide lapses; one over ``maxDequeueCount`` is not run and left
  hidden. Each time, an error names the queue, the message id and the dequeue count.
- ``stop()`` (the host stopping) ends polling; ``run`` then waits up to ``drain_seconds`` for the
  running messages to finish (the host's listener waits for them too). Those still running then
  are abandoned and made visible at once (hide 0), so a restart picks them up without waiting
  for their hide to lapse.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from concurrent.futures import Executor
from typing import Any

from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.functions.queue import QueueMessage as TriggerMessage
from azure.storage.queue import QueueMessage as StorageMessage
from azure.storage.queue.aio import QueueClient

from devhost.functions import QueueFunction
from devhost.invocation import call_function, failure_frames
from devhost.queue_options import ListenerVisibility, PollingBackoff, QueuesOptions
from devhost.storage_connection import QueueConnection

log = logging.getLogger("devhost.queues")

POISON_SUFFIX = "-poison"
MAX_QUEUE_NAME = 63
# The SDK's own retries wait 15 s and more; the listener backs off and retries on its own.
CLIENT_OPTIONS: dict[str, Any] = {"retry_total": 0}
# How long stop() waits for running messages before abandoning them (see docs/local-host.md).
DRAIN_SECONDS = 30.0


def poison_queue_name(queue_name: str) -> str | None:
    """``<queue>-poison``; none for a queue that is itself a poison queue, or when too long."""
    if queue_name.lower().endswith(POISON_SUFFIX):
        return None
    name = queue_name + POISON_SUFFIX
    return name if len(name) <= MAX_QUEUE_NAME else None


class UndecodableMessage(ValueError):
    pass


def decode_body(content: str | None, encoding: str) -> bytes:
    """The bytes the function gets: base64-decoded (strictly) or the text as UTF-8."""
    text = content or ""
    if encoding == "none":
        return text.encode("utf-8")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UndecodableMessage("not valid base64") from exc


class _Receipt:
    """The pop receipt of a message in flight; each renewal gives a new one."""

    def __init__(self, value: str) -> None:
        self.value = value


class QueueListener:
    def __init__(self, function: QueueFunction, options: QueuesOptions, connection: QueueConnection,
                 executor: Executor, visibility: ListenerVisibility, drain_seconds: float = DRAIN_SECONDS) -> None:
        self.function = function
        self.drain_seconds = drain_seconds
        self._stopping = asyncio.Event()
        self.options = options
        self.visibility = visibility
        self._executor = executor
        self._poison_name = poison_queue_name(function.queue_name)
        self._in_flight: set[asyncio.Task[None]] = set()
        # No I/O yet; a connection string the SDK cannot read raises ValueError here. An identity-based
        # connection's credential is shared by both clients (one token) and closed with them.
        self._credential = connection.credential()
        self._queue: QueueClient = connection.queue_client(function.queue_name, self._credential, **CLIENT_OPTIONS)
        self._poison: QueueClient | None = (
            connection.queue_client(self._poison_name, self._credential, **CLIENT_OPTIONS)
            if self._poison_name else None)

    def stop(self) -> None:
        """End polling; ``run`` then drains the running messages and returns."""
        self._stopping.set()

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less when ``stop`` comes first."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            pass

    async def run(self) -> None:
        """Poll until ``stop`` (or cancelled), then drain."""
        queue, poison = self._queue, self._poison
        try:
            await self._poll(queue)
            await self._drain()
        finally:
            await self._abandon_in_flight()
            await queue.close()
            if poison is not None:
                await poison.close()
            if self._credential is not None:
                await self._credential.close()

    async def _poll(self, queue: QueueClient) -> None:
        backoff = PollingBackoff(self.options.max_polling_interval)
        exists = False
        said_missing = said_failing = False
        while not self._stopping.is_set():
            if len(self._in_flight) > self.options.new_batch_threshold:
                log.debug("function %s: %d in flight > newBatchThreshold %d; no poll until fewer",
                          self.function.name, len(self._in_flight), self.options.new_batch_threshold)
            while len(self._in_flight) > self.options.new_batch_threshold and not self._stopping.is_set():
                stopping = asyncio.ensure_future(self._stopping.wait())
                await asyncio.wait({*self._in_flight, stopping}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
            if self._stopping.is_set():
                return
            try:
                if not exists:
                    await queue.get_queue_properties()
                    exists, said_missing = True, False
                page = queue.receive_messages(messages_per_page=self.options.batch_size,
                                              max_messages=self.options.batch_size,
                                              visibility_timeout=self.visibility.hide_seconds).by_page()
                messages = [message async for message in await page.__anext__()]
                said_failing = False
            except StopAsyncIteration:
                messages = []
            except ResourceNotFoundError:
                exists = False
                if not said_missing:
                    log.info("function %s: queue %s does not exist yet; waiting for it",
                             self.function.name, self.function.queue_name)
                    said_missing = True
                await self._pause(backoff.missed())
                continue
            except (AzureError, OSError) as exc:
                if not said_failing:
                    log.warning("function %s: polling queue %s failed (%s); backing off",
                                self.function.name, self.function.queue_name, type(exc).__name__)
                    said_failing = True
                await self._pause(backoff.missed())
                continue
            if not messages:
                await self._pause(backoff.missed())
                continue
            if self._stopping.is_set():  # received as the host stops: given back at once, not run
                for message in messages:
                    await self._release(message.id, message.pop_receipt)
                return
            for message in messages:
                task = asyncio.create_task(self._process(message), name=f"{self.function.name}:{message.id}")
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            await self._pause(backoff.found())

    async def _drain(self) -> None:
        """Wait up to ``drain_seconds`` for the running messages; those left are abandoned (released)."""
        if not self._in_flight:
            return
        log.info("function %s: stopping; waiting up to %g s for %d running message(s)", self.function.name,
                 self.drain_seconds, len(self._in_flight))
        await asyncio.wait(set(self._in_flight), timeout=self.drain_seconds)

    async def _release(self, message_id: str, pop_receipt: str | None) -> None:
        try:
            await self._queue.update_message(message_id, pop_receipt=pop_receipt, visibility_timeout=0)
        except (AzureError, OSError) as exc:
            log.warning("function %s: message %s could not be made visible (%s); it comes back when its hide lapses",
                        self.function.name, message_id, type(exc).__name__)

    async def _abandon_in_flight(self) -> None:
        """Cancel the messages still running; each makes its message visible again at once."""
        tasks = list(self._in_flight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _process(self, message: StorageMessage) -> None:
        queue = self._queue
        receipt = _Receipt(message.pop_receipt)
        count = message.dequeue_count or 1
        try:
            if count > self.options.max_dequeue_count:
                await self._to_poison(message, receipt, f"dequeued {count} times",
                                      f"not run: dequeue count {count} is over maxDequeueCount "
                                      f"{self.options.max_dequeue_count}")
                return
            try:
                body = decode_body(message.content, self.options.message_encoding)
            except UndecodableMessage as exc:
                await self._to_poison(message, receipt, str(exc), f"not run: {exc} (dequeue {count})")
                return
            finished = asyncio.Event()
            renewal = asyncio.create_task(self._keep_hidden(message.id, receipt, finished))
            succeeded: bool | None = None
            try:
                succeeded = await self._invoke(message, body)
                # Never cancel a renewal: one on the wire has had a new pop receipt issued by the
                # service already. Its answer is awaited (shielded, so a stop arriving now cannot
                # cut it off either), so what follows uses the latest receipt.
                finished.set()
                await asyncio.shield(renewal)
            except asyncio.CancelledError:  # the host stops: while the function runs, or as its last renewal lands
                finished.set()
                if not renewal.done():
                    log.info("function %s: message %s: stopping; waiting for its hide renewal on the wire",
                             self.function.name, message.id)
                    await renewal
                if succeeded:  # the function is done: delete, so it is not run again
                    await queue.delete_message(message.id, receipt.value)
                else:
                    await self._release(message.id, receipt.value)
                    log.warning("function %s: message %s abandoned as the host stopped; visible again now",
                                self.function.name, message.id)
                raise
            finally:
                finished.set()
                if not renewal.done():
                    await renewal
            if succeeded:
                await queue.delete_message(message.id, receipt.value)
            elif self._poison is None:  # as in the host: no release, which would loop fast; it waits out the hide
                self._left_hidden(message, f"failed on dequeue {count} (maxDequeueCount "
                                           f"{self.options.max_dequeue_count})")
            elif count >= self.options.max_dequeue_count:
                await self._to_poison(message, receipt, f"failed on dequeue {count}", "")
            else:
                await queue.update_message(message.id, pop_receipt=receipt.value,
                                           visibility_timeout=int(self.options.visibility_timeout))
        except (AzureError, OSError) as exc:
            log.warning("function %s: message %s: storage call failed (%s); it reappears when its hide lapses",
                        self.function.name, message.id, type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - a devhost defect must not end the listener silently
            log.error("function %s: message %s: %s in the devhost%s", self.function.name, message.id,
                      type(exc).__name__, failure_frames(exc))

    async def _invoke(self, message: StorageMessage, body: bytes) -> bool:
        trigger = TriggerMessage(
            id=message.id, body=body, dequeue_count=message.dequeue_count, pop_receipt=message.pop_receipt,
            insertion_time=message.inserted_on, expiration_time=message.expires_on,
            time_next_visible=message.next_visible_on,
        )
        try:
            await call_function(self.function.handler, self.function.name, self.function.trigger_arg, trigger,
                                self._executor)
        except Exception as exc:  # noqa: BLE001 - a failing function is an outcome, as in the host
            log.error("function %s raised %s on message %s (dequeue %s; message withheld: it may hold personal "
                      "data)%s", self.function.name, type(exc).__name__, message.id, message.dequeue_count,
                      failure_frames(exc))
            return False
        return True

    async def _keep_hidden(self, message_id: str, receipt: _Receipt, finished: asyncio.Event) -> None:
        """Renew the hide every half of it until ``finished``; after a server error retry sooner
        (halved, with a floor). ``finished`` ends the wait between renewals, never a renewal."""
        interval = self.visibility.renew_every
        queue = self._queue
        while True:
            try:
                await asyncio.wait_for(finished.wait(), interval)
                return
            except TimeoutError:
                pass
            try:
                updated = await queue.update_message(message_id, pop_receipt=receipt.value,
                                                     visibility_timeout=self.visibility.hide_seconds)
            except ResourceNotFoundError:
                return  # the message or the queue is gone
            except HttpResponseError as exc:
                if exc.status_code is not None and 400 <= exc.status_code < 500:
                    return  # pop receipt mismatch: someone else holds the message now
                interval = max(interval / 2, self.visibility.min_renew_every)
                continue
            except (AzureError, OSError):
                interval = max(interval / 2, self.visibility.min_renew_every)
                continue
            receipt.value = updated.pop_receipt
            interval = self.visibility.renew_every
            log.debug("function %s: message %s hide renewed for %d s", self.function.name, message_id,
                      self.visibility.hide_seconds)

    def _left_hidden(self, message: StorageMessage, what: str) -> None:
        """A message of a queue without poison queue that failed or cannot run: said loudly, body withheld."""
        log.error("function %s: message %s of queue %s %s; the queue has no poison queue (it is one, or "
                  "<queue>-poison would pass 63 characters), so the message stays in it, hidden: it comes "
                  "back in %d s, and after each return, until it expires or is deleted", self.function.name,
                  message.id, self.function.queue_name, what, self.visibility.hide_seconds)

    async def _to_poison(self, message: StorageMessage, receipt: _Receipt, reason: str, unpoisoned: str) -> None:
        """Move to the poison queue; without one, leave the message hidden and say ``unpoisoned``."""
        queue, poison = self._queue, self._poison
        if poison is None:
            self._left_hidden(message, unpoisoned)
            return
        try:
            await poison.send_message(message.content)
        except ResourceNotFoundError:
            try:
                await poison.create_queue()
            except ResourceExistsError:
                pass
            await poison.send_message(message.content)
        await queue.delete_message(message.id, receipt.value)
        log.warning("function %s: message %s %s; moved to %s", self.function.name, message.id, reason,
                    self._poison_name)
