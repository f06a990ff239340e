"""Re-probe requests and baseline approvals from the control topic.

When a unit reports a problem fixed, the notifier records a ``Control``
event of kind ``fixed`` (``data.asset`` = the asset); an operator can also
record kind ``reprobe``. An ``approve_baseline`` event (``ssa baseline
approve`` on any machine) is stored in this collector's baseline folder.
Every collector reads the control topic from its end (only new requests
matter) without a consumer group, so each sees every request, and the one
that owns the asset probes it at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kafka import TopicPartition

from collectors.content.baseline import apply_control
from collectors.inventory import connect
from engine.errors import EventError
from engine.events import Control

log = logging.getLogger(__name__)

REPROBE_KINDS = ("fixed", "reprobe")


def reprobe_target(control: Control) -> str | None:
    """The asset a control event asks to re-probe, if it asks that."""
    if control.kind not in REPROBE_KINDS:
        return None
    asset = control.data.get("asset")
    return asset if isinstance(asset, str) and asset else None


class ControlListener:
    """Calls ``on_reprobe(asset_id)`` for each new re-probe request.

    With ``baseline_dir``, approved content baselines are stored there too.
    """

    def __init__(
        self, bootstrap: str, topic: str, on_reprobe: Callable[[str], None],
        client_id: str = "ssa-collector-control", baseline_dir: str | None = None,
    ) -> None:
        self.bootstrap, self.topic, self.on_reprobe = bootstrap, topic, on_reprobe
        self.baseline_dir = baseline_dir
        self.client_id = client_id
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ssa-control", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        consumer = connect(
            self._stop, "control", bootstrap_servers=self.bootstrap, group_id=None,
            enable_auto_commit=False, client_id=self.client_id,
        )
        if consumer is None:
            return
        try:
            parts = consumer.partitions_for_topic(self.topic) or set()
            tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
            consumer.assign(tps)
            consumer.seek_to_end(*tps)
            for tp in tps:
                consumer.position(tp)  # resolve "end" now, so later requests are seen
            self._ready.set()
            while not self._stop.is_set():
                for records in consumer.poll(timeout_ms=300).values():
                    for r in records:
                        self._handle(r.value)
        finally:
            consumer.close()

    def _handle(self, value: bytes | None) -> None:
        if value is None:
            return
        try:
            control = Control.from_json(value)
        except EventError as e:
            log.warning("ignoring a malformed control event: %s", e)
            return
        if control.kind == "approve_baseline" and self.baseline_dir is not None:
            path = apply_control(self.baseline_dir, control)
            if path is not None:
                log.info("stored the approved content baseline of %s", control.target)
            return
        asset = reprobe_target(control)
        if asset is not None:
            self.on_reprobe(asset)
