"""The live rule set: loaded all-or-nothing, reloaded without a restart.

A reload that fails keeps the last good rule set running; the refusal is
logged with every problem and counted, so duty staff see it on a dashboard.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from engine.errors import RuleError
from engine.ruleset import RuleSet, load_ruleset
from engine.yamlsource import Diagnostics, yaml_files

log = logging.getLogger(__name__)


class RulesHolder:
    """Holds the current ``RuleSet`` and reloads it from ``path`` on demand."""

    def __init__(
        self,
        path: str | Path,
        on_reload: Callable[[RuleSet], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self._on_reload = on_reload
        self._on_failure = on_failure
        self.current: RuleSet = load_ruleset(self.path)
        self._stamp = self._files_stamp()
        self.last_error: str | None = None

    def _files_stamp(self) -> tuple[tuple[str, int, int], ...]:
        out = []
        for f in yaml_files(self.path):
            try:
                st = f.stat()
            except FileNotFoundError:
                continue
            out.append((str(f), st.st_mtime_ns, st.st_size))
        return tuple(out)

    def changed_on_disk(self) -> bool:
        return self._files_stamp() != self._stamp

    def reload(self) -> bool:
        """Load the rules again; ``True`` if a new version is now live."""
        self._stamp = self._files_stamp()
        diag = Diagnostics(fail_fast=False)
        try:
            candidate = load_ruleset(self.path, diag=diag)
        except RuleError as e:
            problems = [str(x) for x in diag.errors] or [str(e)]
            self.last_error = "; ".join(problems)
            log.error(
                "rule reload refused, keeping version %s: %s",
                self.current.version[:12],
                self.last_error,
            )
            if self._on_failure:
                self._on_failure(self.last_error)
            return False
        self.last_error = None
        if candidate.version == self.current.version:
            return False
        log.info(
            "rules reloaded: version %s -> %s (%d rules)",
            self.current.version[:12],
            candidate.version[:12],
            len(candidate.rules),
        )
        self.current = candidate
        if self._on_reload:
            self._on_reload(candidate)
        return True
