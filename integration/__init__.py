"""The three flows of the product, each written as the steps of its seed document.

- ``booking_sessions``: read the customer, ask the booking API for a session, build the redirect.
- ``appointments``: apply a signed booking-system event to Dataverse.
- ``schedules``: import committed WEM shifts as bookable resource bookings.

Flows raise the errors of :mod:`integration.errors` (or let the clients' typed errors
through); :mod:`entry.problems` is the one place that maps them to answers.

Every flow takes an :class:`integration.dependencies.Dependencies` (settings and clients) as
its first argument; nothing here reads the environment, builds a client, or imports the
entry layer (``http_api``, ``entry``).
"""
