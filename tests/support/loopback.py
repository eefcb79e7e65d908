"""httpx clients for the suites' plain-HTTP calls to servers on 127.0.0.1.

Every ``httpx.Client()`` builds a TLS context and loads the CA bundle into it: 20-300 ms
depending on load, paid per client although no test speaks TLS. These share one context,
built once, so a client costs well under a millisecond. Use them instead of ``httpx.Client``,
``httpx.AsyncClient`` and ``httpx.get``/``post``/... in tests.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx


@functools.cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


def client(**options: Any) -> httpx.Client:
    return httpx.Client(verify=_tls(), **options)


def async_client(**options: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=_tls(), **options)


def request(method: str, url: str, **options: Any) -> httpx.Response:
    """One request on a client of its own (like ``httpx.request``)."""
    timeout = options.pop("timeout", httpx.Timeout(5.0))
    follow_redirects = options.pop("follow_redirects", False)
    with client(timeout=timeout, follow_redirects=follow_redirects) as http:
        return http.request(method, url, **options)


def get(url: str, **options: Any) -> httpx.Response:
    return request("GET", url, **options)


def post(url: str, **options: Any) -> httpx.Response:
    return request("POST", url, **options)


def put(url: str, **options: Any) -> httpx.Response:
    return request("PUT", url, **options)


def patch(url: str, **options: Any) -> httpx.Response:
    return request("PATCH", url, **options)


def delete(url: str, **options: Any) -> httpx.Response:
    return request("DELETE", url, **options)
