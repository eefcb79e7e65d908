"""Route templates in the host's syntax: parameters, constraints, optional and catch-all parts."""

from __future__ import annotations

import pytest

from devhost.routes import RouteTemplate, RouteTemplateError

GUID = "1f0e3dad-9990-4a5b-8c4e-0f1e2d3c4b5a"


@pytest.mark.parametrize("template, path, expected", [
    ("api/health", "/api/health", {}),
    ("api/health", "/API/Health/", {}),
    ("api/health", "/api/health/x", None),
    ("api/items/{id}", "/api/items/a%2Fb", {"id": "a/b"}),
    ("api/items/{id}", "/api/items/", None),
    ("api/items/{id:int}", "/api/items/-12", {"id": "-12"}),
    ("api/items/{id:int}", "/api/items/2147483648", None),
    ("api/items/{id:long}", "/api/items/2147483648", {"id": "2147483648"}),
    ("api/rows/{id:guid}", f"/api/rows/{GUID}", {"id": GUID}),
    ("api/rows/{id:guid}", "/api/rows/not-a-guid", None),
    ("api/c/{code:length(3)}", "/api/c/abc", {"code": "abc"}),
    ("api/c/{code:length(3)}", "/api/c/abcd", None),
    ("api/c/{code:alpha:maxlength(2)}", "/api/c/ab", {"code": "ab"}),
    ("api/c/{code:alpha:maxlength(2)}", "/api/c/a1", None),
    ("api/n/{n:range(1,5)}", "/api/n/5", {"n": "5"}),
    ("api/n/{n:range(1,5)}", "/api/n/6", None),
    ("api/s/{slug:regex(^[a-z]+$)}", "/api/s/abc", {"slug": "abc"}),
    ("api/s/{slug:regex(^[a-z]+$)}", "/api/s/ab1", None),
    ("api/flag/{on:bool}", "/api/flag/True", {"on": "True"}),
    ("api/opt/{id?}", "/api/opt", {}),
    ("api/opt/{id?}", "/api/opt/3", {"id": "3"}),
    ("api/opt/{id:int?}", "/api/opt/x", None),
    ("api/def/{page=1}", "/api/def", {"page": "1"}),
    ("api/def/{page=1}", "/api/def/4", {"page": "4"}),
    ("api/files/{*rest}", "/api/files/a/b/c.txt", {"rest": "a/b/c.txt"}),
    ("api/files/{*rest}", "/api/files", {}),
    ("api/dl/{name}.{ext}", "/api/dl/report.v2.pdf", {"name": "report", "ext": "v2.pdf"}),
    ("", "/", {}),
    ("{*all}", "/anything/at/all", {"all": "anything/at/all"}),
])
def test_matching(template: str, path: str, expected: dict[str, str] | None):
    assert RouteTemplate.compile(template).match(path) == expected


@pytest.mark.parametrize("template", [
    "api/{id:nosuch}", "api/{id:length(x)}", "api/{*rest}/more", "api/{a}/{A}", "api/{opt?}/tail",
    "api//double", "api/{bad name}",
])
def test_templates_the_host_would_reject_fail_at_start(template: str):
    with pytest.raises(RouteTemplateError, match="route"):
        RouteTemplate.compile(template)


def test_precedence_prefers_literals_then_constraints_then_parameters_then_catch_all():
    templates = ["api/{*rest}", "api/{id}", "api/{id:int}", "api/fixed"]
    ordered = sorted((RouteTemplate.compile(t) for t in templates), key=lambda r: r.precedence)
    assert [r.template for r in ordered] == ["api/fixed", "api/{id:int}", "api/{id}", "api/{*rest}"]
