"""The function app (function_app.py) served by a DevHost over real HTTP, for the suites that
drive it from outside."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from tests.log_privacy_plugin import register_secret
from tests.support import ROOT
from tests.support.settings import SETTING_PREFIXES


def start_host(settings: Mapping[str, str], keys: Any = None, function_app: Any = None, cors: Any = None) -> Any:
    """A DevHost whose environment holds exactly these app settings, no others; it serves
    ``function_app`` when given (an app built around a test's composition root), else
    function_app.py; ``cors`` (a devhost.cors.CorsPolicy) answers browsers of other origins.

    The environment is process-wide, so other app settings are set aside until ``stop_host``
    (tests run one at a time). The host's keys count as secrets for the log scan.
    """
    from devhost import DevHost

    set_aside = {name: os.environ.pop(name) for name in list(os.environ) if name.startswith(SETTING_PREFIXES)}
    host = DevHost(ROOT, settings=settings, keys=keys, function_app=function_app, cors=cors)
    host.set_aside = set_aside
    try:
        host.start()
    except BaseException:
        os.environ.update(set_aside)
        raise
    for key in (host.keys.master_key, *host.keys.host_keys.values()):
        register_secret(key)
    return host


def stop_host(host: Any) -> None:
    host.stop()
    os.environ.update(host.set_aside)


@contextmanager
def serving_app(settings: Mapping[str, str], keys: Any = None, function_app: Any = None) -> Iterator[Any]:
    host = start_host(settings, keys, function_app)
    try:
        yield host
    finally:
        stop_host(host)
