"""Patch-flow: neighbor-aware patch features + adapter + position-conditioned normalizing flow."""

from services.vision.detectors.patch_flow.detector import PatchFlowDetector

__all__ = ["PatchFlowDetector"]
