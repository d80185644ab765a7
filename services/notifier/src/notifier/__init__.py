"""Keeps customers informed in their language on their channels; status page and survey."""
