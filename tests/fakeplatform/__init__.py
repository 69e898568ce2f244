"""Loopback fake platforms that speak the real APIs' shapes, for end-to-end tests."""
