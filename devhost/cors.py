"""Browser CORS from local.settings.json ``Host.CORS``, as Core Tools applies it locally.

In Azure the platform's CORS list does this job; locally a page served elsewhere (e.g. a
Dynamics web resource under development) needs the same answers to call the app.
"""

from __future__ import annotations

from dataclasses import dataclass

from devhost.invocation import Answer


@dataclass(frozen=True)
class CorsPolicy:
    origins: tuple[str, ...] = ()
    credentials: bool = False

    def allowed_origin(self, origin: str | None) -> str | None:
        """The value for Access-Control-Allow-Origin, or None when the origin is not allowed."""
        if not origin or not self.origins:
            return None
        if "*" in self.origins and not self.credentials:
            return "*"
        return origin if origin.rstrip("/") in self.origins or "*" in self.origins else None

    def headers(self, origin: str | None) -> list[tuple[str, str]]:
        allowed = self.allowed_origin(origin)
        if allowed is None:
            return []
        headers = [("access-control-allow-origin", allowed)]
        if allowed != "*":
            headers.append(("vary", "Origin"))
        if self.credentials:
            headers.append(("access-control-allow-credentials", "true"))
        return headers

    def preflight(self, origin: str | None, method: str, request_headers: str | None) -> Answer | None:
        """The answer to an OPTIONS preflight from an allowed origin, else None."""
        headers = self.headers(origin)
        if not headers:
            return None
        headers += [("access-control-allow-methods", method), ("access-control-max-age", "600"),
                    ("content-length", "0")]
        if request_headers:
            headers.append(("access-control-allow-headers", request_headers))
        return Answer(204, headers, b"")
