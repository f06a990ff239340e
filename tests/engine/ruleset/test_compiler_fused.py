"""The compiler's fused closures for common shapes mean what their parts mean.

``len(data.title) > 0``, ``"a" in asset.tags``, ``not ok`` and calls on
``data.<name>`` compile to single closures on the hot path; on any value
they give what the composition of their parts gives.
"""

from __future__ import annotations

import operator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.ruleset import functions as fn
from engine.ruleset.context import Ctx
from tests.engine.ruleset.exprutil import ASSET, LISTS, compile_text
from tests.rulehelpers import obs

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True),
    st.text(max_size=4),
    st.lists(st.one_of(st.integers(0, 3), st.text(max_size=2), st.lists(st.integers(), max_size=1)),
             max_size=4),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)
ORDERS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _ctx(v: Any, ok: bool) -> Ctx:
    return Ctx(obs(0, "http", ok=ok, title=v), ASSET)


def _ordered(a: Any, op: str, k: Any) -> Any:
    try:
        return ORDERS[op](a, k)
    except TypeError:
        return False


@settings(max_examples=300, deadline=None)
@given(v=VALUES, ok=st.booleans(), op=st.sampled_from(sorted(ORDERS)),
       k=st.sampled_from([0, 1, 2.5, -1]))
def test_fused_shapes_match_their_parts(v: Any, ok: bool, op: str, k: Any) -> None:
    c = _ctx(v, ok)
    _, length = compile_text("len(data.title)")
    _, fused_len = compile_text(f"len(data.title) {op} {k}")
    assert bool(fused_len(c)) == bool(_ordered(length(c), op, k))
    assert fused_len(c) == _ordered(length(c), op, k)

    _, contains = compile_text('"a" in data.title')
    _, lacks = compile_text('"a" not in data.title')
    assert contains(c) == fn.t_in("a", v)
    assert lacks(c) == (not fn.t_in("a", v))

    _, not_ok = compile_text("not ok")
    assert not_ok(c) is (not ok)

    _, any_in = compile_text("any_in(data.title, risky_ports)")
    assert any_in(c) == fn.f_any_in(v, frozenset(LISTS["risky_ports"]))
    _, size = compile_text("len(data.title)")
    assert size(c) == fn.f_len(v)


def test_a_literal_in_an_asset_field() -> None:
    c = _ctx(None, True)
    assert compile_text('"key-site" in asset.tags')[1](c) is True
    assert compile_text('"other" in asset.tags')[1](c) is False
    assert compile_text('"key-site" not in asset.tags')[1](c) is False
    assert compile_text('null in asset.tags')[1](c) is False
    assert compile_text('null not in asset.tags')[1](c) is False
    no_asset = Ctx(obs(0, "http"), None)
    assert compile_text('"key-site" in asset.tags')[1](no_asset) is False


def test_the_fused_closures_are_the_ones_compiled() -> None:
    assert compile_text("len(data.title) > 0")[1].__name__ == "len_const"
    assert compile_text("not ok")[1].__code__.co_names == ("obs",)


def test_remembered_answers_stay_right(monkeypatch: Any) -> None:
    monkeypatch.setattr(fn, "ANSWERS_KEPT", 3)
    matches = fn.searcher("(?i)rc4|des")
    in_nets = fn.network_test(fn.parse_networks(["192.0.2.0/24"]))
    for _ in range(3):  # first answers, then remembered ones, across clearing
        for i in range(6):
            assert matches(f"TLS_RSA_WITH_RC4_{i}") is True
            assert matches(f"TLS_AES_{i}") is False
            assert in_nets(f"192.0.2.{i}") is True
            assert in_nets(f"198.51.100.{i}") is False
    assert matches(None) is False and matches(["rc4"]) is False
    assert in_nets(["10.0.0.1", "192.0.2.9"]) is True and in_nets("not an address") is False

    class Text(str):
        pass

    assert matches(Text("des")) is True and in_nets(Text("192.0.2.1")) is True
    long = "x" * 300 + "rc4"
    assert matches(long) is True and matches(long) is True


@settings(max_examples=200, deadline=None)
@given(v=VALUES, ok=st.booleans(), with_asset=st.booleans(),
       op=st.sampled_from(sorted(ORDERS)), k=st.sampled_from([0, 1, 2.5, -1]))
def test_fused_asset_and_logic_shapes_match_their_parts(
    v: Any, ok: bool, with_asset: bool, op: str, k: Any
) -> None:
    c = Ctx(obs(0, "http", ok=ok, title=v), ASSET if with_asset else None)
    ports = ASSET.expected_ports if with_asset else None
    tags = ASSET.tags if with_asset else None
    _, fused_len = compile_text(f"len(asset.expected_ports) {op} {k}")
    assert fused_len(c) == _ordered(fn.f_len(ports), op, k)
    assert compile_text('"key-site" in asset.tags')[1](c) == fn.t_in("key-site", tags)
    _, d = compile_text("diff(data.title, asset.expected_ports)")
    assert d(c) == fn.f_diff(v, ports)
    _, title = compile_text("data.title")
    for text, want in [
        ("not ok or data.title", (not ok) or title(c)),
        ("not ok and data.title", (not ok) and title(c)),
        ("ok or data.title", ok or title(c)),
        ("ok and data.title", ok and title(c)),
    ]:
        got = compile_text(text)[1](c)
        assert (got is want or got == want) and type(got) is type(want)


@settings(max_examples=300, deadline=None)
@given(a=VALUES, b=st.one_of(VALUES, st.frozensets(st.integers(0, 3), max_size=3)))
def test_diff_is_the_items_not_in_the_other(a: Any, b: Any) -> None:
    if not isinstance(a, list | tuple) or not isinstance(b, list | tuple | frozenset | None):
        assert fn.f_diff(a, b) is None
        return
    others = () if b is None else b

    def absent(x: Any) -> bool:
        try:
            return x not in others
        except TypeError:  # an unhashable item is in no set
            return True

    assert fn.f_diff(a, b) == [x for x in a if absent(x)]


@settings(max_examples=300, deadline=None)
@given(v=VALUES, ok=st.booleans())
def test_data_in_a_list_and_matches(v: Any, ok: bool) -> None:
    c = _ctx(v, ok)
    members = frozenset([1, "a", 2.5])

    def in_set(negate: bool) -> bool:
        if v is None:
            return False
        try:
            return (v in members) != negate
        except TypeError:
            return negate

    assert compile_text('data.title in [1, "a", 2.5]')[1](c) is in_set(False)
    assert compile_text('data.title not in [1, "a", 2.5]')[1](c) is in_set(True)
    assert compile_text('data.title matches "(?i)a"')[1](c) is fn.searcher("(?i)a")(v)
