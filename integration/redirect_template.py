"""Is a booking redirect URL one that every parser reads the same way?

The app checks the redirect with Python's ``urllib.parse.urlsplit``; the agent's browser
follows it with a WHATWG URL parser (https://url.spec.whatwg.org/). The two disagree on
backslashes (``\\`` is ``/`` to a browser), tabs and newlines (a browser drops them), user-info,
percent-encoded or numeric hosts (``0x7f.1`` is 127.0.0.1 to a browser), dot segments and
more. So a template is accepted only in a plain form both read alike:

* ``http``/``https``, then ``//``, a host and an optional port, then path, query, fragment;
* only the characters RFC 3986 allows, minus ``'`` (browsers percent-encode it in a query):
  no spaces, controls, backslashes, non-ASCII characters (use punycode for the host);
* no user-info (``@`` in the authority) and no ``%`` in the host;
* a host that is a DNS name, a canonical dotted IPv4 address or a canonical bracketed IPv6
  address; a DNS name whose last label is numeric is refused (browsers read it as IPv4);
* a port of 1-5 digits without leading zeros, at most 65535; no ``.``/``..`` path segments.

The test suite holds this against a real WHATWG parser (Node's ``URL``).
"""

from __future__ import annotations

import ipaddress
import re

_ALLOWED = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]*")  # RFC 3986 characters, without '
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HEAD = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<rest>.*)", re.DOTALL)
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.IGNORECASE)
_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)
_PORT = re.compile(r"[1-9][0-9]{0,4}")
_DOT_SEGMENTS = {".", "..", "%2e", ".%2e", "%2e.", "%2e%2e"}


def url_problem(url: str) -> str | None:
    """Why ``url`` could be read differently by a browser than by this app; ``None`` when it cannot."""
    if not _ALLOWED.fullmatch(url):
        return "must contain only URL characters: no spaces, control characters, backslashes, quotes or non-ASCII"
    if _BAD_PERCENT.search(url):
        return "has a '%' that is not followed by two hex digits"
    head = _HEAD.fullmatch(url)
    if head is None or head["scheme"].lower() not in ("http", "https"):
        return "must start with http:// or https://"
    problem = _authority_problem(head["authority"])
    if problem:
        return problem
    path = re.split(r"[?#]", head["rest"], maxsplit=1)[0]
    if any(segment.lower() in _DOT_SEGMENTS for segment in path.split("/")):
        return "must not have '.' or '..' path segments"
    if "[" in head["rest"] or "]" in head["rest"]:
        return "may have '[' and ']' only around an IPv6 host"
    return None


def _authority_problem(authority: str) -> str | None:
    if "@" in authority:
        return "must not contain user information ('user@' before the host)"
    if "%" in authority:
        return "must not percent-encode the host"
    if authority.startswith("["):
        host, _, after = authority[1:].partition("]")
        if not _canonical_ipv6(host):
            return "has an IPv6 host that is not in its canonical form"
        port = after[1:] if after.startswith(":") else None
        if after and port is None:
            return "has something other than a port after the IPv6 host"
    else:
        host, colon, port_text = authority.partition(":")
        port = port_text if colon else None
        problem = _host_problem(host)
        if problem:
            return problem
    if port is not None and (not _PORT.fullmatch(port) or int(port) > 65535):
        return "has a port that is not a number from 1 to 65535 without leading zeros"
    return None


def _host_problem(host: str) -> str | None:
    if not host:
        return "must name a host"
    labels = host.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return "must have a host name of letters, digits and inner hyphens, dot-separated"
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        try:
            canonical = str(ipaddress.IPv4Address(host)) == host
        except ValueError:
            canonical = False
        if not canonical:
            return "has a numeric host that is not a plain dotted IPv4 address"
    if any(label.lower().startswith("xn--") and not _valid_punycode(label) for label in labels):
        return "has a host label that is not valid punycode"
    return None


def _canonical_ipv6(host: str) -> bool:
    try:
        return str(ipaddress.IPv6Address(host)) == host.lower()
    except ValueError:
        return False


def _valid_punycode(label: str) -> bool:
    """Punycode that decodes to a name and encodes back to the same label (IDNA)."""
    try:
        decoded = label[4:].encode("ascii").decode("punycode")
        return not decoded.isascii() and decoded.encode("idna").decode("ascii").lower() == label.lower()
    except UnicodeError:
        return False
