"""What the Azure Functions host would do with this app, checked without the host.

``index`` runs the real Python worker's indexing (azure-functions-runtime) in a fresh
interpreter; ``rules`` applies the host's own checks that the worker does not make.
"""
