"""POST /api/webhooks/appointments (CONTRACT §2.3)."""

from __future__ import annotations

import azure.functions as func

bp = func.Blueprint()
