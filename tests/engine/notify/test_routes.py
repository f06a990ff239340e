"""routes.yaml: the valid file, matching, lint mode, and each invalid fixture's exact message."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import RouteError
from engine.notifiers.webhook import WebhookNotifier
from engine.notify.routes import load_routes
from engine.yamlsource import Diagnostics
from tests.engine.notify.builders import alert

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "routes"
ENV = {"HOOK_SECRET": "hook-secret-value"}

INVALID = [
    (
        "invalid-channel-typo.yaml",
        "3:5: unknown key 'webhok' in receiver 'hook' (did you mean 'webhook'?)",
    ),
    (
        "invalid-deadline.yaml",
        "6:15: unknown key 'critcal' in deadlines (did you mean 'critical'?)",
    ),
    ("invalid-duplicate-key.yaml", "4:3: duplicate key 'hook' (first at line 2)"),
    ("invalid-duplicate-route.yaml", "7:5: duplicate route name 'main' (first at line 5)"),
    (
        "invalid-duration.yaml",
        "6:21: invalid duration '5 minutes' (use e.g. 30s, 5m, 1h30m, 500ms, 7d)",
    ),
    (
        "invalid-empty-secret.yaml",
        "5:15: webhook receiver 'hook': 'secret' must not be empty (it signs every message)",
    ),
    (
        "invalid-escalation-order.yaml",
        "8:16: escalation level 3 must come after level 2 (30m), got 15m",
    ),
    (
        "invalid-field-typo.yaml",
        "4:7: unknown key 'urll' in webhook receiver 'hook' (did you mean 'url'?)",
    ),
    ("invalid-match-key.yaml", "6:13: unknown key 'severty' in match (did you mean 'severity'?)"),
    (
        "invalid-missing-field.yaml",
        "4:7: dingtalk receiver 'robot' is missing required key 'secret'",
    ),
    (
        "invalid-no-channel.yaml",
        "3:5: receiver 'hook' names no channel "
        "(one of: webhook, alertmanager, email, dingtalk, wecom, feishu)",
    ),
    (
        "invalid-password-without-tls.yaml",
        "8:17: email receiver 'mail': 'starttls' must be true when a password is set",
    ),
    ("invalid-port-type.yaml", "3:36: 'port' must be an integer, got str '587'"),
    ("invalid-rate-limit.yaml", "4:25: rate_limit count must be a positive integer, got 0"),
    ("invalid-recipients.yaml", "6:17: recipients must be 'contacts' or 'none', got 'everyone'"),
    ("invalid-routes-not-list.yaml", "3:3: routes must be a list, got a mapping"),
    (
        "invalid-secret-env.yaml",
        "5:15: 'secret': environment variable SSA_TEST_UNSET_SECRET is not set",
    ),
    ("invalid-secret-type.yaml", "5:15: 'secret' must be a string or {env: NAME}"),
    (
        "invalid-sender.yaml",
        "5:15: email receiver 'mail': 'sender' must be an email address, got 'not-an-address'",
    ),
    (
        "invalid-severity.yaml",
        "7:24: unknown severity 'urgent' (one of info, low, medium, high, critical)",
    ),
    (
        "invalid-top-typo.yaml",
        "1:1: unknown key 'receiver' in routes file (did you mean 'receivers'?)",
    ),
    (
        "invalid-two-channels.yaml",
        "4:5: receiver 'hook' names more than one channel: webhook, alertmanager",
    ),
    ("invalid-unknown-receiver.yaml", "5:15: unknown receiver 'hok' (did you mean 'hook'?)"),
    (
        "invalid-url-scheme.yaml",
        "4:12: webhook receiver 'hook': 'url' must be an http:// or https:// URL",
    ),
    ("invalid-yaml-syntax.yaml", "3:7: YAML syntax error: expected ',' or ']', but got ':'"),
]


def test_every_invalid_fixture_is_listed() -> None:
    assert sorted(p.name for p in FIXTURES.glob("invalid-*.yaml")) == [n for n, _ in INVALID]


@pytest.mark.parametrize(("name", "message"), INVALID)
def test_invalid_fixture_gives_its_exact_message(name: str, message: str) -> None:
    path = FIXTURES / name
    with pytest.raises(RouteError) as e:
        load_routes(path, env={})
    assert str(e.value) == f"{path}:{message}"


def test_valid_file() -> None:
    rs = load_routes(FIXTURES / "valid.yaml", env=ENV)
    assert sorted(rs.receivers) == ["am", "hook", "mail"]
    assert rs.receivers["am"].rate_count == 100 and rs.receivers["am"].rate_per_s == 60.0
    assert rs.receivers["hook"].rate_count == 60  # the channel's default
    to_am, key, rest = rs.routes
    assert (to_am.timers.group_wait, to_am.cont, to_am.recipients) == (0.0, True, "none")
    assert key.timers.group_wait == 10.0 and key.timers.group_interval == 300.0
    assert [(lv.level, lv.after, lv.receiver) for lv in key.escalation] == [
        (2, 900.0, "mail"),
        (3, 2700.0, "hook"),
    ]
    assert key.receiver_of(1) == "hook" and key.receiver_of(2) == "mail"
    assert rest.timers.send_resolved is False
    assert rs.rectification.deadlines["critical"] == 7200.0
    assert rs.rectification.deadlines["low"] == 7 * 86400.0  # default kept
    assert rs.rectification.receiver == "hook"


@pytest.mark.parametrize(
    ("kw", "routes"),
    [
        ({}, ["to-am", "key-sites"]),  # continue on to-am, key-sites stops
        ({"severity": "medium"}, ["to-am", "rest"]),
        ({"tags": ()}, ["to-am", "rest"]),
        ({"tags": ("other", "key-site")}, ["to-am", "key-sites"]),
    ],
)
def test_matching_in_order_with_continue(kw: dict[str, object], routes: list[str]) -> None:
    rs = load_routes(FIXTURES / "valid.yaml", env=ENV)
    assert [r.name for r in rs.matching(alert(**kw))] == routes  # type: ignore[arg-type]


def test_group_key_uses_group_by_values() -> None:
    rs = load_routes(FIXTURES / "valid.yaml", env=ENV)
    assert rs.routes[1].group_key(alert()) == "key-sites{unit=gov-office,rule=site-down}"


def test_secret_from_env_is_never_shown() -> None:
    rs = load_routes(FIXTURES / "valid.yaml", env=ENV)
    hook = rs.receivers["hook"].notifier
    assert isinstance(hook, WebhookNotifier)
    assert hook.secret.reveal() == "hook-secret-value"
    assert "hook-secret-value" not in repr(rs)


def test_secret_value_is_not_quoted_in_errors(tmp_path: Path) -> None:
    p = tmp_path / "r.yaml"
    p.write_text(
        'receivers:\n  h:\n    webhook: {url: "ftp://x", secret: "s3cr3t-value"}\nroutes: []\n'
    )
    with pytest.raises(RouteError) as e:
        load_routes(p, env={})
    assert "s3cr3t-value" not in str(e.value)


def test_lint_mode_reports_every_problem(tmp_path: Path) -> None:
    p = tmp_path / "r.yaml"
    p.write_text(
        "receivers:\n"
        "  hook:\n"
        "    webhok: {}\n"
        "routes:\n"
        "  - receiver: nope\n"
        "  - receiver: hook\n"
        "    recipients: all\n"
    )
    diag = Diagnostics(fail_fast=False)
    load_routes(p, env={}, diag=diag)
    assert [str(e) for _, e in diag.sorted()] == [
        f"{p}:3:5: unknown key 'webhok' in receiver 'hook' (did you mean 'webhook'?)",
        f"{p}:3:5: receiver 'hook' names no channel "
        "(one of: webhook, alertmanager, email, dingtalk, wecom, feishu)",
        f"{p}:5:15: unknown receiver 'nope'",
        f"{p}:7:17: recipients must be 'contacts' or 'none', got 'all'",
    ]


def test_the_example_routes_file_is_valid() -> None:
    env = {
        name: "placeholder"
        for name in (
            "SSA_DUTY_DINGTALK_TOKEN",
            "SSA_DUTY_DINGTALK_SECRET",
            "SSA_SMTP_PASSWORD",
            "SSA_LEADERS_WECOM_KEY",
            "SSA_OPS_FEISHU_TOKEN",
            "SSA_OPS_FEISHU_SECRET",
            "SSA_SOC_WEBHOOK_SECRET",
        )
    }
    rs = load_routes(REPO / "notify" / "routes.yaml", env=env)
    assert len(rs.routes) == 4 and len(rs.receivers) == 6
