"""Helpers for tests: real servers on loopback, driven from a background event loop."""
