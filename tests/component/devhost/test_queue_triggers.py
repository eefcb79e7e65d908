"""Queue- and timer-triggered functions run by the devhost against Azurite, as the host runs them."""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from devhost import DevHost
from tests.component.devhost.queue_app import records, write_queue_app
from tests.support.counting_proxy import counting_relays
from tests.support.polling import wait_until

pytestmark = pytest.mark.usefixtures("azurite")


def queue_client(azurite: Any, name: str, base64_encoded: bool = True) -> QueueClient:
    """A producer's client: base64 both ways (as the trigger expects by default) or raw text."""
    if not base64_encoded:
        return QueueClient.from_connection_string(azurite.connection_string, name)
    return QueueClient.from_connection_string(azurite.connection_string, name,
                                              message_encode_policy=TextBase64EncodePolicy(),
                                              message_decode_policy=TextBase64DecodePolicy())


@contextmanager
def running_host(app_dir: Path, azurite: Any, **options: Any) -> Iterator[DevHost]:
    settings = {"AzureWebJobsStorage": azurite.connection_string, "JobsStorage": azurite.connection_string,
                **options.pop("settings", {})}
    with DevHost(app_dir, settings=settings, **options) as host:
        yield host


def messages_left(queue: QueueClient) -> int:
    """Visible and hidden messages still in the queue."""
    return queue.get_queue_properties().approximate_message_count


def test_a_message_is_delivered_to_a_sync_function_and_deleted(tmp_path: Path, azurite: Any) -> None:
    app = write_queue_app(tmp_path)
    with running_host(app, azurite) as host:
        assert sorted(f.name for f in host.queue_functions) == ["dead", "held", "work"]
        work = next(f for f in host.queue_functions if f.name == "work")
        assert (work.queue_name, work.connection, work.trigger_arg) == ("work", "AzureWebJobsStorage", "msg")
        queue = queue_client(azurite, "work")
        queue.create_queue()  # after the listener started: it waits for the queue, never creates it
        sent = queue.send_message("héllo")
        [seen] = wait_until(lambda: records(app, "work"), what="the message delivered")
        wait_until(lambda: messages_left(queue) == 0, what="the message deleted")
    assert seen["id"] == sent.id and seen["body"] == "héllo" and seen["dequeue_count"] == 1
    assert seen["times"] and seen["pop_receipt"]
    assert seen["thread"].startswith("devhost-sync")


