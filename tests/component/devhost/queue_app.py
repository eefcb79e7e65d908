"""A small app with queue- and timer-triggered functions, written to a temp folder for the devhost.

Each function appends what it saw to ``records.jsonl`` in the app folder, so a test reads the
invocations without reaching into the app's module:

- ``work`` (sync, queue ``work``, connection ``AzureWebJobsStorage``) records the message and
  raises when the body is ``fail``;
- ``held`` (async, queue ``held``, connection ``JobsStorage``) records its start, then waits
  until the test creates the file ``release`` in the app folder, and records its end;
- ``dead`` (sync, queue ``jobs-poison``, a poison queue itself: it has none of its own) records
  the message and always raises;
- ``tick`` (timer, only when ``QUEUE_APP_TIMER`` holds a schedule; runs on startup) records
  each run and ``past_due``.

Each record carries ``running``: how many invocations of that function were in flight as it
started, counted by the app itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FUNCTION_APP = '''
import asyncio
import json
import os
import threading
from pathlib import Path

import azure.functions as func

app = func.FunctionApp()
HERE = Path(__file__).parent
lock = threading.Lock()
running = {"work": 0, "held": 0, "dead": 0}


def record(**fields):
    with lock, (HERE / "records.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps(fields) + "\\n")


def enter(name, msg):
    with lock:
        running[name] += 1
        now = running[name]
    record(function=name, event="start", id=msg.id, dequeue_count=msg.dequeue_count, running=now,
           body=msg.get_body().decode("utf-8", "replace"), thread=threading.current_thread().name,
           times=all(t is not None for t in (msg.insertion_time, msg.expiration_time, msg.time_next_visible)),
           pop_receipt=bool(msg.pop_receipt))


def leave(name):
    with lock:
        running[name] -= 1


@app.queue_trigger(arg_name="msg", queue_name="work", connection="AzureWebJobsStorage")
def work(msg: func.QueueMessage) -> None:
    enter("work", msg)
    try:
        if msg.get_body() == b"fail":
            raise RuntimeError("asked to fail")
    finally:
        leave("work")


@app.queue_trigger(arg_name="msg", queue_name="jobs-poison", connection="AzureWebJobsStorage")
def dead(msg: func.QueueMessage) -> None:
    enter("dead", msg)
    leave("dead")
    raise RuntimeError("always fails")


@app.queue_trigger(arg_name="msg", queue_name="held", connection="JobsStorage")
async def held(msg: func.QueueMessage) -> None:
    enter("held", msg)
    try:
        while not (HERE / "release").exists():
            await asyncio.sleep(0.02)
    finally:
        leave("held")
    record(function="held", event="end", id=msg.id)


if os.environ.get("QUEUE_APP_TIMER"):
    @app.timer_trigger(schedule=os.environ["QUEUE_APP_TIMER"], arg_name="timer", run_on_startup=True)
    def tick(timer: func.TimerRequest) -> None:
        record(function="tick", past_due=timer.past_due)
'''

QUICK_POLLING = {"maxPollingInterval": "00:00:00.2"}


def write_queue_app(folder: Path, **queues: Any) -> Path:
    """The app in ``folder`` with host.json ``extensions.queues`` = quick polling + ``queues``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "function_app.py").write_text(FUNCTION_APP, encoding="utf-8")
    host = {"version": "2.0", "extensions": {"queues": {**QUICK_POLLING, **queues}}}
    (folder / "host.json").write_text(json.dumps(host), encoding="utf-8")
    return folder


def records(folder: Path, function: str | None = None, event: str | None = None) -> list[dict[str, Any]]:
    path = folder / "records.jsonl"
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [r for r in lines if (function is None or r["function"] == function)
            and (event is None or r.get("event") == event)]
