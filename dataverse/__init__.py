"""A thin, resilient async client for the Dataverse Web API (see docs/dataverse-client.md)."""

from dataverse.batch import BatchResult, ChangeSet
from dataverse.client import DataverseClient, UpsertResult
from dataverse.request_builders import Request
from dataverse.retry import RetryPolicy

__all__ = ["BatchResult", "ChangeSet", "DataverseClient", "Request", "RetryPolicy", "UpsertResult"]
