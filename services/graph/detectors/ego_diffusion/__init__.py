"""Ego-graph discrete diffusion + curriculum anomaly augmentation + inductive GNN (graph service)."""

from services.graph.detectors.ego_diffusion.config import EgoDiffusionConfig
from services.graph.detectors.ego_diffusion.detector import EgoDiffusionDetector

__all__ = ["EgoDiffusionConfig", "EgoDiffusionDetector"]
