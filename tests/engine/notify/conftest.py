"""The loopback receiver (the one the channel tests use) as a fixture here too."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.engine.notifiers.receiver import Receiver, start


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()
    runner = await start(state)
    try:
        yield state
    finally:
        await runner.cleanup()
