"""The JSON Schema of rule files, for editors (``ssa rules schema``).

Built from the same tables the loader validates with (common keys, each
evaluator's ``params``), so it cannot drift from the loader.
``docs/rules.schema.json`` is this schema, written by ``ssa rules schema``.
"""

from __future__ import annotations

from typing import Any

from engine.evaluators import EVALUATORS
from engine.events import SEVERITIES
from engine.ruleset.build import INHIBIT_SCOPES

_DURATION = {"type": "string", "pattern": r"^(\d+(\.\d+)?(ms|s|m|h|d|w))+$",
             "description": "a duration such as 30s, 5m, 1h30m"}
_EXPR = {"type": "string", "description": "a condition expression (see docs/rules.md)"}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_KIND_SCHEMA: dict[str, dict[str, Any]] = {
    "duration": _DURATION,
    "count": {"type": "integer", "minimum": 1},
    "number": {"type": "number", "exclusiveMinimum": 0},
    "fraction": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
    "field": {"type": "string", "description": "a field path from docs/observations.md"},
    "probe": {"type": "string", "pattern": "^[a-z][a-z0-9_-]*$"},
    "steps": {"type": "array", "items": _EXPR, "minItems": 2},
}


def _test_case() -> dict[str, Any]:
    at = {"type": ["string", "integer"], "description": "offset like 90s, or ISO-8601"}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["observations", "expect"],
        "properties": {
            "name": {"type": "string"},
            "assets": {"type": "array", "items": {"type": "object", "required": ["id"]}},
            "observations": {"type": "array", "items": {
                "type": "object", "required": ["at", "probe"],
                "properties": {"at": at, "probe": {"type": "string"}, "ok": {"type": "boolean"},
                               "data": {"type": "object"}, "asset": {"type": "string"}}}},
            "until": at,
            "tick": _DURATION,
            "expect": {"type": "array", "items": {"type": "object", "properties": {
                "at": at, "kind": {"enum": ["match", "resolve"]}, "asset": {"type": "string"},
                "group": {"type": "object"}, "title": {"type": "string"},
                "severity": {"enum": list(SEVERITIES)},
                "explanation_contains": {"type": "string"}}, "additionalProperties": False}},
        },
    }


def rule_schema() -> dict[str, Any]:
    props: dict[str, Any] = {
        "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]{0,99}$"},
        "title": {"type": "string", "description": "template: {asset.name}, {data.status}"},
        "description": {"type": "string"},
        "type": {"enum": list(EVALUATORS)},
        "condition": _EXPR,
        "severity": {"enum": list(SEVERITIES)},
        "risk_weight": {"type": "number", "minimum": 0, "maximum": 100},
        "tags": {**_STRINGS, "description": "ATT&CK technique ids (T1190), MLPS control ids"},
        "enabled": {"type": "boolean"},
        "exceptions": {"type": "array", "items": {"oneOf": [_EXPR, {
            "type": "object", "required": ["condition"], "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "condition": _EXPR}}]}},
        "group_by": _STRINGS,
        "resolve": _EXPR,
        "resolve_after": {"oneOf": [_DURATION, {"const": "never"}, {"type": "null"}]},
        "flap": {"type": "object", "additionalProperties": False, "properties": {
            "window": _DURATION, "max_changes": {"type": "integer", "minimum": 1}}},
        "inhibits": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "properties": {
                "scope": {"enum": list(INHIBIT_SCOPES)}, "rules": _STRINGS, "tags": _STRINGS}}},
        "tests": {"type": "array", "items": _test_case()},
    }
    conditions = []
    for ev in EVALUATORS.values():
        for key, p in ev.params.items():
            schema = dict(_KIND_SCHEMA.get(p.kind, {}))
            if p.kind == "choice":
                schema = {"enum": list(p.choices)}
            schema["description"] = f"{ev.name}: {p.doc}"
            props.setdefault(key, schema)
        required = [k for k, p in ev.params.items() if p.required]
        if ev.condition_required:
            required.append("condition")
        conditions.append({"if": {"properties": {"type": {"const": ev.name}}},
                           "then": {"required": required}})
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "title", "type", "severity"],
        "properties": props,
        "allOf": conditions,
    }


def rule_file_schema() -> dict[str, Any]:
    """The schema of one ``rules/*.yaml`` file."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.org/ssa/rules.schema.json",
        "title": "ssa rule file",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "lists": {"type": "object", "additionalProperties": {
                "type": "array", "items": {"type": ["string", "number"]}}},
            "macros": {"type": "object", "additionalProperties": _EXPR},
            "rules": {"type": "array", "items": rule_schema()},
        },
    }
