"""The HTTP layer: one blueprint per route group of docs/spec.md#2-http-api.

Modules here import only the standard library and ``azure.functions`` at load time; each
handler imports its flow on first use. That keeps the cold start of ``function_app`` small
(see ``benchmarks/``), because the host loads every blueprint before the first request.
"""
