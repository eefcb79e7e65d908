"""DateOnly custom columns: "YYYY-MM-DD" in and out, a date-time refused (docs/dataverse-webapi.md#10-dates-and-times, #127-dates).

The shared emulator has no DateOnly column the integration writes, so this module starts its
own with ``custom_columns={"appointment": {"new_day": "date"}}``.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from emulators.dataverse import DataverseEmulator
from tests.component.emulator.web_api import REPRESENTATION, created_id, error_of
from tests.support import loopback


@pytest.fixture(scope="module")
def emulator() -> Iterator[DataverseEmulator]:
    with DataverseEmulator(custom_columns={"appointment": {"new_day": "date"}}) as emu:
        yield emu


@pytest.fixture
def api(emulator: DataverseEmulator) -> Iterator[httpx.Client]:
    emulator.reset()
    with loopback.client(base_url=f"{emulator.url}/api/data/v9.2/", timeout=10) as client:
        yield client


def test_a_date_only_value_round_trips(api, emulator):
    """docs/dataverse-webapi.md#10-dates-and-times: Edm.Date, "YYYY-MM-DD", no time and no conversion."""
    created = api.post("appointments", json={"subject": "x", "new_day": "2025-03-03"}, headers=REPRESENTATION)
    assert created.status_code == 201, created.text
    assert created.json()["new_day"] == "2025-03-03"
    row_id = created.json()["activityid"]

    read = api.get(f"appointments({row_id})", params={"$select": "new_day"})
    assert read.status_code == 200 and read.json()["new_day"] == "2025-03-03"
    assert emulator.row("appointments", row_id)["new_day"] == "2025-03-03"

    assert api.patch(f"appointments({row_id})", json={"new_day": "2025-12-31"}, headers={"If-Match": "*"}).status_code == 204
    assert api.get(f"appointments({row_id})", params={"$select": "new_day"}).json()["new_day"] == "2025-12-31"


@pytest.mark.parametrize("value", ["2025-03-03T00:00:00Z", "2025-03-03T08:00:00+01:00", "2025-03-03T08:00:00"])
def test_a_date_time_is_refused_for_a_date_only_column(api, emulator, value):
    """docs/dataverse-webapi.md#10-dates-and-times, #127-dates: a DateOnly column takes no time part: 400, nothing written."""
    response = api.post("appointments", json={"subject": "x", "new_day": value})
    assert response.status_code == 400, response.text
    assert "Edm.Date" in error_of(response)["message"]
    assert emulator.rows("appointments") == []

    row_id = created_id(api.post("appointments", json={"subject": "x", "new_day": "2025-03-03"}))
    response = api.patch(f"appointments({row_id})", json={"new_day": value}, headers={"If-Match": "*"})
    assert response.status_code == 400, response.text
    error_of(response)
    assert emulator.row("appointments", row_id)["new_day"] == "2025-03-03"


@pytest.mark.parametrize("value", ["2025-02-30", "03/03/2025", "2025-3-3", 20250303])
def test_a_malformed_date_is_refused(api, value):
    """docs/dataverse-webapi.md#10-dates-and-times: malformed values are rejected with 400."""
    response = api.post("appointments", json={"subject": "x", "new_day": value})
    assert response.status_code == 400, response.text
    error_of(response)
