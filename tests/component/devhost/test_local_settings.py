"""local.settings.json reaches the app like under Core Tools: variables already set win."""

from __future__ import annotations

import json
import os

import pytest

from devhost import DevHost
from devhost.local_settings import LocalSettingsError, apply_values, load_local_settings
from tests.component.devhost.sample_app import write_sample_app
from tests.support import loopback


def write_settings(path, values, host=None):
    path.write_text(json.dumps({"IsEncrypted": False, "Values": values, **({"Host": host} if host else {})}))
    return path


def test_values_fill_only_what_the_environment_lacks():
    env = {"ALREADY": "from-env"}
    applied = apply_values({"ALREADY": "from-file", "NEW": "from-file"}, env)
    assert env == {"ALREADY": "from-env", "NEW": "from-file"}
    assert applied == ["NEW"]


def test_host_section_and_defaults(tmp_path):
    path = write_settings(tmp_path / "local.settings.json", {"A": "1"},
                          {"LocalHttpPort": 7072, "CORS": "https://a.example, https://b.example/"})
    local = load_local_settings(path)
    assert local.host.local_http_port == 7072
    assert local.host.cors_origins == ("https://a.example", "https://b.example")
    assert load_local_settings(tmp_path / "missing.json").values == {}


@pytest.mark.parametrize("content, hint", [
    ("{", "not valid JSON"),
    (json.dumps({"Values": {"PORT": 5555}}), "Values.PORT"),
    (json.dumps({"IsEncrypted": True, "Values": {}}), "IsEncrypted"),
])
def test_a_malformed_file_is_a_clear_error(tmp_path, content, hint):
    path = tmp_path / "local.settings.json"
    path.write_text(content)
    with pytest.raises(LocalSettingsError, match=hint):
        load_local_settings(path)


def test_the_served_app_sees_file_values_env_overrides_and_explicit_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVHOST_T_ENV", "from-env")
    monkeypatch.delenv("DEVHOST_T_FILE", raising=False)
    monkeypatch.delenv("DEVHOST_T_EXPLICIT", raising=False)
    settings = write_settings(tmp_path / "local.settings.json", {
        "DEVHOST_T_ENV": "from-file", "DEVHOST_T_FILE": "from-file", "DEVHOST_T_EXPLICIT": "from-file"})
    host = DevHost(write_sample_app(tmp_path / "app"), {"DEVHOST_T_EXPLICIT": "explicit"}, settings_file=settings)
    with host:
        seen = loopback.get(f"{host.url}/api/settings",
                         params={"names": "DEVHOST_T_ENV,DEVHOST_T_FILE,DEVHOST_T_EXPLICIT"}).json()
    assert seen == {"DEVHOST_T_ENV": "from-env", "DEVHOST_T_FILE": "from-file", "DEVHOST_T_EXPLICIT": "explicit"}
    assert os.environ["DEVHOST_T_ENV"] == "from-env"
    assert "DEVHOST_T_FILE" not in os.environ and "DEVHOST_T_EXPLICIT" not in os.environ  # put back on stop
