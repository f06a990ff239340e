"""Audit: the hash-chained alert ledger, replay, export and reports."""
