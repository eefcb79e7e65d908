"""One Dataverse emulator for the conformance session, serving https with its generated CA,
and a clean copy per test. Both real clients refuse plain http (the Python SDK checks the
scheme), so they are told to trust the emulator's CA the ordinary way: `REQUESTS_CA_BUNDLE`
for the SDK's `requests`, `NODE_EXTRA_CA_CERTS` for Node.js."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

# urllib3 (the SDK's transport) logs every request line at DEBUG, alternate keys included
# (`contacts(emailaddress1='...')`). As for the tests' own httpx clients (tests/conftest.py),
# the privacy scan is meant for the product's logs, not for the URLs a test sends on purpose.
logging.getLogger("urllib3").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def conformance_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from emulators.dataverse import DataverseEmulator

    with DataverseEmulator(https=True, tls_dir=tmp_path_factory.mktemp("conformance-tls")) as emulator:
        assert emulator.url.startswith("https://"), emulator.url
        yield emulator


@pytest.fixture
def served(conformance_emulator, monkeypatch: pytest.MonkeyPatch):
    """The emulator reset to its seed; `requests` (the SDK's transport) trusts its CA."""
    conformance_emulator.reset()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(conformance_emulator.ca_path))
    return conformance_emulator
