"""One Dataverse emulator for the conformance session, served over TLS, and a clean copy per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conformance.certificates import ServerCertificate, issue_loopback_certificate


@dataclass(frozen=True)
class ServedEmulator:
    emulator: object  # emulators.dataverse.DataverseEmulator
    url: str  # https://127.0.0.1:PORT, what the clients are given
    certificate: ServerCertificate

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/data/v9.2/"


@pytest.fixture(scope="session")
def served_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedEmulator]:
    from emulators.dataverse import DataverseEmulator
    from tests.conformance.tls_front import TlsFront

    certificate = issue_loopback_certificate(Path(tmp_path_factory.mktemp("conformance-tls")))
    with DataverseEmulator() as emulator, TlsFront(emulator.port, certificate) as front:
        yield ServedEmulator(emulator, front.url, certificate)


@pytest.fixture
def served(served_emulator: ServedEmulator, monkeypatch: pytest.MonkeyPatch) -> ServedEmulator:
    """The emulator reset to its seed; `requests` (the SDK's transport) trusts the test CA."""
    served_emulator.emulator.reset()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(served_emulator.certificate.ca_file))
    return served_emulator
