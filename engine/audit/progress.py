"""A progress bar on stderr for long reads: done/total, rate, and time left.

Drawn at most every 0.2 s with a carriage return (so it costs nothing per
record); when stderr is not a terminal it prints a plain line every 10 %.
"""

from __future__ import annotations

import sys
import time
from typing import IO


class Progress:
    """Call ``update(n)`` as records are done and ``close()`` at the end."""

    def __init__(
        self, total: int, label: str = "", stream: IO[str] | None = None, *, enabled: bool = True
    ) -> None:
        self.total = max(total, 0)
        self.label = label
        self.done = 0
        self._out = stream if stream is not None else sys.stderr
        self._tty = self._out.isatty()
        self._start = time.perf_counter()
        self._drawn = 0.0
        self._decile = -1
        self.enabled = enabled

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.perf_counter()
        if self._tty and now - self._drawn >= 0.2:
            self._drawn = now
            self._out.write("\r" + self.line(now))
            self._out.flush()
        elif not self._tty and self.total:
            decile = min(10, self.done * 10 // self.total)
            if decile > self._decile:
                self._decile = decile
                self._out.write(self.line(now) + "\n")

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.perf_counter()) - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        frac = self.done / self.total if self.total else 1.0
        bar = "#" * int(frac * 30)
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        return (
            f"{self.label}[{bar:<30}] {frac * 100:5.1f}% {self.done}/{self.total} "
            f"{rate:,.0f}/s {left:4.0f}s left"
        )

    def close(self) -> None:
        if self.enabled and self._tty:
            self._out.write("\r" + self.line() + "\n")
        self._out.flush()
