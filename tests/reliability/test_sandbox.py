"""The rule sandbox: nothing in a rule file runs code, stalls the engine or crashes the loader.

Three layers:

- known escape payloads (dunder access, attribute chains, calls of builtins
  and methods, comprehensions, lambdas, imports, walrus, huge exponents,
  repetition bombs, deep nesting, format-string tricks in expressions and in
  title templates, shell syntax) written into a real rule file and loaded
  with ``load_ruleset``: each is refused with its own ``file:line:col``
  message, and the payloads that would create a file create nothing;
- ReDoS patterns (nested quantifiers and repeated alternatives) refused at
  load, so no rule can make one match take exponential time;
- a hypothesis property over escape-shaped expressions built from a grammar
  (names x attribute chains x calls x wrappers): each either fails to load
  with a ``RuleError`` pointing into the expression or compiles to a
  predicate that evaluates to plain data, touching nothing. The generic
  token/text fuzzing of the compiler is in ``tests/engine/ruleset/test_fuzz.py``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import RuleError
from engine.ruleset import load_ruleset
from engine.yamlsource import Diagnostics
from tests.engine.ruleset.exprutil import compile_text, sample_ctx

ALLOWED = "(allowed: abs, any_in, diff, exists, in_cidr, len, lower, upper)"
SENTINEL = "ssa-sandbox-pwned"

# expression -> the exact error (column within the expression, 1-based)
PAYLOADS: list[tuple[str, str]] = [
    ("data.__class__", "1: dunder names are not allowed: '__class__'"),
    ("data.title.__class__.__mro__", "1: dunder names are not allowed: '__class__'"),
    ("asset.__init__.__globals__", "1: dunder names are not allowed: '__init__'"),
    ("asset.__dict__", "1: dunder names are not allowed: '__dict__'"),
    (f"__import__('os').system('touch {SENTINEL}')",
     "1: dunder names are not allowed: '__import__'"),
    (f"open('{SENTINEL}', 'w')", f"1: unknown function 'open' {ALLOWED}"),
    ("eval('1')", f"1: unknown function 'eval' {ALLOWED}"),
    (f"exec('open(\"{SENTINEL}\", \"w\")')", f"1: unknown function 'exec' {ALLOWED}"),
    ("getattr(data, 'title')", f"1: unknown function 'getattr' {ALLOWED}"),
    ("globals()", f"1: unknown function 'globals' {ALLOWED}"),
    ("breakpoint()", f"1: unknown function 'breakpoint' {ALLOWED}"),
    ("os.system('id')", f"1: unknown function 'os.system' {ALLOWED}"),
    ("data.title.upper()", f"1: unknown function 'data.title.upper' {ALLOWED}"),
    ("data.status.bit_length()", f"1: unknown function 'data.status.bit_length' {ALLOWED}"),
    ("sys.modules", "1: attribute access outside the event: 'sys.modules' "
     "(fields are data.*, asset.* or observation fields)"),
    ("ok.real", "1: attribute access outside the event: 'ok.real' "
     "(fields are data.*, asset.* or observation fields)"),
    ("lower(data.title).join", "18: attribute access is only allowed on event fields"),
    ('"{0.__class__}".format(data)', "16: attribute access is only allowed on event fields"),
    ('f"{data.__class__}"', "1: unknown name 'f' (not a field, list or macro)"),
    ("[x for x in data.open_ports]", "4: comprehensions are not allowed"),
    ("(x for x in risky_ports)", "4: comprehensions are not allowed"),
    ("{x: 1 for x in risky_ports}", "1: dicts and sets are not allowed"),
    ("lambda: 1", "1: lambdas are not allowed"),
    ("async def f(): pass", "1: async code (functions, comprehensions) is not allowed"),
    ("(lambda x: x)(1)", "2: lambdas are not allowed"),
    ("import os", "1: imports are not allowed"),
    ("data.status := 1", "13: ':' is not allowed (no slices, dicts or lambdas)"),
    ("data.status; 1", "12: ';' is not allowed: an expression is one condition"),
    ("x = 1", "3: use '==' to compare"),
    ("data.status if ok else 1", "13: conditional expressions are not allowed; use 'and'/'or'"),
    ("await x", "1: 'await' is not allowed in an expression"),
    ("yield 1", "1: 'yield' is not allowed in an expression"),
    ("10 ** 100000", "7: exponent 100000 is too large (at most 64)"),
    ("data.status ** 99999999", "16: exponent 99999999 is too large (at most 64)"),
    ("2 ** 2 ** 2 ** 2 ** 2", "16: the exponent of '**' must be a number literal"),
    ("9" * 5000, "1: expression is too long (5000 characters, at most 4096)"),
    ("(" * 200 + "1" + ")" * 200, "33: expression is nested too deeply (more than 32 levels)"),
    ("not " * 200 + "ok", "129: expression is nested too deeply (more than 32 levels)"),
    ("-" * 500 + "1", "33: expression is nested too deeply (more than 32 levels)"),
    ("`id`", "1: unexpected character '`'"),
    ("$(id)", "1: unexpected character '$'"),
    # ReDoS: each of these takes seconds to minutes on ~30 characters with Python's re.
    ('data.title matches "(a+)+$"',
     "20: regex has a nested quantifier (catastrophic backtracking)"),
    ('data.title matches "(.*a){20}"',
     "20: regex has a nested quantifier (catastrophic backtracking)"),
    ('data.title matches "^(\\\\w+\\\\s?)*$"',
     "20: regex has a nested quantifier (catastrophic backtracking)"),
    ('data.title matches "(a|a)*$"', "20: regex repeats a group of alternatives "
     "(catastrophic backtracking); use a character class like [ab]+"),
    ('data.title matches "(?:a|aa)+$"', "20: regex repeats a group of alternatives "
     "(catastrophic backtracking); use a character class like [ab]+"),
    ('data.title matches "(\\\\d|\\\\d\\\\d){2,}z"', "20: regex repeats a group of alternatives "
     "(catastrophic backtracking); use a character class like [ab]+"),
]  # fmt: skip

TITLE_PAYLOADS = [
    "{asset.__class__}",
    "{asset.name.__class__.__mro__}",
    "{data.title!r:>{data.status}}",
    "{0.__globals__}",
    "{__import__}",
]


def _rule_file(tmp_path: Path, condition: str, title: str = "t") -> Path:
    cond = condition.replace("'", "''")
    t = title.replace("'", "''")
    p = tmp_path / "rules.yaml"
    p.write_text(
        "rules:\n"
        f"  - id: r1\n    title: '{t}'\n    type: match\n    severity: low\n"
        f"    condition: '{cond}'\n",
        encoding="utf-8",
    )
    return p


@pytest.mark.parametrize(("payload", "message"), PAYLOADS, ids=[p[:40] for p, _ in PAYLOADS])
def test_escape_payload_is_refused_at_its_position(
    payload: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a relative file a payload would create lands here
    path = _rule_file(tmp_path, payload)
    started = time.perf_counter()
    with pytest.raises(RuleError) as e:
        load_ruleset(path)
    # The condition starts at line 6, column 17 of the file (after "condition: '"),
    # where each quote of the expression is written twice.
    col, text = message.split(": ", 1)
    file_col = 17 + len(payload[: int(col) - 1].replace("'", "''"))
    assert str(e.value) == f"{path}:6:{file_col}: {text}"
    # Lint mode (collect every error) is refused the same way, never crashes.
    diag = Diagnostics(fail_fast=False)
    with pytest.raises(RuleError):
        load_ruleset(path, diag=diag)
    assert [str(x) for x in diag.errors] == [str(e.value)]
    assert time.perf_counter() - started < 2.0
    assert os.listdir(tmp_path) == ["rules.yaml"]  # nothing was created
    assert not Path(SENTINEL).exists()


@pytest.mark.parametrize("title", TITLE_PAYLOADS)
def test_format_string_tricks_in_titles_are_refused(title: str, tmp_path: Path) -> None:
    path = _rule_file(tmp_path, "ok", title=title)
    with pytest.raises(RuleError) as e:
        load_ruleset(path)
    assert str(e.value).startswith(f"{path}:3:"), str(e.value)


# -- property: escape-shaped expressions -------------------------------------------------

ROOTS = ["data", "asset", "ok", "probe", "os", "sys", "builtins", "x", "risky_ports", "''", "()"]
STEPS = [
    ".__class__",
    ".__globals__",
    ".__subclasses__()",
    ".__mro__",
    ".__dict__",
    ".__builtins__",
    ".mro()",
    ".format(data)",
    ".system('id')",
    "()",
    "[0]",
    "['__class__']",
    ".title",
    ".name",
    ".real",
    ".__getattribute__('x')",
    " ** 99999",
    " * 10000000000",
]
WRAPS = [
    "{}",
    "({})",
    "[{}]",
    "lambda: {}",
    "[y for y in {}]",
    "not {}",
    "len({})",
    "lower({})",
    "exists({})",
    "{} == 1",
    '{} matches "(a+)+"',
    "{} in risky_ports",
    "eval({})",
    "__import__({})",
    "{}; open('" + SENTINEL + "', 'w')",
]

escapes = st.builds(
    lambda root, steps, wraps: _wrap(root + "".join(steps), wraps),
    st.sampled_from(ROOTS),
    st.lists(st.sampled_from(STEPS), max_size=5),
    st.lists(st.sampled_from(WRAPS), max_size=3),
)


def _wrap(expr: str, wraps: list[str]) -> str:
    for w in wraps:
        expr = w.format(expr)
    return expr


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(escapes)
def test_escape_shaped_expressions_never_run_code(expr: str) -> None:
    started = time.perf_counter()
    try:
        _, fn = compile_text(expr)
    except RuleError as e:
        assert e.mark is not None and 1 <= e.mark.col <= len(expr) + 1
        assert "__" not in str(e).split(": ", 1)[0]  # a message, not a traceback
    else:
        value = fn(sample_ctx())  # compiled: it evaluates to plain data
        assert value is None or isinstance(value, bool | int | float | str | list | tuple)
    assert time.perf_counter() - started < 1.0
    assert not Path(SENTINEL).exists()
