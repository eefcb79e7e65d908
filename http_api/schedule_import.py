"""POST /api/schedules/import (CONTRACT §2.4)."""

from __future__ import annotations

import azure.functions as func

bp = func.Blueprint()
