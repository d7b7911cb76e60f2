"""Detectors of the tensor-stream service."""
