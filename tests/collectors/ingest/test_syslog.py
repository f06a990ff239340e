"""Syslog parsing (RFC 5424, RFC 3164) and event normalisation, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collectors.ingest.directory import Directory, parse_tokens
from collectors.ingest.normalise import event_data, event_time
from collectors.ingest.syslog import parse
from engine.errors import ConfigError
from engine.inventory.model import Asset

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def test_rfc5424_with_structured_data() -> None:
    m = parse(
        '<38>1 2026-11-29T07:59:58.123Z oa.lab.example.org sshd 4242 AUTH '
        '[ssa@32473 event_type="login" user="zhang\\"san" src="203.0.113.7" outcome="failure"]'
        " \ufeffFailed login"
    )
    assert (m.facility, m.severity, m.hostname, m.app, m.rfc) == (
        4, 6, "oa.lab.example.org", "sshd", "5424"
    )
    assert m.timestamp == datetime(2026, 11, 29, 7, 59, 58, 123000, tzinfo=UTC)
    assert m.params == {
        "event_type": "login", "user": 'zhang"san', "src": "203.0.113.7", "outcome": "failure"
    }
    assert m.message == "Failed login"


def test_rfc5424_without_structured_data_or_time() -> None:
    m = parse("<13>1 - - - - - - plain text")
    assert m.timestamp is None and m.hostname is None and m.params == {}
    assert m.message == "plain text"


def test_rfc3164_with_tag_and_pid() -> None:
    m = parse(
        "<34>Nov 29 07:58:01 mail.lab.example.org sshd[811]: "
        "Failed password for invalid user admin from 198.51.100.9 port 5022 ssh2",
        now=NOW,
    )
    assert (m.severity, m.hostname, m.app, m.rfc) == (2, "mail.lab.example.org", "sshd", "3164")
    assert m.timestamp == datetime(2026, 11, 29, 7, 58, 1, tzinfo=UTC)
    assert m.message.startswith("Failed password")


def test_rfc3164_in_january_reads_december_as_last_year() -> None:
    m = parse("<34>Dec 31 23:59:59 h app: x", now=datetime(2027, 1, 1, 0, 0, 5, tzinfo=UTC))
    assert m.timestamp == datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("no pri here", "no <PRI> at the start"),
        ("<999>1 - - - - - - x", "PRI 999 out of range"),
        ("<13>1 yesterday h a p m - x", "bad RFC 5424 timestamp 'yesterday'"),
        ("<13>1 - h a p m [broken x", "malformed structured data"),
        ("<13>1 too short", "malformed RFC 5424 header"),
    ],
)
def test_malformed_messages_say_why(line: str, reason: str) -> None:
    with pytest.raises(ValueError) as e:
        parse(line)
    assert str(e.value) == reason


@pytest.mark.parametrize(
    ("fields", "message", "expected"),
    [
        (
            {}, "Failed password for root from 203.0.113.5 port 22 ssh2",
            {"event_type": "auth", "outcome": "failure", "user": "root",
             "source_ip": "203.0.113.5"},
        ),
        (
            {}, "Accepted publickey for ops from 2001:db8::1 port 22 ssh2",
            {"event_type": "auth", "outcome": "success", "user": "ops", "source_ip": "2001:db8::1"},
        ),
        (
            {},
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 rhost=192.0.2.8 user=li",
            {"event_type": "auth", "outcome": "failure", "user": "li", "source_ip": "192.0.2.8"},
        ),
        (
            {"type": "waf_block", "client_ip": "198.51.100.2", "result": "blocked"}, "SQLi",
            {"event_type": "waf_block", "outcome": "failure", "user": None,
             "source_ip": "198.51.100.2"},
        ),
        (
            {"src": "not-an-ip"}, "event_type=config_change user=admin outcome=ok",
            {"event_type": "config_change", "outcome": "success", "user": "admin",
             "source_ip": None},
        ),
        ({}, "disk 91% full", {"event_type": "log", "outcome": "unknown", "user": None,
                               "source_ip": None}),
    ],
)
def test_event_data_vocabulary(
    fields: dict[str, str], message: str, expected: dict[str, object]
) -> None:
    data = event_data(fields, message)
    assert {k: data[k] for k in expected} == expected
    assert data["message"] == message


def test_event_time_trusts_only_sane_times() -> None:
    assert event_time("2026-11-29T07:00:00Z", NOW) == datetime(2026, 11, 29, 7, tzinfo=UTC)
    assert event_time("2020-01-01T00:00:00Z", NOW) == NOW  # too far off
    assert event_time("2026-11-29T07:00:00", NOW) == NOW  # no zone
    assert event_time(None, NOW) == NOW


def test_directory_by_token_host_and_address() -> None:
    d = Directory(parse_tokens("oa=tok-1, mail=tok-2"))
    oa = Asset(id="oa", unit="u", kind="system", address="192.0.2.20:8443")
    mail = Asset(id="mail", unit="u", kind="system", address="mail.example.org:25")
    d.put(oa)
    d.put(mail)
    assert d.by_token("tok-1") is oa and d.by_token("tok-2") is mail and d.by_token("x") is None
    assert d.by_sender("192.0.2.20", None) is oa
    assert d.by_sender("127.0.0.9", "MAIL.example.org") is mail
    assert d.by_sender("127.0.0.9", "oa") is oa  # the asset id as HOSTNAME
    assert d.by_sender("127.0.0.9", "other.example.org") is None
    d.remove("oa")
    assert d.by_token("tok-1") is None and d.by_sender("192.0.2.20", None) is None


def test_bad_token_settings_never_echo_the_secret() -> None:
    with pytest.raises(ConfigError) as e:
        parse_tokens("oa=ok,broken-s3cret")
    assert str(e.value) == "collectors.ingest_tokens entry 2 is not system-id=token"


def test_unknown_senders_are_dropped_counted_and_warned_about_sparingly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from collectors.ingest.intake import Intake
    from collectors.probes.base import ProbeConfig

    seen: list[object] = []
    intake = Intake(Directory(), ProbeConfig(now=lambda: NOW), seen.append)
    with caplog.at_level("WARNING", logger="collectors.ingest.intake"):
        for _ in range(150):
            assert intake.accept_syslog("<13>1 - stranger - - - - hi", "127.0.0.5", "udp") is None
    assert seen == []
    assert intake.metrics.registry.get_sample_value(
        "ssa_ingest_events_total", {"transport": "udp", "result": "unknown_sender"}
    ) == 150
    assert len(caplog.records) == 3  # the 1st, 10th and 100th
