"""A local host for the Functions app, for machines without Azure Functions Core Tools.

It serves ``function_app.py`` as the Functions host would: routes, methods and auth levels
from the app's own metadata, the route prefix from host.json, settings from
local.settings.json and function keys checked as in Azure. See docs/local-host.md.
"""

from devhost.keys import HostKeys
from devhost.server import DevHost

__all__ = ["DevHost", "HostKeys"]
