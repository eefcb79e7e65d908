"""host.json extensions.queues with the host's defaults; the polling back-off; the hide knob; connections."""

from __future__ import annotations

import pytest

from devhost.queue_listener import UndecodableMessage, decode_body, poison_queue_name
from devhost.queue_options import (
    ListenerVisibility,
    PollingBackoff,
    QueueOptionsError,
    QueuesOptions,
    parse_timespan,
)
from devhost.storage_connection import ConnectionSettingError, queue_connection


def test_defaults_are_the_hosts_in_development() -> None:
    options = QueuesOptions.from_host_json({"version": "2.0"}, cores=4)
    assert options == QueuesOptions(max_polling_interval=2.0, visibility_timeout=0.0, batch_size=16,
                                    new_batch_threshold=32, max_dequeue_count=5, message_encoding="base64")


def test_settings_are_read_from_extensions_queues() -> None:
    options = QueuesOptions.from_host_json({"extensions": {"queues": {
        "maxPollingInterval": "00:00:00.2", "visibilityTimeout": "00:00:30", "batchSize": 4,
        "newBatchThreshold": 0, "maxDequeueCount": 2, "messageEncoding": "None"}}}, cores=2)
    assert options == QueuesOptions(0.2, 30.0, 4, 0, 2, "none")


def test_the_default_threshold_follows_the_batch_size() -> None:
    assert QueuesOptions.from_host_json({"extensions": {"queues": {"batchSize": 6}}}, cores=2).new_batch_threshold == 6


@pytest.mark.parametrize("queues, complaint", [
    ({"batchSize": 0}, "batchSize"),
    ({"batchSize": 33}, "batchSize"),
    ({"batchSize": "8"}, "batchSize"),
    ({"maxDequeueCount": 0}, "maxDequeueCount"),
    ({"maxPollingInterval": "00:00:00.05"}, "at least"),
    ({"maxPollingInterval": "2s"}, "time span"),
    ({"visibilityTimeout": "8.00:00:00"}, "7 days"),
    ({"messageEncoding": "utf8"}, "base64 or none"),
])
def test_values_the_host_rejects_are_refused(queues: dict[str, object], complaint: str) -> None:
    with pytest.raises(QueueOptionsError, match=complaint):
        QueuesOptions.from_host_json({"extensions": {"queues": queues}})


def test_time_spans() -> None:
    assert parse_timespan("1.02:03:04.5", "x") == 86400 + 2 * 3600 + 3 * 60 + 4.5
    with pytest.raises(QueueOptionsError):
        parse_timespan("00:61:00", "x")


def test_backoff_grows_exponentially_to_the_cap_and_resets_on_a_message() -> None:
    backoff = PollingBackoff(2.0, jitter=lambda: 1.0)
    assert [round(backoff.missed(), 3) for _ in range(6)] == [0.2, 0.3, 0.5, 0.9, 1.7, 2.0]
    assert backoff.missed() == 2.0
    assert backoff.found() == 0.1
    assert round(backoff.missed(), 3) == 0.2


def test_backoff_jitter_stays_within_twenty_percent() -> None:
    low, high = PollingBackoff(60, jitter=lambda: 0.8), PollingBackoff(60, jitter=lambda: 1.2)
    for _ in range(3):
        low.missed(), high.missed()
    assert round(low.current, 3) == 0.42 and round(high.current, 3) == 0.58


def test_visibility_defaults_to_the_hosts_ten_minutes_and_shortens_in_proportion() -> None:
    assert ListenerVisibility.from_environment({}) == ListenerVisibility(600)
    assert ListenerVisibility(600).renew_every == 300 and ListenerVisibility(600).min_renew_every == 60
    short = ListenerVisibility.from_environment({"DEVHOST_QUEUE_VISIBILITY_SECONDS": "4"})
    assert (short.hide_seconds, short.renew_every, short.min_renew_every) == (4, 2, 0.4)
    for bad in ("0", "601", "1.5", "soon"):
        with pytest.raises(QueueOptionsError, match="DEVHOST_QUEUE_VISIBILITY_SECONDS"):
            ListenerVisibility.from_environment({"DEVHOST_QUEUE_VISIBILITY_SECONDS": bad})


def test_poison_queue_names() -> None:
    assert poison_queue_name("jobs") == "jobs-poison"
    assert poison_queue_name("jobs-poison") is None
    assert poison_queue_name("q" * 57) is None


def test_bodies_are_decoded_by_the_message_encoding() -> None:
    assert decode_body("aGk=", "base64") == b"hi"
    assert decode_body("aGk=", "none") == b"aGk="
    with pytest.raises(UndecodableMessage):
        decode_body("not base64!", "base64")


def test_connections_resolve_like_the_host() -> None:
    env = {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "AzureWebJobsJobs": "A=1", "Other": "B=2"}

    def connection_string(name: str, environ: dict[str, str]) -> str | None:
        return queue_connection(name, environ).connection_string

    assert connection_string("", env) == "UseDevelopmentStorage=true"
    assert connection_string("AzureWebJobsStorage", env) == "UseDevelopmentStorage=true"
    assert connection_string("Jobs", env) == "A=1"
    assert connection_string("Other", env) == "B=2"
    with pytest.raises(ConnectionSettingError, match="AzureWebJobsMissing or Missing is not set"):
        connection_string("Missing", env)
    # identity-based settings: tests/component/devhost/test_queue_identity.py
    assert queue_connection("", {"AzureWebJobsStorage__accountName": "acct1"}).uses_identity
    with pytest.raises(ConnectionSettingError, match="not a storage connection string") as refused:
        connection_string("", {"AzureWebJobsStorage": "secretvalue"})
    assert "secretvalue" not in str(refused.value)
