"""``ssa rules lint | test | schema``: tooling for rule authors.

``lint`` prints every problem as ``file:line:col: error|warning: message`` and
exits 1 on errors; ``test`` runs the test cases that live with the rules on a
virtual clock, like ``promtool test rules``; ``schema`` prints the JSON Schema
of rule files for editors.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from engine.errors import RuleError
from engine.ruleset.loader import load_ruleset
from engine.ruleset.ruletests import describe, run_case
from engine.ruleset.schema import rule_file_schema
from engine.settings import Settings
from engine.yamlsource import Diagnostics


def register(sub: Any) -> None:
    p = sub.add_parser("rules", help="lint, test and describe rule packs")
    cmds = p.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    lint = cmds.add_parser("lint", help="report every problem in a rule file or folder")
    lint.add_argument("path", help="a rule file or a folder of them")
    lint.set_defaults(func=lint_cmd)
    test = cmds.add_parser("test", help="run the test cases that live with the rules")
    test.add_argument("path", help="a rule file or a folder of them")
    test.add_argument("--rule", help="only the tests of this rule id")
    test.add_argument("-v", "--verbose", action="store_true", help="show each case's findings")
    test.set_defaults(func=test_cmd)
    schema = cmds.add_parser("schema", help="print the JSON Schema of rule files")
    schema.set_defaults(func=schema_cmd)


def lint_cmd(args: argparse.Namespace, settings: Settings) -> int:
    diag = Diagnostics(fail_fast=False)
    try:
        rs = load_ruleset(args.path, diag=diag)
    except RuleError:
        rs = None
    for level, e in diag.sorted():
        print(f"{e.mark}: {level}: {e.message}" if e.mark else f"{level}: {e.message}")
    n_err, n_warn = len(diag.errors), len(diag.warnings)
    if rs is not None:
        n_tests = sum(len(r.tests) for r in rs.rules)
        print(f"{len(rs.rules)} rules, {n_tests} test cases, {n_err} errors, {n_warn} warnings; "
              f"version {rs.version[:12]}")
    else:
        print(f"{n_err} errors, {n_warn} warnings")
    return 1 if n_err else 0


def test_cmd(args: argparse.Namespace, settings: Settings) -> int:
    diag = Diagnostics(fail_fast=False)
    try:
        rs = load_ruleset(args.path, diag=diag)
    except RuleError:
        for _, e in diag.sorted():
            print(f"{e.mark}: error: {e.message}" if e.mark else f"error: {e.message}")
        print("rules failed to load; no tests run")
        return 1
    passed = failed = 0
    untested = []
    for rule in rs.rules:
        if args.rule and rule.id != args.rule:
            continue
        if not rule.tests:
            untested.append(rule.id)
        for case in rule.tests:
            result = run_case(rule, case, rs.version)
            status = "PASS" if result.passed else "FAIL"
            print(f"{status} {rule.id}: {case.name}")
            if not result.passed:
                failed += 1
                print(f"  {case.mark}:")
                for line in result.detail.splitlines():
                    print(f"    {line}")
            else:
                passed += 1
            if args.verbose:
                for f in result.findings:
                    print(f"    {describe(f)}")
                    print(f"      {f.explanation}")
    for rid in untested:
        print(f"WARN {rid}: no test cases")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or (args.rule and passed == 0) else 0


def schema_cmd(args: argparse.Namespace, settings: Settings) -> int:
    print(json.dumps(rule_file_schema(), indent=2, ensure_ascii=False))
    return 0
