"""The WEM schedule payload (CONTRACT §2.4): pydantic models and up-front validation.

Everything wrong with a payload is reported at once, each problem by JSON path
(``$.agents[3].segments[0].end``), so a WEM adapter fixes its export in one round and
nothing is written from a payload that is only partly valid.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)
from pydantic.dataclasses import dataclass

from integration.errors import FieldProblem, InvalidInput, PayloadTooLarge
from integration.json_input import count_json_values, json_path, parse_json
from integration.times import utc_instant

MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_AGENTS = 10_000
MAX_SEGMENTS = 100_000
MAX_PROBLEMS = 1_000
MAX_NAME_LENGTH = 100
MAX_JSON_CONTAINERS = 300_000
"""Objects and arrays in one body: 100,000 segments and 10,000 agents need about 120,000."""
MAX_JSON_VALUES = 1_500_000
"""Values in one body, members and elements: a full import needs about 850,000.

Both bounds are checked on the raw bytes before parsing: without them a 20 MiB body of
tiny objects (``[{},{},...]``) took over 500 MiB as Python objects (26 times its size). With
them, and with segments kept as slotted dataclasses, the worst body found stays under 8
times its size while parsed and validated (``python -m benchmarks import_memory``)."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def _aware_datetime(value: Any) -> datetime:
    """An ISO-8601 string with an offset or ``Z``; Dataverse keeps whole seconds only."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 date-time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("is not an ISO-8601 date-time") from None
    if parsed.tzinfo is None:
        raise ValueError("must carry an offset or Z")
    if parsed.microsecond:
        raise ValueError("must not have fractional seconds (Dataverse keeps whole seconds)")
    return utc_instant(parsed)


def _state(value: Any) -> Any:
    return "cancelled" if value == "canceled" else value


AwareTime = Annotated[datetime, BeforeValidator(_aware_datetime)]
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]
SharedName = Annotated[Name, AfterValidator(sys.intern)]
"""A name that repeats across segments (activity, status): one string object for all of them."""


class _Model(BaseModel):
    # Tolerant reader: WEM exports carry extra fields (codes, notes); they are ignored.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)


@dataclass(frozen=True, slots=True, kw_only=True, config=ConfigDict(extra="ignore", str_strip_whitespace=True))
class Segment:
    """One shift segment. A slotted dataclass, not a model: up to 100,000 of them are held at once."""

    activity: SharedName
    available: bool = Field(strict=True)
    status: SharedName = "Committed"
    state: Annotated[Literal["committed", "proposed", "cancelled"], BeforeValidator(_state)] = "committed"
    start: AwareTime
    end: AwareTime


class _AgentFields(_Model):
    agentId: Name
    name: Name
    email: Annotated[str, Field(max_length=100)]

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError("is not a valid email address")
        return value


class _RawAgent(_AgentFields):
    segments: list[Any] = Field(default_factory=list, max_length=MAX_SEGMENTS)


class Agent(_AgentFields):
    segments: list[Segment] = Field(default_factory=list, max_length=MAX_SEGMENTS)


class Window(_Model):
    start: AwareTime
    end: AwareTime


class _Envelope(_Model):
    source: Annotated[str, Field(min_length=1, max_length=50)]
    plan: Name | None = None
    window: Window | None = None
    agents: list[Any] = Field(max_length=MAX_AGENTS)


class ScheduleImport(_Model):
    """A validated import: times in UTC, every cross-field rule checked."""

    source: str
    plan: str | None
    window: Window | None
    agents: list[Agent]

    def agent_window(self, agent: Agent) -> tuple[datetime, datetime] | None:
        """The span this import replaces for ``agent``: the window, else its segments' span."""
        if self.window is not None:
            return self.window.start, self.window.end
        if not agent.segments:
            return None
        return min(s.start for s in agent.segments), max(s.end for s in agent.segments)

    @property
    def segment_count(self) -> int:
        return sum(len(a.segments) for a in self.agents)


_segment_adapter = TypeAdapter(Segment)


def _problems_of(error: ValidationError, prefix: str) -> Iterator[FieldProblem]:
    for item in error.errors(include_url=False, include_input=False):
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] in ("model_type", "dict_type"):
            message = "must be a JSON object"
        yield FieldProblem(json_path(item["loc"], prefix), message)


