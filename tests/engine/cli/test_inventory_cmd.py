"""``ssa inventory check``: every problem printed, non-zero exit; counts on success."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "inventory"


def test_check_prints_every_problem_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    path = FIXTURES / "lint-many.yaml"
    assert main(["inventory", "check", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 8 and lines[-1] == "7 error(s)"
    assert lines[0] == f"{path}:4:9: duplicate unit id 'u1' (first at line 2)"


def test_check_a_missing_file_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["inventory", "check", str(tmp_path / "nope.yaml")]) == 1
    assert f"{tmp_path}/nope.yaml:1:1: file not found" in capsys.readouterr().out


def test_check_a_valid_folder_prints_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "check", str(FIXTURES / "valid-folder")]) == 0
    assert capsys.readouterr().out == "ok: 1 units, 3 assets (1 website, 1 ip, 1 system)\n"
