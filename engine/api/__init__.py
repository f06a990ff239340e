"""The engine's HTTP API: reads from a ``StateView``, mutations as ``Control`` events."""

from engine.api.app import ControlSink, bound_port, create_api, serve_api
from engine.api.memory import InMemoryStateView
from engine.api.view import StateView

__all__ = ["ControlSink", "InMemoryStateView", "StateView", "bound_port", "create_api", "serve_api"]
