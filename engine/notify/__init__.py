"""On-call notification: routes, grouping, escalation, delivery and the rectification loop.

The pure core (``core``, ``grouping``, ``escalation``, ``rectify``) runs on a
clock passed in; ``delivery`` sends with retries and rate limits; ``service``
adapts it all to Kafka and real time. Channels live in ``engine.notifiers``.
"""
