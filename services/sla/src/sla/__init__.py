"""Tracks SLA clocks, warns, breaches, escalates and grants compensation; the operator board."""
