"""Bad configuration through the real CLI: every invalid fixture gives its exact message.

The three areas pair each invalid fixture with its exact ``file:line:col:
message`` in their own unit tests (``tests/engine/ruleset/test_loader.py``,
``tests/engine/inventory/test_loader.py``, ``tests/engine/notify/test_routes.py``);
this test reuses those tables and walks every fixture through the commands
an operator runs (``ssa rules lint``, ``ssa inventory check``, ``ssa notify
check``): the message must reach the operator unchanged and the command must
fail. The hot reload of a broken rule set is in ``test_rule_reload.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.cli import main
from tests.engine.inventory.test_loader import FIXTURES as INVENTORY_DIR
from tests.engine.inventory.test_loader import INVALID as INVENTORY_CASES
from tests.engine.notify.test_routes import FIXTURES as ROUTES_DIR
from tests.engine.notify.test_routes import INVALID as ROUTE_CASES
from tests.engine.ruleset.test_loader import CASES as RULE_CASES
from tests.engine.ruleset.test_loader import INVALID as RULES_DIR

# The unit test loads inventories with probes=["ingest"]; the CLI knows every probe.
_KNOWN_PROBES = re.compile(r"\(known: [a-z, ]+\)$")


def test_every_fixture_folder_is_covered() -> None:
    assert len(RULE_CASES) == len(list(RULES_DIR.glob("*.yaml")))
    assert len(INVENTORY_CASES) == len(list(INVENTORY_DIR.glob("invalid-*.yaml")))
    assert len(ROUTE_CASES) == len(list(ROUTES_DIR.glob("invalid-*.yaml")))


@pytest.mark.parametrize(("name", "expected"), RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_rules_lint(name: str, expected: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    path = RULES_DIR / name
    assert main(["rules", "lint", str(path)]) == 1
    out = capsys.readouterr()
    lines = (out.out + out.err).splitlines()
    errors = [ln.replace(": error: ", ": ", 1) for ln in lines if ": error: " in ln]
    assert errors == [f"{RULES_DIR}/{e}" for e in expected]


@pytest.mark.parametrize(("name", "message"), INVENTORY_CASES, ids=[c[0] for c in INVENTORY_CASES])
def test_inventory_check(name: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = INVENTORY_DIR / name
    assert main(["inventory", "check", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "1 error(s)"
    got = lines[0]
    want = f"{path}:{message}"
    if _KNOWN_PROBES.search(want):
        got, want = _KNOWN_PROBES.sub("", got), _KNOWN_PROBES.sub("", want)
    assert got == want


@pytest.mark.parametrize(("name", "message"), ROUTE_CASES, ids=[c[0] for c in ROUTE_CASES])
def test_notify_check(
    name: str, message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSA_TEST_UNSET_SECRET", raising=False)
    path = ROUTES_DIR / name
    assert main(["notify", "check", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"{path}:{message}"
    # Lint mode may find follow-on problems; the fixture's own message comes first.
    assert re.fullmatch(rf"{re.escape(str(path))}: \d+ error\(s\)", err[-1]) or len(err) == 1


def test_the_commands_fail_the_same_way_as_processes(tmp_path: Path) -> None:
    """One fixture per command through ``python -m engine.cli``: exit code and stream."""
    import subprocess
    import sys

    from tests.conftest import REPO

    cases = [
        (["rules", "lint", str(RULES_DIR / "lambda.yaml")], 1, "lambdas are not allowed"),
        (["inventory", "check", str(INVENTORY_DIR / "invalid-port.yaml")], 1, "invalid port 70000"),
        (["notify", "check", str(ROUTES_DIR / "invalid-url-scheme.yaml")], 1, "must be an http://"),
    ]
    for argv, rc, text in cases:
        p = subprocess.run(
            [sys.executable, "-m", "engine.cli", *argv],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert p.returncode == rc and text in p.stdout + p.stderr, (argv, p.stdout, p.stderr)
