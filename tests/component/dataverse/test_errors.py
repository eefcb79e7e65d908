"""Error classes: the mapping the HTTP layer relies on, and nothing personal in str()/repr()."""

import pytest

from dataverse import errors


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "0x80048d19", errors.BadRequest),
        (401, None, errors.Unauthorized),
        (403, "0x80040220", errors.Forbidden),
        (404, "0x80040217", errors.NotFound),
        (412, "0x80040237", errors.Duplicate),
        (412, "0x80060892", errors.Duplicate),
        (412, "0x80060882", errors.VersionMismatch),
        (412, "0x0", errors.PreconditionFailed),
        (429, "0x80072322", errors.Throttled),
        (500, None, errors.Unavailable),
        (503, None, errors.Unavailable),
        (409, None, errors.DataverseError),
    ],
)
def test_class_by_status_and_code(status, code, cls):
    assert type(errors.build_error(status, {"error": {"code": code, "message": "m"}})) is cls


def test_hierarchy_matches_the_error_contract():
    assert issubclass(errors.Duplicate, errors.PreconditionFailed)
    assert issubclass(errors.VersionMismatch, errors.PreconditionFailed)
    assert issubclass(errors.Timeout, errors.Unavailable)
    assert all(issubclass(c, errors.DataverseError) for c in (errors.Throttled, errors.Unavailable, errors.NotFound))


@pytest.mark.parametrize(
    "body",
    [None, "", [], {"error": "boom"}, {"error": {"code": 5}}, {"message": "top-level"}, {"error": {"code": ""}}],
)
def test_malformed_bodies_are_tolerated(body):
    err = errors.build_error(400, body)
    assert err.status == 400 and isinstance(err.message, str)


def test_str_and_repr_hold_ids_but_not_the_message():
    err = errors.build_error(
        400,
        {"error": {"code": "0x0", "message": "Syntax error in 'emailaddress1 eq 'ana@example.com''"}},
        retry_after=2,
        client_request_id="c-1",
        service_request_id="s-1",
    )
    for text in (str(err), repr(err)):
        assert "ana@example.com" not in text
        assert "c-1" in text and "s-1" in text and "0x0" in text
    assert "ana@example.com" in err.message
