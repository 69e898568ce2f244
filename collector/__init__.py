"""Collector: watches public creators, stores how their audience moves, flags bought audiences."""

__version__ = "0.1.0"
