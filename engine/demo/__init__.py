"""The demo: a simulated city on loopback, and checks of the dashboards against Prometheus.

``engine.demo.city.City`` runs the city (websites, services, DNS, webhook
receiver) and writes its inventory; ``engine.demo.promql_check`` evaluates
every dashboard query against a Prometheus; ``engine.demo.prometheus`` runs
the Debian ``prometheus`` binary for the demo and the tests.
"""