def parse_import(body: bytes) -> ScheduleImport:
    """Decode and validate a request body; raise InvalidInput listing every problem."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body is over {MAX_BODY_BYTES // (1024 * 1024)} MiB.")
    containers, values = count_json_values(body)
    if containers > MAX_JSON_CONTAINERS or values > MAX_JSON_VALUES:
        raise PayloadTooLarge(
            f"The body holds more than {MAX_JSON_CONTAINERS} JSON objects and arrays or {MAX_JSON_VALUES} "
            "values; split the import."
        )
    return validate_import(parse_json(body), consume=True)


def validate_import(document: Any, *, consume: bool = False) -> ScheduleImport:
    """Validate a decoded body. With ``consume`` (the caller gives ``document`` up) each agent's
    decoded JSON is released once validated, so the decoded tree shrinks while the validated
    models grow, instead of both being held at the peak."""
    problems: list[FieldProblem] = []
    try:
        envelope = _Envelope.model_validate(document)
    except ValidationError as error:
        problems.extend(_problems_of(error, "$"))
        raw_agents = document.get("agents") if isinstance(document, dict) else None
        if not isinstance(raw_agents, list) or len(raw_agents) > MAX_AGENTS:
            raise _invalid(problems) from None
        envelope = None
    else:
        raw_agents = envelope.agents

    # Agent by agent and segment by segment, so the cross-field rules still run on the
    # parts that are valid and the answer lists every problem, not just the first kind.
    decoded_agents = document.get("agents") if isinstance(document, dict) else None
    checked: list[_CheckedAgent] = []
    for i, raw in enumerate(raw_agents):
        checked.append(_validate_agent(raw, f"$.agents[{i}]", problems))
        if consume:  # the envelope's list and the document's hold the same dicts: drop both
            raw_agents[i] = raw = None
            if decoded_agents is not raw_agents and isinstance(decoded_agents, list):
                decoded_agents[i] = None
        if len(problems) > MAX_PROBLEMS:
            raise _invalid(problems)

    window = envelope.window if envelope else None
    problems.extend(_cross_checks(window, checked))
    if problems or envelope is None:
        raise _invalid(problems)
    agents = [
        Agent.model_construct(**c.fields.model_dump(exclude={"segments"}), segments=c.segments)  # type: ignore[union-attr]
        for c in checked
    ]
    return ScheduleImport.model_construct(source=envelope.source, plan=envelope.plan, window=window, agents=agents)


class _CheckedAgent(NamedTuple):
    fields: _RawAgent | None  # None when the agent's own fields are invalid
    segments: list[Segment | None]  # None where a segment is invalid; indexes match the payload


def _validate_agent(raw: Any, base: str, problems: list[FieldProblem]) -> _CheckedAgent:
    try:
        fields: _RawAgent | None = _RawAgent.model_validate(raw)
    except ValidationError as error:
        problems.extend(_problems_of(error, base))
        fields = None
    raw_segments = raw.get("segments") if isinstance(raw, dict) else None
    if not isinstance(raw_segments, list) or len(raw_segments) > MAX_SEGMENTS:
        return _CheckedAgent(fields, [])
    segments: list[Segment | None] = []
    for j, raw_segment in enumerate(raw_segments):
        try:
            segments.append(_segment_adapter.validate_python(raw_segment))
        except ValidationError as error:
            problems.extend(_problems_of(error, f"{base}.segments[{j}]"))
            segments.append(None)
            if len(problems) > MAX_PROBLEMS:  # enough to answer with; collecting more only costs memory
                break
    return _CheckedAgent(fields, segments)


def _cross_checks(window: Window | None, agents: list[_CheckedAgent]) -> Iterator[FieldProblem]:
    """Rules that span fields, segments or agents."""
    if window is not None and window.end <= window.start:
        yield FieldProblem("$.window.end", "must be after start")
    total = sum(len(a.segments) for a in agents)
    if total > MAX_SEGMENTS:
        yield FieldProblem("$.agents", f"holds {total} segments; at most {MAX_SEGMENTS} per request")
    seen_ids: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    availability: dict[str, tuple[bool, str]] = {}
    for i, (fields, segments) in enumerate(agents):
        base = f"$.agents[{i}]"
        if fields is not None:
            if (first := seen_ids.setdefault(fields.agentId, i)) != i:
                yield FieldProblem(f"{base}.agentId", f"repeats $.agents[{first}].agentId")
            if (first := seen_emails.setdefault(fields.email.casefold(), i)) != i:
                yield FieldProblem(f"{base}.email", f"repeats $.agents[{first}].email")
        yield from _segment_checks(base, segments, window, availability)


def _segment_checks(
    base: str, segments: list[Segment | None], window: Window | None, availability: dict[str, tuple[bool, str]]
) -> Iterator[FieldProblem]:
    active: list[tuple[datetime, datetime, int]] = []
    for j, seg in enumerate(segments):
        if seg is None:
            continue
        path = f"{base}.segments[{j}]"
        if seg.end <= seg.start:
            yield FieldProblem(f"{path}.end", "must be after start")
            continue
        if window is not None and (seg.start < window.start or seg.end > window.end):
            yield FieldProblem(path, "lies outside $.window")
        key = seg.activity.casefold()
        known = availability.setdefault(key, (seg.available, path))
        if known[0] != seg.available:
            yield FieldProblem(f"{path}.available", f"contradicts {known[1]}.available for the same activity")
        if seg.state != "cancelled":
            active.append((seg.start, seg.end, j))
    active.sort()
    latest_end, latest = None, -1
    for start, end, j in active:
        if latest_end is not None and start < latest_end:
            yield FieldProblem(f"{base}.segments[{j}].start", f"overlaps {base}.segments[{latest}]")
        if latest_end is None or end > latest_end:
            latest_end, latest = end, j


def _invalid(problems: list[FieldProblem]) -> InvalidInput:
    total = len(problems)
    shown = problems[:MAX_PROBLEMS]
    detail = f"The schedule has {total} problem(s)." if total <= MAX_PROBLEMS else (
        f"The schedule has more than {MAX_PROBLEMS} problems; the first {MAX_PROBLEMS} are listed."
    )
    return InvalidInput(detail, shown)
