"""Entra ID stand-in for development and tests: OpenID discovery, JWKS, the v2.0 token and
authorize endpoints, and the App Service managed-identity endpoint, over https.

Never deployed with the function app; shares no code with the app's identity code.
See docs/identity-stand-in.md.
"""

from .stand_in import IdentityStandIn

__all__ = ["IdentityStandIn"]
