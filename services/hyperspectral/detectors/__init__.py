"""Detector plugins of the hyperspectral service."""
