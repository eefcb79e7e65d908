"""What the suites share: settings, the booking sandbox, the app in a DevHost, webhook events,
calls to the app's handlers, and polling for a condition. Tests and conftest modules import
from here; nothing imports a conftest module.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
