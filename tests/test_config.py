"""The settings (pydantic-settings): the same variables, file and precedence as before, and a
clear error naming the variable for a value that cannot be used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from archivist import config
from archivist.config import ConfigError, Settings


def test_defaults_environment_file_and_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.load({}) == Settings()
    monkeypatch.setenv("ARCHIVIST_PORT", "9999")
    assert Settings().port == 8080  # a Settings built in code takes only its arguments
    assert config.load().port == 9999  # load() reads the process environment by default

    env = {"ARCHIVIST_PORT": "1234", "ARCHIVIST_ICE_HOSTS": "192.0.2.1, 192.0.2.2,", "ARCHIVIST_LOG_JSON": "yes",
           "ARCHIVIST_HOST": "", "ARCHIVIST_UPLOAD_BACKOFF": "0.5", "ARCHIVIST_DATA_DIR": str(tmp_path)}
    s = config.load(env)
    assert (s.port, s.ice_hosts, s.log_json, s.host, s.upload_backoff) == (1234, ("192.0.2.1", "192.0.2.2"),
                                                                          True, "127.0.0.1", 0.5)
    assert s.data_dir == tmp_path and s.db_url.endswith(f"{tmp_path}/archivist.db")
    assert config.load(env | {"PORT": "5555"}).port == 5555  # the platform's PORT wins over ARCHIVIST_PORT
    assert config.load(env | {"PORT": "5555"}, port=1).port == 1  # the command line wins over everything

    toml = tmp_path / "archivist.toml"
    toml.write_text('port = 9000\nice_hosts = ["198.51.100.7"]\nlog_json = true\nsample_api_key = "42"\n'
                    'webhook_timeout = 3\n')
    from_file = config.load({"ARCHIVIST_CONFIG": str(toml)})
    assert (from_file.port, from_file.ice_hosts, from_file.log_json, from_file.webhook_timeout) == (
        9000, ("198.51.100.7",), True, 3.0)
    both = config.load({"ARCHIVIST_CONFIG": str(toml), "ARCHIVIST_LOG_JSON": "false", "API_KEY": "7"})
    assert both.log_json is False and both.port == 9000  # the environment wins over the file
    assert both.sample_api_key == "42"  # ours (from the file) win over the spec's API_KEY

    spec = config.load({"API_KEY": " 123 ", "API_SECRET": "s", "API_URL": "https://ot.example.com"})
    assert (spec.sample_api_key, spec.sample_api_secret, spec.sample_api_url) == ("123", "s", "https://ot.example.com")
    assert config.load({"API_KEY": "123", "ARCHIVIST_SAMPLE_API_KEY": "456"}).sample_api_key == "456"
    assert "sample_api_secret" not in repr(spec) and "s3_secret_access_key" not in repr(spec)

    changed = s.replace(port="8081")
    assert changed.port == 8081 and changed.ice_hosts == s.ice_hosts and s.port == 1234
    with pytest.raises(ValueError):
        s.replace(port="not a port")


@pytest.mark.parametrize(("env", "message"), [
    ({"ARCHIVIST_PORT": "abc"}, "port (ARCHIVIST_PORT or PORT): Input should be a valid integer"),
    ({"PORT": "80a"}, "port (ARCHIVIST_PORT or PORT)"),
    ({"ARCHIVIST_LOG_JSON": "maybe"}, "log_json (ARCHIVIST_LOG_JSON): Input should be a valid boolean"),
    ({"ARCHIVIST_LOG_LEVEL": "loud"}, "log_level (ARCHIVIST_LOG_LEVEL): must be one of DEBUG"),
    ({"ARCHIVIST_WEBHOOK_TIMEOUT": "soon"}, "webhook_timeout (ARCHIVIST_WEBHOOK_TIMEOUT)"),
    ({"ARCHIVIST_S3_BUCKET": "b", "ARCHIVIST_AZURE_CONTAINER": "c", "ARCHIVIST_AZURE_CONNECTION_STRING": "x"},
     "set ARCHIVIST_S3_BUCKET or ARCHIVIST_AZURE_CONTAINER, not both"),
    ({"ARCHIVIST_AZURE_CONTAINER": "c"}, "ARCHIVIST_AZURE_CONTAINER needs ARCHIVIST_AZURE_CONNECTION_STRING"),
    ({"ARCHIVIST_CONFIG": "/no/such/archivist.toml"}, "ARCHIVIST_CONFIG: no such file"),
])
def test_bad_values_are_clear_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config.load(env)
    assert message in str(caught.value)


def test_bad_file_and_the_command_line(tmp_path: Path) -> None:
    typo = tmp_path / "typo.toml"
    typo.write_text("prot = 9000\n")
    with pytest.raises(ConfigError, match="prot: not a setting"):
        config.load({"ARCHIVIST_CONFIG": str(typo)})
    broken = tmp_path / "broken.toml"
    broken.write_text("port = \n")
    with pytest.raises(ConfigError, match="ARCHIVIST_CONFIG"):
        config.load({"ARCHIVIST_CONFIG": str(broken)})
    done = subprocess.run([sys.executable, "-m", "archivist.cli", "--data-dir", str(tmp_path), "projects", "list"],
                          env={"ARCHIVIST_PORT": "eighty", "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and done.stderr.startswith("error: port (ARCHIVIST_PORT or PORT)"), done.stderr
