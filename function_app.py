"""The Azure Functions app (Python v2 model): one blueprint per route group, plus the background
functions that need the app's storage account (``background``, registered only with it).

The composition root reads the app settings from the environment and builds the clients;
blueprints import only ``azure.functions`` at load time and flows load on first use, so the
host indexes this app quickly (cold start is measured in ``benchmarks/``).
"""

import background
from entry.composition_root import CompositionRoot
from http_api import build_app

root = CompositionRoot()
app = build_app(root)
background.register(app, root)
