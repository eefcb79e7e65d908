"""POST /api/booking-sessions and GET /api/booking-sessions/redirect (CONTRACT §2.1, §2.2)."""

from __future__ import annotations

import azure.functions as func

bp = func.Blueprint()
