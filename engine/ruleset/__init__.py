"""Rules: the YAML language, its loader, expression compiler and explanations.

``load_ruleset(path, diag=None) -> RuleSet`` is the entry point; see
``docs/rules.md`` for the language.
"""

from __future__ import annotations

from engine.ruleset.loader import load_ruleset
from engine.ruleset.model import CompiledRule, Condition, RuleSet

__all__ = ["CompiledRule", "Condition", "RuleSet", "load_ruleset"]
