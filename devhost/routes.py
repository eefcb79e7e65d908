"""Route templates in the Functions host's (ASP.NET) syntax, matched against request paths.

Supports what HTTP triggers use in practice: literal segments (matched case-insensitively),
``{name}``, optional ``{name?}``, defaults ``{name=value}``, constraints ``{id:int}``,
``{code:length(3)}``, ``{slug:regex(^[a-z]+$)}``, parameters inside a segment (``{name}.{ext}``)
and a trailing catch-all ``{*rest}``. When several templates match, the host's precedence
decides (literal before constrained before plain parameter before catch-all), so the
outcome does not depend on registration order.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import unquote

Check = Callable[[str], bool]


class RouteTemplateError(ValueError):
    """A route template the devhost cannot serve; raised at start-up, naming the template."""


def _is_int(value: str, bits: int) -> bool:
    if not re.fullmatch(r"[+-]?\d+", value):
        return False
    return -(2 ** (bits - 1)) <= int(value) < 2 ** (bits - 1)


def _is_number(value: str) -> bool:
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return bool(re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", value))


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


_SIMPLE_CONSTRAINTS: dict[str, Check] = {
    "int": lambda v: _is_int(v, 32),
    "long": lambda v: _is_int(v, 64),
    "bool": lambda v: v.lower() in ("true", "false"),
    "guid": _is_guid,
    "alpha": lambda v: v.isascii() and v.isalpha(),
    "double": _is_number,
    "float": _is_number,
    "decimal": _is_number,
}


def _constraint(spec: str, template: str) -> Check:
    name, _, arg = spec.partition("(")
    name = name.strip().lower()
    if not arg:
        if name in _SIMPLE_CONSTRAINTS:
            return _SIMPLE_CONSTRAINTS[name]
        raise RouteTemplateError(f"route {template!r}: unsupported constraint {spec!r}")
    if not arg.endswith(")"):
        raise RouteTemplateError(f"route {template!r}: malformed constraint {spec!r}")
    arg = arg[:-1]
    if name == "regex":
        pattern = re.compile(arg, re.IGNORECASE)
        return lambda v: pattern.search(v) is not None
    try:
        numbers = [int(a) for a in arg.split(",")]
    except ValueError:
        raise RouteTemplateError(f"route {template!r}: malformed constraint {spec!r}") from None
    checks: dict[tuple[str, int], Check] = {
        ("minlength", 1): lambda v: len(v) >= numbers[0],
        ("maxlength", 1): lambda v: len(v) <= numbers[0],
        ("length", 1): lambda v: len(v) == numbers[0],
        ("length", 2): lambda v: numbers[0] <= len(v) <= numbers[1],
        ("min", 1): lambda v: _is_int(v, 64) and int(v) >= numbers[0],
        ("max", 1): lambda v: _is_int(v, 64) and int(v) <= numbers[0],
        ("range", 2): lambda v: _is_int(v, 64) and numbers[0] <= int(v) <= numbers[1],
    }
    check = checks.get((name, len(numbers)))
    if check is None:
        raise RouteTemplateError(f"route {template!r}: unsupported constraint {spec!r}")
    return check


@dataclass(frozen=True)
class _Parameter:
    name: str
    checks: tuple[Check, ...] = ()
    optional: bool = False
    default: str | None = None
    catch_all: bool = False


_TOKEN = re.compile(r"\{([^{}]*(?:\([^()]*\))?[^{}]*)\}")


def _split_constraints(body: str) -> list[str]:
    """Split ``name:c1:c2(a,b)`` on colons that are not inside parentheses."""
    parts, depth, current = [], 0, ""
    for char in body:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == ":" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _parameter(token: str, template: str) -> _Parameter:
    catch_all = token.startswith("*")
    token = token.lstrip("*")
    optional = default = None
    head, *constraints = _split_constraints(token)
    if constraints and constraints[-1].endswith("?"):
        constraints[-1], optional = constraints[-1][:-1], True
    if "=" in (constraints[-1] if constraints else head):
        if constraints:
            constraints[-1], _, default = constraints[-1].partition("=")
        else:
            head, _, default = head.partition("=")
    if head.endswith("?"):
        head, optional = head[:-1], True
    name = head.strip()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", name):
        raise RouteTemplateError(f"route {template!r}: invalid parameter name {name!r}")
    return _Parameter(
        name=name,
        checks=tuple(_constraint(c, template) for c in constraints),
        optional=bool(optional) or catch_all,
        default=default,
        catch_all=catch_all,
    )


# Precedence of a segment kind, lower wins (the host's route precedence).
_LITERAL, _COMPLEX, _CONSTRAINED, _PLAIN, _CATCH_ALL = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class RouteTemplate:
    """A compiled route template (prefix included) that matches raw request paths."""

    template: str
    _regex: re.Pattern[str] = field(repr=False)
    _parameters: tuple[_Parameter, ...] = field(repr=False)
    precedence: tuple[int, ...] = field(repr=False)

    @classmethod
    def compile(cls, template: str) -> RouteTemplate:
        segments = [s for s in template.strip("/").split("/")] if template.strip("/") else []
        regex, parameters, precedence = "", [], []
        for index, segment in enumerate(segments):
            if not segment:
                raise RouteTemplateError(f"route {template!r}: empty segment")
            tokens = list(_TOKEN.finditer(segment))
            if not tokens:
                regex += "/" + re.escape(segment)
                precedence.append(_LITERAL)
                continue
            if len(tokens) == 1 and tokens[0].span() == (0, len(segment)):
                parameter = _parameter(tokens[0].group(1), template)
                group = f"p{len(parameters)}"
                parameters.append(parameter)
                if parameter.catch_all:
                    if index != len(segments) - 1:
                        raise RouteTemplateError(f"route {template!r}: a catch-all must be the last segment")
                    regex += f"(?:/(?P<{group}>.*))?"
                    precedence.append(_CATCH_ALL)
                elif parameter.optional or parameter.default is not None:
                    if index != len(segments) - 1:
                        raise RouteTemplateError(f"route {template!r}: only the last segment may be optional")
                    regex += f"(?:/(?P<{group}>[^/]+))?"
                    precedence.append(_CONSTRAINED if parameter.checks else _PLAIN)
                else:
                    regex += f"/(?P<{group}>[^/]+)"
                    precedence.append(_CONSTRAINED if parameter.checks else _PLAIN)
                continue
            regex += "/"
            position = 0
            for token in tokens:
                regex += re.escape(segment[position : token.start()])
                parameter = _parameter(token.group(1), template)
                if parameter.catch_all or parameter.optional:
                    raise RouteTemplateError(f"route {template!r}: {segment!r} mixes text with an optional parameter")
                regex += f"(?P<p{len(parameters)}>[^/]+?)"
                parameters.append(parameter)
                position = token.end()
            regex += re.escape(segment[position:])
            precedence.append(_COMPLEX)
        names = [p.name.lower() for p in parameters]
        if len(set(names)) != len(names):
            raise RouteTemplateError(f"route {template!r}: a parameter name is used twice")
        return cls(template, re.compile(f"^{regex}/?$", re.IGNORECASE), tuple(parameters), tuple(precedence))

    def match(self, raw_path: str) -> dict[str, str] | None:
        """Route values for ``raw_path`` (percent-encoded, no query), or None when it does not match."""
        found = self._regex.match(raw_path if raw_path.startswith("/") else "/" + raw_path)
        if found is None:
            return None
        values: dict[str, str] = {}
        for index, parameter in enumerate(self._parameters):
            raw = found.group(f"p{index}")
            if raw is None or raw == "":
                if parameter.default is not None:
                    values[parameter.name] = parameter.default
                continue
            value = unquote(raw)
            if not all(check(value) for check in parameter.checks):
                return None
            values[parameter.name] = value
        return values
