"""Dataverse Web API surface of the emulator: URLs, OData queries, writes, batches, metadata."""
