"""ssa: streaming security-situation awareness.

The pure core (events, rules, evaluators, alerting, scoring) lives here and
never touches Kafka, the clock or the network; ``engine.stream`` is the thin
Faust adapter around it.
"""

__version__ = "0.1.0"
