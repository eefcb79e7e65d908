"""OData 4.0 `$filter` for the emulator: a tokenizer and a recursive-descent parser (docs/dataverse-webapi.md#41-query-options, #42-string-literals).

The parser compiles the expression into a predicate over a row's read view (column names and
`_x_value` lookup properties), type-checking operands against the table the way the service
does, so a client bug such as a quoted GUID fails here as it would in Dataverse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import ge as operator_ge
from operator import gt as operator_gt
from operator import le as operator_le
from operator import lt as operator_lt

from emulators.dataverse.model.schema import EDM_TYPES, Table
from emulators.dataverse.model.service_errors import ServiceError, bad_query, unknown_property
from emulators.dataverse.model.values import to_utc_text

Row = Mapping[str, object]
Predicate = Callable[[Row], bool]
Operand = Callable[[Row], object]

_TOKEN_PATTERNS = [
    ("GUID", re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])")),
    ("DATETIME", re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?(?![\w:.])")),
    ("DATE", re.compile(r"\d{4}-\d{2}-\d{2}(?![\w:.-])")),
    ("NUMBER", re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDlL]?(?![\w.-])")),
    ("NAME", re.compile(r"[A-Za-z_][\w.]*(?:/[A-Za-z_][\w.]*)*")),
    ("ALIAS", re.compile(r"@[A-Za-z_]\w*")),
]
_PUNCTUATION = {"(": "LPAREN", ")": "RPAREN", ",": "COMMA", "=": "EQUALS"}
COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
_OPERATOR_NAMES = {
    "eq": "Equal",
    "ne": "NotEqual",
    "gt": "GreaterThan",
    "ge": "GreaterThanOrEqual",
    "lt": "LessThan",
    "le": "LessThanOrEqual",
}
_NUMERIC = {"Edm.Int32", "Edm.Int64", "Edm.Decimal", "Edm.Double"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int
    value: object = None


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char in _PUNCTUATION:
            tokens.append(Token(_PUNCTUATION[char], char, i))
            i += 1
            continue
        if char == "'":
            end, value = _string_end(text, i)
            tokens.append(Token("STRING", text[i:end], i, value))
            i = end
            continue
        if char == "[":
            end = _array_end(text, i)
            try:
                items = json.loads(text[i:end])
            except ValueError:
                raise bad_query(f"Syntax error at position {i} in '{text}'.") from None
            tokens.append(Token("ARRAY", text[i:end], i, items))
            i = end
            continue
        for kind, pattern in _TOKEN_PATTERNS:
            match = pattern.match(text, i)
            if match:
                tokens.append(Token(kind, match.group(0), i))
                i = match.end()
                break
        else:
            raise bad_query(f"Syntax error: character '{char}' is not valid at position {i} in '{text}'.")
    tokens.append(Token("EOF", "", len(text)))
    return tokens


def _string_end(text: str, start: int) -> tuple[int, str]:
    """End index and value of a '...' literal whose quotes are escaped by doubling."""
    i = start + 1
    parts: list[str] = []
    while i < len(text):
        if text[i] == "'":
            if i + 1 < len(text) and text[i + 1] == "'":
                parts.append("'")
                i += 2
                continue
            return i + 1, "".join(parts)
        parts.append(text[i])
        i += 1
    raise bad_query(f"There is an unterminated literal at position {start} in '{text}'.")


def _array_end(text: str, start: int) -> int:
    in_string = False
    i = start
    while i < len(text):
        char = text[i]
        if in_string:
            if char == "\\":
                i += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "]":
            return i + 1
        i += 1
    raise bad_query(f"There is an unterminated array at position {start} in '{text}'.")


@dataclass(frozen=True)
class Typed:
    """A compiled operand and its Edm type (None for the null literal)."""

    evaluate: Operand
    edm: str | None
    property_name: str | None = None
    constant: bool = False  # a literal: the same for every row


class FilterParser:
    """Recursive descent over: or > and > not > comparison > primary."""

    def __init__(self, table: Table, text: str, aliases: Mapping[str, str]) -> None:
        self.table = table
        self.text = text
        self.aliases = aliases
        self.tokens = tokenize(text)
        self.index = 0

    def parse(self) -> Predicate:
        predicate = self._or()
        if self._peek().kind != "EOF":
            self._syntax_error(self._peek())
        return predicate

    # -- token helpers
    def _peek(self) -> Token:
        return self.tokens[self.index]

    def _next(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token.kind == "NAME" and token.text == word:
            self.index += 1
            return True
        return False

    def _expect(self, kind: str) -> Token:
        token = self._next()
        if token.kind != kind:
            self._syntax_error(token)
        return token

    def _syntax_error(self, token: Token) -> None:
        where = f"'{token.text}' at position {token.position}" if token.text else f"end of input at {token.position}"
        raise bad_query(f"Syntax error at {where} in '{self.text}'.")

    # -- grammar
    def _or(self) -> Predicate:
        left = self._and()
        while self._keyword("or"):
            right = self._and()
            left = _either(left, right)
        return left

    def _and(self) -> Predicate:
        left = self._not()
        while self._keyword("and"):
            right = self._not()
            left = _both(left, right)
        return left

    def _not(self) -> Predicate:
        if self._keyword("not"):
            inner = self._not()
            return lambda row: not inner(row)
        return self._comparison()

    def _comparison(self) -> Predicate:
        token = self._peek()
        if token.kind == "LPAREN":
            self._next()
            inner = self._or()
            self._expect("RPAREN")
            return inner
        left = self._operand()
        operator = self._peek()
        if operator.kind == "NAME" and operator.text in COMPARISONS:
            self._next()
            right = self._operand()
            return self._compare(operator.text, left, right)
        if left.edm == "Edm.Boolean":
            evaluate = left.evaluate
            return lambda row: evaluate(row) is True
        self._syntax_error(operator)
        raise AssertionError

    def _operand(self) -> Typed:
        token = self._next()
        if token.kind == "ALIAS":
            return self._alias(token)
        if token.kind == "NAME":
            if self._peek().kind == "LPAREN":
                return self._function(token)
            return self._name(token)
        return _literal(token, self.text)

    def _alias(self, token: Token) -> Typed:
        raw = self.aliases.get(token.text)
        if raw is None:
            raise bad_query(f"The parameter alias '{token.text}' was not supplied in the query string.")
        tokens = tokenize(raw)
        if len(tokens) != 2:
            raise bad_query(f"The parameter alias '{token.text}' must be a single literal.")
        return _literal(tokens[0], raw)

    def _name(self, token: Token) -> Typed:
        word = token.text
        if word in ("null", "true", "false"):
            return _literal(token, self.text)
        if "/" in word:
            raise bad_query(f"Navigation paths in $filter are not supported by the emulator: '{word}'.")
        return Typed(_getter(word), _property_type(self.table, word), word)

    def _function(self, token: Token) -> Typed:
        name = token.text
        self._expect("LPAREN")
        if name in ("contains", "startswith", "endswith"):
            subject = self._operand()
            self._expect("COMMA")
            needle = self._operand()
            self._expect("RPAREN")
            for operand in (subject, needle):
                if operand.edm != "Edm.String":
                    raise bad_query(f"The function '{name}' takes string arguments; found '{operand.edm}'.")
            return Typed(_text_function(name, subject.evaluate, needle.evaluate), "Edm.Boolean")
        if name in ("Microsoft.Dynamics.CRM.In", "Microsoft.Dynamics.CRM.NotIn"):
            return self._membership(name)
        raise bad_query(f"The function '{name}' is not supported.")

    def _membership(self, name: str) -> Typed:
        arguments: dict[str, Token] = {}
        while True:
            key = self._expect("NAME").text
            self._expect("EQUALS")
            arguments[key] = self._next()
            if self._peek().kind == "COMMA":
                self._next()
                continue
            self._expect("RPAREN")
            break
        prop, values = arguments.get("PropertyName"), arguments.get("PropertyValues")
        if prop is None or prop.kind != "STRING" or values is None or values.kind != "ARRAY":
            raise bad_query(f"{name} needs PropertyName='<column>' and PropertyValues=[\"...\"].")
        column = str(prop.value)
        edm = _property_type(self.table, column)
        if not isinstance(values.value, list):
            raise bad_query(f"PropertyValues of {name} must be an array.")
        wanted = {_normalise(_convert_member(v, edm, self.text), edm) for v in values.value}
        getter = _getter(column)
        negate = name.endswith("NotIn")

        def member(row: Row) -> bool:
            found = _normalise(getter(row), edm) in wanted
            return not found if negate else found

        return Typed(member, "Edm.Boolean")

    def _compare(self, operator: str, left: Typed, right: Typed) -> Predicate:
        edm = _common_type(left, right, operator)
        if left.property_name is not None and right.constant:
            return _property_against_constant(operator, left.property_name, _normalise(right.evaluate({}), edm), edm)
        lhs = left.evaluate
        rhs = _normalised_once(right, edm) if right.constant else _normalised(right.evaluate, edm)

        def compare(row: Row) -> bool:
            a, b = _normalise(lhs(row), edm), rhs(row)
            if operator == "eq":
                return a == b
            if operator == "ne":
                return a != b
            if a is None or b is None:
                return False
            if operator == "gt":
                return a > b  # type: ignore[operator]
            if operator == "ge":
                return a >= b  # type: ignore[operator]
            if operator == "lt":
                return a < b  # type: ignore[operator]
            return a <= b  # type: ignore[operator]

        return compare


def _property_against_constant(operator: str, name: str, fixed: object, edm: str | None) -> Predicate:
    """`name op literal`, the common case: one closure per operator, no per-row dispatch.

    An `eq` carries `index_key` = (property, normalised value, edm) so a query can look the
    rows up in an index instead of testing every row (see `index_key`).
    """
    folds = edm in ("Edm.String", "Edm.Guid")
    widens_date = edm == "Edm.DateTimeOffset"

    def value(row: Row) -> object:
        current = row.get(name)
        if isinstance(current, str):
            if folds:
                return current.casefold()
            if widens_date and len(current) == 10:
                return current + "T00:00:00Z"
        return current

    if operator == "eq":
        def equal(row: Row) -> bool:
            return value(row) == fixed

        if fixed is not None:
            equal.index_key = (name, fixed, edm)  # type: ignore[attr-defined]
        return equal
    if operator == "ne":
        return lambda row: value(row) != fixed
    if fixed is None:
        return lambda row: False
    compare = {"gt": operator_gt, "ge": operator_ge, "lt": operator_lt, "le": operator_le}[operator]

    def ordered(row: Row) -> bool:
        current = value(row)
        return current is not None and compare(current, fixed)

    return ordered


def index_key(predicate: Predicate) -> tuple[str, object, str | None] | None:
    """(property, normalised value, edm) when every row matching `predicate` has that value."""
    return getattr(predicate, "index_key", None)


def normalised_property(value: object, edm: str | None) -> object:
    """The form `index_key` values take: what an index of the property must be keyed by."""
    return _normalise(value, edm)


def _normalised_once(literal: Typed, edm: str | None) -> Operand:
    fixed = _normalise(literal.evaluate({}), edm)
    return lambda row: fixed


def _normalised(evaluate: Operand, edm: str | None) -> Operand:
    return lambda row: _normalise(evaluate(row), edm)


def _either(left: Predicate, right: Predicate) -> Predicate:
    return lambda row: left(row) or right(row)


def _both(left: Predicate, right: Predicate) -> Predicate:
    def both(row: Row) -> bool:
        return left(row) and right(row)

    hint = index_key(left) or index_key(right)  # a row matching both matches either one's equality
    if hint is not None:
        both.index_key = hint  # type: ignore[attr-defined]
    return both


def _getter(name: str) -> Operand:
    return lambda row: row.get(name)


def _property_type(table: Table, name: str) -> str:
    if name == table.primary_key or table.lookup_by_value_property(name) is not None:
        return "Edm.Guid"
    column = table.columns.get(name)
    if column is not None:
        return EDM_TYPES[column.kind]
    if name in table.constants:
        return "Edm.String"
    raise unknown_property(table.type_name, name)


def _literal(token: Token, text: str) -> Typed:
    if token.kind == "STRING":
        value = token.value
        return Typed(lambda row: value, "Edm.String", constant=True)
    if token.kind == "GUID":
        guid = token.text.lower()
        return Typed(lambda row: guid, "Edm.Guid", constant=True)
    if token.kind == "DATETIME":
        moment = to_utc_text(token.text)
        if moment is None:
            raise bad_query(f"The date-time literal '{token.text}' is not valid.")
        return Typed(lambda row: moment, "Edm.DateTimeOffset", constant=True)
    if token.kind == "DATE":
        day = token.text
        return Typed(lambda row: day, "Edm.Date", constant=True)
    if token.kind == "NUMBER":
        raw = token.text.rstrip("mMdDlL")
        number: float | int = float(raw) if any(c in raw for c in ".eE") else int(raw)
        edm = "Edm.Int32" if isinstance(number, int) else "Edm.Double"
        return Typed(lambda row: number, edm, constant=True)
    if token.kind == "NAME" and token.text in ("null", "true", "false"):
        value = None if token.text == "null" else token.text == "true"
        return Typed(lambda row: value, None if value is None else "Edm.Boolean", constant=True)
    where = f"'{token.text}' at position {token.position}" if token.text else f"end of input at {token.position}"
    raise bad_query(f"Syntax error at {where} in '{text}'.")


def _common_type(left: Typed, right: Typed, operator: str) -> str | None:
    a, b = left.edm, right.edm
    if a is None or b is None:
        return a or b
    if a == b or (a in _NUMERIC and b in _NUMERIC):
        return a
    if {a, b} == {"Edm.DateTimeOffset", "Edm.Date"}:
        return "Edm.DateTimeOffset"
    raise bad_query(
        "A binary operator with incompatible types was detected. Found operand types "
        f"'{a}' and '{b}' for operator kind '{_OPERATOR_NAMES[operator]}'."
    )


def _normalise(value: object, edm: str | None) -> object:
    """Comparable form: strings case-insensitive, GUIDs lower-case, dates as UTC text."""
    if isinstance(value, str):
        if edm == "Edm.DateTimeOffset" and len(value) == 10:
            return value + "T00:00:00Z"
        if edm in ("Edm.String", "Edm.Guid"):
            return value.casefold()
    return value


def _convert_member(value: object, edm: str, text: str) -> object:
    if edm in _NUMERIC:
        try:
            return int(str(value))
        except ValueError:
            try:
                return float(str(value))
            except ValueError:
                raise bad_query(f"The value '{value}' is not valid for a numeric column in '{text}'.") from None
    if edm == "Edm.DateTimeOffset":
        moment = to_utc_text(str(value))
        if moment is None:
            raise bad_query(f"The value '{value}' is not a valid date-time in '{text}'.")
        return moment
    return str(value)


def _text_function(name: str, subject: Operand, needle: Operand) -> Operand:
    def apply(row: Row) -> bool:
        haystack, part = subject(row), needle(row)
        if not isinstance(haystack, str) or not isinstance(part, str):
            return False
        haystack, part = haystack.casefold(), part.casefold()
        if name == "contains":
            return part in haystack
        if name == "startswith":
            return haystack.startswith(part)
        return haystack.endswith(part)

    return apply


_COMPILED: dict[tuple[int, str, tuple[tuple[str, str], ...]], tuple[Table, Predicate]] = {}
COMPILED_LIMIT = 1024


def compile_filter(table: Table, text: str, aliases: Mapping[str, str] | None = None) -> Predicate:
    """The predicate for `text` (compiled once per table, text and aliases), or a 400 ServiceError."""
    key = (id(table), text, tuple(sorted((aliases or {}).items())))
    hit = _COMPILED.get(key)
    if hit is not None and hit[0] is table:
        return hit[1]
    predicate = _compile(table, text, aliases)
    if len(_COMPILED) >= COMPILED_LIMIT:
        _COMPILED.clear()
    _COMPILED[key] = (table, predicate)
    return predicate


def _compile(table: Table, text: str, aliases: Mapping[str, str] | None) -> Predicate:
    try:
        return FilterParser(table, text, aliases or {}).parse()
    except ServiceError:
        raise
    except (IndexError, ValueError):
        raise bad_query(f"Syntax error in '$filter={text}'.") from None

