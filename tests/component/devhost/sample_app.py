"""A small Functions app written to a temp folder, covering what the devhost must serve."""

from __future__ import annotations

from pathlib import Path

from devhost import HostKeys

KEYS = HostKeys.model_validate({
    "masterKey": "master-key-0123456789abcdef",
    "hostKeys": {"default": "host-key-0123456789abcdef"},
    "functionKeys": {"sync_echo": {"default": "sync-echo-key-0123456789"}},
})

FUNCTION_APP = '''
import asyncio
import json
import threading

import azure.functions as func

from devhost_sample_bp import bp

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(bp)
rendezvous = threading.Barrier(2, timeout=5)


def describe(req, **extra):
    return func.HttpResponse(json.dumps({
        "method": req.method, "url": req.url, "route": dict(req.route_params), "params": dict(req.params),
        "headers": {k: v for k, v in req.headers.items() if k.startswith("x-")},
        "body": req.get_body().hex(), **extra,
    }), mimetype="application/json")


@app.route(route="echo/{thing}", methods=["GET", "POST", "PUT"], auth_level=func.AuthLevel.ANONYMOUS)
async def echo(req: func.HttpRequest) -> func.HttpResponse:
    asyncio.get_running_loop()
    return describe(req, thread=threading.current_thread().name)


@app.function_name(name="sync_echo")
@app.route(route="sync/{id:int}", methods=["POST"])
def sync_handler(req: func.HttpRequest) -> func.HttpResponse:
    return describe(req, thread=threading.current_thread().name)


@app.route(route="meet", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def meet(req: func.HttpRequest) -> func.HttpResponse:
    rendezvous.wait()
    return func.HttpResponse("met")


@app.route(route="items/{id}", auth_level=func.AuthLevel.ANONYMOUS)
def item(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("item " + req.route_params["id"])


@app.route(route="items/special", auth_level=func.AuthLevel.ANONYMOUS)
def special_item(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("special")


@app.route(route="files/{*path}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def files(req: func.HttpRequest) -> func.HttpResponse:
    return describe(req)


@app.route(route="boom", auth_level=func.AuthLevel.ANONYMOUS)
async def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("secret-detail-that-must-not-leak")


@app.route(route="plain-text", auth_level=func.AuthLevel.ANONYMOUS)
def plain_text(req: func.HttpRequest) -> str:
    return "just text"


@app.route(route="not-a-response", auth_level=func.AuthLevel.ANONYMOUS)
def not_a_response(req: func.HttpRequest):
    return {"oops": True}


@app.route(route="binary", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def binary(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(req.get_body()[::-1], mimetype="application/octet-stream",
                             headers={"X-Length": str(len(req.get_body()))})


@app.route(route="other", methods=["GET"])
def other(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("other")


@app.route(route="settings", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def settings(req: func.HttpRequest) -> func.HttpResponse:
    import os
    return func.HttpResponse(json.dumps({k: os.environ.get(k) for k in req.params["names"].split(",")}),
                             mimetype="application/json")


@app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer")
def housekeeping(timer: func.TimerRequest) -> None:
    pass
'''

BLUEPRINT = '''
import azure.functions as func

bp = func.Blueprint()


@bp.route(route="ops/stats", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def ops_stats(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("{}", mimetype="application/json")
'''


def write_sample_app(folder: Path, host_json: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "function_app.py").write_text(FUNCTION_APP)
    (folder / "devhost_sample_bp.py").write_text(BLUEPRINT)
    if host_json is not None:
        (folder / "host.json").write_text(host_json)
    return folder
