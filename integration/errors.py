"""Errors the flows raise, each meaning one HTTP answer (see :mod:`http_api.problems`).

The Dataverse and booking clients have their own typed errors; the HTTP layer maps those
too, so a flow only catches what it can do something about.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldProblem:
    """One problem with an input, located by a JSON path such as ``$.agents[3].email``."""

    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


@dataclass
class IntegrationError(Exception):
    detail: str
    status: int = field(default=500, init=False)
    title: str = field(default="Integration error", init=False)
    retry_after: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        super().__init__(self.detail)


@dataclass
class InvalidInput(IntegrationError):
    """The request is malformed; ``problems`` lists every problem found, by JSON path."""

    problems: list[FieldProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.status, self.title = 400, "Invalid request"


@dataclass
class RecordNotFound(IntegrationError):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.status, self.title = 404, "Record not found"


@dataclass
class PayloadTooLarge(IntegrationError):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.status, self.title = 413, "Payload too large"


@dataclass
class SignatureRejected(IntegrationError):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.status, self.title = 401, "Invalid webhook signature"


@dataclass
class UpstreamRejected(IntegrationError):
    """An upstream system answered with an error or with something we cannot use."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.status, self.title = 502, "Bad answer from an upstream system"


@dataclass
class UpstreamUnavailable(IntegrationError):
    """An upstream system is throttling, down or unreachable: the caller should retry later."""

    seconds: float = 5.0
    timed_out: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        self.retry_after = self.seconds
        if self.timed_out:
            self.status, self.title = 504, "Upstream system timed out"
        else:
            self.status, self.title = 503, "Upstream system unavailable"
