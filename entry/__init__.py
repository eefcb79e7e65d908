"""The entry layer's non-HTTP parts: where the process meets the outside world.

- ``problems``: any exception as an RFC 9457 problem document (used by ``http_api``).
- ``observability``: invocation ids on log lines, optional Application Insights.
"""
