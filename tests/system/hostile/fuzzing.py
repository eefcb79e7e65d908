"""Hypothesis strategies for hostile JSON, and the one settings profile the fuzz tests share.

Derandomized with a bounded number of examples, so CI runs the same inputs every time and
the suite stays within seconds.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

# Every code point, surrogates included: json.dumps writes lone surrogates as \\udXXX escapes.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
huge_text = st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", "\U0001f600", "\u202e", "\x00"]), st.integers(1_000, 60_000))
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=10**30, max_value=10**300),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, any_text)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(any_text, children, max_size=4)),
    max_leaves=20,
)
hostile_values = st.one_of(json_values, huge_text)


def encode(document: Any) -> bytes:
    """JSON as a careless sender writes it: NaN and Infinity literals allowed, non-ASCII as UTF-8."""
    return json.dumps(document, allow_nan=True, ensure_ascii=False).encode("utf-8", "surrogatepass")


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> dict[str, Any]:
    """``valid`` with one to three members replaced by hostile values or removed, at any depth."""
    document = json.loads(json.dumps(valid))
    for _ in range(draw(st.integers(1, 3))):
        parent, member = _pick(draw, document)
        if parent is None:
            continue
        if isinstance(parent, dict) and draw(st.booleans()) and draw(st.booleans()):
            parent.pop(member, None)
        else:
            parent[member] = draw(hostile_values)
    return document


def _pick(draw: st.DrawFn, document: Any) -> tuple[Any, Any]:
    """A (container, key) somewhere in ``document``, walking down a random number of levels."""
    parent, member = None, None
    node = document
    while isinstance(node, (dict, list)) and node:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        parent, member = node, draw(st.sampled_from(keys))
        node = node[member]
        if not draw(st.booleans()):
            break
    return parent, member
