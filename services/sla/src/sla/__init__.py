"""Tracks SLA clocks: starts, warns, breaches and meets them, and retracts a breach that a late
stop shows was none."""
