"""Marks inside YAML scalars: plain, quoted, block and folded expressions."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import RuleError
from engine.ruleset import load_ruleset

HEAD = "rules:\n  - id: r\n    title: t\n    type: match\n    severity: low\n"
CASES = [
    # (condition as written in YAML, expected line:col of the bad '$')
    ("    condition: ok and $\n", "6:23"),
    ("    condition: 'ok and $'\n", "6:24"),
    ('    condition: "ok and $"\n', "6:24"),
    ("    condition: |\n      ok\n        and $\n", "8:13"),
    ("    condition: >-\n      ok and\n      not ok and $\n", "8:18"),
    ("    condition: ok and\n      not ok or $\n", "7:17"),
]


@pytest.mark.parametrize(("yaml_text", "where"), CASES, ids=[c[1] for c in CASES])
def test_error_points_into_the_expression(tmp_path: Path, yaml_text: str, where: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(HEAD + yaml_text)
    with pytest.raises(RuleError) as info:
        load_ruleset(path)
    assert str(info.value) == f"{path}:{where}: unexpected character '$'"
