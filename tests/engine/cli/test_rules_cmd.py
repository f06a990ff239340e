"""``ssa rules lint | test | schema`` run in-process over the shipped pack and fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main
from engine.ruleset import load_ruleset
from engine.ruleset.schema import rule_file_schema
from engine.vocabulary import markdown

REPO = Path(__file__).resolve().parents[3]
RULES = REPO / "rules"
INVALID = REPO / "tests" / "fixtures" / "rules" / "invalid"


def test_lint_shipped_pack_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "lint", str(RULES)]) == 0
    out = capsys.readouterr().out.splitlines()
    rs = load_ruleset(RULES)
    n_tests = sum(len(r.tests) for r in rs.rules)
    assert out == [
        f"{len(rs.rules)} rules, {n_tests} test cases, 0 errors, 0 warnings; "
        f"version {rs.version[:12]}"
    ]


def test_lint_reports_every_problem_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "lists: {unused: [1]}\n"
        "rules:\n"
        "  - {id: a, title: t, type: match, severity: low, condition: data.staus == 1}\n"
        "  - {id: a, title: t, type: match, severity: low, condition: ok}\n"
        "  - {id: b, title: t, type: threshold, severity: low, condition: ok, count: 2,"
        " window: 5}\n"
    )
    assert main(["rules", "lint", str(path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{path}:1:9: warning: list 'unused' is never used",
        f"{path}:3:62: error: unknown field 'data.staus' (did you mean 'data.status'?)",
        f"{path}:4:10: error: duplicate rule id 'a' (first at {path}:3)",
        f"{path}:5:88: error: duration must be a string like '30s' or '5m', got 5",
        "3 errors, 1 warnings",
    ]


@pytest.mark.parametrize("name", ["unknown-field.yaml", "macro-cycle.yaml", "lambda.yaml"])
def test_lint_fixture_exits_non_zero(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "lint", str(INVALID / name)]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"{INVALID / name}:") and ": error: " in first


def test_test_shipped_pack_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "test", str(RULES)]) == 0
    out = capsys.readouterr().out.splitlines()
    rs = load_ruleset(RULES)
    n = sum(len(r.tests) for r in rs.rules)
    assert out[-1] == f"{n} passed, 0 failed"
    assert sum(line.startswith("PASS ") for line in out) == n
    assert not any(line.startswith(("FAIL", "WARN")) for line in out)


def test_test_one_rule_verbose_shows_explanations(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "test", str(RULES), "--rule", "cert-expired", "-v"]) == 0
    out = capsys.readouterr().out
    assert "PASS cert-expired: an expired certificate fires" in out
    assert "data.cert_days_left (-2) < 0" in out
    assert main(["rules", "test", str(RULES), "--rule", "no-such-rule"]) == 1


def test_test_reports_failures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("""\
rules:
  - id: r
    title: "down {data.status}"
    type: match
    severity: low
    condition: data.status >= 500
    tests:
      - name: wrong expectation
        observations: [{at: 0s, probe: http, data: {status: 503}}]
        expect: [{at: 10s, title: "down 502"}]
      - name: right expectation
        observations: [{at: 0s, probe: http, data: {status: 503}}]
        expect: [{at: 0s, title: "down 503"}]
""")
    assert main(["rules", "test", str(path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "FAIL r: wrong expectation",
        f"  {path}:8:9:",
        "    finding 1: title is 'down 503', expected 'down 502'",
        "    finding 1: at is '0s', expected '10s'",
        "PASS r: right expectation",
        "1 passed, 1 failed",
    ]


def test_test_refuses_a_pack_that_does_not_load(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "test", str(INVALID / "dunder.yaml")]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "rules failed to load; no tests run"


def test_schema_is_printed_and_matches_the_docs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == rule_file_schema()
    assert json.loads((REPO / "docs" / "rules.schema.json").read_text()) == printed
    rule = printed["properties"]["rules"]["items"]
    assert rule["properties"]["type"]["enum"] == [
        "match",
        "threshold",
        "change",
        "absence",
        "anomaly",
        "sequence",
    ]
    assert "window" in rule["properties"] and "steps" in rule["properties"]


def test_observation_docs_are_generated_from_the_vocabulary() -> None:
    assert (REPO / "docs" / "observations.md").read_text(encoding="utf-8") == markdown()
