"""Detector plugins of the traffic service."""
