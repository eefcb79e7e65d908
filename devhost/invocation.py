"""One invocation: a trigger value in, the function called as the worker calls it, a result out.

``async def`` functions run on the server's event loop; plain functions run in a thread
pool, as in the Python worker, so a blocking function does not stall the others. The same
call serves HTTP requests (with an answer built from the result) and queue and timer triggers.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import azure.functions as func

from devhost.functions import HttpFunction


@dataclass(frozen=True)
class Answer:
    """What goes back on the wire."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class InvocationContext(func.Context):
    """The ``context`` the worker passes to a function that declares one: ids and names, no tracing."""

    def __init__(self, function_name: str, function_directory: str = "") -> None:
        self._invocation_id = str(uuid.uuid4())
        self._function_name = function_name
        self._function_directory = function_directory
        self._local = threading.local()
        self._local.invocation_id = self._invocation_id

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def thread_local_storage(self) -> Any:
        return self._local

    @property
    def trace_context(self) -> Any:
        return None

    @property
    def retry_context(self) -> Any:
        return None


def _wants_context(handler: Callable[..., Any]) -> bool:
    """As the worker decides: a parameter named ``context`` that is not a binding."""
    return "context" in inspect.signature(handler).parameters


class UnsupportedReturn(TypeError):
    """The function returned something the HTTP output binding cannot send."""


def _joined(pairs: Iterable[tuple[str, str]], separator: str, fold_case: bool) -> dict[str, str]:
    """Repeated names become one comma-joined value, as the host hands them to the worker."""
    joined: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower() if fold_case else name
        joined[key] = f"{joined[key]}{separator}{value}" if key in joined else value
    return joined


def build_request(
    method: str, url: str, raw_headers: Iterable[tuple[bytes, bytes]], query_string: bytes,
    route_params: dict[str, str], body: bytes,
) -> func.HttpRequest:
    headers = _joined(((n.decode("latin-1"), v.decode("latin-1")) for n, v in raw_headers), ", ", fold_case=True)
    params = _joined(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True), ",", fold_case=False)
    return func.HttpRequest(method, url, headers=headers, params=params, route_params=route_params, body=body)


def to_answer(result: object) -> Answer:
    """Turn what the function returned into status, headers and body."""
    if isinstance(result, str):
        result = func.HttpResponse(result)
    elif isinstance(result, (bytes, bytearray)):
        result = func.HttpResponse(bytes(result), mimetype="application/octet-stream")
    if not isinstance(result, func.HttpResponse):
        raise UnsupportedReturn(f"returned {type(result).__name__}, not an HttpResponse")
    body = result.get_body() or b""
    headers = [(name.lower(), value) for name, value in result.headers.items() if name.lower() != "content-length"]
    if not any(name == "content-type" for name, _ in headers) and result.mimetype:
        content_type = result.mimetype
        if result.mimetype.startswith("text/"):  # as azure.functions.http.HttpResponseConverter does
            content_type += f"; charset={result.charset}"
        headers.append(("content-type", content_type))
    headers.append(("content-length", str(len(body))))
    return Answer(result.status_code, headers, body)


def failure_frames(exc: BaseException) -> str:
    """The stack frames of a failure (``file:line in function``), never its message."""
    return "".join(f"\n  {f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(exc.__traceback__))


async def call_function(handler: Callable[..., Any], name: str, trigger_arg: str, trigger_value: object,
                        executor: Executor) -> Any:
    """Call ``handler`` with its trigger (and ``context`` when it declares one); what it returns."""
    arguments: dict[str, Any] = {trigger_arg: trigger_value}
    if trigger_arg != "context" and _wants_context(handler):
        arguments["context"] = InvocationContext(name)
    if inspect.iscoroutinefunction(handler):
        return await handler(**arguments)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor, lambda: handler(**arguments))


async def invoke(function: HttpFunction, request: func.HttpRequest, executor: Executor) -> Answer:
    result = await call_function(function.handler, function.name, function.trigger_arg, request, executor)
    return to_answer(result)
