"""Command-line times and the progress bar."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime, timedelta

import pytest

from engine.audit.progress import Progress
from engine.audit.timearg import parse_slack, parse_when
from engine.cli import main

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-29T08:00:00Z", datetime(2026, 11, 29, 8, 0, tzinfo=UTC)),
        ("2026-11-29T16:00:00+08:00", datetime(2026, 11, 29, 8, 0, tzinfo=UTC)),
        ("24h", NOW - timedelta(hours=24)),
        ("1h30m", NOW - timedelta(minutes=90)),
    ],
)
def test_times(text: str, expected: datetime) -> None:
    assert parse_when(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-11-29T08:00:00", "30"])
def test_bad_times_say_what_is_accepted(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as e:
        parse_when(text, now=NOW)
    assert str(e.value) == (
        f"{text!r} is neither an ISO-8601 time with an offset "
        "(2026-11-29T08:00:00+08:00) nor a duration ago (24h)"
    )


def test_slack() -> None:
    assert parse_slack("30d") == timedelta(days=30)
    with pytest.raises(argparse.ArgumentTypeError, match="invalid duration 'soon'"):
        parse_slack("soon")


def test_the_command_line_rejects_a_bad_time(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["audit", "verify", "--from", "yesterday"])
    assert e.value.code == 2
    assert "argument --from: 'yesterday' is neither an ISO-8601 time" in capsys.readouterr().err


def test_a_bad_checkpoint_file_is_a_clear_error(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    path = f"{tmp_path}/missing.json"
    assert main(["audit", "verify", "--checkpoints", path]) == 2
    assert capsys.readouterr().err == f"ssa: {path}: checkpoint file not found\n"


def test_progress_prints_a_line_at_start_and_every_tenth_when_not_a_terminal() -> None:
    out = io.StringIO()
    bar = Progress(1000, "replay ", out)
    for _ in range(100):
        bar.update(10)
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[0].startswith("replay [" + " " * 30 + "]   1.0% 10/1000")
    assert lines[-1].startswith("replay [" + "#" * 30 + "] 100.0% 1000/1000")


def test_a_quiet_progress_prints_nothing() -> None:
    out = io.StringIO()
    bar = Progress(10, stream=out, enabled=False)
    bar.update(10)
    bar.close()
    assert out.getvalue() == "" and bar.done == 10
