"""PU-GAT+ / CRFN-BY detector plugin."""

from services.traffic.detectors.pu_gat.detector import PUGATDetector

__all__ = ["PUGATDetector"]
