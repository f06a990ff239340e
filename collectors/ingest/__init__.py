"""Push ingest: registered systems send their own security events to the collector.

JSON over HTTP with a per-system bearer token (``http``), and syslog RFC 5424
and RFC 3164 over UDP and TCP (``syslog``, ``servers``). ``directory`` maps a
sender to its system asset; ``normalise`` turns each event into an
``Observation(probe="ingest")`` of that system.
"""
