"""Vision detectors: Multi-AD (``multi_ad``), patch-flow (``patch_flow``) and the PatchCore baseline.

They share :mod:`services.vision.detectors.base` (input checks, resizing, map smoothing, batching).
"""