def test_a_function_with_an_unusable_connection_is_in_error_and_the_others_run(
    tmp_path: Path, azurite: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    app = write_queue_app(tmp_path)
    queue = queue_client(azurite, "work")
    queue.create_queue()
    queue.send_message("still served")
    with running_host(app, azurite, settings={"JobsStorage": "Nonsense=1"}):
        wait_until(lambda: records(app, "work"), what="the other function served")
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("function held is in error and does not run: connection JobsStorage" in e for e in errors)
    assert not any("Nonsense" in e for e in errors)


def test_a_failing_message_is_retried_then_poisoned_after_max_dequeue_count(tmp_path: Path, azurite: Any) -> None:
    app = write_queue_app(tmp_path, maxDequeueCount=2)
    queue = queue_client(azurite, "work")
    queue.create_queue()
    sent = queue.send_message("fail")
    with running_host(app, azurite):
        poison = queue_client(azurite, "work-poison")
        [moved] = wait_until(lambda: poison.peek_messages() if "work-poison" in queue_names(azurite) else [],
                             what="the message in the poison queue")
        wait_until(lambda: messages_left(queue) == 0, what="the message deleted from its queue")
    assert [(r["id"], r["dequeue_count"]) for r in records(app, "work")] == [(sent.id, 1), (sent.id, 2)]
    assert moved.content == "fail"  # the same (encoded) text, decoded by the policy


def queue_names(azurite: Any) -> set[str]:
    from azure.storage.queue import QueueServiceClient

    return {q.name for q in QueueServiceClient.from_connection_string(azurite.connection_string).list_queues()}


def test_a_message_dequeued_more_often_than_allowed_is_poisoned_without_running(tmp_path: Path, azurite: Any) -> None:
    app = write_queue_app(tmp_path, maxDequeueCount=2)
    queue = queue_client(azurite, "work")
    queue.create_queue()
    queue.send_message("ok")
    for _ in range(2):  # two deliveries elsewhere that never finished (a crashed host, say)
        [taken] = queue.receive_messages(max_messages=1, visibility_timeout=30)
        queue.update_message(taken.id, pop_receipt=taken.pop_receipt, visibility_timeout=0)
    with running_host(app, azurite):
        poison = queue_client(azurite, "work-poison")
        wait_until(lambda: "work-poison" in queue_names(azurite) and poison.peek_messages(), what="poisoned")
        wait_until(lambda: messages_left(queue) == 0, what="deleted")
    assert records(app, "work") == []


def test_a_failure_in_a_queue_without_poison_queue_leaves_the_message_hidden_and_says_so(
    tmp_path: Path, azurite: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    """As the host: no release after a failure (that would loop fast); the message waits out the hide."""
    app = write_queue_app(tmp_path, maxDequeueCount=5)
    queue = queue_client(azurite, "jobs-poison")
    queue.create_queue()
    sent = queue.send_message("private words")
    with running_host(app, azurite):
        wait_until(lambda: any(r.levelno == logging.ERROR and "no poison queue" in r.getMessage()
                               for r in caplog.records), what="the failure reported")
    assert [r["dequeue_count"] for r in records(app, "dead")] == [1]
    assert queue.peek_messages() == [] and messages_left(queue) == 1  # hidden, not released, not deleted
    [said] = [r.getMessage() for r in caplog.records if "no poison queue" in r.getMessage()]
    assert f"message {sent.id} of queue jobs-poison failed on dequeue 1 (maxDequeueCount 5)" in said
    assert "comes back in 600 s" in said
    assert not any("private words" in r.getMessage() for r in caplog.records)


def test_a_message_over_max_dequeue_count_without_poison_queue_is_not_run_and_reported_each_time(
    tmp_path: Path, azurite: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    app = write_queue_app(tmp_path, maxDequeueCount=1)
    queue = queue_client(azurite, "jobs-poison")
    queue.create_queue()
    sent = queue.send_message("private words")

    def reports() -> list[str]:
        return [r.getMessage() for r in caplog.records
                if r.levelno == logging.ERROR and "over maxDequeueCount" in r.getMessage()]

    with running_host(app, azurite, queue_visibility_seconds=1):
        wait_until(lambda: len(reports()) >= 2, seconds=15, what="reported on each return")
    assert [r["dequeue_count"] for r in records(app, "dead")] == [1]
    assert messages_left(queue) == 1
    assert f"message {sent.id} of queue jobs-poison not run: dequeue count 2 is over maxDequeueCount 1" in reports()[0]
    assert "dequeue count 3" in reports()[1]
    assert not any("private words" in r.getMessage() for r in caplog.records)


def test_a_body_that_is_not_base64_is_poisoned_without_running(tmp_path: Path, azurite: Any) -> None:
    app = write_queue_app(tmp_path)
    raw = queue_client(azurite, "work", base64_encoded=False)
    raw.create_queue()
    raw.send_message("not base64!")
    raw.send_message(base64.b64encode(b"fine").decode())
    with running_host(app, azurite):
        wait_until(lambda: records(app, "work"), what="the good message delivered")
        poison = queue_client(azurite, "work-poison", base64_encoded=False)
        [moved] = wait_until(lambda: "work-poison" in queue_names(azurite) and poison.peek_messages(),
                             what="the bad message poisoned")
    assert [r["body"] for r in records(app, "work")] == ["fine"]
    assert moved.content == "not base64!"


def test_message_encoding_none_hands_over_the_text_as_sent(tmp_path: Path, azurite: Any) -> None:
    app = write_queue_app(tmp_path, messageEncoding="none")
    raw = queue_client(azurite, "work", base64_encoded=False)
    raw.create_queue()
    raw.send_message("aGk=")  # with base64 this would arrive as "hi"
    with running_host(app, azurite):
        [seen] = wait_until(lambda: records(app, "work"), what="delivered")
        wait_until(lambda: messages_left(raw) == 0, what="deleted")
    assert seen["body"] == "aGk="


def test_batch_size_and_new_batch_threshold_bound_the_messages_in_flight(
    tmp_path: Path, azurite: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    app = write_queue_app(tmp_path, batchSize=2, newBatchThreshold=1)
    queue = queue_client(azurite, "held")
    queue.create_queue()
    for number in range(8):
        queue.send_message(f"m{number}")
    caplog.set_level(logging.DEBUG, logger="devhost.queues")
    with running_host(app, azurite):
        # Held messages do not finish: after the first batch, 2 in flight > threshold 1, so the
        # listener stops fetching. Released, at most batchSize 2 + threshold 1 = 3 run at once.
        wait_until(lambda: len(records(app, "held", "start")) >= 2, what="the first batch running")
        wait_until(lambda: any("no poll until fewer" in r.getMessage() for r in caplog.records),
                   what="the listener holding off")
        assert len(records(app, "held", "start")) == 2
        (app / "release").touch()
        wait_until(lambda: len(records(app, "held", "end")) == 8, seconds=15, what="all eight done")
        wait_until(lambda: messages_left(queue) == 0, what="all deleted")
    starts = records(app, "held", "start")
    assert len(starts) == 8
    assert max(r["running"] for r in starts) <= 3
    assert not any(r["thread"].startswith("devhost-sync") for r in starts)  # async: on the host's loop


def test_a_message_running_past_its_hide_is_renewed_not_run_twice(
    tmp_path: Path, azurite: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    app = write_queue_app(tmp_path)
    queue = queue_client(azurite, "held")
    queue.create_queue()
    sent = queue.send_message("long")
    caplog.set_level(logging.DEBUG, logger="devhost.queues")
    with running_host(app, azurite, queue_visibility_seconds=2):
        wait_until(lambda: records(app, "held", "start"), what="started")
        # renewed every second (half the hide, with a second of slack on a busy machine): three
        # renewals span past the 2 s hide, after which an unrenewed message would run again
        wait_until(lambda: sum("renewed" in r.getMessage() for r in caplog.records) >= 3, what="three renewals")
        (app / "release").touch()
        wait_until(lambda: messages_left(queue) == 0, what="deleted")
    assert [(r["id"], r["dequeue_count"]) for r in records(app, "held", "start")] == [(sent.id, 1)]


def test_a_message_finishing_while_its_renewal_is_in_flight_is_deleted_once_and_run_once(
    tmp_path: Path, azurite: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    """The function ends while a hide renewal is on the wire: the service has already issued a new
    pop receipt. The listener waits for that answer and deletes with the new receipt; stopping the
    renewal by cancelling it would delete with the old one, fail, and run the message again."""
    app = write_queue_app(tmp_path)
    queue = queue_client(azurite, "held")
    queue.create_queue()
    sent = queue.send_message("finishes mid-renewal")
    with counting_relays(azurite.queue_endpoint) as [relay]:
        # only the held function's connection (JobsStorage) goes through the relay
        relayed = azurite.connection_string.replace(azurite.queue_endpoint, relay.url)
        renewal = relay.hold_response("PUT", "/held/messages/")
        # an 8 s hide, renewed after 4 s: the renewal's new hide outlasts the test's steps below
        with running_host(app, azurite, settings={"JobsStorage": relayed}, queue_visibility_seconds=8):
            wait_until(lambda: records(app, "held", "start"), what="started")
            wait_until(renewal.arrived.is_set, seconds=15, what="a renewal answered by Azurite, the answer held back")
            (app / "release").touch()
            wait_until(lambda: records(app, "held", "end"), what="the function finished")
            renewal.release()
            wait_until(lambda: messages_left(queue) == 0, seconds=20, what="the message deleted")
        deletes = relay.requests.get("DELETE", 0)
    assert [(r["id"], r["dequeue_count"]) for r in records(app, "held", "start")] == [(sent.id, 1)]
    assert deletes == 1
    assert not any("storage call failed" in r.getMessage() for r in caplog.records)


def test_stopping_the_host_makes_a_message_still_running_after_the_drain_visible_at_once(
    tmp_path: Path, azurite: Any,
) -> None:
    app = write_queue_app(tmp_path)
    queue = queue_client(azurite, "held")
    queue.create_queue()
    sent = queue.send_message("interrupted")
    with running_host(app, azurite, queue_drain_seconds=0.5):  # the host's 10-minute hide
        wait_until(lambda: records(app, "held", "start"), what="started")
    # abandoned after the drain: visible now, not in 10 minutes
    assert [m.id for m in queue.peek_messages()] == [sent.id] and records(app, "held", "end") == []
    (app / "release").touch()
    with running_host(app, azurite):
        wait_until(lambda: records(app, "held", "end"), what="run again and finished")
        wait_until(lambda: messages_left(queue) == 0, what="deleted")
    assert [(r["id"], r["dequeue_count"]) for r in records(app, "held", "start")] == [(sent.id, 1), (sent.id, 2)]


def test_stopping_the_host_waits_for_a_running_message_to_finish(
    tmp_path: Path, azurite: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    app = write_queue_app(tmp_path)
    queue = queue_client(azurite, "held")
    queue.create_queue()
    sent = queue.send_message("finishes during the drain")
    caplog.set_level(logging.INFO, logger="devhost.queues")

    def release_once_draining() -> None:
        wait_until(lambda: any("waiting up to" in r.getMessage() for r in caplog.records), seconds=15,
                   what="the drain")
        (app / "release").touch()

    host = running_host(app, azurite, queue_drain_seconds=30)
    host.__enter__()
    wait_until(lambda: records(app, "held", "start"), what="started")
    releaser = threading.Thread(target=release_once_draining)
    releaser.start()
    host.__exit__(None, None, None)  # returns once the message is done
    releaser.join()
    assert records(app, "held", "end") == [{"function": "held", "event": "end", "id": sent.id}]
    assert messages_left(queue) == 0  # finished during the drain, so deleted


def test_stopping_while_a_finished_message_waits_for_its_renewal_still_deletes_it(
    tmp_path: Path, azurite: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    """The function has finished, its last hide renewal is on the wire, and the host stops with a
    drain shorter than the wait: the stop must neither cut the renewal off (the delete would use a
    stale pop receipt) nor give back a message whose function succeeded (it would run twice)."""
    app = write_queue_app(tmp_path)
    queue = queue_client(azurite, "held")
    queue.create_queue()
    queue.send_message("finished as the host stops")
    caplog.set_level(logging.INFO, logger="devhost.queues")
    with counting_relays(azurite.queue_endpoint) as [relay]:
        relayed = azurite.connection_string.replace(azurite.queue_endpoint, relay.url)
        renewal = relay.hold_response("PUT", "/held/messages/")
        host = running_host(app, azurite, settings={"JobsStorage": relayed}, queue_visibility_seconds=8,
                            queue_drain_seconds=0.5)
        host.__enter__()
        wait_until(lambda: records(app, "held", "start"), what="started")
        wait_until(renewal.arrived.is_set, seconds=15, what="a renewal answered by Azurite, the answer held back")
        (app / "release").touch()
        wait_until(lambda: records(app, "held", "end"), what="the function finished")

        def release_once_stopping() -> None:
            wait_until(lambda: any("waiting for its hide renewal" in r.getMessage() for r in caplog.records),
                       seconds=15, what="the stop reaching the message")
            renewal.release()

        releaser = threading.Thread(target=release_once_stopping)
        releaser.start()
        host.__exit__(None, None, None)
        releaser.join()
    assert messages_left(queue) == 0  # deleted with the renewed receipt: not run again
    assert len(records(app, "held", "start")) == 1
    assert not any("abandoned" in r.getMessage() for r in caplog.records)


def test_a_timer_runs_on_startup_and_on_its_schedule(tmp_path: Path, azurite: Any) -> None:
    app = write_queue_app(tmp_path)
    with running_host(app, azurite, settings={"QUEUE_APP_TIMER": "* * * * * *"}) as host:
        [timer] = host.timer_functions
        assert (timer.schedule, timer.run_on_startup) == ("* * * * * *", True)
        wait_until(lambda: len(records(app, "tick")) >= 3, what="startup run plus two scheduled runs")
    assert [r["past_due"] for r in records(app, "tick")][:3] == [False, False, False]
