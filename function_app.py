"""The Azure Functions app (Python v2 model): one blueprint per route group of docs/spec.md#2-http-api.

Blueprints import only ``azure.functions`` at load time; flows load on first use, so the
host indexes this app quickly (cold start is measured in ``benchmarks/``).
"""

import azure.functions as func

from http_api import appointment_webhook, booking_sessions, health, schedule_import

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(health.bp)
app.register_functions(booking_sessions.bp)
app.register_functions(appointment_webhook.bp)
app.register_functions(schedule_import.bp)
