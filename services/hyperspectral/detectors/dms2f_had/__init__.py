"""DMS2F-HAD: dual-branch spatial/spectral Mamba, dynamic gated fusion, reconstruction scoring."""

from services.hyperspectral.detectors.dms2f_had.config import DMS2FHADConfig
from services.hyperspectral.detectors.dms2f_had.detector import DMS2FHADDetector

__all__ = ["DMS2FHADConfig", "DMS2FHADDetector"]
