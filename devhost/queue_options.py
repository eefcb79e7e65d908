"""host.json ``extensions.queues`` with the host's defaults, the polling back-off and the hide times.

Pure decisions for the queue listener (devhost/queue_listener.py); nothing here does I/O.
Defaults are those of the Storage Queues extension 5.x in the Development environment
(Learn: "Azure Queue storage trigger for Azure Functions", host.json settings).
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

DEV_MAX_POLLING_INTERVAL = 2.0  # seconds: the extension's cap in Development (1 min elsewhere)
MIN_POLLING_INTERVAL = 0.1
MAX_TIMESPAN = 7 * 24 * 3600.0  # a queue message cannot stay hidden longer than 7 days
MAX_BATCH_SIZE = 32  # the most one Get Messages call returns

# The listener's own hide while a function runs, and how often it is renewed (not visibilityTimeout).
HOST_VISIBILITY_SECONDS = 600
VISIBILITY_ENV = "DEVHOST_QUEUE_VISIBILITY_SECONDS"

_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$")


class QueueOptionsError(ValueError):
    """host.json ``extensions.queues`` has a value the host would reject."""


def parse_timespan(text: object, setting: str) -> float:
    """A .NET TimeSpan (``[d.]hh:mm:ss[.fffffff]``) in seconds."""
    match = _TIMESPAN.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise QueueOptionsError(f"extensions.queues.{setting}: {text!r} is not a time span like 00:00:02")
    days, hours, minutes, seconds, fraction = match.groups()
    if int(hours) > 23 or int(minutes) > 59 or int(seconds) > 59:
        raise QueueOptionsError(f"extensions.queues.{setting}: {text!r} is not a time span like 00:00:02")
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (float(f"0.{fraction}") if fraction else 0.0)


def _integer(section: Mapping[str, Any], setting: str, default: int, lowest: int, highest: int) -> int:
    value = section.get(setting, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
        raise QueueOptionsError(f"extensions.queues.{setting}: must be a whole number in {lowest}-{highest}")
    return value


@dataclass(frozen=True)
class QueuesOptions:
    max_polling_interval: float = DEV_MAX_POLLING_INTERVAL
    visibility_timeout: float = 0.0
    batch_size: int = 16
    new_batch_threshold: int = 8
    max_dequeue_count: int = 5
    message_encoding: str = "base64"  # or "none"

    @classmethod
    def from_host_json(cls, document: Mapping[str, Any], cores: int | None = None) -> QueuesOptions:
        """``extensions.queues`` of a parsed host.json; missing settings take the defaults."""
        extensions = document.get("extensions") or {}
        section = extensions.get("queues") if isinstance(extensions, Mapping) else None
        section = section or {}
        if not isinstance(section, Mapping):
            raise QueueOptionsError("extensions.queues must be an object")
        settings = {key[0].lower() + key[1:]: value for key, value in section.items()}
        polling = DEV_MAX_POLLING_INTERVAL
        if "maxPollingInterval" in settings:
            polling = parse_timespan(settings["maxPollingInterval"], "maxPollingInterval")
            if polling < MIN_POLLING_INTERVAL:
                raise QueueOptionsError("extensions.queues.maxPollingInterval: must be at least 00:00:00.1")
        visibility = parse_timespan(settings.get("visibilityTimeout", "00:00:00"), "visibilityTimeout")
        if visibility > MAX_TIMESPAN:
            raise QueueOptionsError("extensions.queues.visibilityTimeout: must be at most 7 days")
        batch_size = _integer(settings, "batchSize", 16, 1, MAX_BATCH_SIZE)
        # The host's default: half a batch per core (SkuUtility); 1 core on Consumption.
        default_threshold = batch_size // 2 * max(1, cores or os.cpu_count() or 1)
        threshold = _integer(settings, "newBatchThreshold", default_threshold, 0, 10_000)
        encoding = settings.get("messageEncoding", "base64")
        if not isinstance(encoding, str) or encoding.lower() not in ("base64", "none"):
            raise QueueOptionsError("extensions.queues.messageEncoding: must be base64 or none")
        return cls(
            max_polling_interval=polling,
            visibility_timeout=visibility,
            batch_size=batch_size,
            new_batch_threshold=threshold,
            max_dequeue_count=_integer(settings, "maxDequeueCount", 5, 1, 10_000),
            message_encoding=encoding.lower(),
        )


class PollingBackoff:
    """The listener's wait after an empty poll: randomized exponential from 100 ms, capped.

    wait(n) = 100 ms + 100 ms x 2^(n-1) x (0.8..1.2) for the n-th empty poll in a row, at most
    ``maximum``; a poll that finds a message starts again at 100 ms.
    """

    MINIMUM = MIN_POLLING_INTERVAL

    def __init__(self, maximum: float, jitter: Callable[[], float] | None = None) -> None:
        self.maximum = max(maximum, self.MINIMUM)
        self._jitter = jitter or (lambda: random.uniform(0.8, 1.2))  # noqa: S311 - not for security
        self._misses = 0
        self.current = self.MINIMUM

    def found(self) -> float:
        self._misses = 0
        self.current = self.MINIMUM
        return self.current

    def missed(self) -> float:
        self._misses = min(self._misses + 1, 64)  # 2^64 x 100 ms is past any cap already
        grown = self.MINIMUM + self.MINIMUM * (2 ** (self._misses - 1)) * self._jitter()
        self.current = min(grown, self.maximum)
        return self.current


@dataclass(frozen=True)
class ListenerVisibility:
    """How long a received message stays hidden while its function runs, and the renewal timer.

    The host hides for 10 min and renews every 5 min; after a server error the interval halves,
    never below 1 min. ``shortened(seconds)`` keeps those proportions for a shorter hide.
    """

    hide_seconds: int = HOST_VISIBILITY_SECONDS

    @property
    def renew_every(self) -> float:
        return self.hide_seconds / 2

    @property
    def min_renew_every(self) -> float:
        return self.hide_seconds / 10

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ListenerVisibility:
        """``DEVHOST_QUEUE_VISIBILITY_SECONDS`` (1-600) when set, else the host's 10 min."""
        value = (os.environ if environ is None else environ).get(VISIBILITY_ENV, "").strip()
        if not value:
            return cls()
        return cls.shortened(value)

    @classmethod
    def shortened(cls, seconds: object) -> ListenerVisibility:
        text = str(seconds).strip()
        if not text.isdigit() or not 1 <= int(text) <= HOST_VISIBILITY_SECONDS:
            raise QueueOptionsError(f"{VISIBILITY_ENV}: must be a whole number of seconds in "
                                    f"1-{HOST_VISIBILITY_SECONDS}")
        return cls(int(text))
