"""``terminate``: SIGTERM first, SIGKILL for what is still running when time is up."""

from __future__ import annotations

import subprocess
import sys
import time

from engine.processes import terminate

OBEYS = "import time; time.sleep(60)"
IGNORES = (
    "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(60)"
)


def test_sigterm_then_sigkill_for_what_lingers() -> None:
    obeys = subprocess.Popen([sys.executable, "-c", OBEYS])
    ignores = subprocess.Popen([sys.executable, "-c", IGNORES], stdout=subprocess.PIPE)
    assert ignores.stdout is not None and ignores.stdout.readline() == b"ready\n"
    started = time.monotonic()
    terminate([obeys, ignores], timeout=1.0)
    assert obeys.returncode == -15  # SIGTERM
    assert ignores.returncode == -9  # SIGKILL, after the timeout
    assert 1.0 <= time.monotonic() - started < 10


def test_processes_already_gone_are_left_alone() -> None:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    terminate([done], timeout=0.1)
    assert done.returncode == 0
