"""Assigns incidents to agents by skill, language and severity within capacity."""
