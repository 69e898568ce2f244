"""Fault injection: what Collector does when platforms, processes, databases or input fail."""
