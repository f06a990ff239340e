"""The engine's HTTP API: reads from a ``StateView``, mutations as ``Control`` events.

Wiring it into the stream app (a sketch; the agents stay thin)::

    registry = CollectorRegistry()
    metrics = EngineMetrics(registry)
    view = InMemoryStateView(AlertLifecycle(policies, store, inventory), inventory,
                             metrics=metrics)

    async def publish_control(c: Control) -> None:      # the API's control sink
        await control_topic.send(value=c.to_json())

    app = create_api(view, publish_control, settings, registry=registry)
    runner = await serve_api(app, settings.api.host, settings.api.port)

    # findings agent:  for a in view.on_finding(f): send a on ssa.alerts (key = a.fingerprint)
    # control agent:   for a in view.on_control(c): ... (EventError -> dead letter)
    # timer:           for a in view.tick(event_time_watermark): ...
    # on shutdown:     await runner.cleanup()
"""

from engine.api.app import ControlSink, bound_port, create_api, serve_api
from engine.api.memory import InMemoryStateView
from engine.api.view import StateView

__all__ = ["ControlSink", "InMemoryStateView", "StateView", "bound_port", "create_api", "serve_api"]
