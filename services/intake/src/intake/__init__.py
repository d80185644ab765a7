"""Accepts incidents on every channel, deduplicates them and publishes their lifecycle."""
