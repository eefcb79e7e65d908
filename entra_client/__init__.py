"""Client of Microsoft Entra ID for the session routes (``SESSION_AUTH=entra``).

- :mod:`entra_client.access_tokens`: validates a caller's access token (PyJWT, RS256, the
  tenant's JWKS cached and refreshed on an unknown ``kid``, rate-limited);
- :mod:`entra_client.on_behalf_of`: exchanges it for a Dataverse token for the same user
  (msal's ``ConfidentialClientApplication``, a client secret or a managed-identity client
  assertion), cached per user until it expires;
- :mod:`entra_client.errors`: what both raise.

Nothing here reads the environment or imports the flows; PyJWT, cryptography, msal and
azure-identity are imported on first use (cold start).
"""
