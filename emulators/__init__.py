"""Local stand-ins for the systems the function app talks to (development and tests only)."""
