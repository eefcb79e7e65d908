"""Hosting of the Dataverse emulator: HTTP server, ASGI app, controls, pages, faults, request log."""
