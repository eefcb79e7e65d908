"""The entry layer's non-HTTP parts: where the process meets the outside world.

- ``composition_root``: builds settings and clients in one place and hands them to the flows.
- ``problems``: any exception as an RFC 9457 problem document (used by ``http_api`` and the command).
- ``schedule_import``: the schedule import as a command (``python -m entry.schedule_import FILE.json``).
- ``observability``: invocation ids on log lines, optional Application Insights.

Dependencies flow one way: entry (``function_app.py``, ``http_api/``, ``entry/``) → flows
(``integration/``) → clients (``dataverse/``, ``booking_client/``).
"""
