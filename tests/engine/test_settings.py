"""Settings: file, environment overrides, strictness, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.settings import Settings, redacted


def test_defaults_without_file_or_env() -> None:
    s = Settings.load(env={})
    assert s.kafka.bootstrap == ""
    assert s.topics.partitions == 6
    assert s.topics.retention_days == 180
    assert s.api.host == "127.0.0.1"
    assert s.topic("alerts") == "ssa.alerts"


def test_file_then_environment(tmp_path: Path) -> None:
    f = tmp_path / "ssa.toml"
    f.write_text('[topics]\nprefix = "city"\npartitions = 12\n[api]\ntoken = "s3cret"\n')
    s = Settings.load(f, env={"SSA_TOPICS_PARTITIONS": "3", "SSA_KAFKA_BOOTSTRAP": "h:1"})
    assert s.topics.prefix == "city"
    assert s.topics.partitions == 3  # the environment wins over the file
    assert s.kafka.bootstrap == "h:1"
    assert s.api.token == "s3cret"


def test_config_path_from_environment(tmp_path: Path) -> None:
    f = tmp_path / "other.toml"
    f.write_text("[kafka]\nport = 29092\n")
    assert Settings.load(env={"SSA_CONFIG": str(f)}).kafka.port == 29092


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[kafak]\nport = 1\n", {}, "unknown section [kafak]"),
        ("[kafka]\nprot = 1\n", {}, "unknown key kafka.prot"),
        ("[kafka]\nport = 'x'\n", {}, "kafka.port: expected int, got 'x'"),
        ("kafka = 3\n", {}, "[kafka] must be a table"),
        ("[kafka\n", {}, "ssa.toml: "),
        ("", {"SSA_TOPICS_PARTITIONS": "many"}, "SSA_TOPICS_PARTITIONS: expected int, got 'many'"),
    ],
)
def test_bad_settings_are_errors(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    f = tmp_path / "ssa.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as info:
        Settings.load(f, env=env)
    assert message in str(info.value)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="settings file not found"):
        Settings.load(tmp_path / "nope.toml", env={})


def test_secrets_never_shown() -> None:
    s = Settings.load(env={"SSA_API_TOKEN": "hunter2", "SSA_COLLECTORS_INGEST_TOKENS": "a=b"})
    assert "hunter2" not in repr(s)
    assert redacted(s)["api"]["token"] == "***"
    assert "a=b" not in repr(s)
