"""Dataverse Web API emulator: real HTTP on loopback, for development and tests (docs/emulator.md)."""

from emulators.dataverse.hosting.request_log import LoggedRequest
from emulators.dataverse.hosting.server import DataverseEmulator
from emulators.dataverse.model.service_errors import ServiceError

__all__ = ["DataverseEmulator", "LoggedRequest", "ServiceError"]
