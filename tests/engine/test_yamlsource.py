"""The marked YAML loader: positions, duplicate keys, safe loading, diagnostics."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.durations import format_duration, parse_duration
from engine.errors import ConfigError, LocatedError
from engine.yamlsource import Diagnostics, MarkedList, MarkedMap, check_keys, load_yaml

DOC = """\
units:
  - id: a
    name: 甲
assets:
  - id: portal
    probes: [http, tls]
"""


def test_marks_of_keys_values_and_items() -> None:
    d = load_yaml("inv.yaml", text=DOC)
    assert isinstance(d, MarkedMap)
    assert str(d.key_mark("assets")) == "inv.yaml:4:1"
    assets = d["assets"]
    assert isinstance(assets, MarkedList)
    asset = assets[0]
    assert str(assets.mark_at(0)) == "inv.yaml:5:5"
    assert str(asset.mark_of("probes")) == "inv.yaml:6:13"
    assert str(asset["probes"].mark_at(1)) == "inv.yaml:6:20"
    assert d["units"][0]["name"] == "甲"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", "f.yaml:3:1: duplicate key 'a' (first at line 1)"),
        (
            "a: [1, 2\n",
            "f.yaml:2:1: YAML syntax error: expected ',' or ']', but got '<stream end>'",
        ),
        ("a: !!python/object:os.system x\n", "f.yaml:1:4: invalid value:"),
        ("base: &b {x: 1}\nother:\n  <<: *b\n", "f.yaml:3:3: merge keys (<<) are not supported"),
        ("? [1, 2]\n: x\n", "f.yaml:1:3: keys must be strings, got [1, 2]"),
    ],
)
def test_errors_are_located(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_yaml("f.yaml", ConfigError, text=text)
    assert str(info.value).startswith(message)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LocatedError, match=r"nope.yaml:1:1: file not found"):
        load_yaml(tmp_path / "nope.yaml")


def test_empty_document_is_none() -> None:
    assert load_yaml("e.yaml", text="") is None


def test_check_keys_collects_in_lint_mode() -> None:
    d = load_yaml("r.yaml", text="idd: x\nseverity: high\n")
    diag = Diagnostics(fail_fast=False)
    check_keys(d, ["id", "severity", "title"], ["id"], what="rule", err=ConfigError, diag=diag)
    assert [str(e) for e in diag.errors] == [
        "r.yaml:1:1: unknown key 'idd' in rule (did you mean 'id'?)",
        "r.yaml:1:1: rule is missing required key 'id'",
    ]


def test_check_keys_fails_fast_by_default() -> None:
    d = load_yaml("r.yaml", text="x: 1\n")
    with pytest.raises(ConfigError, match="unknown key 'x' in rule"):
        check_keys(d, ["id"], what="rule", err=ConfigError, diag=Diagnostics())


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("500ms", 0.5), ("7d", 604800), ("1.5h", 5400)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["30", "5 minutes", "", "m5", "0s", 30, None, "5m3"])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_format_duration() -> None:
    assert [format_duration(x) for x in (0.5, 90, 3600, 90061)] == [
        "500ms",
        "1m30s",
        "1h",
        "1d1h1m1s",
    ]
