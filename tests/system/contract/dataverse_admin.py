"""Dataverse as a Dynamics admin sees it: the emulator's Web API over plain HTTP.

Deliberately independent of the product's `dataverse` client, so a shared misunderstanding
cannot hide a defect. Literals are escaped here with the OData rule (double the quote).
"""

from __future__ import annotations

import re
from typing import Any

from tests.support import loopback

GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
BATCH_WRITE = re.compile(r"^(POST|PATCH|PUT|DELETE) (\S+) HTTP/1\.1", re.MULTILINE)


def text(value: str) -> str:
    """An OData string literal."""
    return "'" + value.replace("'", "''") + "'"


class DataverseAdmin:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = loopback.client(base_url=f"{self.base_url}/api/data/v9.2/", timeout=10,
                                 headers={"Accept": "application/json", "OData-Version": "4.0"})

    def close(self) -> None:
        self.http.close()

    def create(self, entity_set: str, row: dict[str, Any]) -> str:
        answer = self.http.post(entity_set, json=row)
        assert answer.status_code == 204, answer.text
        return GUID.findall(answer.headers["OData-EntityId"])[-1]

    def update(self, entity_set: str, row_id: str, values: dict[str, Any]) -> None:
        answer = self.http.patch(f"{entity_set}({row_id})", json=values, headers={"If-Match": "*"})
        assert answer.status_code == 204, answer.text

    def get(self, entity_set: str, row_id: str, **options: str) -> dict[str, Any] | None:
        answer = self.http.get(f"{entity_set}({row_id})", params=_options(options))
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, answer.text
        return answer.json()

    def rows(self, entity_set: str, **options: str) -> list[dict[str, Any]]:
        answer = self.http.get(entity_set, params=_options(options))
        assert answer.status_code == 200, answer.text
        return answer.json()["value"]

    def parties(self, appointment_id: str) -> list[dict[str, Any]]:
        answer = self.http.get(f"appointments({appointment_id})/appointment_activity_parties")
        assert answer.status_code == 200, answer.text
        return answer.json()["value"]

    # The emulator's request log, through its HTTP control surface.
    def clear_log(self) -> None:
        loopback.delete(f"{self.base_url}/_emulator/requests").raise_for_status()

    def logged(self) -> list[dict[str, Any]]:
        answer = loopback.get(f"{self.base_url}/_emulator/requests")
        answer.raise_for_status()
        body = answer.json()
        return body["requests"] if isinstance(body, dict) else body

    def request_count(self) -> int:
        return len(self.logged())

    def writes(self) -> list[str]:
        """Every write the log shows, as "METHOD path", looking inside $batch bodies too."""
        found: list[str] = []
        for logged in self.logged():
            if logged["path"].endswith("/$batch"):
                found += [" ".join(m) for m in BATCH_WRITE.findall(logged.get("body") or "")]
            elif logged["method"] in WRITE_METHODS:
                found.append(f'{logged["method"]} {logged["path"]}')
        return found


def _options(options: dict[str, str]) -> dict[str, str]:
    return {f"${name}": value for name, value in options.items()}
