"""The expression compiler: what valid expressions evaluate to, and every rejection."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import RuleError
from tests.engine.ruleset.exprutil import compile_text, sample_ctx

VALID: list[tuple[str, Any]] = [
    ('probe == "http"', True),
    ("not ok", True),
    ("data.status == 503", True),
    ("data.status != 200", True),
    ("data.status >= 500 and asset.criticality >= 4", True),
    ("data.status < 500 or asset.criticality < 4", False),
    # absent fields: every comparison is false, exists() is false, never a crash
    ("data.cert_days_left < 14", False),
    ("data.cert_days_left >= 14", False),
    ("data.cert_days_left != 3", False),
    ("data.cert_days_left == null", True),
    ("data.cert_days_left != null", False),
    ("exists(data.cert_days_left)", False),
    ("not exists(data.cert_days_left)", True),
    ("exists(data.status)", True),
    ("data.cert_days_left + 1", None),
    ("data.port in risky_ports", False),
    ("data.port not in risky_ports", False),
    ("len(data.dark_links)", None),
    # membership
    ("data.status in [500, 502, 503]", True),
    ("data.status in (500, 502, 503)", True),
    ("data.status not in [500]", True),
    ("data.status in risky_ports", False),
    ("3389 in data.open_ports", True),
    ('"key-site" in asset.tags', True),
    ('"hack" in data.title', False),
    ('"Hack" in data.title', True),
    # word tests
    ("data.open_ports contains 3389", True),
    ('data.title contains "Hacked"', True),
    ('lower(data.title) contains "hacked"', True),
    ('upper(data.title) startswith "HACKED"', True),
    ('data.final_url startswith "https://"', True),
    ('data.final_url endswith "/index"', True),
    ('data.final_url endswith ["/a", "/index"]', True),
    ('data.title matches "(?i)hacked\\\\s+by"', True),
    ('data.title matches "^by"', False),
    ('data.status matches "5"', False),
    ('data.source_ip in_cidr "10.0.0.0/8"', True),
    ('data.source_ip in_cidr ["192.0.2.0/24", "10.1.0.0/16"]', True),
    ("data.source_ip in_cidr nets", True),
    ('in_cidr(data.addresses, "192.0.2.0/24")', True),
    ('data.title in_cidr "10.0.0.0/8"', False),
    # arithmetic
    ("data.latency_ms / 1000 > 1", True),
    ("data.status % 100", 3),
    ("data.status * 2 - 6", 1000),
    ("2 ** 10", 1024),
    ("-data.status", -503),
    ("-(data.status)", -503),
    ("data.status / 0", None),
    ('"a" * 3', None),
    ("data.title + 1", None),
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    # functions
    ("len(data.headers_missing)", 2),
    ("len(data.status)", None),
    ("abs(-3)", 3),
    ("abs(data.title)", None),
    ("diff(data.open_ports, asset.expected_ports)", [3389]),
    ("any_in(data.open_ports, risky_ports)", True),
    ("any_in(data.addresses, risky_ports)", False),
    # nested data, asset, observation fields, macros, literals
    ("data.phases_ms.ttfb > 500", True),
    ("data.phases_ms.dns", None),
    ('asset.name == "Portal"', True),
    ("asset.criticality", 5),
    ('unit == "u1"', True),
    ('error == "timeout"', True),
    ("http_failed", True),
    ("not http_failed", False),
    ("http_failed and asset.criticality >= 4", True),
    ("(ok or data.status == 503) and not false", True),
    ('data.status == "503"', False),
    ("data.title < 5", False),
    ("true", True),
    ("True", True),
    ("1.5e3 > 1000", True),
    ("'single' == \"single\"", True),
    ('"tab\\there"', "tab\there"),
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[v[0] for v in VALID])
def test_valid(text: str, expected: Any) -> None:
    _, fn = compile_text(text)
    assert fn(sample_ctx()) == expected


INVALID: list[tuple[str, str]] = [
    ("data.status ==", "expr:1:15: unexpected end of expression"),
    ("data.status = 200", "expr:1:13: use '==' to compare"),
    ("data.status == 200 && ok", "expr:1:20: use 'and' instead of '&&'"),
    ("ok || not ok", "expr:1:4: use 'or' instead of '||'"),
    ("!ok", "expr:1:1: use 'not' instead of '!'"),
    ("ok; ok", "expr:1:3: ';' is not allowed: an expression is one condition"),
    ('__import__("os")', "expr:1:1: dunder names are not allowed: '__import__'"),
    ("data.__dict__", "expr:1:1: dunder names are not allowed: '__dict__'"),
    ('eval("1")', "expr:1:1: unknown function 'eval' (allowed: abs, any_in, diff, exists, "
                  "in_cidr, len, lower, upper)"),
    ('getattr(data.title, "x")', "expr:1:1: unknown function 'getattr' (allowed: abs, any_in, "
                                 "diff, exists, in_cidr, len, lower, upper)"),
    ("data.status.real", "expr:1:1: unknown field 'data.status.real' "
                         "(did you mean 'data.status'?)"),
    ("(data.status).real", "expr:1:14: attribute access is only allowed on event fields"),
    ('"abc".upper', "expr:1:6: attribute access is only allowed on event fields"),
    ("os.system", "expr:1:1: attribute access outside the event: 'os.system' "
                  "(fields are data.*, asset.* or observation fields)"),
    ("lambda: 1", "expr:1:1: lambdas are not allowed"),
    ("[x for x in data.addresses]", "expr:1:4: comprehensions are not allowed"),
    ("from os import path", "expr:1:1: imports are not allowed"),
    ("import os", "expr:1:1: imports are not allowed"),
    ("data.status if ok else 1", "expr:1:13: conditional expressions are not allowed; "
                                 "use 'and'/'or'"),
    ("data.status is 1", "expr:1:13: use '==' or '!=' instead of 'is'"),
    ("def", "expr:1:1: 'def' is not allowed in an expression"),
    ("2 ** 65", "expr:1:6: exponent 65 is too large (at most 64)"),
    ("2 ** data.status", "expr:1:6: the exponent of '**' must be a number literal"),
    ("x" * 4097, "expr:1:1: expression is too long (4097 characters, at most 4096)"),
    ("(" * 40 + "ok" + ")" * 40, "expr:1:33: expression is nested too deeply "
                                 "(more than 32 levels)"),
    ("not " * 40 + "ok", "expr:1:129: expression is nested too deeply (more than 32 levels)"),
    ('{"a": 1}', "expr:1:1: dicts and sets are not allowed"),
    ("data.title[0]", "expr:1:11: unexpected '['"),
    ("exists(1)", "expr:1:8: exists() takes a field name"),
    ("exists(risky_ports)", "expr:1:8: exists() takes a field name"),
    ("len()", "expr:1:1: len() takes 1 argument, got 0"),
    ("diff(data.open_ports)", "expr:1:1: diff() takes 2 arguments, got 1"),
    ("data.title matches data.title", "expr:1:20: the right side of 'matches' must be a "
                                      "string literal"),
    ('data.title matches "("', "expr:1:20: invalid regex: missing ), unterminated subpattern "
                               "at position 0"),
    ('data.title matches "(a*)*"', "expr:1:20: regex has a nested quantifier "
                                   "(catastrophic backtracking)"),
    ('data.title matches "' + "a" * 513 + '"', "expr:1:20: regex is too long "
                                               "(513 characters, at most 512)"),
    ('data.source_ip in_cidr "bogus"', "expr:1:24: invalid CIDR 'bogus'"),
    ("data.source_ip in_cidr data.title", "expr:1:24: CIDR networks must be a string literal "
                                          "or a list"),
    ('in_cidr(data.source_ip, "300.1.1.1/8")', "expr:1:25: invalid CIDR '300.1.1.1/8'"),
    ('"unterminated', "expr:1:1: unterminated string"),
    ("", "expr:1:1: empty expression"),
    ("   ", "expr:1:1: empty expression"),
    ("ok ok", "expr:1:4: unexpected 'ok'"),
    ("ok and", "expr:1:7: unexpected end of expression"),
    ("1 < data.status < 5", "expr:1:17: comparisons cannot be chained; join them with 'and'"),
    ("data.staus", "expr:1:1: unknown field 'data.staus' (did you mean 'data.status'?)"),
    ("asset.critical", "expr:1:1: unknown field 'asset.critical' "
                       "(did you mean 'asset.criticality'?)"),
    ("risky_portz", "expr:1:1: unknown name 'risky_portz' (not a field, list or macro) "
                    "(did you mean 'risky_ports'?)"),
    ("[1, data.status]", "expr:1:5: list items must be literals"),
    ("(ok", "expr:1:4: expected ')', found end of expression"),
    ("len(ok ok)", "expr:1:8: expected ',' or ')', found 'ok'"),
    ("[1 2]", "expr:1:4: expected ',' or ']', found '2'"),
    ("ok $", "expr:1:4: unexpected character '$'"),
    ("1" * 31, "expr:1:1: number literal is too long"),
    ("ok and " * 100 + "ok", "expr:1:1: expression is too complex (more than 100 levels of "
                             "operators and macros); split it into macros or rules"),
    ("1 + " * 1000 + "1 > 0", "expr:1:1: expression is too complex (more than 100 levels of "
                              "operators and macros); split it into macros or rules"),
]


@pytest.mark.parametrize(("text", "message"), INVALID, ids=[i[0][:40] for i in INVALID])
def test_invalid(text: str, message: str) -> None:
    with pytest.raises(RuleError) as info:
        compile_text(text)
    assert str(info.value) == message


def test_unhashable_items_never_raise() -> None:
    from engine.ruleset.context import Ctx
    from tests.engine.ruleset.exprutil import ASSET
    from tests.rulehelpers import obs

    ctx = Ctx(obs(0, "tcp", open_ports=[[1], {"x": 1}, 3389], port=[2]), ASSET)
    for text, expected in [
        ("any_in(data.open_ports, risky_ports)", True),
        ("diff(data.open_ports, risky_ports)", [[1], {"x": 1}]),
        ("data.port in risky_ports", False),
        ("data.port not in risky_ports", True),
        ("data.open_ports contains [1]", True),
    ]:
        assert compile_text(text)[1](ctx) == expected, text


def test_long_but_shallow_chains_compile() -> None:
    node, fn = compile_text("ok or " * 98 + "ok")
    assert fn(sample_ctx()) is False
    from engine.ruleset.explain import explain

    assert explain(node, sample_ctx()).count("ok (false)") == 99
