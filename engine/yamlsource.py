"""Loading user-written YAML with the line and column of every node.

Rules, the inventory and notification routes are written by people, so every
error must point at ``file:line:col``. ``load_yaml`` parses with PyYAML's safe
composer (no tags that build objects), rejects duplicate keys, and returns
plain containers that remember where each key and value came from:
``MarkedMap.mark_of(key)`` is where the value of ``key`` starts,
``MarkedMap.key_mark(key)`` where the key itself is, ``MarkedList.mark_at(i)``
where item ``i`` starts.

``Diagnostics`` lets the same validation code fail fast at runtime and collect
every problem when linting (pySigma's ``collect_errors``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from engine.errors import LocatedError, Mark

MAX_YAML_BYTES = 8 << 20


class MarkedMap(dict[str, Any]):
    """A YAML mapping that remembers where its keys and values are."""

    mark: Mark
    key_marks: dict[str, Mark]
    value_marks: dict[str, Mark]

    def mark_of(self, key: str) -> Mark:
        """Where the value of ``key`` is; the mapping's own mark if it is absent."""
        return self.value_marks.get(key, self.mark)

    def key_mark(self, key: str) -> Mark:
        """Where ``key`` itself is; the mapping's own mark if it is absent."""
        return self.key_marks.get(key, self.mark)


class MarkedList(list[Any]):
    """A YAML sequence that remembers where its items are."""

    mark: Mark
    item_marks: list[Mark]

    def mark_at(self, i: int) -> Mark:
        return self.item_marks[i] if 0 <= i < len(self.item_marks) else self.mark


def _mark(file: str, node: yaml.Node) -> Mark:
    return Mark(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _convert(
    file: str, node: yaml.Node, constructor: yaml.SafeLoader, err: type[LocatedError]
) -> Any:
    if isinstance(node, yaml.MappingNode):
        out = MarkedMap()
        out.mark, out.key_marks, out.value_marks = _mark(file, node), {}, {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise err("merge keys (<<) are not supported", _mark(file, key_node))
            key = _convert(file, key_node, constructor, err)
            if not isinstance(key, str):
                raise err(f"keys must be strings, got {key!r}", _mark(file, key_node))
            if key in out:
                first = out.key_marks[key]
                raise err(
                    f"duplicate key '{key}' (first at line {first.line})", _mark(file, key_node)
                )
            out[key] = _convert(file, value_node, constructor, err)
            out.key_marks[key] = _mark(file, key_node)
            out.value_marks[key] = _mark(file, value_node)
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = MarkedList()
        seq.mark, seq.item_marks = _mark(file, node), []
        for item in node.value:
            seq.append(_convert(file, item, constructor, err))
            seq.item_marks.append(_mark(file, item))
        return seq
    assert isinstance(node, yaml.ScalarNode)
    try:
        return constructor.construct_object(node, deep=True)
    except yaml.YAMLError as e:
        raise err(f"invalid value: {getattr(e, 'problem', e)}", _mark(file, node)) from None


def load_yaml(
    path: str | Path, err: type[LocatedError] = LocatedError, text: str | None = None
) -> Any:
    """Parse one YAML document into marked containers; errors are ``err`` with a mark."""
    file = str(path)
    if text is None:
        p = Path(path)
        try:
            if p.stat().st_size > MAX_YAML_BYTES:
                raise err(f"file is larger than {MAX_YAML_BYTES} bytes", Mark(file, 1, 1))
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise err("file not found", Mark(file, 1, 1)) from None
        except UnicodeDecodeError as e:
            raise err(f"not UTF-8 text: {e.reason}", Mark(file, 1, 1)) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        return _convert(file, node, loader, err)
    except yaml.MarkedYAMLError as e:
        m = e.problem_mark or e.context_mark
        mark = Mark(file, m.line + 1, m.column + 1) if m else Mark(file, 1, 1)
        raise err(f"YAML syntax error: {e.problem or e.context}", mark) from None
    except yaml.YAMLError as e:
        raise err(f"YAML error: {e}", Mark(file, 1, 1)) from None
    finally:
        loader.dispose()


def yaml_files(path: str | Path) -> list[Path]:
    """One file, or every ``*.yaml``/``*.yml`` below a folder, in a stable order."""
    p = Path(path)
    if p.is_dir():
        return sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml") and q.is_file())
    return [p]


class Diagnostics:
    """Collects errors and warnings, or raises the first error (``fail_fast``)."""

    def __init__(self, fail_fast: bool = True) -> None:
        self.fail_fast = fail_fast
        self.errors: list[LocatedError] = []
        self.warnings: list[LocatedError] = []

    def error(self, e: LocatedError) -> None:
        if self.fail_fast:
            raise e
        self.errors.append(e)

    def warn(self, e: LocatedError) -> None:
        self.warnings.append(e)

    @contextmanager
    def collecting(self) -> Iterator[None]:
        """Run a block; a ``LocatedError`` it raises is recorded (or re-raised)."""
        try:
            yield
        except LocatedError as e:
            self.error(e)

    def sorted(self) -> list[tuple[str, LocatedError]]:
        """Errors and warnings in file order, for printing."""
        items = [("error", e) for e in self.errors] + [("warning", w) for w in self.warnings]

        def key(item: tuple[str, LocatedError]) -> tuple[str, int, int]:
            m = item[1].mark
            return (m.file, m.line, m.col) if m else ("", 0, 0)

        return sorted(items, key=key)


def check_keys(
    m: MarkedMap,
    allowed: Iterable[str],
    required: Iterable[str] = (),
    *,
    what: str,
    err: type[LocatedError],
    diag: Diagnostics,
) -> None:
    """Report unknown keys (with a suggestion) and missing required keys of a mapping."""
    allowed = list(allowed)
    for key in m:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            diag.error(err(f"unknown key '{key}' in {what}{hint}", m.key_mark(key)))
    for key in required:
        if key not in m:
            diag.error(err(f"{what} is missing required key '{key}'", m.mark))


def expect_map(value: Any, what: str, mark: Mark, err: type[LocatedError]) -> MarkedMap:
    """``value`` as a mapping, or an error naming what it should have been."""
    if not isinstance(value, MarkedMap):
        raise err(f"{what} must be a mapping, got {_kind(value)}", mark)
    return value


def expect_list(value: Any, what: str, mark: Mark, err: type[LocatedError]) -> MarkedList:
    """``value`` as a list, or an error naming what it should have been."""
    if not isinstance(value, MarkedList):
        raise err(f"{what} must be a list, got {_kind(value)}", mark)
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"
