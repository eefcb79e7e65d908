"""RFC 7240 ``Prefer``: ``respond-async`` is found among other preferences, in any case, never inside a value."""

import pytest

from http_api.preferences import preference_names, prefers_async


@pytest.mark.parametrize("header", [
    "respond-async", "Respond-Async", "return=minimal, respond-async", "respond-async; wait=10",
    ' handling=lenient ,RESPOND-ASYNC ', 'foo="a, b; respond", respond-async', "wait=5,respond-async=",
])
def test_respond_async_is_recognised(header):
    assert prefers_async(header)


@pytest.mark.parametrize("header", [
    None, "", "return=minimal", "respond-asynchronously", 'foo="respond-async"', "foo=respond-async",
    "wait=10; respond-async", 'x="unterminated, respond-async', "respond-async," + " " * 5000,
])
def test_respond_async_is_not_read_into_others(header):
    assert not prefers_async(header)


def test_names_only():
    assert preference_names('return=minimal; foo="x,y", respond-async, wait=3') == {"return", "respond-async", "wait"}
