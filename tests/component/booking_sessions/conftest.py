"""The booking-session tests use the shared fixtures of tests/conftest.py (sandbox, booking_env)."""
