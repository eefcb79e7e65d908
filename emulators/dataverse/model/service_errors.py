"""Dataverse-shaped failures: an HTTP status plus the service's 0x... code and message."""

from __future__ import annotations


class ServiceError(Exception):
    """Raised anywhere in request handling; answered as {"error": {"code", "message"}}."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message}}


PAYLOAD = "0x80048d19"
URL = "0x80060888"


def segment_not_found(segment: str) -> ServiceError:
    return ServiceError(404, URL, f"Resource not found for the segment '{segment}'.")


def no_route(method: str, path: str) -> ServiceError:
    return ServiceError(404, URL, f"No HTTP resource was found that matches the request URI '{path}' ({method}).")


def record_missing(logical: str, record_id: str) -> ServiceError:
    return ServiceError(404, "0x80040217", f"Entity '{logical}' With Id = {record_id} Does Not Exist")


def key_missing(logical: str) -> ServiceError:
    # 404 for 0x80060891 is UNCONFIRMED (docs/dataverse-webapi.md#36-alternate-keys); it is what a client would expect.
    return ServiceError(404, "0x80060891", f"A record with the specified key values does not exist in {logical} entity")


def duplicate() -> ServiceError:
    return ServiceError(412, "0x80040237", "A record with matching key values already exists.")


def duplicate_key(key_name: str, columns: tuple[str, ...]) -> ServiceError:
    return ServiceError(
        412,
        "0x80060892",
        f"Entity Key {key_name} violated. A record with the same value for {', '.join(columns)} already exists. "
        "A duplicate record cannot be created. Please change the value and try again.",
    )


def version_mismatch() -> ServiceError:
    return ServiceError(
        412, "0x80060882", "The version of the existing record doesn't match the RowVersion property provided."
    )


def invalid_property(type_name: str, name: str) -> ServiceError:
    return ServiceError(400, PAYLOAD, f"Invalid property '{name}' was found in entity '{type_name}'.")


def bad_payload(entity_set: str, detail: str) -> ServiceError:
    return ServiceError(
        400,
        PAYLOAD,
        f"Error identified in Payload provided by the user for Entity :'{entity_set}' ----> "
        f"InnerException : Microsoft.OData.ODataException: {detail}",
    )


def bad_query(message: str) -> ServiceError:
    return ServiceError(400, URL, message)


def unknown_property(type_name: str, name: str) -> ServiceError:
    return ServiceError(400, "0x0", f"Could not find a property named '{name}' on type '{type_name}'.")


def invalid_argument(message: str) -> ServiceError:
    # 0x80040203 (InvalidArgument) for required/state errors is UNCONFIRMED; the status 400 is documented.
    return ServiceError(400, "0x80040203", message)
