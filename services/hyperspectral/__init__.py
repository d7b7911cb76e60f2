"""Hyperspectral anomaly detection service: DMS2F-HAD against RX baselines (issue 12)."""
