"""HeteroComp: components of heterogeneous event tensor streams, GP priors, group anomalies (tensorstream)."""

from services.tensorstream.detectors.heterocomp.config import HeteroCompConfig
from services.tensorstream.detectors.heterocomp.detector import HeteroCompDetector

__all__ = ["HeteroCompConfig", "HeteroCompDetector"]
