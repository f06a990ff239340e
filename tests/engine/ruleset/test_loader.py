"""Loading rule packs: every invalid fixture with its exact messages, versions, policies."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.alerting.policy import AlertPolicy, Inhibition
from engine.errors import RuleError
from engine.ruleset import load_ruleset
from engine.yamlsource import Diagnostics
from tests.rulehelpers import pack

REPO = Path(__file__).resolve().parents[3]
INVALID = REPO / "tests" / "fixtures" / "rules" / "invalid"

# Each invalid fixture and every error it must produce, exactly (file:line:col: message).
CASES = [
    ("bad-cidr.yaml", ["bad-cidr.yaml:2:87: invalid CIDR '10.0.0.0/33'"]),
    ("bad-duration.yaml", ["bad-duration.yaml:8:13: invalid duration '5 minutes' "
                           "(use e.g. 30s, 5m, 1h30m, 500ms, 7d)"]),
    ("bad-expression.yaml", ["bad-expression.yaml:6:30: unexpected end of expression"]),
    ("bad-regex.yaml", ["bad-regex.yaml:2:83: regex has a nested quantifier "
                        "(catastrophic backtracking)"]),
    ("bad-sequence.yaml", ["bad-sequence.yaml:7:12: a not_followed_by sequence takes exactly "
                           "two steps"]),
    ("bad-test-case.yaml", ["bad-test-case.yaml:9:24: test observation is missing required "
                            "key 'probe'"]),
    ("block-scalar-column.yaml", ["block-scalar-column.yaml:8:30: unexpected '>'"]),
    ("chained-compare.yaml", ["chained-compare.yaml:2:81: comparisons cannot be chained; "
                              "join them with 'and'"]),
    ("comprehension.yaml", ["comprehension.yaml:2:67: comprehensions are not allowed"]),
    ("deep-nesting.yaml", ["deep-nesting.yaml:6:48: expression is nested too deeply "
                           "(more than 32 levels)"]),
    ("dunder.yaml", ["dunder.yaml:2:63: dunder names are not allowed: '__class__'"]),
    ("duplicate-id.yaml", ["duplicate-id.yaml:3:10: duplicate rule id 'r1' "
                           f"(first at {INVALID}/duplicate-id.yaml:2)"]),
    ("forbidden-call.yaml", ["forbidden-call.yaml:6:37: unknown function 'open' "
                             "(allowed: abs, any_in, diff, exists, in_cidr, len, lower, upper)"]),
    ("group-by-field.yaml", ["group-by-field.yaml:2:78: unknown field 'data.sourceip' "
                             "in group_by"]),
    ("huge-exponent.yaml", ["huge-exponent.yaml:2:78: exponent 100000 is too large "
                            "(at most 64)"]),
    ("import.yaml", ["import.yaml:2:63: imports are not allowed"]),
    ("lambda.yaml", ["lambda.yaml:2:64: lambdas are not allowed"]),
    ("macro-cycle.yaml", ["macro-cycle.yaml:3:15: macro 'first' refers to itself "
                          "(first -> second -> first)"]),
    ("missing-param.yaml", ["missing-param.yaml:2:5: rule is missing required key 'count'"]),
    ("not-a-mapping.yaml", ["not-a-mapping.yaml:1:1: a rule file must be a mapping with "
                            "lists, macros and rules"]),
    ("outside-event.yaml", ["outside-event.yaml:2:63: attribute access outside the event: "
                            "'os.system' (fields are data.*, asset.* or observation fields)"]),
    ("resolve-on-absence.yaml", ["resolve-on-absence.yaml:2:76: 'resolve' has no meaning "
                                 "for absence rules"]),
    ("string-attribute.yaml", ["string-attribute.yaml:2:69: attribute access is only allowed "
                               "on event fields"]),
    ("title-field.yaml", ["title-field.yaml:2:43: unknown field 'data.nope' in title"]),
    ("unknown-field.yaml", ["unknown-field.yaml:6:36: unknown field 'data.staus' "
                            "(did you mean 'data.status'?)"]),
    ("unknown-inhibited-rule.yaml", ["unknown-inhibited-rule.yaml:7:44: unknown rule "
                                     "'site-dwn' in inhibits"]),
    ("unknown-key.yaml", ["unknown-key.yaml:7:5: unknown key 'descripton' in rule "
                          "(did you mean 'description'?)"]),
    ("unknown-list.yaml", ["unknown-list.yaml:8:29: unknown name 'riskyports' (not a field, "
                           "list or macro) (did you mean 'risky_ports'?)"]),
    ("unknown-macro.yaml", ["unknown-macro.yaml:8:16: unknown name 'http_failde' (not a field, "
                            "list or macro) (did you mean 'http_failed'?)"]),
    ("unknown-severity.yaml", ["unknown-severity.yaml:2:47: unknown severity 'severe' "
                               "(one of: info, low, medium, high, critical)"]),
    ("unknown-type.yaml", ["unknown-type.yaml:2:30: unknown rule type 'thresh' "
                           "(one of: match, threshold, change, absence, anomaly, sequence)"]),
]


def test_every_fixture_has_a_case() -> None:
    assert sorted(p.name for p in INVALID.glob("*.yaml")) == sorted(name for name, _ in CASES)


@pytest.mark.parametrize(("name", "expected"), CASES, ids=[c[0] for c in CASES])
def test_invalid_fixture(name: str, expected: list[str]) -> None:
    diag = Diagnostics(fail_fast=False)
    with pytest.raises(RuleError) as info:
        load_ruleset(INVALID / name, diag=diag)
    assert [str(e) for e in diag.errors] == [f"{INVALID}/{m}" for m in expected]
    # without a Diagnostics the same first problem is raised
    with pytest.raises(RuleError) as again:
        load_ruleset(INVALID / name)
    assert str(again.value) == str(info.value)
    assert str(info.value).startswith(f"{INVALID}/{expected[0]}")


def test_every_problem_is_collected_and_counted(tmp_path: Path) -> None:
    bad = tmp_path / "r.yaml"
    bad.write_text(
        "rules:\n"
        "  - {id: a, title: t, type: match, severity: low, condition: data.nope}\n"
        "  - {id: b, title: t, type: match, severity: bad, condition: ok}\n"
    )
    diag = Diagnostics(fail_fast=False)
    with pytest.raises(RuleError, match=r"\(and 1 more problems\)"):
        load_ruleset(bad, diag=diag)
    assert len(diag.errors) == 2


def test_unused_lists_and_macros_are_warnings(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "lists: {spare: [1]}\n"
        "macros: {idle: ok}\n"
        "rules: [{id: a, title: t, type: match, severity: low, condition: not ok}]\n"
    )
    diag = Diagnostics(fail_fast=False)
    rs = load_ruleset(path, diag=diag)
    assert [r.id for r in rs.rules] == ["a"]
    assert [str(w) for w in diag.warnings] == [
        f"{path}:2:10: macro 'idle' is never used",
        f"{path}:1:9: list 'spare' is never used",
    ]


def test_a_folder_shares_lists_and_macros(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("lists: {ports: [22]}\nmacros: {tcp: probe == \"tcp\"}\n")
    (tmp_path / "b.yaml").write_text(
        "rules: [{id: r, title: t, type: match, severity: low, "
        "condition: tcp and data.port in ports}]\n"
    )
    rs = load_ruleset(tmp_path)
    assert rs.rules[0].probes == frozenset({"tcp"})
    assert rs.files == (str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"))


def test_redefining_a_name_across_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("lists: {ports: [22]}\n")
    (tmp_path / "b.yaml").write_text("macros: {ports: ok}\n")
    with pytest.raises(RuleError) as info:
        load_ruleset(tmp_path)
    assert str(info.value) == (
        f"{tmp_path}/b.yaml:1:10: 'ports' is already defined at {tmp_path}/a.yaml:1"
    )


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="no rule files"):
        load_ruleset(tmp_path)


SAMPLE = """\
lists: {ports: [22, 3389]}
macros: {tcp_probe: probe == "tcp"}
rules:
  - id: exposed
    title: "{asset.name} exposes {data.port}"
    type: match
    severity: high
    risk_weight: 7
    tags: [T1190]
    condition: tcp_probe and data.port in ports
    resolve_after: 1h
    flap: {window: 10m, max_changes: 3}
    inhibits: [{scope: dependents, rules: [other], tags: [web]}]
  - id: other
    title: t
    type: match
    severity: info
    condition: probe == "http"
    resolve_after: never
    enabled: false
