"""DMS2F-HAD detector glue: input checks, preprocessing, fit / score / explain, persistence."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from services.core.contract import Detector, InputSpec
from services.core.errors import InvalidInputError, LimitExceededError
from services.hyperspectral.detectors.dms2f_had.config import DMS2FHADConfig
from services.hyperspectral.detectors.dms2f_had.model import DMS2FHAD
from services.hyperspectral.preprocessing import BandPreprocessor, fit_preprocessor

__all__ = ["DMS2FHADDetector"]


class _Threads:
    """Temporarily set torch's intra-op threads (None leaves them)."""

    def __init__(self, n: int | None) -> None:
        self.n, self.saved = n, torch.get_num_threads()

    def __enter__(self) -> None:
        if self.n:
            torch.set_num_threads(self.n)

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self.saved)


class DMS2FHADDetector(Detector):
    """Dual-branch (spatial window / spectral band-group) Mamba with gated fusion; the anomaly score of a
    pixel is the error of reconstructing its spectrum. Input: one cube ``(H, W, B)``; output ``(H·W,)``."""

    name = "dms2f_had"
    modality = "hyperspectral"
    Config = DMS2FHADConfig
    config: DMS2FHADConfig

    def __init__(self, config: DMS2FHADConfig | dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.model_: DMS2FHAD | None = None
        self.prep_: BandPreprocessor | None = None
        self.metric_: tuple[torch.Tensor, torch.Tensor] | None = None

    # -- inputs ---------------------------------------------------------------------------
    @property
    def n_bands(self) -> int | None:
        """Input band count of the fitted model (None before fit)."""
        return self.prep_.n_input_bands if self.prep_ is not None and self.fitted_ else None

    def input_spec(self) -> InputSpec:
        return InputSpec(dtype="float32", shape=[-1, -1, self.n_bands or -1],
                         description=f"one hyperspectral cube (H, W, bands), float32 or uint16, finite, "
                                     f"H·W ≤ {self.config.max_pixels}; scores are per pixel, row-major (H·W,)")

    def validate_input(self, batch: np.ndarray) -> np.ndarray:
        array = np.asarray(batch)
        if array.ndim != 3:
            raise InvalidInputError(f"expected one cube of rank 3 (H, W, bands); got shape {list(array.shape)}",
                                    "cube")
        if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
            raise InvalidInputError(f"expected a numeric cube (float32 or uint16); got dtype {array.dtype}", "cube")
        h, w, bands = array.shape
        if h * w == 0 or bands == 0:
            raise InvalidInputError(f"the cube is empty: shape {list(array.shape)}", "cube")
        if h * w > self.config.max_pixels:
            raise LimitExceededError(f"the cube has {h * w} pixels; at most {self.config.max_pixels} are accepted",
                                    "cube")
        expected = self.n_bands
        if expected is not None and bands != expected:
            raise InvalidInputError(f"the cube has {bands} bands; this model was fitted on {expected} bands", "cube")
        array = array.astype(np.float32, copy=False)
        if not np.isfinite(array).all():
            raise InvalidInputError(f"the cube holds {int((~np.isfinite(array)).sum())} NaN/inf values; "
                                    "expected finite numbers", "cube")
        return array

    # -- fit / score ----------------------------------------------------------------------
    def fit(self, data: np.ndarray) -> DMS2FHADDetector:  # type: ignore[override]
        """Fit on one cube (the test scene itself in the field's protocol, or a background scene)."""
        self.fitted_ = False  # a refit may change the band count
        super().fit(data)
        return self

    def _fit(self, data: np.ndarray) -> dict[str, Any]:
        from services.hyperspectral.detectors.dms2f_had.training import fit_model, fit_residual_metric

        cfg = self.config
        if cfg.bands is not None and max(cfg.bands + cfg.drop_bands, default=0) >= data.shape[-1]:
            raise InvalidInputError(f"bands/drop_bands name band indices beyond the cube's {data.shape[-1]} bands",
                                    "config")
        self.prep_ = fit_preprocessor(data, cfg.bands, cfg.drop_bands, cfg.min_band_snr_db)
        cube = torch.from_numpy(self.prep_.apply(data))
        with _Threads(cfg.threads), torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.model_, summary = fit_model(cfg, cube)
            self.metric_ = None
            if cfg.error_metric == "mahalanobis":
                gen = torch.Generator().manual_seed(cfg.seed + 1)
                self.metric_ = fit_residual_metric(self.model_, cube, cfg.window, cfg.score_batch, cfg.metric_pixels,
                                                   cfg.metric_shrinkage, gen)
        h, w, bands = data.shape
        return {"height": h, "width": w, "input_bands": bands, "bands_used": int(self.prep_.keep.size),
                "bands_dropped": [int(b) for b in np.setdiff1d(np.arange(bands), self.prep_.keep)], **summary}

    def error_map(self, batch: np.ndarray) -> np.ndarray:
        """Per-pixel reconstruction error ``(H, W)`` float32 of a cube ``(H, W, B)``."""
        from services.hyperspectral.detectors.dms2f_had.training import pixel_errors

        self._check_fitted()
        cube = self.validate_input(batch)
        with _Threads(self.config.threads):
            errors = pixel_errors(self.model_, torch.from_numpy(self.prep_.apply(cube)), self.config.window,
                                  self.config.score_batch, metric=self.metric_)
        return errors.numpy().astype(np.float32).reshape(cube.shape[:2])

    def _score(self, batch: np.ndarray) -> np.ndarray:
        return self.error_map(batch).reshape(-1)

    def score(self, batch: np.ndarray) -> np.ndarray:
        """Per-pixel scores ``(H·W,)`` float32, row-major."""
        return self.error_map(batch).reshape(-1)

    def explain(self, batch: np.ndarray) -> np.ndarray:
        """The anomaly map ``(H, W)``: per-pixel reconstruction error."""
        return self.error_map(batch)

    def score_and_explain(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores ``(H·W,)`` and the map ``(H, W)`` from one forward pass."""
        heat = self.error_map(batch)
        return heat.reshape(-1), heat

    def gate_map(self, batch: np.ndarray) -> np.ndarray | None:
        """Mean fusion gate per pixel ``(H, W)`` in (0, 1) (1 = spatial branch); None without a gate."""
        from services.hyperspectral.detectors.dms2f_had.windows import pad_cube, pixel_windows, window_offsets

        self._check_fitted()
        if self.model_.fusion is None:
            return None
        cube = torch.from_numpy(self.prep_.apply(self.validate_input(batch)))
        h, w, _ = cube.shape
        padded, offsets, out = pad_cube(cube, self.config.window), window_offsets(self.config.window), []
        pixels = torch.arange(h * w)
        with torch.no_grad():
            for start in range(0, h * w, self.config.score_batch):
                chunk = pixels[start: start + self.config.score_batch]
                out.append(self.model_.features(pixel_windows(padded, chunk // w, chunk % w, offsets))[1].mean(-1))
        return torch.cat(out).numpy().reshape(h, w)

    # -- persistence ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        state = {f"model.{k}": v.detach().cpu().numpy().copy() for k, v in self.model_.state_dict().items()}
        if self.metric_ is not None:
            state["metric.mean"], state["metric.precision"] = (t.numpy().copy() for t in self.metric_)
        return {**state, **{f"prep.{k}": v for k, v in self.prep_.state().items()}}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        from services.hyperspectral.detectors.dms2f_had.training import build_model

        self.prep_ = BandPreprocessor.from_state({k[5:]: v for k, v in state.items() if k.startswith("prep.")})
        self.model_ = build_model(self.config, int(self.prep_.keep.size))
        self.model_.load_state_dict({k[6:]: torch.from_numpy(v.copy()) for k, v in state.items()
                                     if k.startswith("model.")})
        self.model_.eval()
        self.metric_ = None
        if "metric.mean" in state:
            self.metric_ = (torch.from_numpy(state["metric.mean"].copy()),
                            torch.from_numpy(state["metric.precision"].copy()))
