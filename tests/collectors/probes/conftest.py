"""Fixtures for the probe tests: a test PKI, a probe config, and asset builders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors.probes.base import ProbeConfig
from tests.servers import TestPKI


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestPKI]:
    yield TestPKI(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def config(tmp_path: Path) -> ProbeConfig:
    """A probe config with a small body cap and a fresh baseline directory."""
    return ProbeConfig(
        collector="test-collector",
        vantage="test",
        max_body_bytes=256 * 1024,
        baseline_dir=tmp_path / "baselines",
    )
