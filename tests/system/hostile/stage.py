"""The hostile suite's credentials and the records its requests name."""

from __future__ import annotations

from tests.system.hostile.signing import secret_for

CURRENT_SECRET = secret_for("current")
PREVIOUS_SECRET = secret_for("previous")  # still accepted: rotation in progress
RETIRED_SECRET = secret_for("retired")  # rotated out: must be refused
BOOKING_API_KEY = "hostile-suite-api-key"
LEAD_ID = "3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b"  # the spec's example id; a real lead in the emulator
AGENT_EMAIL = "a.smith@contoso.com"  # the spec's example agent; a real systemuser in the emulator
KEYS = {
    "masterKey": "hostile-master-key",
    "hostKeys": {"default": "hostile-host-key"},
    "functionKeys": {"import_schedules": {"default": "hostile-import-key"}},
}
