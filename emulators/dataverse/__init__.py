"""Dataverse Web API emulator: real HTTP on loopback, for development and tests (docs/emulator.md)."""

from emulators.dataverse.request_log import LoggedRequest
from emulators.dataverse.server import DataverseEmulator
from emulators.dataverse.service_errors import ServiceError

__all__ = ["DataverseEmulator", "LoggedRequest", "ServiceError"]
