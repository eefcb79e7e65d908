"""BOOKING_REDIRECT_URL against a WHATWG URL parser: what the app accepts, a browser reads alike.

The oracle is Node's ``URL`` (WHATWG-conformant, what browsers implement), run in a
subprocess: never the parser the product uses. Every template the real settings loader
accepts must mean, to Node, the same scheme, host, port, path, query and fragment as to
``urlsplit``, with no user-info; the known-hostile ones must be refused, and health then
answers 503 naming the setting.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import subprocess
from typing import Any
from urllib.parse import urlsplit

import azure.functions as func
import pytest

from integration.settings import SettingsError, load_settings
from tests.test_settings import VALID

NODE = shutil.which("node")
WHATWG = """
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
console.log(JSON.stringify(input.map((text) => {
  try {
    const u = new URL(text);
    return {protocol: u.protocol, username: u.username, password: u.password, hostname: u.hostname,
            port: u.port, pathname: u.pathname, search: u.search, hash: u.hash};
  } catch (e) { return null; }
})));
"""

MISREAD = [  # a WHATWG parser and urlsplit read these differently (asserted below)
    "https://evil.example\\@book.example/{sessionId}",
    "https://book.example\\.evil.example/{sessionId}",
    "https://user@book.example/{sessionId}",
    "https://book.example:443@evil.example/{sessionId}",
    "https://book.example/{sessionId}\r\nSet-Cookie: a=b",
    "https://book.example/s?x=1\r\nLocation: https://evil.example/&s={sessionId}",
    "https://book.example/a b/{sessionId}",
    "https://book.example /{sessionId}",
    "https://0x7f.1/{sessionId}",
    "https://127.1/{sessionId}",
    "https://2130706433/{sessionId}",
    "https://book.example.123/{sessionId}",
    "https://%65vil.example/{sessionId}",
    "https://b\u00f6\u00f6k.example/{sessionId}",
    "https://book\uff0eexample/{sessionId}",
    "https:book.example/{sessionId}",
    "https:/book.example/{sessionId}",
    "https:///evil.example/{sessionId}",
    "https://book.example/../{sessionId}",
    "https://book.example/%2e%2e/{sessionId}",
    "https://[0:0::1]/{sessionId}",
    "https://book.example/s?q='{sessionId}'",
    "https://xn--a.example/{sessionId}",
]
UNSAFE = [  # read alike, or refused by both, but unsafe in a Location header or ambiguous
    "https://ev\til.example/{sessionId}",
    "https://evil.example\n.book.example/{sessionId}",
    "https://book.example:0443/{sessionId}",
    "https://book.example:99999/{sessionId}",
    "https://[::1/{sessionId}",
    "https://book.example/s?q=%zz{sessionId}",
]
HOSTILE = MISREAD + UNSAFE
ACCEPTED = [
    "https://book.example.com/start?session={sessionId}",
    "https://book.example.com/s/{sessionId}",
    "https://book.example.com:8443/s/{sessionId}?lang=en#top",
    "http://127.0.0.1:5556/book?session={sessionId}",
    "https://[::1]:8443/book/{sessionId}",
    "https://xn--bcher-kva.example/{sessionId}",
    "HTTPS://Book.Example.COM/s/{sessionId}",
]
ALPHABET = list("abcz09.-:/?#@%[]") + ["\\", " ", "\t", "\r", "\n", "'", "\"", "<", "^", "|", "`",
                                        "\x00", "\x7f", "\u00e9", "\uff0e", "\u3002", "%2e", "%41", "0x", "127.0.0.1"]


def whatwg(urls: list[str]) -> list[dict[str, str] | None]:
    if NODE is None:
        pytest.skip("node is not installed (CI installs it; the WHATWG oracle needs it)")
    done = subprocess.run([NODE, "-e", WHATWG], input=json.dumps(urls), capture_output=True, text=True,
                          timeout=60, check=True)
    return json.loads(done.stdout)


def accepted(template: str) -> bool:
    try:
        load_settings({**VALID, "BOOKING_REDIRECT_URL": template})
    except SettingsError as error:
        assert [p.name for p in error.problems] == ["BOOKING_REDIRECT_URL"]
        return False
    return True


def as_urlsplit_reads(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = "" if parts.port in (None, {"http": 80, "https": 443}[scheme]) else str(parts.port)
    hostname = parts.hostname or ""
    return {
        "protocol": scheme + ":", "username": "", "password": "",
        "hostname": f"[{hostname}]" if ":" in hostname else hostname,
        "port": port, "pathname": parts.path or "/",
        "search": f"?{parts.query}" if parts.query else "", "hash": f"#{parts.fragment}" if parts.fragment else "",
    }


def generated(count: int, seed: int = 20261201) -> list[str]:
    """Plain templates with a few tricky characters mixed in (seeded: the same every run)."""
    rng = random.Random(seed)
    plain = list("abcz09.-") * 6 + [":", "/", ":8"]

    def text(length: int) -> str:
        return "".join(rng.choice(plain if rng.random() < 0.85 else ALPHABET) for _ in range(length))

    templates = []
    for _ in range(count):
        host, tail = text(rng.randint(1, 12)), text(rng.randint(0, 8))
        templates.append(f"{rng.choice(['https://', 'http://', 'https:/', 'HtTpS://'])}{host}/{tail}{{sessionId}}")
    return templates


@pytest.mark.parametrize("template", HOSTILE)
def test_templates_a_browser_reads_differently_are_refused(template: str) -> None:
    assert not accepted(template)


@pytest.mark.parametrize("template", ACCEPTED)
def test_plain_templates_are_accepted(template: str) -> None:
    assert accepted(template)


def test_every_accepted_template_means_the_same_to_a_whatwg_parser() -> None:
    from integration.booking_sessions import redirect_url

    templates = HOSTILE + ACCEPTED + generated(3000)
    kept = [t for t in templates if accepted(t)]
    urls = [redirect_url(t, session) for t in kept for session in ("x", "a/b?c#d@e\\f", "\u00fc n\r\n")]
    assert len(kept) > 50, "the generator must reach the accepted side too"
    for url, seen in zip(urls, whatwg(urls), strict=True):
        assert seen == as_urlsplit_reads(url), url


def test_the_misread_templates_really_are_read_differently() -> None:
    """The refusals are not arbitrary: the oracle and urlsplit disagree on each (or one of them fails)."""
    probes = [t.replace("{sessionId}", "x") for t in MISREAD]
    for probe, seen in zip(probes, whatwg(probes), strict=True):
        try:
            ours: dict[str, str] | None = as_urlsplit_reads(probe)
        except (ValueError, KeyError):
            ours = None
        assert seen != ours, probe


@pytest.mark.parametrize("template", [HOSTILE[0], HOSTILE[4]])
def test_health_answers_503_naming_the_setting(template: str) -> None:
    from entry.composition_root import CompositionRoot
    from tests.app_handlers import app_handler

    health = app_handler(CompositionRoot({**VALID, "BOOKING_REDIRECT_URL": template}), "health")
    response = asyncio.run(health(func.HttpRequest("GET", "/api/health", body=b"")))
    body: Any = json.loads(response.get_body())
    assert response.status_code == 503
    assert body["settings"] == ["BOOKING_REDIRECT_URL"]
    assert "evil" not in body["detail"]