"""


def test_policies_are_built_for_every_rule(tmp_path: Path) -> None:
    rs = pack(tmp_path, SAMPLE)
    assert rs.policies == {
        "exposed": AlertPolicy(
            rule="exposed", severity="high", risk_weight=7.0, tags=("T1190",),
            title="{asset.name} exposes {data.port}", resolve_after_s=3600.0,
            flap_window_s=600.0, flap_max_changes=3,
            inhibits=(Inhibition("dependents", ("other",), ("web",)),),
        ),
        "other": AlertPolicy(rule="other", severity="info", risk_weight=0.0, title="t",
                             resolve_after_s=None),
    }
    assert [r.id for r in rs.enabled] == ["exposed"]


def test_versions_are_stable_and_follow_content(tmp_path: Path) -> None:
    a = pack(tmp_path, SAMPLE, "a.yaml")
    b = pack(tmp_path / ".." / tmp_path.name, SAMPLE, "a.yaml")
    assert a.version == b.version and len(a.version) == 64
    reordered = SAMPLE.replace("    risk_weight: 7\n    tags: [T1190]\n",
                               "    tags: [T1190]\n    risk_weight: 7\n")
    assert pack(tmp_path, reordered, "c.yaml").version == a.version
    changed = pack(tmp_path, SAMPLE.replace("22, 3389", "22, 3390"), "d.yaml")
    assert changed.version != a.version
    # the list is used by 'exposed' only: 'other' keeps its version
    assert changed.rule("exposed").version != a.rule("exposed").version
    assert changed.rule("other").version == a.rule("other").version
    with_tests = SAMPLE.replace(
        "    enabled: false\n",
        "    enabled: false\n    tests: [{observations: [], expect: []}]\n",
    )
    assert pack(tmp_path, with_tests, "e.yaml").version == a.version


def test_shipped_pack_version_is_pinned_to_its_content() -> None:
    one = load_ruleset(REPO / "rules")
    two = load_ruleset(REPO / "rules")
    assert one.version == two.version
    assert {r.id for r in one.rules} >= {
        "site-down", "slow-site", "cert-expiring", "cert-expired", "cert-mismatch", "weak-tls",
        "dns-answers-changed", "risky-port-exposed", "new-open-port", "defacement",
        "dark-links", "missing-security-headers", "probe-silence-http", "brute-force",
        "port-exposure-then-defacement", "host-unreachable",
    }
    assert {r.type for r in one.rules} == {
        "match", "threshold", "change", "absence", "anomaly", "sequence"
    }
    assert all(r.tests for r in one.rules)
    inh = one.policies["host-unreachable"].inhibits
    assert inh and inh[0].scope == "dependents" and "site-down" in inh[0].rules
