"""``ssa notify check``: the summary on success, every problem with file:line:col otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli import main

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "routes"


def test_check_valid(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", "x")
    path = FIXTURES / "valid.yaml"
    assert main(["notify", "check", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok, 3 receivers, 3 routes\n"


def test_check_reports_every_problem(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = tmp_path / "routes.yaml"
    p.write_text(
        "receivers:\n  h:\n    webhook: {url: 'ftp://x', secret: s}\nroutes:\n  - receiver: nope\n"
    )
    assert main(["notify", "check", str(p)]) == 1
    assert capsys.readouterr().err == (
        f"{p}:3:20: webhook receiver 'h': 'url' must be an http:// or https:// URL\n"
        f"{p}:5:15: unknown receiver 'nope'\n"
        f"{p}: 2 error(s)\n"
    )


def test_check_example_without_its_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    path = REPO / "notify" / "routes.yaml"
    assert main(["notify", "check", "--ignore-env", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok, 6 receivers, 4 routes\n"


def test_check_unreadable_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = tmp_path / "missing.yaml"
    assert main(["notify", "check", str(p)]) == 1
    assert capsys.readouterr().err == f"{p}:1:1: file not found\n"
