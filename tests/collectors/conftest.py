"""Helpers for collector tests: reading a topic back, a loopback TCP proxy, assets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from kafka import KafkaConsumer, TopicPartition

from engine.events import Observation


def read_observations(
    bootstrap: str, topic: str, *, count: int, timeout: float = 20.0
) -> list[Observation]:
    """Read ``topic`` from the beginning until ``count`` observations arrived (or time out)."""
    return [o for _, o in read_keyed(bootstrap, topic, count=count, timeout=timeout)]


def read_keyed(
    bootstrap: str, topic: str, *, count: int, timeout: float = 20.0
) -> list[tuple[str, Observation]]:
    """Like ``read_observations``, with each record's key."""
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or ())]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        out: list[tuple[str, Observation]] = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            for records in c.poll(timeout_ms=300).values():
                out += [(r.key.decode(), Observation.from_json(r.value)) for r in records]
        return out
    finally:
        c.close()


class TcpProxy:
    """Forwards a loopback port to another address, in threads (a broker that 'comes back')."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.create_server(("127.0.0.1", port))
        self.server.settimeout(0.2)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(2)
        self.server.close()


@pytest.fixture
def tcp_proxy() -> Iterator[list[TcpProxy]]:
    """Proxies a test starts; closed at the end."""
    started: list[TcpProxy] = []
    yield started
    for p in started:
        p.close()
