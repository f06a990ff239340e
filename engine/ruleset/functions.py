"""The safe functions and word tests a rule expression may use.

Each is total: on a value of the wrong type or an absent field (``None``) it
returns ``None`` or ``False`` instead of raising, so a rule never crashes the
stream. Regexes and CIDR networks are compiled once, at load.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any

MAX_REGEX = 512
#: Regexes only see this many leading characters of a value (bounds matching time).
MAX_SUBJECT = 16_384
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{]")
#: A repeated group of alternatives, like ``(a|aa)+``: overlapping branches backtrack
#: exponentially just as nested quantifiers do (``(a|a)*$`` takes minutes on 30 chars).
_REPEATED_ALTERNATION = re.compile(r"\((?:[^()\\]|\\.)*\|(?:[^()\\]|\\.)*\)[+*{]")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def compile_regex(pattern: str) -> re.Pattern[str]:
    """Compile a rule regex, refusing long ones and nested quantifiers like ``(a+)+``."""
    if len(pattern) > MAX_REGEX:
        raise ValueError(f"regex is too long ({len(pattern)} characters, at most {MAX_REGEX})")
    if _NESTED_QUANTIFIER.search(pattern):
        raise ValueError("regex has a nested quantifier (catastrophic backtracking)")
    if _REPEATED_ALTERNATION.search(pattern):
        raise ValueError(
            "regex repeats a group of alternatives (catastrophic backtracking); "
            "use a character class like [ab]+"
        )
    try:
        return re.compile(pattern)
    except re.error as e:
        raise ValueError(f"invalid regex: {e}") from None


def parse_networks(values: Iterable[Any]) -> tuple[Network, ...]:
    """CIDR strings as networks; ``ValueError`` naming the bad one."""
    out = []
    for v in values:
        if not isinstance(v, str):
            raise ValueError(f"invalid CIDR {v!r}: must be a string")
        try:
            out.append(ipaddress.ip_network(v, strict=False))
        except ValueError:
            raise ValueError(f"invalid CIDR '{v}'") from None
    return tuple(out)


# isinstance targets as tuples: ``isinstance(v, A | B)`` builds the union on every call
# (five times slower than a tuple), and these run for every observation.
_SEQ = (list, tuple)
_SIZED = (str, list, tuple, dict)
_NUM = (int, float)
_COLLECTION = (list, tuple, frozenset)


def in_networks(value: Any, nets: tuple[Network, ...]) -> bool:
    """Whether an address (or any address of a list) lies in one of ``nets``."""
    if isinstance(value, _SEQ):
        return any(in_networks(v, nets) for v in value)
    if not isinstance(value, str):
        return False
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        return False
    return any(addr in n for n in nets)


def f_len(v: Any) -> Any:
    return len(v) if isinstance(v, _SIZED) else None


def f_lower(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else None


def f_upper(v: Any) -> Any:
    return v.upper() if isinstance(v, str) else None


def f_abs(v: Any) -> Any:
    return abs(v) if isinstance(v, _NUM) and not isinstance(v, bool) else None


def f_diff(a: Any, b: Any) -> Any:
    """Items of ``a`` not in ``b`` (e.g. open ports not in the baseline)."""
    if not isinstance(a, _SEQ):
        return None
    if b is None:
        b = ()
    if not isinstance(b, _COLLECTION):
        return None
    out = []  # loops, not comprehensions: each of those is a function call (hot path)
    if isinstance(b, frozenset):
        for x in a:
            if not _hashable_in(x, b):
                out.append(x)
        return out
    for x in a:
        if x not in b:
            out.append(x)
    return out


def _hashable_in(x: Any, members: frozenset[Any]) -> bool:
    try:
        return x in members
    except TypeError:  # an unhashable item (a list) is in no set of scalars
        return False


def f_any_in(a: Any, b: Any) -> bool:
    """Whether any item of ``a`` is in ``b``."""
    if not isinstance(a, _SEQ) or not isinstance(b, _COLLECTION):
        return False
    for x in a:  # a loop, not any(genexpr): this runs on the hot path
        try:
            if x in b:
                return True
        except TypeError:  # an unhashable item is in no set
            continue
    return False


def t_contains(a: Any, b: Any) -> bool:
    if isinstance(a, str):
        return isinstance(b, str) and b in a
    if isinstance(a, _SEQ):
        return b in a
    return False


def t_startswith(a: Any, b: Any) -> bool:
    if not isinstance(a, str):
        return False
    if isinstance(b, str):
        return a.startswith(b)
    if isinstance(b, _COLLECTION):
        return any(isinstance(x, str) and a.startswith(x) for x in b)
    return False


def t_endswith(a: Any, b: Any) -> bool:
    if not isinstance(a, str):
        return False
    if isinstance(b, str):
        return a.endswith(b)
    if isinstance(b, _COLLECTION):
        return any(isinstance(x, str) and a.endswith(x) for x in b)
    return False


def t_in(a: Any, b: Any) -> bool:
    if a is None:
        return False
    if isinstance(b, str):
        return isinstance(a, str) and a in b
    if isinstance(b, frozenset):
        try:
            return a in b
        except TypeError:  # unhashable value (a list) is never in a set of scalars
            return False
    if isinstance(b, _SEQ):
        return a in b
    return False


#: How many distinct values a ``matches`` or ``in_cidr`` test remembers its answer for.
#: Probe values repeat (cipher names, protocols, source addresses), and a regex
#: search or an address parse costs far more than a lookup. Cleared when full.
ANSWERS_KEPT = 4096


def searcher(pattern: str) -> Any:
    """A bounded regex test for ``matches`` (answers for recent strings remembered)."""
    rx = compile_regex(pattern)
    search = rx.search
    seen: dict[str, bool] = {}

    def matches(v: Any) -> bool:
        if v.__class__ is not str:
            return isinstance(v, str) and search(v[:MAX_SUBJECT]) is not None
        hit = seen.get(v)
        if hit is None:
            hit = search(v[:MAX_SUBJECT]) is not None
            if len(v) <= 256:  # only short values are worth keeping
                if len(seen) >= ANSWERS_KEPT:
                    seen.clear()
                seen[v] = hit
        return hit

    return matches


def network_test(nets: tuple[Network, ...]) -> Any:
    """``in_networks(value, nets)``, with answers for recent address strings remembered."""
    seen: dict[str, bool] = {}

    def test(v: Any) -> bool:
        if v.__class__ is not str:
            return in_networks(v, nets)
        hit = seen.get(v)
        if hit is None:
            hit = in_networks(v, nets)
            if len(v) <= 256:
                if len(seen) >= ANSWERS_KEPT:
                    seen.clear()
                seen[v] = hit
        return hit

    return test


FUNCTIONS: dict[str, Any] = {
    "len": f_len,
    "lower": f_lower,
    "upper": f_upper,
    "abs": f_abs,
    "diff": f_diff,
    "any_in": f_any_in,
}
