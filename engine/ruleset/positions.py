"""Turn an offset inside a YAML scalar into a ``file:line:col`` mark.

An expression error should point into the expression, not at the start of
the YAML value. Given the file's lines and where the scalar starts, this maps
offsets for plain, quoted and block (``|``, ``>``) scalars.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from engine.errors import Mark


def locator(lines: Sequence[str] | None, start: Mark) -> Callable[[int], Mark]:
    """A function from offset-in-value to the mark of that character."""
    if not lines or not 0 < start.line <= len(lines):
        return lambda off: Mark(start.file, start.line, start.col + off)
    first = lines[start.line - 1]
    lead = first[start.col - 1 : start.col]
    if lead in ("|", ">"):
        return _block(lines, start)
    quoted = lead in ("'", '"')
    col0 = start.col + (1 if quoted else 0)
    line_text = first[col0 - 1 :]
    if quoted:
        end = line_text.find(lead)
        line_text = line_text if end < 0 else line_text[:end]
    segments = [(start.line, col0, len(line_text.rstrip()))]
    for n in range(start.line, min(len(lines), start.line + 200)):
        text = lines[n]
        stripped = text.lstrip()
        if not stripped or stripped.startswith(("- ", "#")) or ":" in stripped.split(" ")[0]:
            break
        segments.append((n + 1, len(text) - len(stripped) + 1, len(stripped.rstrip())))
    return _walker(start, segments)


def _block(lines: Sequence[str], start: Mark) -> Callable[[int], Mark]:
    segments: list[tuple[int, int, int]] = []
    indent: int | None = None
    for n in range(start.line, len(lines)):
        text = lines[n]
        if not text.strip():
            segments.append((n + 1, (indent or 0) + 1, 0))
            continue
        ind = len(text) - len(text.lstrip())
        if indent is None:
            indent = ind
        if ind < indent:
            break
        segments.append((n + 1, indent + 1, len(text) - indent))
    return _walker(start, segments)


def _walker(start: Mark, segments: list[tuple[int, int, int]]) -> Callable[[int], Mark]:
    def locate(offset: int) -> Mark:
        rest = offset
        for line, col, length in segments:
            if rest <= length:
                return Mark(start.file, line, col + rest)
            rest -= length + 1
        if segments:
            line, col, length = segments[-1]
            return Mark(start.file, line, col + length)
        return Mark(start.file, start.line, start.col + offset)

    return locate
